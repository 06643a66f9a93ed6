/**
 * The webhook worker in the server: the core's worker over the store's webhook ports, with the
 * Node crypto and HTTP transport, running for as long as the server does (unless
 * `SUBSHIFT_WEBHOOKS=off`). Every server process on one database may run it.
 */
import type { Events } from "@subshift/core/ports/Events"
import type { WebhookCrypto, WebhookStore, WebhookTransport } from "@subshift/core/ports/Webhooks"
import * as WebhookWorker from "@subshift/core/usecases/WebhookWorker"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { randomBytes } from "node:crypto"
import * as Config from "./Config.js"
import * as Crypto from "./Crypto.js"
import * as Transport from "./Transport.js"

/** The crypto and transport of a configuration; without a key, secrets are sealed under a random one that dies with the process. */
export const adapters = (config: Config.WebhookConfig): Layer.Layer<WebhookCrypto | WebhookTransport> =>
  Layer.merge(Crypto.layer(Option.getOrElse(config.key, () => randomBytes(32))), Transport.layer(config.policy))

/** The worker, running, over a configuration. */
export const running = (
  config: Config.WebhookConfig,
  options: WebhookWorker.Options = {}
): Layer.Layer<WebhookWorker.WebhookWorker, never, Events | WebhookStore> =>
  WebhookWorker.layerRunning({
    pollInterval: config.pollInterval,
    timeout: config.timeout,
    leaseFor: config.lease,
    schedule: config.schedule,
    ...options
  }).pipe(
    Layer.provide(adapters(config))
  )

/** The worker as the configuration asks: running, or not at all (also when there is no key to open secrets with). */
export const layer = (config: Config.WebhookConfig): Layer.Layer<never, never, Events | WebhookStore> => {
  if (Option.isNone(config.key)) return Layer.effectDiscard(Effect.logWarning("webhooks are off: set SUBSHIFT_WEBHOOK_KEY to deliver them"))
  return config.worker ? Layer.discard(running(config)) : Layer.empty
}

/** The webhook settings the admin routes read. */
export { Settings } from "./Config.js"

/**
 * The webhook worker in the server: the core's worker over the store's webhook ports, with the
 * Node crypto and HTTP transport, running for as long as the server does (unless
 * `SUBSHIFT_WEBHOOKS=off`). Every server process on one database may run it.
 */
import type { Events } from "@subshift/core/ports/Events"
import type { WebhookCrypto, WebhookStore, WebhookTransport } from "@subshift/core/ports/Webhooks"
import * as WebhookWorker from "@subshift/core/usecases/WebhookWorker"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Config from "./Config.js"
import * as Crypto from "./Crypto.js"
import * as Transport from "./Transport.js"

/** The crypto and transport of a configuration. */
export const adapters = (config: Config.WebhookConfig): Layer.Layer<WebhookCrypto | WebhookTransport> =>
  Layer.merge(Crypto.layer(config.key), Transport.layer(config.policy))

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

/** The worker as the configuration in the environment asks: running, or not at all. */
export const layer: Layer.Layer<never, ConfigError.ConfigError, Events | WebhookStore> = Layer.unwrapEffect(
  Effect.map(Config.load, (config) => (config.worker ? Layer.discard(running(config)) : Layer.empty))
)

/**
 * A webhook test bench: a store with the worker running over it (the server's crypto and HTTP
 * transport), events written to the outbox as commits write them, and a real HTTP receiver
 * that verifies every delivery with the `standardwebhooks` package.
 */
import * as Event from "@subshift/core/domain/Event"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { Catalog } from "@subshift/core/ports/Catalog"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import type { WebhookStore } from "@subshift/core/ports/Webhooks"
import type * as WebhookWorker from "@subshift/core/usecases/WebhookWorker"
import { MemoryStore } from "@subshift/store-memory"
import { Fixtures } from "@subshift/testing"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Readable } from "node:stream"
import { Webhook } from "standardwebhooks"
import * as Crypto from "../../src/webhooks/Crypto.js"
import type * as WebhookConfig from "../../src/webhooks/Config.js"
import type * as Network from "../../src/webhooks/Network.js"
import * as Worker from "../../src/webhooks/Worker.js"
import { receiver } from "./Receiver.js"

/** A configuration with short delays, so that retries happen within a test. */
export const fastConfig = (overrides: Partial<WebhookConfig.WebhookConfig> = {}): WebhookConfig.WebhookConfig => ({
  key: Option.some(Crypto.DEV_KEY),
  policy: { production: false, allowPrivate: false } satisfies Network.Policy,
  worker: true,
  pollInterval: Duration.millis(20),
  timeout: Duration.millis(500),
  lease: Duration.seconds(5),
  schedule: [Duration.millis(100), Duration.millis(150), Duration.millis(200), Duration.millis(250)],
  ...overrides
})

/** The store and the running worker, with the crypto the operator use cases need. */
export const bench = (
  config: WebhookConfig.WebhookConfig,
  options: WebhookWorker.Options = {},
  store: Layer.Layer<StorePorts | WebhookStore, unknown> = MemoryStore.layer()
) =>
  ManagedRuntime.make(
    Layer.discard(Worker.running(config, options)).pipe(Layer.provideMerge(Worker.adapters(config)), Layer.provideMerge(store))
  )

const offer = Fixtures.offer({ id: "offer-basic" })

/** Writes `count` events of one subscription to the outbox, in one commit. */
export const writeEvents = (subscriptionId: string, count: number, type: Event.EventType = "amendment.committed") =>
  Effect.gen(function*() {
    const subscriptions = yield* Subscriptions
    yield* (yield* Catalog).put([offer])
    const existing = yield* subscriptions.findById(subscriptionId)
    const current = existing._tag === "Some" ? existing.value : Fixtures.subscription({ id: subscriptionId })
    if (existing._tag === "None") yield* subscriptions.put(current)
    const events = Array.from({ length: count }, () => Fixtures.event(current, { type }))
    yield* subscriptions.save({ ...current, version: current.version + 1 }, current.version, events)
    return events
  })

/** One request the receiver saw. */
export interface Received {
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
  readonly at: number
}

/** What the receiver does with a request before the verifying handler sees it: answer it itself, or pass. */
export type Behaviour = (request: Received, res: Http.ServerResponse) => "pass" | "handled"

/** A listening receiver that records every request and the events it applied, in order. */
export const startReceiver = async (secret: () => string, behaviour: Behaviour = () => "pass", port = 0) => {
  const requests: Array<Received> = []
  const applied: Array<{ readonly type: string; readonly id: string; readonly sequence: number; readonly data: any }> = []
  let handler: ReturnType<typeof receiver> | undefined
  const server = Http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const received: Received = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() }
      requests.push(received)
      if (behaviour(received, res) === "handled") return
      handler ??= receiver(secret(), async (event) => void applied.push(event as never))
      // The verifying handler reads the body as a stream: hand it the same bytes and headers again.
      const replay = Object.assign(Readable.from([Buffer.from(received.body, "utf8")]), { headers: req.headers })
      void handler(replay as unknown as Http.IncomingMessage, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  const address = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}/hook`,
    port: address.port,
    requests,
    applied,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

/** Verifies a request with a secret, by the `standardwebhooks` package; throws when it does not verify. */
export const verify = (secret: string, request: Received): unknown =>
  new Webhook(secret).verify(request.body, request.headers as Record<string, string>)

/** Waits until `check` holds, polling (after `refresh`, when given); fails with `what` after `timeout` millis. */
export const eventually = async (what: string, check: () => boolean, timeout = 10_000, refresh?: () => Promise<void>) => {
  const deadline = Date.now() + timeout
  for (;;) {
    if (refresh !== undefined) await refresh()
    if (check()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/**
 * The webhook delivery worker: it moves outbox events into deliveries (one per subscribed
 * endpoint), then claims due deliveries under a lease and attempts them, signed per Standard
 * Webhooks. Every process on one store may run it: the store's cursor and leases share the work,
 * and a lease that a dead process leaves expires, so its delivery is attempted again (at least
 * once; receivers dedupe by `webhook-id`, which is the event id on every attempt).
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type { StoreUnavailable } from "../domain/Errors.js"
import type { StoredEvent } from "../domain/Event.js"
import * as Instant from "../domain/Instant.js"
import * as Webhook from "../domain/Webhook.js"
import { Events } from "../ports/Events.js"
import {
  type ClaimedDelivery,
  WebhookCrypto,
  WebhookDeliveries,
  WebhookEndpoints,
  WebhookTransport
} from "../ports/Webhooks.js"

/** How the worker runs; every field has a default. */
export interface Options {
  /** Names this worker's leases; unique per process. */
  readonly owner?: string | undefined
  /** The wait between rounds that found nothing to do; 100 ms unless set. */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** Deliveries claimed (and attempted at once) per round; 32 unless set. */
  readonly batch?: number | undefined
  /** How long a claim holds a delivery; keep it well above `timeout`. 60 s unless set. */
  readonly leaseFor?: Duration.DurationInput | undefined
  /** How long an attempt waits for an answer; 15 s unless set. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The delays after failed attempts; `Webhook.schedule` unless set. */
  readonly schedule?: ReadonlyArray<Duration.Duration> | undefined
  /** The longest `Retry-After` honoured; 1 hour unless set. */
  readonly retryAfterCap?: Duration.DurationInput | undefined
  /** How long an endpoint may fail everything before it is disabled; 5 days unless set. */
  readonly disableAfter?: Duration.DurationInput | undefined
}

/** Deliveries attempted, by outcome: `delivered`, `retry`, `failed`, `gone`. */
export const attemptsTotal = Metric.counter("subshift_webhook_attempts_total", {
  description: "Webhook delivery attempts by outcome",
  incremental: true
})

const settingsOf = (options: Options) => ({
  owner: options.owner ?? `worker-${globalThis.crypto.randomUUID()}`,
  pollInterval: Duration.decode(options.pollInterval ?? Duration.millis(100)),
  batch: options.batch ?? 32,
  leaseFor: Duration.decode(options.leaseFor ?? Duration.seconds(60)),
  timeout: Duration.decode(options.timeout ?? Duration.seconds(15)),
  schedule: options.schedule ?? Webhook.schedule,
  retryAfterCap: Duration.decode(options.retryAfterCap ?? Duration.hours(1)),
  disableAfter: Duration.decode(options.disableAfter ?? Webhook.disableAfter)
})
type Settings = ReturnType<typeof settingsOf>

/** An outbox event as a webhook event: everything it records, ordered by its subscription. */
export const outbound = (event: StoredEvent): Webhook.OutboundEvent => {
  const { sequence: _sequence, ...data } = event
  return { id: event.id, type: event.type, timestamp: event.occurredAt, orderKey: event.subscriptionId, data }
}

const now = Effect.map(Clock.currentTimeMillis, Instant.fromEpochMillis)

/** Moves the next page of outbox events into deliveries; how many events it moved. */
export const pump = (pageSize = 500): Effect.Effect<number, StoreUnavailable, Events | WebhookDeliveries> =>
  Effect.gen(function*() {
    const deliveries = yield* WebhookDeliveries
    const events = yield* Events
    const from = yield* deliveries.cursor
    const page = yield* events.list({ after: from, limit: pageSize })
    if (page.length === 0) return 0
    const moved = yield* deliveries.enqueue({ from, to: page[page.length - 1]!.sequence, events: page.map(outbound), now: yield* now })
    return moved ? page.length : 0
  })

/** The signed headers of an attempt at `nowMillis`: one signature per active secret, space-separated. */
export const signedHeaders = (claimed: ClaimedDelivery, body: string, nowMillis: number) =>
  Effect.gen(function*() {
    const crypto = yield* WebhookCrypto
    const timestamp = Math.floor(nowMillis / 1000)
    const secrets = Webhook.activeSecrets(claimed.endpoint, Instant.fromEpochMillis(nowMillis))
    const signatures = yield* Effect.forEach(secrets, (s) => crypto.sign(s.sealed, { id: claimed.payload.id, timestamp, body }))
    return {
      "content-type": "application/json",
      "user-agent": "Subshift-Webhooks",
      "webhook-id": claimed.payload.id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signatures.join(" ")
    }
  })

type Outcome = "delivered" | "retry" | "failed" | "gone"

// The next attempt's instant after a failed one, or `None` once the schedule is spent; a
// `Retry-After` the endpoint asked for replaces the scheduled delay.
const nextAfterFailure = (settings: Settings, attempts: number, at: number, wanted: Option.Option<Duration.Duration>) =>
  Effect.map(Random.next, (random) => {
    const scheduled = Webhook.backoff(attempts, random, settings.schedule)
    if (Option.isNone(scheduled)) return Option.none<Instant.Instant>()
    const delay = Option.getOrElse(wanted, () => scheduled.value)
    return Option.some(Instant.fromEpochMillis(at + Duration.toMillis(delay)))
  })

/** Attempts one claimed delivery and records the outcome. */
export const attempt = (settings: Settings) => (claimed: ClaimedDelivery) =>
  Effect.gen(function*() {
    const transport = yield* WebhookTransport
    const deliveries = yield* WebhookDeliveries
    const started = yield* Clock.currentTimeMillis
    const body = Webhook.body(claimed.payload)
    const headers = yield* signedHeaders(claimed, body, started)
    const result = yield* transport.send({ url: claimed.endpoint.url, headers, body, timeout: settings.timeout })
    const ended = yield* Clock.currentTimeMillis
    const attempts = claimed.delivery.attempts + 1
    const base = { at: Instant.fromEpochMillis(started), latencyMs: Math.max(0, Math.round(ended - started)) }
    let outcome: Outcome
    let attemptLog: Webhook.Attempt
    let next: Option.Option<Instant.Instant> = Option.none()
    if (result._tag === "Answered" && result.status >= 200 && result.status < 300) {
      outcome = "delivered"
      attemptLog = { ...base, statusCode: result.status }
    } else if (result._tag === "Answered" && result.status === 410) {
      outcome = "gone"
      attemptLog = { ...base, statusCode: 410, error: "the endpoint answered 410 Gone: disabled" }
      next = Option.some(Instant.fromEpochMillis(ended))
    } else {
      const wanted = result._tag === "Answered" && (result.status === 429 || result.status === 503)
        ? Webhook.retryAfter(result.retryAfter, ended, settings.retryAfterCap)
        : Option.none()
      next = yield* nextAfterFailure(settings, attempts, ended, wanted)
      outcome = Option.isSome(next) ? "retry" : "failed"
      attemptLog = result._tag === "Answered"
        ? { ...base, statusCode: result.status, error: `the endpoint answered ${result.status}` }
        : { ...base, error: result.error }
    }
    const failingSince = yield* deliveries.record({
      deliveryId: claimed.delivery.id,
      owner: settings.owner,
      attempt: attemptLog,
      status: outcome === "delivered" ? "delivered" : outcome === "failed" ? "failed" : "pending",
      nextAttemptAt: Option.getOrUndefined(next),
      endpointOk: outcome === "delivered"
    }, Instant.fromEpochMillis(ended))
    yield* Metric.increment(Metric.tagged(attemptsTotal, "outcome", outcome))
    const endpoints = yield* WebhookEndpoints
    if (outcome === "gone") {
      yield* endpoints.disable(claimed.endpoint.id, "the endpoint answered 410 Gone", Instant.fromEpochMillis(ended))
    } else if (
      Option.isSome(failingSince) &&
      Instant.toEpochMillis(failingSince.value) + Duration.toMillis(settings.disableAfter) <= ended
    ) {
      yield* endpoints.disable(claimed.endpoint.id, `every delivery failed for ${Duration.format(settings.disableAfter)}`, Instant.fromEpochMillis(ended))
      yield* Effect.logWarning("webhook endpoint disabled after failing every delivery").pipe(
        Effect.annotateLogs({ endpointId: claimed.endpoint.id })
      )
    }
    return outcome
  })

const LOOPS = 4

type Requirements = Events | WebhookDeliveries | WebhookEndpoints | WebhookTransport | WebhookCrypto

/** One round: a page of outbox events enqueued, then a batch of due deliveries attempted at once. */
export const round = (options: Options = {}) => {
  const settings = settingsOf(options)
  return roundOf(settings)
}

const roundOf = (settings: Settings): Effect.Effect<{ readonly enqueued: number; readonly attempted: number }, StoreUnavailable, Requirements> =>
  Effect.gen(function*() {
    const enqueued = yield* pump()
    const deliveries = yield* WebhookDeliveries
    const claimed = yield* deliveries.claim({ owner: settings.owner, now: yield* now, leaseFor: settings.leaseFor, limit: settings.batch })
    yield* Effect.forEach(claimed, attempt(settings), { concurrency: "unbounded", discard: true })
    return { enqueued, attempted: claimed.length }
  })

/** The worker as a service: one round on demand, or rounds until interrupted. */
export class WebhookWorker extends Context.Tag("@subshift/core/WebhookWorker")<
  WebhookWorker,
  {
    readonly owner: string
    readonly round: Effect.Effect<{ readonly enqueued: number; readonly attempted: number }, StoreUnavailable>
    /** Rounds forever, waiting `pollInterval` after one that found nothing; a store outage is logged and waited out. */
    readonly run: Effect.Effect<never>
  }
>() {}

/** The worker over the ports in context. */
export const make = (options: Options = {}): Effect.Effect<WebhookWorker["Type"], never, Requirements> =>
  Effect.gen(function*() {
    const settings = settingsOf(options)
    const context = yield* Effect.context<Requirements>()
    const once = Effect.provide(roundOf(settings), context)
    // Several loops, each claiming its share of the batch, so that one slow endpoint's attempt
    // does not hold back the claims of the others: a loop claims again as soon as its own
    // attempts are done. Claims are atomic, so loops never share a delivery.
    const loops = Math.max(1, Math.min(LOOPS, settings.batch))
    const share = Effect.provide(roundOf({ ...settings, batch: Math.ceil(settings.batch / loops) }), context)
    // A loop that found nothing waits for the poll interval, or until another loop settles
    // attempts (which may have made the next event of a subscription due).
    const settled = yield* Effect.makeLatch(false)
    const loop = share.pipe(
      Effect.flatMap(({ attempted, enqueued }) =>
        attempted > 0
          ? settled.release
          : enqueued === 0 ? Effect.raceFirst(Effect.sleep(settings.pollInterval), settled.await) : Effect.void),
      Effect.catchAll((error) =>
        Effect.logWarning("webhook worker: store unavailable", error.message).pipe(Effect.zipRight(Effect.sleep(Duration.seconds(1))))),
      Effect.forever
    )
    const run = Effect.as(Effect.all(Array.from({ length: loops }, () => loop), { concurrency: "unbounded", discard: true }), undefined as never)
    return { owner: settings.owner, round: once, run }
  })

/** The worker service, not running. */
export const layer = (options: Options = {}): Layer.Layer<WebhookWorker, never, Requirements> =>
  Layer.effect(WebhookWorker, make(options))

/** The worker service, running in the background while the layer lives. */
export const layerRunning = (options: Options = {}): Layer.Layer<WebhookWorker, never, Requirements> =>
  Layer.scoped(WebhookWorker, Effect.tap(make(options), (worker) => Effect.forkScoped(worker.run)))

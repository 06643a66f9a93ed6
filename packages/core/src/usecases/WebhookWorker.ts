/**
 * The webhook delivery worker: it moves outbox events into deliveries (one per subscribed
 * endpoint), then claims due deliveries under a lease and attempts them, signed per Standard
 * Webhooks. Every process on one store may run it: the store's cursor and leases share the work,
 * and a lease that a dead process leaves expires, so its delivery is attempted again (at least
 * once; receivers dedupe by `webhook-id`, which is the event id on every attempt).
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import type { StoreUnavailable } from "../domain/Errors.js"
import * as Instant from "../domain/Instant.js"
import * as Webhook from "../domain/Webhook.js"
import {
  type AttemptResult,
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
  /** The most attempts in flight at once (and deliveries claimed per round); 32 unless set. */
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

const attemptsBy = {
  delivered: Metric.tagged(attemptsTotal, "outcome", "delivered"),
  retry: Metric.tagged(attemptsTotal, "outcome", "retry"),
  failed: Metric.tagged(attemptsTotal, "outcome", "failed"),
  gone: Metric.tagged(attemptsTotal, "outcome", "gone")
}

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

/** An outbox event as a webhook event (see `Webhook.outbound`). */
export const outbound = Webhook.outbound

const now = Effect.map(Clock.currentTimeMillis, Instant.fromEpochMillis)

/** Fans the next page of outbox events out into deliveries; how many events it passed. */
export const pump = (pageSize = 500): Effect.Effect<number, StoreUnavailable, WebhookDeliveries> =>
  Effect.flatMap(WebhookDeliveries, (deliveries) => Effect.flatMap(now, (at) => deliveries.fanOut({ limit: pageSize, now: at })))

/** The signed headers of an attempt at `nowMillis`: one signature per active secret, space-separated. */
export const signedHeaders = (claimed: ClaimedDelivery, body: string, nowMillis: number) =>
  Effect.gen(function*() {
    const crypto = yield* WebhookCrypto
    const timestamp = Math.floor(nowMillis / 1000)
    const secrets = Webhook.activeSecrets(claimed.endpoint, Instant.fromEpochMillis(nowMillis))
    const content = { id: claimed.payload.id, timestamp, body }
    const signatures = secrets.length === 1
      ? [yield* crypto.sign(secrets[0]!.sealed, content)]
      : yield* Effect.forEach(secrets, (s) => crypto.sign(s.sealed, content))
    return {
      "content-type": "application/json",
      "user-agent": "Subshift-Webhooks",
      "webhook-id": claimed.payload.id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signatures.join(" ")
    }
  })

/** What came of an attempt. */
export type Outcome = "delivered" | "retry" | "failed" | "gone"

// The next attempt's instant after a failed one, or `None` once the schedule is spent; a
// `Retry-After` the endpoint asked for replaces the scheduled delay.
const nextAfterFailure = (settings: Settings, attempts: number, at: number, wanted: Option.Option<Duration.Duration>) =>
  Effect.map(Random.next, (random) => {
    const scheduled = Webhook.backoff(attempts, random, settings.schedule)
    if (Option.isNone(scheduled)) return Option.none<Instant.Instant>()
    const delay = Option.getOrElse(wanted, () => scheduled.value)
    return Option.some(Instant.fromEpochMillis(at + Duration.toMillis(delay)))
  })

/** An attempt made, to record: the result for the store, and what the worker does after. */
export interface Attempted {
  readonly result: AttemptResult
  readonly outcome: Outcome
  /** When the answer (or its absence) came, in epoch millis. */
  readonly ended: number
}

/** Attempts one claimed delivery; records nothing (see `settle`). */
export const attempt = (settings: Settings) => (claimed: ClaimedDelivery): Effect.Effect<Attempted, never, WebhookTransport | WebhookCrypto> =>
  Effect.gen(function*() {
    const transport = yield* WebhookTransport
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
    return {
      outcome,
      ended,
      result: {
        deliveryId: claimed.delivery.id,
        endpointId: claimed.endpoint.id,
        owner: settings.owner,
        attempt: attemptLog,
        status: outcome === "delivered" ? "delivered" : outcome === "failed" ? "failed" : "pending",
        nextAttemptAt: Option.getOrUndefined(next),
        endpointOk: outcome === "delivered"
      }
    }
  })

/**
 * Records attempts in one write, then disables the endpoints that answered 410 Gone, and those
 * that have now failed everything for `disableAfter`; each disabling writes its outbox event.
 */
export const settle = (settings: Settings, attempted: ReadonlyArray<Attempted>) =>
  Effect.gen(function*() {
    if (attempted.length === 0) return
    const ended = Math.max(...attempted.map((a) => a.ended))
    const failing = yield* (yield* WebhookDeliveries).record(attempted.map((a) => a.result), Instant.fromEpochMillis(ended))
    for (const a of attempted) yield* Metric.increment(attemptsBy[a.outcome])
    const endpoints = yield* WebhookEndpoints
    const gone = new Set(attempted.filter((a) => a.outcome === "gone").map((a) => a.result.endpointId))
    for (const endpointId of gone) {
      yield* endpoints.disable(endpointId, "the endpoint answered 410 Gone", Instant.fromEpochMillis(ended))
    }
    for (const [endpointId, since] of failing) {
      if (gone.has(endpointId) || Instant.toEpochMillis(since) + Duration.toMillis(settings.disableAfter) > ended) continue
      yield* endpoints.disable(endpointId, `every delivery failed for ${Duration.format(settings.disableAfter)}`, Instant.fromEpochMillis(ended))
      yield* Effect.logWarning("webhook endpoint disabled after failing every delivery").pipe(Effect.annotateLogs({ endpointId }))
    }
  })

type Requirements = WebhookDeliveries | WebhookEndpoints | WebhookTransport | WebhookCrypto

/** One round: a page of outbox events enqueued, then a batch of due deliveries attempted at once and recorded together. */
export const round = (options: Options = {}) => roundOf(settingsOf(options))

const roundOf = (settings: Settings): Effect.Effect<{ readonly enqueued: number; readonly attempted: number }, StoreUnavailable, Requirements> =>
  Effect.gen(function*() {
    const enqueued = yield* pump()
    const deliveries = yield* WebhookDeliveries
    const claimed = yield* deliveries.claim({ owner: settings.owner, now: yield* now, leaseFor: settings.leaseFor, limit: settings.batch })
    const attempted = yield* Effect.forEach(claimed, attempt(settings), { concurrency: "unbounded" })
    yield* settle(settings, attempted)
    return { enqueued, attempted: claimed.length }
  })

// How long the recorder waits for more results after the first.
const GATHER = Duration.millis(1)

// A step of a loop that fails (the store unavailable, or a statement refused) is logged and waited
// out for a second, so that the loop goes on; only an interruption stops it.
const survive = (what: string) => <A, R>(self: Effect.Effect<A, StoreUnavailable, R>): Effect.Effect<A | undefined, never, R> =>
  Effect.catchAllCause(self, (cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause as Cause.Cause<never>)
      : Effect.logWarning(`webhook worker: failed while ${what}`, cause).pipe(Effect.zipRight(Effect.sleep(Duration.seconds(1))), Effect.as(undefined)))

/**
 * The worker running: up to `batch` attempts in flight at once across subscriptions. The pump
 * moves outbox events into deliveries; the claimer leases due deliveries in one statement, up to
 * twice `batch` claimed and not yet recorded, so that the next attempts are at hand while a claim
 * is under way; `batch` attempt fibers take the claimed deliveries in turn; the recorder
 * takes every attempt that has finished and records them together in one write. Each record
 * wakes the claimer, since it frees places and may have made the next event of a subscription
 * due (a later event of a subscription is claimable only once the earlier one is recorded). An
 * attempt that waited for a place so long that its lease could end near its answer is not made:
 * the delivery is claimed again once the lease has expired.
 */
const running = (settings: Settings): Effect.Effect<never, never, Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const deliveries = yield* WebhookDeliveries
    const finished = yield* Queue.unbounded<Attempted>()
    const wake = yield* Queue.sliding<void>(1)
    const signal = Queue.offer(wake, undefined)
    // Whether a signal came (true) or the poll interval passed (false).
    const waitForWork = Effect.raceFirst(Effect.as(Queue.take(wake), true), Effect.as(Effect.sleep(settings.pollInterval), false))
    // Claimed and not yet recorded.
    let inFlight = 0
    // Claimed deliveries wait here for one of `batch` attempt fibers.
    const ready = yield* Queue.unbounded<{ readonly claimed: ClaimedDelivery; readonly at: number }>()
    const outstanding = 2 * settings.batch
    const dropped = Effect.zipRight(Effect.sync(() => void (inFlight -= 1)), signal)
    // An attempt starts only while its lease outlasts its timeout by half the spare time the lease
    // gave at the claim, so that a late answer cannot meet another process's attempt.
    const spare = Math.max(0, Duration.toMillis(settings.leaseFor) - Duration.toMillis(settings.timeout))
    const attemptLoop = Queue.take(ready).pipe(
      Effect.flatMap(({ at: claimedAt, claimed }) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) =>
          at - claimedAt > spare / 2
            ? dropped
            : Effect.flatMap(attempt(settings)(claimed), (a) => Queue.offer(finished, a)))),
      Effect.forever
    )

    const pumpLoop = pump().pipe(
      Effect.flatMap((moved) => (moved > 0 ? signal : Effect.sleep(settings.pollInterval))),
      survive("moving outbox events"),
      Effect.forever
    )
    // A result that cannot be recorded is dropped: its lease expires and the delivery is attempted again.
    // With many attempts in flight, the recorder lets a moment pass after the first result, so
    // that those finishing meanwhile are recorded in the same write.
    const gather = Effect.flatMap(Queue.take(finished), (first) =>
      inFlight > 1
        ? Effect.map(Effect.zipRight(Effect.sleep(GATHER), Queue.takeUpTo(finished, settings.batch - 1)), (more) => Chunk.prepend(more, first))
        : Effect.succeed(Chunk.of(first)))
    const recordLoop = gather.pipe(
      Effect.flatMap((chunk) =>
        settle(settings, Chunk.toReadonlyArray(chunk)).pipe(
          survive("recording attempts"),
          Effect.ensuring(Effect.zipRight(Effect.sync(() => void (inFlight -= chunk.length)), signal))
        )),
      Effect.forever
    )
    // Woken by a record, the claimer claims once a quarter of `batch` is free, so that claims and
    // records come in batches; after a quiet poll interval it claims for any free place.
    const quarter = Math.max(1, Math.floor(settings.batch / 4))
    const claimLoop = (woken: boolean): Effect.Effect<never, never, Requirements> =>
      Effect.gen(function*() {
        const free = outstanding - inFlight
        if (free >= (woken ? quarter : 1)) {
          const at = yield* Clock.currentTimeMillis
          const claimed = yield* deliveries.claim({ owner: settings.owner, now: Instant.fromEpochMillis(at), leaseFor: settings.leaseFor, limit: free })
          inFlight += claimed.length
          yield* Queue.offerAll(ready, claimed.map((c) => ({ claimed: c, at })))
        }
        return yield* waitForWork
      }).pipe(
        survive("claiming deliveries"),
        Effect.flatMap((woken) => claimLoop(woken ?? false))
      )

    for (let i = 0; i < settings.batch; i++) yield* Effect.forkScoped(attemptLoop)
    yield* Effect.forkScoped(pumpLoop)
    yield* Effect.forkScoped(recordLoop)
    return yield* claimLoop(false)
  }))

/** The worker as a service: one round on demand, or rounds until interrupted. */
export class WebhookWorker extends Context.Tag("@subshift/core/WebhookWorker")<
  WebhookWorker,
  {
    readonly owner: string
    readonly round: Effect.Effect<{ readonly enqueued: number; readonly attempted: number }, StoreUnavailable>
    /** Delivers until interrupted, waiting `pollInterval` when idle; a store outage is logged and waited out. */
    readonly run: Effect.Effect<never>
  }
>() {}

/** The worker over the ports in context. */
export const make = (options: Options = {}): Effect.Effect<WebhookWorker["Type"], never, Requirements> =>
  Effect.gen(function*() {
    const settings = settingsOf(options)
    const context = yield* Effect.context<Requirements>()
    return { owner: settings.owner, round: Effect.provide(roundOf(settings), context), run: Effect.provide(running(settings), context) }
  })

/** The worker service, not running. */
export const layer = (options: Options = {}): Layer.Layer<WebhookWorker, never, Requirements> =>
  Layer.effect(WebhookWorker, make(options))

/** The worker service, running in the background while the layer lives. */
export const layerRunning = (options: Options = {}): Layer.Layer<WebhookWorker, never, Requirements> =>
  Layer.scoped(WebhookWorker, Effect.tap(make(options), (worker) => Effect.forkScoped(worker.run)))

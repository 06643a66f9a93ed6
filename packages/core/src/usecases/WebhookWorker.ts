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
import * as Queue from "effect/Queue"
import type { StoreUnavailable } from "../domain/Errors.js"
import * as Instant from "../domain/Instant.js"
import * as Webhook from "../domain/Webhook.js"
import { type ClaimedDelivery, type Released, WebhookCrypto, WebhookDeliveries, WebhookEndpoints, WebhookTransport } from "../ports/Webhooks.js"
import { type Attempted, attemptRun, type Outcome, type RunOutcome, runsOf } from "./WebhookAttempts.js"

/** How the worker runs; every field has a default. */
export interface Options {
  /** Names this worker's leases; unique per process. */
  readonly owner?: string | undefined
  /** The wait between rounds that found nothing to do; 100 ms unless set. */
  readonly pollInterval?: Duration.DurationInput | undefined
  /** The most runs in flight at once (and runs claimed per round); 32 unless set. */
  readonly batch?: number | undefined
  /**
   * The most consecutive deliveries of one subscription (order key) claimed together and
   * attempted one after another, without going back to the store between them; 32 unless set
   * (a subscription's backlog then goes in one run, not waiting for a record and a claim between
   * runs; an attempt still starts only while its lease has room, see `running`).
   */
  readonly perKey?: number | undefined
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

const attemptsBy = Object.fromEntries(
  (["delivered", "retry", "failed", "gone"] as const).map((outcome) => [outcome, Metric.tagged(attemptsTotal, "outcome", outcome)])
) as Record<Outcome, Metric.Metric.Counter<number>>

const settingsOf = (options: Options) => ({
  owner: options.owner ?? `worker-${globalThis.crypto.randomUUID()}`,
  pollInterval: Duration.decode(options.pollInterval ?? Duration.millis(100)),
  batch: options.batch ?? 32,
  perKey: Math.max(1, options.perKey ?? 32),
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
  Effect.flatMap(WebhookDeliveries, (deliveries) => Effect.flatMap(now, (at) => Effect.map(deliveries.fanOut({ limit: pageSize, now: at }), (out) => out.passed)))

export { type Attempted, attemptRun, type Outcome, type RunOutcome, runsOf, signedHeaders } from "./WebhookAttempts.js"

/**
 * Records attempts in one write, then disables the endpoints that answered 410 Gone, and those
 * that have now failed everything for `disableAfter`; each disabling writes its outbox event.
 */
export const settle = (settings: Settings, attempted: ReadonlyArray<Attempted>, released: ReadonlyArray<Released> = []) =>
  Effect.gen(function*() {
    if (attempted.length === 0 && released.length === 0) return
    const ended = attempted.length === 0 ? yield* Clock.currentTimeMillis : Math.max(...attempted.map((a) => a.ended))
    const failing = yield* (yield* WebhookDeliveries).record(attempted.map((a) => a.result), Instant.fromEpochMillis(ended), released)
    const counts = new Map<Outcome, number>()
    for (const a of attempted) counts.set(a.outcome, (counts.get(a.outcome) ?? 0) + 1)
    for (const [outcome, n] of counts) yield* Metric.incrementBy(attemptsBy[outcome], n)
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

/** One round: a page of outbox events enqueued, then a batch of runs attempted at once (each run in order) and recorded together. */
export const round = (options: Options = {}) => roundOf(settingsOf(options))

const roundOf = (settings: Settings): Effect.Effect<{ readonly enqueued: number; readonly attempted: number }, StoreUnavailable, Requirements> =>
  Effect.gen(function*() {
    const enqueued = yield* pump()
    const deliveries = yield* WebhookDeliveries
    const claimed = yield* deliveries.claim({ owner: settings.owner, now: yield* now, leaseFor: settings.leaseFor, limit: settings.batch, perKey: settings.perKey })
    const outcomes = yield* Effect.forEach(runsOf(claimed), (run) => attemptRun(settings, run, () => true), { concurrency: "unbounded" })
    const attempted = outcomes.flatMap((o) => o.attempted)
    yield* settle(settings, attempted, outcomes.flatMap((o) => o.released))
    return { enqueued, attempted: attempted.length }
  })

// The pages of outbox events the worker fans out: the first after an idle spell, and the largest.
const FIRST_PAGE = 100
const PAGE = 500

// How long the recorder waits for more results after the first, with other runs in flight: a
// record's statement costs about the same for one run as for ten, and the wait delays only the
// bookkeeping (a lease given back, the next run of a key claimed), never a send. 10 ms took a
// backlog of 2,000 events on Postgres 8 to 11 % faster than 1 or 5 ms (alternated runs).
const GATHER = Duration.millis(10)

// A step of a loop that fails (the store unavailable, or a statement refused) is logged and waited
// out for a second, so that the loop goes on; only an interruption stops it.
const survive = (what: string) => <A, R>(self: Effect.Effect<A, StoreUnavailable, R>): Effect.Effect<A | undefined, never, R> =>
  Effect.catchAllCause(self, (cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause as Cause.Cause<never>)
      : Effect.logWarning(`webhook worker: failed while ${what}`, cause).pipe(Effect.zipRight(Effect.sleep(Duration.seconds(1))), Effect.as(undefined)))

/**
 * The worker running: up to `batch` runs in flight at once across subscriptions. The pump fans
 * outbox events out into deliveries, leasing in the same write runs of what it enqueues for the
 * places free; the claimer leases runs of due deliveries (up to `perKey` consecutive ones of a
 * subscription) in one statement; up to twice `batch` runs are leased and not yet recorded, so
 * that the next runs are at hand while a fan-out or a claim is under way; `batch` attempt fibers
 * take the leased runs in turn, each delivering its run in order; the recorder takes every run
 * that has finished and records them together in one write. A record wakes the claimer when
 * runs may wait: the last claim filled every place it asked for, a fan-out left deliveries
 * unleased since that claim began, or a recorded run left deliveries behind (released, or
 * `perKey` of them: a later event is claimable once the earlier ones are recorded); else what
 * becomes due later comes with the pump's signal or the poll interval. No attempt starts so late
 * that its lease could end near its answer: the rest of its run is released and claimed again.
 */
const running = (settings: Settings): Effect.Effect<never, never, Requirements> =>
  Effect.scoped(Effect.gen(function*() {
    const deliveries = yield* WebhookDeliveries
    const finished = yield* Queue.unbounded<RunOutcome>()
    const wake = yield* Queue.sliding<void>(1)
    const signal = Queue.offer(wake, undefined)
    // Whether a signal came (true) or the poll interval passed (false).
    const waitForWork = Effect.raceFirst(Effect.as(Queue.take(wake), true), Effect.as(Effect.sleep(settings.pollInterval), false))
    // Runs claimed and not yet recorded.
    let inFlight = 0
    // Whether more may be waiting for a claim: the last claim took as many runs as it asked for,
    // or a fan-out left deliveries unleased since it started.
    let saturated = true
    // How many fan-outs left deliveries for a claim to lease.
    let leftOver = 0
    const leftBehind = (o: RunOutcome) => o.released.length > 0 || o.attempted.length >= settings.perKey
    // Claimed runs wait here for one of `batch` attempt fibers.
    const ready = yield* Queue.unbounded<{ readonly run: ReadonlyArray<ClaimedDelivery>; readonly at: number }>()
    const outstanding = 2 * settings.batch
    // An attempt starts only while its lease outlasts its timeout by half the spare time the lease
    // gave at the claim, so that a late answer cannot meet another process's attempt.
    const spare = Math.max(0, Duration.toMillis(settings.leaseFor) - Duration.toMillis(settings.timeout))
    const attemptLoop = Queue.take(ready).pipe(
      Effect.flatMap(({ at: claimedAt, run }) => attemptRun(settings, run, (at) => at - claimedAt <= spare / 2)),
      Effect.flatMap((outcome) => Queue.offer(finished, outcome)),
      Effect.forever
    )

    // Places asked for by a claim or a fan-out under way: another one asks only for the rest.
    let asked = 0
    // Leases runs by `lease` for up to `limit` places, and hands them to the attempt fibers.
    const leasing = <E>(limit: number, lease: (at: number) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, E>) =>
      Effect.gen(function*() {
        const at = yield* Clock.currentTimeMillis
        asked += limit
        const runs = runsOf(yield* Effect.ensuring(lease(at), Effect.sync(() => void (asked -= limit))))
        inFlight += runs.length
        yield* Queue.offerAll(ready, runs.map((run) => ({ run, at })))
        return runs
      })
    const claimFor = (limit: number) => ({ owner: settings.owner, leaseFor: settings.leaseFor, limit, perKey: settings.perKey })

    // The first page after the pump has caught up is small, so that the first deliveries of a
    // backlog go out while the rest is fanned out; each full page doubles the next one. A
    // fan-out leases runs of what it enqueues for the free places, in the same write, so that
    // a fresh backlog needs no claim.
    let page = FIRST_PAGE
    const pumpLoop = Effect.gen(function*() {
      const free = Math.max(0, outstanding - inFlight - asked)
      let moved = 0
      const runs = yield* leasing(free, (at) =>
        Effect.map(deliveries.fanOut({ limit: page, now: Instant.fromEpochMillis(at), claim: free > 0 ? claimFor(free) : undefined }), (out) => {
          moved = out.passed
          return out.claimed
        }))
      // What it enqueued and did not lease (a run behind another of its key, or beyond the free
      // places) waits for a claim: until a claim comes back with room to spare, every record
      // wakes the claimer.
      if (runs.flat().length < moved) {
        saturated = true
        leftOver++
      }
      page = moved >= page ? Math.min(2 * page, PAGE) : FIRST_PAGE
      yield* moved > 0 ? signal : Effect.sleep(settings.pollInterval)
    }).pipe(
      survive("moving outbox events"),
      Effect.forever
    )
    // A result that cannot be recorded is dropped: its lease expires and the delivery is attempted again.
    // With many runs in flight, the recorder lets a moment pass after the first outcome, so that
    // those finishing meanwhile are recorded in the same write.
    const gather = Effect.flatMap(Queue.take(finished), (first) =>
      inFlight > 1
        ? Effect.map(Effect.zipRight(Effect.sleep(GATHER), Queue.takeUpTo(finished, settings.batch - 1)), (more) => Chunk.prepend(more, first))
        : Effect.succeed(Chunk.of(first)))
    const recordLoop = gather.pipe(
      Effect.flatMap((chunk) => {
        const outcomes = Chunk.toReadonlyArray(chunk)
        return settle(settings, outcomes.flatMap((o) => o.attempted), outcomes.flatMap((o) => o.released)).pipe(
          survive("recording attempts"),
          Effect.ensuring(Effect.suspend(() => {
            inFlight -= outcomes.length
            return saturated || outcomes.some(leftBehind) ? signal : Effect.void
          }))
        )
      }),
      Effect.forever
    )
    // Woken by a record, the claimer claims once a quarter of `batch` is free, so that claims and
    // records come in batches; after a quiet poll interval it claims for any free place.
    const quarter = Math.max(1, Math.floor(settings.batch / 4))
    const claimLoop = (woken: boolean): Effect.Effect<never, never, Requirements> =>
      Effect.gen(function*() {
        const free = outstanding - inFlight - asked
        if (free >= (woken ? quarter : 1)) {
          // With every attempt fiber idle, a claim asks only for runs enough to keep them all busy,
          // so that they start sooner; when it gets them all, the runs to keep at hand are claimed
          // right after.
          const limit = inFlight === 0 ? Math.min(free, settings.batch) : free
          const seen = leftOver
          const runs = yield* leasing(limit, (at) => deliveries.claim({ now: Instant.fromEpochMillis(at), ...claimFor(limit) }))
          // A fan-out that ended during the claim may have left deliveries it did not see.
          saturated = runs.length >= limit || leftOver !== seen
          if (runs.length >= limit && limit < free) return true
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

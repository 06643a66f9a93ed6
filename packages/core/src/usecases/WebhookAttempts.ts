/**
 * A webhook attempt: the signed request of a claimed delivery, what came of its answer, and a run
 * of one subscription's deliveries attempted in order. Records nothing: the worker records what
 * these answer (see `WebhookWorker`).
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Instant from "../domain/Instant.js"
import * as Webhook from "../domain/Webhook.js"
import { type AttemptResult, type ClaimedDelivery, type Released, type TransportResult, WebhookCrypto, WebhookTransport } from "../ports/Webhooks.js"

/** What an attempt needs of the worker's settings. */
export interface AttemptSettings {
  /** Names the worker's leases. */
  readonly owner: string
  /** How long an attempt waits for an answer. */
  readonly timeout: Duration.Duration
  /** The delays after failed attempts. */
  readonly schedule: ReadonlyArray<Duration.Duration>
  /** The longest `Retry-After` honoured. */
  readonly retryAfterCap: Duration.Duration
}

/** The secrets that sign at `nowMillis`: those not yet expired (no instant is formatted unless one expires). */
const signingSecrets = (endpoint: Webhook.Endpoint, nowMillis: number) =>
  endpoint.secrets.every((s) => s.expiresAt === undefined)
    ? endpoint.secrets
    : Webhook.activeSecrets(endpoint, Instant.fromEpochMillis(nowMillis))

/** The signed headers of an attempt at `nowMillis`: one signature per active secret, space-separated. */
export const signedHeaders = (crypto: WebhookCrypto["Type"], claimed: ClaimedDelivery, body: string, nowMillis: number): Record<string, string> => {
  const timestamp = Math.floor(nowMillis / 1000)
  const content = { id: claimed.payload.id, timestamp, body }
  return {
    "content-type": "application/json", "user-agent": "Subshift-Webhooks", "webhook-id": claimed.payload.id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signingSecrets(claimed.endpoint, nowMillis).map((s) => crypto.sign(s.sealed, content)).join(" ")
  }
}

/** What came of an attempt. */
export type Outcome = "delivered" | "retry" | "failed" | "gone"

// The next attempt's instant after a failed one, or `None` once the schedule is spent; a
// `Retry-After` the endpoint asked for replaces the scheduled delay.
const nextAfterFailure = (settings: AttemptSettings, attempts: number, at: number, wanted: Option.Option<Duration.Duration>) =>
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

/** A send and its answer: the delivery, what came back, and when it started and ended (epoch millis). */
interface Sent {
  readonly claimed: ClaimedDelivery
  readonly result: TransportResult
  readonly started: number
  readonly ended: number
}

const isSuccess = (result: TransportResult) => result._tag === "Answered" && result.status >= 200 && result.status < 300

const logOf = ({ ended, result, started }: Sent): Webhook.Attempt => {
  const base = { at: Instant.fromEpochMillis(started), latencyMs: Math.max(0, Math.round(ended - started)) }
  if (result._tag === "NoAnswer") return { ...base, error: result.error }
  if (isSuccess(result)) return { ...base, statusCode: result.status }
  if (result.status === 410) return { ...base, statusCode: 410, error: "the endpoint answered 410 Gone: disabled" }
  return { ...base, statusCode: result.status, error: `the endpoint answered ${result.status}` }
}

// A successful send as the store records it (no clock or randomness needed, so a run goes on
// from the transport's callback).
const deliveredOf = (settings: AttemptSettings, sent: Sent): Attempted =>
  attempted(settings, sent.claimed, "delivered", sent.ended, logOf(sent), Option.none())

// Any send's outcome: a 410 disables, a failure is retried on the schedule (or after the
// `Retry-After` of a 429 or 503) until the schedule is spent.
const outcomeOf = (settings: AttemptSettings, sent: Sent): Effect.Effect<Attempted> => {
  const { claimed, ended, result } = sent
  if (isSuccess(result)) return Effect.succeed(deliveredOf(settings, sent))
  if (result._tag === "Answered" && result.status === 410) {
    return Effect.succeed(attempted(settings, claimed, "gone", ended, logOf(sent), Option.some(Instant.fromEpochMillis(ended))))
  }
  const wanted = result._tag === "Answered" && (result.status === 429 || result.status === 503)
    ? Webhook.retryAfter(result.retryAfter, ended, settings.retryAfterCap)
    : Option.none()
  return Effect.map(nextAfterFailure(settings, claimed.delivery.attempts + 1, ended, wanted), (next) =>
    attempted(settings, claimed, Option.isSome(next) ? "retry" : "failed", ended, logOf(sent), next))
}

// The attempt as the store records it.
const attempted = (settings: AttemptSettings, claimed: ClaimedDelivery, outcome: Outcome, ended: number, attemptLog: Webhook.Attempt, next: Option.Option<Instant.Instant>): Attempted => ({
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
})

/** What came of a run: the attempts made, in order, and the deliveries left unattempted, whose leases go back. */
export interface RunOutcome {
  readonly attempted: ReadonlyArray<Attempted>
  readonly released: ReadonlyArray<Released>
}

/** The claimed deliveries as runs: those of one (endpoint, order key), in sequence order. */
export const runsOf = (claimed: ReadonlyArray<ClaimedDelivery>): ReadonlyArray<ReadonlyArray<ClaimedDelivery>> => {
  const runs = new Map<string, Array<ClaimedDelivery>>()
  for (const c of claimed) {
    const key = `${c.delivery.endpointId}\u0000${c.delivery.orderKey}`
    const run = runs.get(key)
    if (run === undefined) runs.set(key, [c])
    else run.push(c)
  }
  return [...runs.values()].map((run) => run.sort((a, b) => a.delivery.sequence - b.delivery.sequence))
}

/**
 * Attempts a run's deliveries one after another while each is delivered and `mayStart` allows the
 * next at the clock's instant (epoch millis); the first one not delivered ends the run, and the
 * rest are released (they keep their order: pending behind it). Records nothing. The sends are
 * chained by the transport's callbacks, so the fiber suspends once per run, not once per send;
 * interrupting it abandons the send under way.
 */
export const attemptRun = (settings: AttemptSettings, run: ReadonlyArray<ClaimedDelivery>, mayStart: (nowMillis: number) => boolean) =>
  Effect.flatMap(WebhookTransport, (transport) =>
    Effect.flatMap(WebhookCrypto, (crypto) =>
      Effect.clockWith((clock) => {
        const attempts: Array<Attempted> = []
        // The sends in order until one is not a success (the run ends with it), or none is left
        // or may start (the run ends with `undefined`).
        const sends = Effect.async<Sent | undefined>((resume) => {
          let abandon: (() => void) | undefined
          // Whether `send` is still on the stack (the transport answered at once), and whether it did.
          let sending = false
          let answered = false
          const onAnswer = (claimed: ClaimedDelivery, started: number) => (result: TransportResult) => {
            const sent = { claimed, result, started, ended: clock.unsafeCurrentTimeMillis() }
            if (!isSuccess(result)) return resume(Effect.succeed(sent))
            attempts.push(deliveredOf(settings, sent))
            if (sending) answered = true
            else next()
          }
          // A throw (a secret that does not open, say) is a defect of the fiber, as in any effect,
          // not an exception in the transport's callback.
          const next = (): void => {
            try {
              do {
                const claimed = run[attempts.length]
                const started = clock.unsafeCurrentTimeMillis()
                if (claimed === undefined || !mayStart(started)) return resume(Effect.succeed(undefined))
                const body = claimed.body ?? Webhook.body(claimed.payload)
                const request = { url: claimed.endpoint.url, headers: signedHeaders(crypto, claimed, body, started), body, timeout: settings.timeout }
                sending = true
                answered = false
                abandon = transport.send(request, onAnswer(claimed, started))
                sending = false
              } while (answered)
            } catch (defect) {
              resume(Effect.die(defect))
            }
          }
          next()
          return Effect.sync(() => abandon?.())
        })
        return Effect.flatMap(sends, (last) =>
          Effect.map(last === undefined ? Effect.void : Effect.map(outcomeOf(settings, last), (a) => attempts.push(a)), (): RunOutcome => ({
            attempted: attempts,
            released: run.slice(attempts.length).map((c): Released => ({ deliveryId: c.delivery.id, owner: settings.owner }))
          })))
      })))

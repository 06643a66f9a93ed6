/**
 * Outbound webhooks: the endpoints an operator registers, the deliveries of outbox events to
 * them, and the retry schedule. Secrets are held only sealed (encrypted by the `WebhookCrypto`
 * port); the plain secret is shown once, when made.
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { StoredEvent } from "./Event.js"
import { Instant } from "./Instant.js"

/** A secret as stored: sealed by the `WebhookCrypto` port, and the instant it stops signing, if any. */
export const Secret = Schema.Struct({
  sealed: Schema.String,
  createdAt: Instant,
  expiresAt: Schema.optional(Instant)
})
export type Secret = typeof Secret.Type

/** A registered endpoint. */
export const Endpoint = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  eventTypes: Schema.Array(Schema.String),
  description: Schema.optional(Schema.String),
  secrets: Schema.Array(Secret),
  createdAt: Instant,
  /** Set while every attempt to it fails: the first failure since the last success. */
  failingSince: Schema.optional(Instant),
  disabledAt: Schema.optional(Instant),
  disabledReason: Schema.optional(Schema.String)
})
export type Endpoint = typeof Endpoint.Type

/** The state of a delivery. */
export const DeliveryStatus = Schema.Literal("pending", "delivered", "failed")
export type DeliveryStatus = typeof DeliveryStatus.Type

/** One attempt of a delivery, as the attempt log shows it. */
export const Attempt = Schema.Struct({
  at: Instant,
  /** The answer's status code; absent when no answer came. */
  statusCode: Schema.optional(Schema.Int),
  latencyMs: Schema.Int,
  /** Why the attempt did not deliver; absent on success. */
  error: Schema.optional(Schema.String)
})
export type Attempt = typeof Attempt.Type

/** What is sent: one outbox event, the same bytes on every attempt. */
export const Payload = Schema.Struct({
  type: Schema.String,
  id: Schema.String,
  timestamp: Instant,
  /** The event's position among the events of its subscription, from 1. */
  sequence: Schema.Int,
  data: Schema.Unknown
})
export type Payload = typeof Payload.Type

/** The delivery of one event to one endpoint. */
export const Delivery = Schema.Struct({
  id: Schema.String,
  endpointId: Schema.String,
  eventId: Schema.String,
  eventType: Schema.String,
  /** Deliveries with the same key reach an endpoint in `sequence` order: the subscription id. */
  orderKey: Schema.String,
  sequence: Schema.Int,
  status: DeliveryStatus,
  attempts: Schema.Int,
  nextAttemptAt: Schema.optional(Instant),
  createdAt: Instant,
  log: Schema.Array(Attempt)
})
export type Delivery = typeof Delivery.Type

/** An event to enqueue: its payload without the sequence, which the store assigns per order key. */
export interface OutboundEvent {
  readonly id: string
  readonly type: string
  readonly timestamp: Instant
  readonly orderKey: string
  readonly data: unknown
}

/**
 * The order an outbox event keeps: its subscription's; the events of one endpoint, and the
 * catalog's, each in an order of their own.
 */
export const orderKeyOf = (event: { readonly type: string; readonly subscriptionId?: string | undefined; readonly endpointId?: string | undefined }): string =>
  event.subscriptionId ?? (event.endpointId === undefined ? event.type : `webhook-endpoint/${event.endpointId}`)

/** An outbox event as a webhook event: everything it records but its outbox position. */
export const outbound = (event: StoredEvent): OutboundEvent => {
  const { sequence: _sequence, ...data } = event
  return { id: event.id, type: event.type, timestamp: event.occurredAt, orderKey: orderKeyOf(event), data }
}

/** The body of a delivery: compact JSON of the payload, in a fixed key order. */
export const body = (payload: Payload): string =>
  JSON.stringify({ type: payload.type, id: payload.id, timestamp: payload.timestamp, sequence: payload.sequence, data: payload.data })

/** Whether an endpoint wants events of a type (`*` subscribes to every type). */
export const subscribes = (endpoint: { readonly eventTypes: ReadonlyArray<string> }, type: string): boolean =>
  endpoint.eventTypes.includes(type) || endpoint.eventTypes.includes("*")

/** The secrets that sign at an instant: those not yet expired. */
export const activeSecrets = (endpoint: Endpoint, now: Instant): ReadonlyArray<Secret> =>
  endpoint.secrets.filter((s) => s.expiresAt === undefined || s.expiresAt > now)

/**
 * The delays after each failed attempt: about three days in all (2 days 19 hours), then the
 * delivery fails.
 */
export const schedule: ReadonlyArray<Duration.Duration> = [
  Duration.seconds(5),
  Duration.minutes(5),
  Duration.minutes(30),
  Duration.hours(2),
  Duration.hours(5),
  ...Array.from({ length: 6 }, () => Duration.hours(10))
]

/**
 * The delay before attempt `attempts + 1`, after `attempts` failed ones, from a schedule, with
 * jitter: the scheduled delay times a factor in [0.8, 1.2) drawn from `random` in [0, 1).
 * `None` once the schedule is spent: the delivery fails.
 */
export const backoff = (
  attempts: number,
  random: number,
  delays: ReadonlyArray<Duration.Duration> = schedule
): Option.Option<Duration.Duration> => {
  const base = delays[attempts - 1]
  if (attempts < 1 || base === undefined) return Option.none()
  const factor = 0.8 + 0.4 * Math.min(Math.max(random, 0), 0.999999)
  return Option.some(Duration.millis(Math.round(Duration.toMillis(base) * factor)))
}

/**
 * The delay a `Retry-After` header asks for: delay-seconds or an HTTP date, relative to `nowMillis`;
 * `None` when absent or unreadable. Never negative, and at most `cap`.
 */
export const retryAfter = (header: string | undefined, nowMillis: number, cap: Duration.Duration): Option.Option<Duration.Duration> => {
  if (header === undefined) return Option.none()
  const trimmed = header.trim()
  const millis = /^\d+$/.test(trimmed)
    ? Number(trimmed) * 1000
    : Number.isNaN(Date.parse(trimmed)) ? undefined : Date.parse(trimmed) - nowMillis
  if (millis === undefined) return Option.none()
  return Option.some(Duration.millis(Math.min(Math.max(0, millis), Duration.toMillis(cap))))
}

/** How long an endpoint may fail everything before it is disabled. */
export const disableAfter: Duration.Duration = Duration.days(5)

/** How long a rotated-out secret keeps signing beside the new one. */
export const rotationOverlap: Duration.Duration = Duration.hours(24)

/** An endpoint with an operator's changes: `disabled: false` enables it again and forgets its failing streak. */
export const patched = (
  endpoint: Endpoint,
  patch: {
    readonly url?: string | undefined
    readonly eventTypes?: ReadonlyArray<string> | undefined
    readonly description?: string | undefined
    readonly disabled?: boolean | undefined
  },
  now: Instant
): Endpoint => {
  const { disabledAt: _at, disabledReason: _reason, failingSince: _since, ...enabled } = endpoint
  return {
    ...(patch.disabled === false ? enabled : endpoint),
    ...(patch.url === undefined ? {} : { url: patch.url }),
    ...(patch.eventTypes === undefined ? {} : { eventTypes: patch.eventTypes }),
    ...(patch.description === undefined ? {} : { description: patch.description }),
    ...(patch.disabled === true && endpoint.disabledAt === undefined ? { disabledAt: now, disabledReason: "disabled by an operator" } : {})
  }
}

/** An endpoint after an attempt: a good answer ends its failing streak, a bad one starts it if none is running. */
export const afterAttempt = (endpoint: Endpoint, ok: boolean, now: Instant): Endpoint => {
  const { failingSince: _since, ...rest } = endpoint
  return ok ? rest : { ...endpoint, failingSince: endpoint.failingSince ?? now }
}

/**
 * What attempts recorded together at one instant do to each endpoint's failing streak, the same
 * as `afterAttempt` one after another: `clear` when its last attempt succeeded; `restart` (the
 * streak starts now) when a failure follows a success; `start` (unless one is running) when all
 * failed.
 */
export const streakChanges = (
  results: ReadonlyArray<{ readonly endpointId: string; readonly endpointOk: boolean }>
): ReadonlyMap<string, "clear" | "restart" | "start"> => {
  const changes = new Map<string, "clear" | "restart" | "start">()
  for (const { endpointId, endpointOk } of results) {
    const current = changes.get(endpointId)
    changes.set(endpointId, endpointOk ? "clear" : current === "clear" || current === "restart" ? "restart" : "start")
  }
  return changes
}

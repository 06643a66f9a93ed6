/**
 * The webhook ports: the endpoint and delivery stores (one store provides both, so a delivery
 * is enqueued only for an endpoint that exists), the transport that sends one signed POST, and
 * the crypto that makes, seals and signs with secrets (the core cannot reach a platform's HMAC).
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { StoreUnavailable } from "../domain/Errors.js"
import type { Instant } from "../domain/Instant.js"
import type * as Webhook from "../domain/Webhook.js"

/** The fields an operator may change on an endpoint. */
export interface EndpointPatch {
  readonly url?: string | undefined
  readonly eventTypes?: ReadonlyArray<string> | undefined
  readonly description?: string | undefined
  /** `false` enables a disabled endpoint again; `true` disables it. */
  readonly disabled?: boolean | undefined
}

/** The endpoint store. */
export class WebhookEndpoints extends Context.Tag("@subshift/core/WebhookEndpoints")<
  WebhookEndpoints,
  {
    readonly create: (endpoint: Webhook.Endpoint) => Effect.Effect<void, StoreUnavailable>
    readonly get: (id: string) => Effect.Effect<Option.Option<Webhook.Endpoint>, StoreUnavailable>
    /** Endpoints in id order, after a cursor. */
    readonly list: (query: { readonly after?: string | undefined; readonly limit: number }) => Effect.Effect<ReadonlyArray<Webhook.Endpoint>, StoreUnavailable>
    /** The updated endpoint; `None` when there is none. */
    readonly update: (id: string, patch: EndpointPatch, now: Instant) => Effect.Effect<Option.Option<Webhook.Endpoint>, StoreUnavailable>
    /** Replaces the secrets (rotation); `None` when there is no such endpoint. */
    readonly setSecrets: (id: string, secrets: ReadonlyArray<Webhook.Secret>) => Effect.Effect<Option.Option<Webhook.Endpoint>, StoreUnavailable>
    /** Removes an endpoint and its deliveries; whether it existed. */
    readonly remove: (id: string) => Effect.Effect<boolean, StoreUnavailable>
    /** Disables an endpoint that is enabled, with a reason, writing its `webhook.endpoint_disabled` event in the same write. */
    readonly disable: (id: string, reason: string, now: Instant) => Effect.Effect<void, StoreUnavailable>
  }
>() {}

/** A delivery claimed for an attempt, with what the attempt needs. */
export interface ClaimedDelivery {
  readonly delivery: Webhook.Delivery
  readonly payload: Webhook.Payload
  readonly endpoint: Webhook.Endpoint
  /**
   * The payload as the JSON text to send, when the store has it at hand (the same bytes on every
   * attempt); else the worker writes `Webhook.body(payload)`.
   */
  readonly body?: string | undefined
}

/** The outcome of an attempt, as the store records it. */
export interface AttemptResult {
  readonly deliveryId: string
  readonly endpointId: string
  /** The lease holder; a result from a process whose lease was taken over is still logged. */
  readonly owner: string
  readonly attempt: Webhook.Attempt
  /** `delivered`, `failed`, or `pending` with the next attempt's instant. */
  readonly status: Webhook.DeliveryStatus
  readonly nextAttemptAt?: Instant | undefined
  /** Whether the endpoint answered as it should (clears its failing streak) or not (starts one). */
  readonly endpointOk: boolean
}

/** A delivery claimed and not attempted, whose lease its owner gives back. */
export interface Released {
  readonly deliveryId: string
  readonly owner: string
}

/** What a fan-out did: the outbox events it passed, and the deliveries it leased. */
export interface FannedOut {
  readonly passed: number
  readonly claimed: ReadonlyArray<ClaimedDelivery>
}

/** A page of an endpoint's deliveries, newest first. */
export interface DeliveryQuery {
  readonly endpointId: string
  readonly status?: Webhook.DeliveryStatus | undefined
  /** The id of the last delivery of the previous page. */
  readonly after?: string | undefined
  readonly limit: number
}

/** The delivery store. */
export class WebhookDeliveries extends Context.Tag("@subshift/core/WebhookDeliveries")<
  WebhookDeliveries,
  {
    /** The sequence of the last outbox event enqueued (0 before the first). */
    readonly cursor: Effect.Effect<number, StoreUnavailable>
    /**
     * Fans out up to `limit` outbox events after the cursor, in outbox order, at once: gives each
     * the next sequence of its order key (`Webhook.orderKeyOf`), enqueues a delivery of it
     * (`Webhook.outbound`) to each enabled endpoint subscribed to its type, and moves the cursor
     * past them. An event no endpoint wants is passed over: its sequence is taken, nothing is
     * enqueued. Never skips an event written before one it passes but not yet visible, and never
     * fans one event out twice, whatever other processes do. With `claim`, it also leases, in the
     * same write, runs of the deliveries it enqueues, as `claim` would lease them: a run starts
     * at the first delivery it enqueues of an (endpoint, order key) that had no pending delivery
     * before, and goes on with the next ones it enqueues of that key, `perKey` at most (1 unless
     * set); `claim.limit` runs at most, in outbox order. Answers how many events it passed, and
     * the deliveries it leased (in sequence order per run; none without `claim`).
     */
    readonly fanOut: (input: {
      readonly limit: number
      readonly now: Instant
      readonly claim?: {
        readonly owner: string
        readonly leaseFor: Duration.Duration
        readonly limit: number
        readonly perKey?: number | undefined
      } | undefined
    }) => Effect.Effect<FannedOut, StoreUnavailable>
    /** Enqueues one event for one endpoint, whatever it subscribes to (a test event); the delivery's id. */
    readonly enqueueFor: (endpointId: string, event: Webhook.OutboundEvent, now: Instant) => Effect.Effect<Option.Option<string>, StoreUnavailable>
    /**
     * Leases runs of deliveries, at most `limit` runs: a run starts at a delivery that is due,
     * pending, not leased, to an enabled endpoint, and first of its (endpoint, order key) among the
     * pending ones, and goes on with the next pending deliveries of that key in sequence order
     * while they are due and not leased, `perKey` deliveries at most (1 unless set). The
     * deliveries of a run come in sequence order. No two callers get the same delivery while its
     * lease lasts.
     */
    readonly claim: (input: {
      readonly owner: string
      readonly now: Instant
      readonly leaseFor: Duration.Duration
      readonly limit: number
      readonly perKey?: number | undefined
    }) => Effect.Effect<ReadonlyArray<ClaimedDelivery>, StoreUnavailable>
    /**
     * Logs attempts, in the order given, at once: sets each delivery's status and releases its
     * lease, and moves each endpoint's failing streak (`Webhook.afterAttempt`, in order, at
     * `now`); in the same write, releases the leases of `released` deliveries (claimed, not
     * attempted) that their owner still holds, leaving them as they were. Answers the endpoints
     * of the results that are failing after it, with the start of their streak.
     */
    readonly record: (
      results: ReadonlyArray<AttemptResult>,
      now: Instant,
      released?: ReadonlyArray<Released> | undefined
    ) => Effect.Effect<ReadonlyMap<string, Instant>, StoreUnavailable>
    readonly get: (deliveryId: string) => Effect.Effect<Option.Option<Webhook.Delivery>, StoreUnavailable>
    readonly list: (query: DeliveryQuery) => Effect.Effect<ReadonlyArray<Webhook.Delivery>, StoreUnavailable>
    /** Makes a delivery pending and due now, whatever its state; the delivery, or `None`. */
    readonly retry: (deliveryId: string, now: Instant) => Effect.Effect<Option.Option<Webhook.Delivery>, StoreUnavailable>
  }
>() {}

/** A request the transport sends. */
export interface OutboundRequest {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly timeout: Duration.Duration
}

/** What came back: an answer (its status and `Retry-After`), or no answer and why. */
export type TransportResult =
  | { readonly _tag: "Answered"; readonly status: number; readonly retryAfter?: string | undefined }
  | { readonly _tag: "NoAnswer"; readonly error: string }

/**
 * Sends POSTs. `send` sends one and calls `done` once with what came of it (it never throws: a
 * failed send is an outcome the worker records), and answers a function that abandons the send,
 * after which `done` is not called. It is a callback, not an effect, so that the worker chains a
 * run's sends from one fiber step: one fiber suspension per send was the largest part of the
 * worker's own time per delivery. `done` may be called before `send` returns.
 */
export class WebhookTransport extends Context.Tag("@subshift/core/WebhookTransport")<
  WebhookTransport,
  { readonly send: (request: OutboundRequest, done: (result: TransportResult) => void) => () => void }
>() {}

/** Makes, seals and signs with endpoint secrets. */
export class WebhookCrypto extends Context.Tag("@subshift/core/WebhookCrypto")<
  WebhookCrypto,
  {
    /** A new secret: in Standard Webhooks form (`whsec_` + base64), to show once, and sealed, to store. */
    readonly newSecret: Effect.Effect<{ readonly secret: string; readonly sealed: string }>
    /** `v1,<base64 HMAC-SHA256 of id.timestamp.body>` for one sealed secret (a pure computation, called per attempt). */
    readonly sign: (sealed: string, content: { readonly id: string; readonly timestamp: number; readonly body: string }) => string
  }
>() {}

/** The webhook stores, which a store adapter provides beside its repository ports. */
export type WebhookStore = WebhookEndpoints | WebhookDeliveries

/**
 * The rows of a webhook claim, turned into claimed deliveries. A claim returns every delivery of
 * its runs with its payload, so its decoding is paid per delivered event: the rows are checked and
 * built in one synchronous pass, and the Schema decode (which gives a bad row's error) runs only
 * for a row that the pass does not take as is.
 */
import type { Instant } from "@subshift/core/domain/Instant"
import * as Webhook from "@subshift/core/domain/Webhook"
import type { ClaimedDelivery } from "@subshift/core/ports/Webhooks"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** A claimed delivery as its columns. */
export interface ClaimRow {
  readonly id: string
  readonly endpoint_id: string
  readonly event_id: string
  readonly event_type: string
  readonly order_key: string
  readonly sequence: string
  readonly status: string
  readonly attempts: number
  readonly next_attempt_at: string | null
  readonly created_at: string
  readonly log: string
  /** The delivery's own payload (a test event's); null when it is built from the event's columns below. */
  readonly payload: string | null
  /** The event's instant and data (its JSON text), when the delivery keeps no payload of its own. */
  readonly occurred_at: string | null
  readonly data: string | null
  /** The endpoint's data on the first row of each endpoint, null on the others. */
  readonly endpoint: string | null
}

const deliveryOf = Schema.decodeUnknownEither(Webhook.Delivery)
const payloadOf = Schema.decodeUnknownEither(Webhook.Payload)
const endpointOf = Schema.decodeUnknownEither(Schema.parseJson(Webhook.Endpoint))

const statuses: ReadonlySet<string> = new Set(Webhook.DeliveryStatus.literals)

// Whether a text is an instant in its canonical form (`Date#toISOString`, which the Schema
// decodes to itself); the instants of one claim repeat (a page is fanned out at one instant), so
// each text is checked once per claim.
const canonicalIn = (seen: Map<string, boolean>) => (value: unknown): value is Instant => {
  if (typeof value !== "string") return false
  let canonical = seen.get(value)
  if (canonical === undefined) {
    const millis = value.length === 24 ? Date.parse(value) : Number.NaN
    canonical = !Number.isNaN(millis) && new Date(millis).toISOString() === value
    seen.set(value, canonical)
  }
  return canonical
}

/** Decodes a claim's rows, in sequence order; a row that is not a delivery fails with the Schema's error. */
export const decodeClaimed = (rows: ReadonlyArray<ClaimRow>): Effect.Effect<ReadonlyArray<ClaimedDelivery>, ParseResult.ParseError> =>
  Effect.suspend(() => {
    const endpoints = new Map<string, Webhook.Endpoint>()
    for (const row of rows) {
      if (row.endpoint === null) continue
      const endpoint = endpointOf(row.endpoint)
      if (Either.isLeft(endpoint)) return Effect.fail(endpoint.left)
      endpoints.set(endpoint.right.id, endpoint.right)
    }
    const isInstant = canonicalIn(new Map())
    const claimed: Array<ClaimedDelivery> = []
    for (const row of rows) {
      const delivery = deliveryFrom(row, isInstant)
      if (Either.isLeft(delivery)) return Effect.fail(delivery.left)
      const sent = sentOf(row, delivery.right.sequence, isInstant)
      if (Either.isLeft(sent)) return Effect.fail(sent.left)
      claimed.push({ delivery: delivery.right, ...sent.right, endpoint: endpoints.get(row.endpoint_id)! })
    }
    return Effect.succeed(claimed.sort((a, b) => a.delivery.sequence - b.delivery.sequence))
  })

// The delivery of a row: built as is when its columns are what the Schema would decode to itself
// (a first attempt has an empty log), else decoded by the Schema.
const deliveryFrom = (row: ClaimRow, isInstant: (value: unknown) => value is Instant): Either.Either<Webhook.Delivery, ParseResult.ParseError> => {
  const sequence = Number(row.sequence)
  const input = {
    id: row.id, endpointId: row.endpoint_id, eventId: row.event_id, eventType: row.event_type, orderKey: row.order_key,
    sequence, status: row.status, attempts: row.attempts, createdAt: row.created_at, log: row.log === "[]" ? [] : JSON.parse(row.log),
    ...(row.next_attempt_at === null ? {} : { nextAttemptAt: row.next_attempt_at })
  }
  const plain = row.log === "[]" && Number.isSafeInteger(sequence) && Number.isSafeInteger(row.attempts) && statuses.has(row.status) &&
    isInstant(row.created_at) && (row.next_attempt_at === null || isInstant(row.next_attempt_at)) &&
    typeof row.id === "string" && typeof row.endpoint_id === "string" && typeof row.event_id === "string" &&
    typeof row.event_type === "string" && typeof row.order_key === "string"
  return plain ? Either.right(input as Webhook.Delivery) : deliveryOf(input)
}

// The payload of a row, and the body to send when the row gives it as is: a delivery's own
// payload is read from its JSON; one built from its event is written around the event's data as
// the database wrote it (the same bytes on every attempt), and that data is parsed only if
// something reads the payload's `data` (the worker sends the body).
const sentOf = (row: ClaimRow, sequence: number, isInstant: (value: unknown) => value is Instant): Either.Either<{ readonly payload: Webhook.Payload; readonly body?: string }, ParseResult.ParseError> => {
  if (row.payload !== null) return Either.map(payloadFrom(JSON.parse(row.payload), isInstant), (payload) => ({ payload }))
  const { data, event_id: id, event_type: type, occurred_at: timestamp } = row
  if (data === null || !isInstant(timestamp)) return Either.map(payloadOf({ type, id, timestamp, sequence, data: data === null ? data : JSON.parse(data) }), (payload) => ({ payload }))
  let parsed: { readonly value: unknown } | undefined
  return Either.right({
    payload: {
      type, id, timestamp, sequence,
      get data() {
        return (parsed ??= { value: JSON.parse(data) }).value
      }
    },
    body: `{"type":${JSON.stringify(type)},"id":${JSON.stringify(id)},"timestamp":"${timestamp}","sequence":${sequence},"data":${data}}`
  })
}

// The payload of a row's JSON: built as is when its fields are what the Schema would decode to
// itself, else decoded by the Schema.
const payloadFrom = (json: unknown, isInstant: (value: unknown) => value is Instant): Either.Either<Webhook.Payload, ParseResult.ParseError> => {
  if (typeof json === "object" && json !== null && "data" in json) {
    const { data, id, sequence, timestamp, type } = json as Record<string, unknown>
    if (typeof type === "string" && typeof id === "string" && isInstant(timestamp) && Number.isSafeInteger(sequence)) {
      return Either.right({ type, id, timestamp, sequence: sequence as number, data })
    }
  }
  return payloadOf(json)
}

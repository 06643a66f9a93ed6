/**
 * The webhook endpoint and delivery stores. The outbox cursor is one row, moved with a
 * compare-and-set in the transaction that enqueues, so two processes never enqueue one page
 * twice. Claims lease rows with `FOR UPDATE SKIP LOCKED`: concurrent claimers skip each other's
 * rows, and a lease that a dead process leaves expires with time, not with a connection.
 */
import type { Instant } from "@subshift/core/domain/Instant"
import * as Webhook from "@subshift/core/domain/Webhook"
import { type ClaimedDelivery, WebhookDeliveries, WebhookEndpoints } from "@subshift/core/ports/Webhooks"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { PortContext } from "./Edge.js"
import { count, decodeFirst, decodeRows, decoder, type TextRow } from "./Rows.js"

const decodeEndpoint = decoder(Webhook.Endpoint)
const encodeEndpoint = (endpoint: Webhook.Endpoint) => JSON.stringify(Schema.encodeSync(Webhook.Endpoint)(endpoint))
const decodeDelivery = decoder(Webhook.Delivery)
const decodePayload = decoder(Webhook.Payload)

// A delivery row as the `Delivery` JSON.
const deliveryJson = `jsonb_strip_nulls(jsonb_build_object('id', d.id, 'endpointId', d.endpoint_id, 'eventId', d.event_id,
  'eventType', d.event_type, 'orderKey', d.order_key, 'sequence', d.sequence, 'status', d.status, 'attempts', d.attempts,
  'nextAttemptAt', d.next_attempt_at, 'createdAt', d.created_at)) || jsonb_build_object('log', d.log)`

const plus = (at: Instant, duration: Duration.Duration) => new Date(Date.parse(at) + Duration.toMillis(duration)).toISOString()

interface ClaimRow {
  readonly delivery: string
  readonly payload: string
  readonly endpoint: string
}

/** Both webhook stores. */
export const make = ({ edge, read, sql }: PortContext) => {
  const endpointById = (id: string, lock: boolean) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_webhook_endpoints WHERE id = ${id} ${lock ? sql`FOR UPDATE` : sql``}`.withoutTransform.pipe(
      Effect.flatMap(decodeFirst(decodeEndpoint))
    )
  const saveEndpoint = (endpoint: Webhook.Endpoint) =>
    sql`UPDATE subshift_webhook_endpoints SET data = ${encodeEndpoint(endpoint)}::jsonb WHERE id = ${endpoint.id}`.withoutTransform
  // Reads an endpoint under a row lock, changes it, and writes it back, in one transaction.
  const modify = (id: string, change: (endpoint: Webhook.Endpoint) => Webhook.Endpoint) =>
    sql.withTransaction(Effect.gen(function*() {
      const existing = yield* endpointById(id, true)
      if (Option.isNone(existing)) return Option.none<Webhook.Endpoint>()
      const updated = change(existing.value)
      yield* saveEndpoint(updated)
      return Option.some(updated)
    }))

  const endpoints = WebhookEndpoints.of({
    create: (endpoint) =>
      sql`INSERT INTO subshift_webhook_endpoints (id, data) VALUES (${endpoint.id}, ${encodeEndpoint(endpoint)}::jsonb)`.withoutTransform.pipe(
        Effect.asVoid,
        edge("WebhookEndpoints.create")
      ),
    get: (id) => endpointById(id, false).pipe(read("WebhookEndpoints.get")),
    list: ({ after, limit }) =>
      sql<TextRow>`SELECT data::text AS data FROM subshift_webhook_endpoints
        ${after === undefined ? sql`` : sql`WHERE id > ${after}`} ORDER BY id LIMIT ${count(limit)}`.withoutTransform.pipe(
        Effect.flatMap(decodeRows(decodeEndpoint)),
        read("WebhookEndpoints.list")
      ),
    update: (id, patch, now) => modify(id, (e) => Webhook.patched(e, patch, now)).pipe(edge("WebhookEndpoints.update")),
    setSecrets: (id, secrets) => modify(id, (e) => ({ ...e, secrets })).pipe(edge("WebhookEndpoints.setSecrets")),
    remove: (id) =>
      sql<{ readonly id: string }>`DELETE FROM subshift_webhook_endpoints WHERE id = ${id} RETURNING id`.withoutTransform.pipe(
        Effect.map((rows) => rows.length > 0),
        edge("WebhookEndpoints.remove")
      ),
    disable: (id, reason, now) =>
      sql`UPDATE subshift_webhook_endpoints
        SET data = data || jsonb_build_object('disabledAt', ${now}::text, 'disabledReason', ${reason}::text)
        WHERE id = ${id} AND NOT (data ? 'disabledAt')`.withoutTransform.pipe(Effect.asVoid, edge("WebhookEndpoints.disable"))
  })

  // Inserts deliveries of numbered events to every enabled endpoint subscribed to their type,
  // or to one endpoint whatever it subscribes to.
  const insertDeliveries = (
    events: ReadonlyArray<{ readonly event: Webhook.OutboundEvent; readonly sequence: number }>,
    now: Instant,
    endpointId?: string
  ) => {
    const rows = JSON.stringify(events.map(({ event, sequence }) => ({
      id: event.id, type: event.type, orderKey: event.orderKey, sequence,
      payload: { type: event.type, id: event.id, timestamp: event.timestamp, sequence, data: event.data }
    })))
    return sql<{ readonly id: string }>`INSERT INTO subshift_webhook_deliveries
        (endpoint_id, event_id, event_type, order_key, sequence, status, next_attempt_at, created_at, payload)
      SELECT w.id, e->>'id', e->>'type', e->>'orderKey', (e->>'sequence')::bigint, 'pending', ${now}, ${now}, e->'payload'
      FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS x(e, n), subshift_webhook_endpoints w
      WHERE ${endpointId === undefined
        ? sql`NOT (w.data ? 'disabledAt') AND (w.data->'eventTypes' ? (e->>'type') OR w.data->'eventTypes' ? '*')`
        : sql`w.id = ${endpointId}`}
      ORDER BY x.n, w.id
      ON CONFLICT (endpoint_id, event_id) DO NOTHING
      RETURNING id`.withoutTransform
  }

  // Gives each event the next sequence of its order key, inside the caller's transaction.
  const numbered = (events: ReadonlyArray<Webhook.OutboundEvent>) =>
    Effect.gen(function*() {
      const keys = [...new Set(events.map((e) => e.orderKey))]
      const rows = yield* sql<{ readonly order_key: string; readonly last: string }>`SELECT order_key, last::text AS last
        FROM subshift_webhook_sequences WHERE order_key IN (SELECT jsonb_array_elements_text(${JSON.stringify(keys)}::jsonb))
        FOR UPDATE`.withoutTransform
      const last = new Map(rows.map((r) => [r.order_key, Number(r.last)]))
      const result = events.map((event) => {
        const sequence = (last.get(event.orderKey) ?? 0) + 1
        last.set(event.orderKey, sequence)
        return { event, sequence }
      })
      const json = JSON.stringify(keys.map((k) => ({ k, last: last.get(k) })))
      yield* sql`INSERT INTO subshift_webhook_sequences (order_key, last)
        SELECT e->>'k', (e->>'last')::bigint FROM jsonb_array_elements(${json}::jsonb) AS e
        ON CONFLICT (order_key) DO UPDATE SET last = excluded.last`.withoutTransform
      return result
    })

  const deliveries = WebhookDeliveries.of({
    cursor: sql<{ readonly position: string }>`SELECT position::text AS position FROM subshift_webhook_cursor WHERE id = 1`.withoutTransform.pipe(
      Effect.map((rows) => Number(rows[0]?.position ?? 0)),
      read("WebhookDeliveries.cursor")
    ),
    enqueue: ({ events, from, now, to }) =>
      sql.withTransaction(Effect.gen(function*() {
        const moved = yield* sql`UPDATE subshift_webhook_cursor SET position = ${to} WHERE id = 1 AND position = ${from}
          RETURNING position`.withoutTransform
        if (moved.length === 0) return false
        if (events.length > 0) yield* insertDeliveries(yield* numbered(events), now)
        return true
      })).pipe(edge("WebhookDeliveries.enqueue")),
    enqueueFor: (endpointId, event, now) =>
      sql.withTransaction(Effect.flatMap(numbered([event]), (events) => insertDeliveries(events, now, endpointId))).pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.id)),
        edge("WebhookDeliveries.enqueueFor")
      ),
    claim: ({ leaseFor, limit, now, owner }) =>
      sql<ClaimRow>`WITH due AS (
          SELECT d.n FROM subshift_webhook_deliveries d
          JOIN subshift_webhook_endpoints w ON w.id = d.endpoint_id
          WHERE d.status = 'pending' AND d.next_attempt_at <= ${now}
            AND (d.lease_until IS NULL OR d.lease_until <= ${now})
            AND NOT (w.data ? 'disabledAt')
            AND NOT EXISTS (SELECT 1 FROM subshift_webhook_deliveries p
              WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key AND p.status = 'pending' AND p.sequence < d.sequence)
          ORDER BY d.next_attempt_at, d.n
          LIMIT ${count(limit)}
          FOR UPDATE OF d SKIP LOCKED
        )
        UPDATE subshift_webhook_deliveries d SET lease_owner = ${owner}, lease_until = ${plus(now, leaseFor)}
        FROM due, subshift_webhook_endpoints w
        WHERE d.n = due.n AND w.id = d.endpoint_id
        RETURNING (${sql.literal(deliveryJson)})::text AS delivery, d.payload::text AS payload, w.data::text AS endpoint`.withoutTransform.pipe(
        Effect.flatMap((rows) =>
          Effect.forEach(rows, (row) =>
            Effect.all({
              delivery: decodeDelivery(row.delivery),
              payload: decodePayload(row.payload),
              endpoint: decodeEndpoint(row.endpoint)
            }) satisfies Effect.Effect<ClaimedDelivery, unknown>)),
        edge("WebhookDeliveries.claim")
      ),
    record: (result, now) =>
      sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql<{ readonly endpoint_id: string }>`UPDATE subshift_webhook_deliveries SET
            attempts = attempts + 1,
            log = log || jsonb_build_array(${JSON.stringify(result.attempt)}::jsonb),
            status = CASE WHEN lease_owner = ${result.owner} THEN ${result.status} ELSE status END,
            next_attempt_at = CASE WHEN lease_owner = ${result.owner} THEN ${result.nextAttemptAt ?? null} ELSE next_attempt_at END,
            lease_until = CASE WHEN lease_owner = ${result.owner} THEN NULL ELSE lease_until END,
            lease_owner = CASE WHEN lease_owner = ${result.owner} THEN NULL ELSE lease_owner END
          WHERE id = ${result.deliveryId} RETURNING endpoint_id`.withoutTransform
        const endpointId = rows[0]?.endpoint_id
        if (endpointId === undefined) return Option.none<Instant>()
        // Only a change of streak writes the endpoint row, so deliveries to one endpoint do not queue on it.
        const streak = yield* sql<{ readonly since: string | null }>`UPDATE subshift_webhook_endpoints SET data =
            CASE WHEN ${result.endpointOk} THEN data - 'failingSince' ELSE data || jsonb_build_object('failingSince', ${now}::text) END
          WHERE id = ${endpointId} AND (data ? 'failingSince') = ${result.endpointOk}
          RETURNING data->>'failingSince' AS since`.withoutTransform
        if (streak.length > 0 || result.endpointOk) return Option.fromNullable(streak[0]?.since as Instant | null | undefined)
        const current = yield* sql<{ readonly since: string | null }>`SELECT data->>'failingSince' AS since
          FROM subshift_webhook_endpoints WHERE id = ${endpointId}`.withoutTransform
        return Option.fromNullable(current[0]?.since as Instant | null | undefined)
      })).pipe(edge("WebhookDeliveries.record")),
    get: (id) =>
      sql<TextRow>`SELECT (${sql.literal(deliveryJson)})::text AS data FROM subshift_webhook_deliveries d WHERE d.id = ${id}`.withoutTransform.pipe(
        Effect.flatMap(decodeFirst(decodeDelivery)),
        read("WebhookDeliveries.get")
      ),
    list: ({ after, endpointId, limit, status }) =>
      sql<TextRow>`SELECT (${sql.literal(deliveryJson)})::text AS data FROM subshift_webhook_deliveries d
        WHERE d.endpoint_id = ${endpointId}
        ${status === undefined ? sql`` : sql`AND d.status = ${status}`}
        ${after === undefined ? sql`` : sql`AND d.id < ${after}`}
        ORDER BY d.id DESC LIMIT ${count(limit)}`.withoutTransform.pipe(
        Effect.flatMap(decodeRows(decodeDelivery)),
        read("WebhookDeliveries.list")
      ),
    retry: (id, now) =>
      sql<TextRow>`UPDATE subshift_webhook_deliveries d SET status = 'pending', next_attempt_at = ${now}
        WHERE d.id = ${id} RETURNING (${sql.literal(deliveryJson)})::text AS data`.withoutTransform.pipe(
        Effect.flatMap(decodeFirst(decodeDelivery)),
        edge("WebhookDeliveries.retry")
      )
  })

  return { endpoints, deliveries }
}

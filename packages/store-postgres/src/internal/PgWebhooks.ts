/**
 * The webhook endpoint and delivery stores. The outbox cursor is one row, locked and moved by the
 * statement that fans a page out, so two processes never fan one page out twice. Claims lease rows with `FOR UPDATE SKIP LOCKED`: concurrent claimers skip each other's
 * rows, and a lease that a dead process leaves expires with time, not with a connection.
 */
import * as Event from "@subshift/core/domain/Event"
import type { Instant } from "@subshift/core/domain/Instant"
import * as Webhook from "@subshift/core/domain/Webhook"
import { WebhookDeliveries, WebhookEndpoints } from "@subshift/core/ports/Webhooks"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { type PortContext, transaction } from "./Edge.js"
import { type ClaimRow, decodeClaimed } from "./PgClaims.js"
import { type InsertEvents, orderingLock } from "./PgEvents.js"
import { count, decodeFirst, decodeRows, decoder, type TextRow } from "./Rows.js"

const decodeEndpoint = decoder(Webhook.Endpoint)
const encodeEndpoint = (endpoint: Webhook.Endpoint) => JSON.stringify(Schema.encodeSync(Webhook.Endpoint)(endpoint))
const decodeDelivery = decoder(Webhook.Delivery)

// A delivery row as the `Delivery` JSON.
const deliveryJson = `jsonb_strip_nulls(jsonb_build_object('id', d.id, 'endpointId', d.endpoint_id, 'eventId', d.event_id,
  'eventType', d.event_type, 'orderKey', d.order_key, 'sequence', d.sequence, 'status', d.status, 'attempts', d.attempts,
  'nextAttemptAt', d.next_attempt_at, 'createdAt', d.created_at)) || jsonb_build_object('log', d.log)`

// A fan-out's rows: its summary (the events passed, the cursor after them), then the deliveries it leased.
type Nulls<T> = { readonly [K in keyof T]: null }
type FanOutSummary = { readonly passed: number; readonly position: string } & Nulls<ClaimRow>
type FanOutLeased = { readonly passed: null; readonly position: null } & ClaimRow
type FanOutRow = FanOutSummary | FanOutLeased
const summary: Nulls<ClaimRow> = {
  id: null, endpoint_id: null, event_id: null, event_type: null, order_key: null, sequence: null, status: null, attempts: null,
  next_attempt_at: null, created_at: null, log: null, payload: null, occurred_at: null, data: null, endpoint: null
}

const plus = (at: Instant, duration: Duration.Duration) => new Date(Date.parse(at) + Duration.toMillis(duration)).toISOString()

/** Both webhook stores. */
export const make = ({ edge, read, sql }: PortContext, insertEvents: InsertEvents) => {
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
      sql.withTransaction(Effect.gen(function*() {
        const disabled = yield* sql`UPDATE subshift_webhook_endpoints
          SET data = data || jsonb_build_object('disabledAt', ${now}::text, 'disabledReason', ${reason}::text)
          WHERE id = ${id} AND NOT (data ? 'disabledAt') RETURNING id`.withoutTransform
        if (disabled.length > 0) yield* insertEvents([Event.endpointDisabled({ endpointId: id, reason, occurredAt: now })])
      })).pipe(edge("WebhookEndpoints.disable"))
  })

  // Inserts deliveries of numbered events to one endpoint, whatever it subscribes to.
  const insertDeliveries = (
    events: ReadonlyArray<{ readonly event: Webhook.OutboundEvent; readonly sequence: number }>,
    now: Instant,
    endpointId: string
  ) => {
    const rows = JSON.stringify(events.map(({ event, sequence }) => ({
      id: event.id, type: event.type, orderKey: event.orderKey, sequence,
      payload: { type: event.type, id: event.id, timestamp: event.timestamp, sequence, data: event.data }
    })))
    return sql<{ readonly id: string }>`INSERT INTO subshift_webhook_deliveries
        (endpoint_id, event_id, event_type, order_key, sequence, status, next_attempt_at, created_at, payload)
      SELECT w.id, e->>'id', e->>'type', e->>'orderKey', (e->>'sequence')::bigint, 'pending', ${now}, ${now}, e->'payload'
      FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS x(e, n), subshift_webhook_endpoints w
      WHERE w.id = ${endpointId}
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

  // The last horizon this process read (every event sequence up to it settled) and the cursor as
  // it last saw it (with each horizon, and after each page).
  let horizon = 0
  let position = 0
  const deliveries = WebhookDeliveries.of({
    cursor: sql<{ readonly position: string }>`SELECT position::text AS position FROM subshift_webhook_cursor WHERE id = 1`.withoutTransform.pipe(
      Effect.map((rows) => Number(rows[0]?.position ?? 0)),
      read("WebhookDeliveries.cursor")
    ),
    // First the horizon: the events' ordering lock taken exclusively (see `PgEvents`) waits for
    // the event writers in flight, so every sequence up to the highest one then stored is
    // committed, and any later writer gets a higher one. The lock ends with that short
    // transaction, so writers never wait for the fan-out itself. Then, with the cursor row locked
    // first, one statement locks the page's sequence rows, numbers the page (the events after the
    // cursor, up to the horizon) per order key, inserts the deliveries of the events enabled
    // endpoints subscribe to (an event no endpoint wants is only counted), and moves the cursor
    // past the page. A horizon stays true (every sequence up to it is settled), so it is read
    // again only once the cursor has reached the last one read: a backlog is fanned out page
    // after page without taking the ordering lock for each, and a horizon the cursor has already
    // reached (an idle outbox) needs no page at all.
    fanOut: ({ claim, limit, now }) =>
      Effect.suspend(() =>
        position < horizon ? Effect.succeed(horizon) : transaction(sql)(Effect.zipRight(
          sql`SELECT pg_advisory_xact_lock(${sql.literal(orderingLock)})`.withoutTransform,
          sql<{ readonly horizon: string; readonly position: string | null }>`SELECT coalesce(max(sequence), 0)::text AS horizon,
            (SELECT position::text FROM subshift_webhook_cursor WHERE id = 1) AS position FROM subshift_events`.withoutTransform
        )).pipe(Effect.map((rows) => {
          horizon = Number(rows[0]!.horizon)
          position = Number(rows[0]!.position ?? 0)
          return horizon
        }))
      ).pipe(Effect.flatMap((upTo) => upTo <= position ? Effect.succeed<ReadonlyArray<FanOutRow>>([{ ...summary, passed: 0, position: String(position) }]) : transaction(sql)(Effect.flatMap(
        // Fan-outs run one at a time: the next one's statement starts (and takes its snapshot)
        // once this one has committed, so it sees the sequence rows this one wrote. The
        // transaction compiles nothing: the planner cannot see how few rows the page's CTEs
        // hold, and JIT compiling a statement it takes for a big one cost more than the whole
        // statement (90 ms for a page of 500, measured).
        sql<{ readonly position: string }>`SELECT set_config('jit', 'off', true), set_config('enable_bitmapscan', 'off', true), position::text AS position
          FROM subshift_webhook_cursor WHERE id = 1 FOR UPDATE`.withoutTransform,
        // The page is read by the events' index from the cursor on, both bounds given, so that
        // it reads the page's rows only, however long the backlog behind it.
        // With a claim, the first `perKey` deliveries of each (endpoint, order key) with no
        // pending delivery before this page (in the statement's snapshot, so a delivery settled
        // meanwhile only keeps the key's new ones for a later claim) are inserted leased, for the
        // first `claim.limit` such keys in outbox order; they come back as a claim's rows (each
        // event's data looked up by its id), after the page's summary row. The page's rows carry
        // no event data, so that its numbering and joins sort narrow rows.
        (locked) => sql<FanOutRow>`WITH page AS (
            SELECT e.sequence, e.id, e.data->>'type' AS type, COALESCE(e.subscription_id, CASE WHEN e.data ? 'endpointId'
              THEN 'webhook-endpoint/' || (e.data->>'endpointId') ELSE e.data->>'type' END) AS order_key
            FROM subshift_events e WHERE e.sequence > ${locked[0]?.position ?? "0"}::bigint AND e.sequence <= ${upTo}::bigint
            ORDER BY e.sequence LIMIT ${count(limit)}
          ), keys AS (
            SELECT s.order_key, s.last FROM subshift_webhook_sequences s
            WHERE s.order_key IN (SELECT order_key FROM page) FOR UPDATE
          ), numbered AS (
            SELECT p.sequence AS position, p.id, p.type, p.order_key,
              COALESCE(k.last, 0) + row_number() OVER (PARTITION BY p.order_key ORDER BY p.sequence) AS sequence
            FROM page p LEFT JOIN keys k ON k.order_key = p.order_key
          ), numbers AS (
            INSERT INTO subshift_webhook_sequences (order_key, last)
            SELECT order_key, max(sequence) FROM numbered GROUP BY order_key
            ON CONFLICT (order_key) DO UPDATE SET last = excluded.last
          ), moved AS (
            UPDATE subshift_webhook_cursor SET position = (SELECT max(sequence) FROM page)
            WHERE id = 1 AND EXISTS (SELECT 1 FROM page)
          ), targets AS (
            SELECT w.id AS endpoint_id, n.position, n.id, n.type, n.order_key, n.sequence,
              row_number() OVER (PARTITION BY w.id, n.order_key ORDER BY n.sequence) AS k
            FROM numbered n JOIN subshift_webhook_endpoints w ON NOT (w.data ? 'disabledAt')
              AND (w.data->'eventTypes' ? n.type OR w.data->'eventTypes' ? '*')
          ), free AS (
            SELECT t.endpoint_id, t.order_key FROM targets t
            WHERE t.k = 1 AND NOT EXISTS (SELECT 1 FROM subshift_webhook_deliveries p
              WHERE p.status = 'pending' AND p.endpoint_id = t.endpoint_id AND p.order_key = t.order_key)
            ORDER BY t.position, t.endpoint_id LIMIT ${count(claim?.limit ?? 0)}
          ), enqueued AS (
            INSERT INTO subshift_webhook_deliveries
              (endpoint_id, event_id, event_type, order_key, sequence, status, next_attempt_at, created_at, lease_owner, lease_until)
            SELECT t.endpoint_id, t.id, t.type, t.order_key, t.sequence, 'pending', ${now}, ${now},
              CASE WHEN f.order_key IS NOT NULL AND t.k <= ${count(claim?.perKey ?? 1)} THEN ${claim?.owner ?? null}::text END,
              CASE WHEN f.order_key IS NOT NULL AND t.k <= ${count(claim?.perKey ?? 1)} THEN ${claim === undefined ? null : plus(now, claim.leaseFor)}::text END
            FROM targets t LEFT JOIN free f ON f.endpoint_id = t.endpoint_id AND f.order_key = t.order_key
            ORDER BY t.position, t.endpoint_id
            ON CONFLICT (endpoint_id, event_id) DO NOTHING
            RETURNING id, endpoint_id, event_id, event_type, order_key, sequence, status, attempts, next_attempt_at, created_at, log, lease_owner
          ), leased AS (
            SELECT * FROM enqueued WHERE lease_owner IS NOT NULL
          ), firsts_of_endpoints AS (
            SELECT min(id) AS id FROM leased GROUP BY endpoint_id
          )
          SELECT (SELECT count(*) FROM page)::int AS passed,
            coalesce((SELECT max(sequence) FROM page), ${locked[0]?.position ?? "0"}::bigint)::text AS position,
            NULL AS id, NULL AS endpoint_id, NULL AS event_id, NULL AS event_type, NULL AS order_key, NULL AS sequence, NULL AS status,
            NULL::int AS attempts, NULL AS next_attempt_at, NULL AS created_at, NULL AS log, NULL AS payload, NULL AS occurred_at,
            NULL AS data, NULL AS endpoint
          UNION ALL
          SELECT NULL, NULL, l.id, l.endpoint_id, l.event_id, l.event_type, l.order_key, l.sequence::text, l.status, l.attempts,
            l.next_attempt_at, l.created_at, l.log::text,
            NULL, e.data->>'occurredAt', e.data::text,
            w.data::text
          FROM leased l LEFT JOIN firsts_of_endpoints f ON f.id = l.id
            LEFT JOIN LATERAL (SELECT e.data FROM subshift_events e WHERE e.id = l.event_id LIMIT 1) e ON true
            LEFT JOIN subshift_webhook_endpoints w ON f.id IS NOT NULL AND w.id = l.endpoint_id`.withoutTransform
      )))).pipe(
        Effect.flatMap((rows) => {
          const head = rows.find((row): row is FanOutSummary => row.passed !== null)
          const moved = Number(head?.position ?? 0)
          // A cursor behind the one seen before (the database was reset under this process): the
          // horizon read before it no longer holds.
          if (moved < position) horizon = 0
          position = moved
          const passed = head?.passed ?? 0
          return Effect.map(decodeClaimed(rows.filter((row): row is FanOutLeased => row.passed === null)), (claimed) => ({ passed, claimed }))
        }),
        edge("WebhookDeliveries.fanOut")
      ),
    enqueueFor: (endpointId, event, now) =>
      sql.withTransaction(Effect.flatMap(numbered([event]), (events) => insertDeliveries(events, now, endpointId))).pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.id)),
        edge("WebhookDeliveries.enqueueFor")
      ),
    // The heads: the first pending delivery of each (endpoint, order key), found by walking the
    // keys of the partial order index one after another (a skip scan: one index descent per key,
    // whatever the backlog behind each head), kept when due, free and to an enabled endpoint, and
    // locked with SKIP LOCKED, so a row another claimer or recorder just took is skipped (a row
    // changed meanwhile is checked again against the conditions on `d`); then each head's run:
    // the next pending deliveries of its key, in sequence order, while due and free. A run's
    // followers are never heads, so no other claimer reaches them while the head is held. The
    // rows come back as columns, in no order (the decoder sorts them: a sort here moved every
    // row's payload), the endpoint's data on one row per endpoint (its first by id: found by a
    // hash aggregate, where a window function sorted the rows), and the delivery's event's
    // instant and data (each looked up by its id, whatever the size of the outbox), which the
    // decoder writes the body around, unless the delivery keeps its own payload (see migration
    // 0011). (Fetching the heads by
    // `d.id = ANY (ARRAY(SELECT id FROM firsts))` instead of the join is faster on PostgreSQL 15,
    // but the embedded engine then claimed a delivery whose predecessor was still pending: the
    // join is kept until that is understood.)
    claim: ({ leaseFor, limit, now, owner, perKey = 1 }) =>
      sql<ClaimRow>`WITH RECURSIVE keys AS (
          (SELECT p.endpoint_id, p.order_key FROM subshift_webhook_deliveries p WHERE p.status = 'pending'
            ORDER BY p.endpoint_id, p.order_key LIMIT 1)
          UNION ALL
          SELECT q.endpoint_id, q.order_key FROM keys k CROSS JOIN LATERAL (
            SELECT p.endpoint_id, p.order_key FROM subshift_webhook_deliveries p
            WHERE p.status = 'pending' AND (p.endpoint_id, p.order_key) > (k.endpoint_id, k.order_key)
            ORDER BY p.endpoint_id, p.order_key LIMIT 1
          ) q
        ), firsts AS MATERIALIZED (
          SELECT f.id FROM keys k CROSS JOIN LATERAL (
            SELECT p.id FROM subshift_webhook_deliveries p
            WHERE p.status = 'pending' AND p.endpoint_id = k.endpoint_id AND p.order_key = k.order_key
            ORDER BY p.sequence LIMIT 1
          ) f
        ), heads AS (
          SELECT d.id, d.endpoint_id, d.order_key, d.sequence FROM firsts f
          JOIN subshift_webhook_deliveries d ON d.id = f.id
          JOIN subshift_webhook_endpoints w ON w.id = d.endpoint_id
          WHERE d.status = 'pending' AND d.next_attempt_at <= ${now} AND (d.lease_until IS NULL OR d.lease_until <= ${now})
            AND NOT (w.data ? 'disabledAt')
          ORDER BY d.next_attempt_at, d.n
          LIMIT ${count(limit)}
          FOR UPDATE OF d SKIP LOCKED
        ), followers AS (
          SELECT f.id FROM heads h CROSS JOIN LATERAL (
            SELECT x.id, bool_and(x.ready) OVER (ORDER BY x.sequence) AS ready FROM (
              SELECT x.id, x.sequence, x.next_attempt_at <= ${now} AND (x.lease_until IS NULL OR x.lease_until <= ${now}) AS ready
              FROM subshift_webhook_deliveries x
              WHERE x.status = 'pending' AND x.endpoint_id = h.endpoint_id AND x.order_key = h.order_key AND x.sequence > h.sequence
              ORDER BY x.sequence LIMIT ${Math.max(0, count(perKey) - 1)}
            ) x
          ) f WHERE f.ready
        ), due AS (
          SELECT id FROM heads UNION ALL SELECT id FROM followers
        ), leased AS (
          UPDATE subshift_webhook_deliveries d SET lease_owner = ${owner}, lease_until = ${plus(now, leaseFor)}
          FROM due WHERE d.id = due.id
          RETURNING d.id, d.endpoint_id, d.event_id, d.event_type, d.order_key, d.sequence, d.status, d.attempts,
            d.next_attempt_at, d.created_at, d.log, d.payload
        ), firsts_of_endpoints AS (
          SELECT min(id) AS id FROM leased GROUP BY endpoint_id
        )
        SELECT l.id, l.endpoint_id, l.event_id, l.event_type, l.order_key, l.sequence::text AS sequence, l.status, l.attempts,
          l.next_attempt_at, l.created_at, l.log::text AS log,
          l.payload::text AS payload, e.data->>'occurredAt' AS occurred_at, e.data::text AS data,
          w.data::text AS endpoint
        FROM leased l LEFT JOIN firsts_of_endpoints f ON f.id = l.id
          LEFT JOIN subshift_webhook_endpoints w ON f.id IS NOT NULL AND w.id = l.endpoint_id
          LEFT JOIN LATERAL (SELECT e.id, e.data FROM subshift_events e WHERE l.payload IS NULL AND e.id = l.event_id LIMIT 1) e ON true`.withoutTransform.pipe(
        Effect.flatMap(decodeClaimed),
        edge("WebhookDeliveries.claim")
      ),
    // One statement: every delivery's attempt logged and its lease released (when still its
    // holder's), every endpoint's streak moved where it changes (so deliveries to one endpoint
    // seldom write its row), and the streaks read back. The deliveries are also named by an
    // array of their ids, whose length the planner sees, so that it reads them by their key:
    // joined to the JSON rows alone (100 rows, as it guesses for a set-returning function) it
    // scanned the whole table of a young store for every record.
    record: (results, now, released = []) => {
      if (results.length === 0 && released.length === 0) return Effect.succeed(new Map<string, Instant>())
      const giveBack = JSON.stringify(released.map((r) => ({ id: r.deliveryId, owner: r.owner })))
      const attempts = JSON.stringify(results.map((r) => ({
        id: r.deliveryId, owner: r.owner, attempt: r.attempt, status: r.status, next: r.nextAttemptAt ?? null
      })))
      const streaks = JSON.stringify([...Webhook.streakChanges(results)].map(([id, change]) => ({ id, change })))
      return sql<{ readonly id: string; readonly since: string | null }>`WITH r AS (
          SELECT * FROM jsonb_to_recordset(${attempts}::jsonb) AS r(id text, owner text, attempt jsonb, status text, next text)
        ), logged AS (
          UPDATE subshift_webhook_deliveries d SET
            attempts = d.attempts + 1,
            log = d.log || jsonb_build_array(r.attempt),
            status = CASE WHEN d.lease_owner = r.owner THEN r.status ELSE d.status END,
            next_attempt_at = CASE WHEN d.lease_owner = r.owner THEN r.next ELSE d.next_attempt_at END,
            lease_until = CASE WHEN d.lease_owner = r.owner THEN NULL ELSE d.lease_until END,
            lease_owner = CASE WHEN d.lease_owner = r.owner THEN NULL ELSE d.lease_owner END
          FROM r WHERE d.id = r.id AND d.id = ANY(${results.map((r) => r.deliveryId)}::text[])
          RETURNING d.id
        ), given AS (
          UPDATE subshift_webhook_deliveries d SET lease_owner = NULL, lease_until = NULL
          FROM jsonb_to_recordset(${giveBack}::jsonb) AS g(id text, owner text)
          WHERE d.id = g.id AND d.lease_owner = g.owner AND d.id = ANY(${released.map((r) => r.deliveryId)}::text[])
        ), s AS (
          SELECT * FROM jsonb_to_recordset(${streaks}::jsonb) AS s(id text, change text)
        ), moved AS (
          UPDATE subshift_webhook_endpoints w SET data = CASE s.change
              WHEN 'clear' THEN w.data - 'failingSince'
              ELSE w.data || jsonb_build_object('failingSince', ${now}::text) END
          FROM s WHERE w.id = s.id AND CASE s.change
              WHEN 'clear' THEN w.data ? 'failingSince'
              WHEN 'start' THEN NOT (w.data ? 'failingSince')
              ELSE true END
          RETURNING w.id, w.data->>'failingSince' AS since
        )
        SELECT s.id, CASE WHEN moved.id IS NULL THEN w.data->>'failingSince' ELSE moved.since END AS since
        FROM s JOIN subshift_webhook_endpoints w ON w.id = s.id LEFT JOIN moved ON moved.id = s.id`.withoutTransform.pipe(
        Effect.map((rows) => new Map(rows.flatMap((row) => (row.since === null ? [] : [[row.id, row.since as Instant] as const])))),
        edge("WebhookDeliveries.record")
      )
    },
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

import { describe, expect, it } from "@effect/vitest"
import * as Webhook from "@subshift/core/domain/Webhook"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import { type ClaimRow, decodeClaimed } from "../src/internal/PgClaims.js"

const endpoint = {
  id: "we_1", url: "http://127.0.0.1/hook", eventTypes: ["*"], secrets: [{ sealed: "s", createdAt: "2025-01-01T00:00:00.000Z" }],
  createdAt: "2025-01-01T00:00:00.000Z"
}
const payload = { type: "subscription.created", id: "evt_1", timestamp: "2025-01-02T03:04:05.678Z", sequence: 7, data: { a: [1, "x"], b: null } }

const row = (over: Partial<ClaimRow> = {}): ClaimRow => ({
  id: "dlv_000000000001", endpoint_id: "we_1", event_id: "evt_1", event_type: "subscription.created", order_key: "sub_1",
  sequence: "7", status: "pending", attempts: 0, next_attempt_at: "2025-01-02T03:04:05.678Z", created_at: "2025-01-02T03:04:05.678Z",
  log: "[]", payload: JSON.stringify(payload), occurred_at: null, data: null, endpoint: JSON.stringify(endpoint), ...over
})

// What the Schema decodes a row to: the reference the direct path must equal.
const viaSchema = (r: ClaimRow) => ({
  delivery: Schema.decodeUnknownSync(Webhook.Delivery)({
    id: r.id, endpointId: r.endpoint_id, eventId: r.event_id, eventType: r.event_type, orderKey: r.order_key, sequence: Number(r.sequence),
    status: r.status, attempts: r.attempts, createdAt: r.created_at, log: JSON.parse(r.log),
    ...(r.next_attempt_at === null ? {} : { nextAttemptAt: r.next_attempt_at })
  }),
  payload: Schema.decodeUnknownSync(Schema.parseJson(Webhook.Payload))(r.payload),
  endpoint: Schema.decodeUnknownSync(Webhook.Endpoint)(endpoint)
})

describe("claimed rows", () => {
  it.effect("decode as the Schema decodes them: canonical rows as they are, others through the Schema", () =>
    Effect.gen(function*() {
      const rows = [
        row(),
        row({ id: "dlv_000000000002", sequence: "8", next_attempt_at: null, endpoint: null }),
        // Not canonical: decoded (and made canonical) by the Schema.
        row({ id: "dlv_000000000003", sequence: "9", created_at: "2025-01-02T04:04:05.678+01:00", endpoint: null }),
        row({ id: "dlv_000000000004", sequence: "10", payload: JSON.stringify({ ...payload, timestamp: "2025-01-02T03:04:05Z", extra: 1 }), endpoint: null }),
        row({ id: "dlv_000000000005", sequence: "11", attempts: 1, log: JSON.stringify([{ at: "2025-01-02T03:04:05Z", latencyMs: 3, error: "timeout" }]), endpoint: null })
      ]
      const claimed = yield* decodeClaimed(rows)
      expect(claimed).toEqual(rows.map(viaSchema))
      expect(claimed[2]!.delivery.createdAt).toBe("2025-01-02T03:04:05.678Z")
      expect(claimed[3]!.payload.timestamp).toBe("2025-01-02T03:04:05.000Z")
    }))

  it.effect("built from the event's columns: the payload the Schema decodes, and the body sent as the event's data was written", () =>
    Effect.gen(function*() {
      // As PostgreSQL writes jsonb: a space after each colon and comma.
      const data = '{"a": [1, "x"], "b": null, "é": "ü"}'
      const fromEvent = row({ payload: null, occurred_at: payload.timestamp, data, endpoint: null })
      const [claimed] = yield* decodeClaimed([row({ id: "dlv_000000000000", sequence: "6" }), fromEvent]).pipe(Effect.map((c) => c.slice(1)))
      expect(claimed!.payload).toEqual(viaSchema(row({ payload: JSON.stringify({ ...payload, data: JSON.parse(data) }) })).payload)
      expect(claimed!.body).toBe(`{"type":"subscription.created","id":"evt_1","timestamp":"2025-01-02T03:04:05.678Z","sequence":7,"data":${data}}`)
      expect(JSON.parse(claimed!.body!)).toEqual({ ...payload, data: JSON.parse(data) })
      // A row the direct path does not take is decoded by the Schema, and its body written by the worker.
      const [odd] = yield* decodeClaimed([row({ payload: null, occurred_at: "2025-01-02T04:04:05.678+01:00", data, endpoint: JSON.stringify(endpoint) })])
      expect([odd!.payload.timestamp, odd!.body]).toEqual([payload.timestamp, undefined])
    }))

  it.effect("fail with the Schema's error on a row that is not a delivery", () =>
    Effect.gen(function*() {
      for (const bad of [
        row({ status: "sent" }), row({ created_at: "yesterday" }), row({ payload: JSON.stringify({ ...payload, sequence: 1.5 }) }),
        row({ payload: null, occurred_at: "yesterday", data: "{}" })
      ]) {
        const exit = yield* Effect.exit(decodeClaimed([bad]))
        expect(Exit.isFailure(exit)).toBe(true)
      }
    }))
})

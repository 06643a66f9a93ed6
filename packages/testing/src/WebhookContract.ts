/**
 * The contract of the webhook stores: enqueueing per subscribed endpoint with a sequence per
 * order key, a cursor moved once, leased claims that keep order per (endpoint, order key), the
 * attempt log, failing streaks, disabling and manual retry. Both stores run it; so should yours.
 * Tests run one after another on one store, and each disables its endpoints when done, so no
 * test claims another's deliveries.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Instant from "@subshift/core/domain/Instant"
import type { Subscription } from "@subshift/core/domain/Subscription"
import type * as Webhook from "@subshift/core/domain/Webhook"
import { Events } from "@subshift/core/ports/Events"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { WebhookCrypto, WebhookDeliveries, WebhookEndpoints, type WebhookStore, WebhookTransport } from "@subshift/core/ports/Webhooks"
import * as WebhookWorker from "@subshift/core/usecases/WebhookWorker"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Fixtures from "./Fixtures.js"
import { unique } from "./Fixtures.js"
import { T0, at, endpoint, testEvent, fanOutAll, publish, enqueue, committed, withEndpoints, claim, delivered, failedAttempt, done } from "./WebhookSteps.js"

/** Registers the webhook store contract. */
export const suite = <E>(name: string, layer: Layer.Layer<StorePorts | WebhookStore, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`webhook store contract: ${name}`, (it) => {
    it.effect("fans each outbox event out to every enabled endpoint subscribed to its type, numbered per subscription", () => {
      const a = endpoint([committed])
      const b = endpoint(["*"], { disabledAt: at(0), disabledReason: "off" })
      const c = endpoint(["catalog.published"])
      const [s1, s2] = [Fixtures.subscription(), Fixtures.subscription()]
      return withEndpoints([a, b, c], Effect.gen(function*() {
        const events = yield* enqueue([[s1, committed], [s2, committed], [s1, committed]])
        const deliveries = yield* WebhookDeliveries
        const listed = yield* deliveries.list({ endpointId: a.id, limit: 10 })
        expect(listed.map((d) => [d.eventId, d.orderKey, d.sequence, d.status, d.attempts]).reverse()).toEqual([
          [events[0]!.id, s1.id, 1, "pending", 0], [events[1]!.id, s2.id, 1, "pending", 0], [events[2]!.id, s1.id, 2, "pending", 0]
        ])
        expect(yield* deliveries.list({ endpointId: b.id, limit: 10 })).toEqual([])
        expect(yield* deliveries.list({ endpointId: c.id, limit: 10 })).toEqual([])
        // The payload is the event as written, with its sequence.
        const claimed = yield* claim(at(1))
        expect(claimed.find((x) => x.payload.id === events[2]!.id)).toBeUndefined()
        expect(claimed.find((x) => x.payload.id === events[0]!.id)!.payload).toEqual({
          type: committed, id: events[0]!.id, timestamp: events[0]!.occurredAt, sequence: 1, data: events[0]
        })
      }))
    })

    it.effect("an endpoint gets only the types it subscribes to; sequences count every event of the subscription", () => {
      const a = endpoint([committed])
      const b = endpoint(["subscription.imported", "subscription.changed"])
      const c = endpoint(["*"])
      const sub = Fixtures.subscription()
      return withEndpoints([a, b, c], Effect.gen(function*() {
        const events = yield* enqueue([[sub, committed], [sub, "subscription.imported"], [sub, "subscription.changed"], [sub, committed]])
        const deliveries = yield* WebhookDeliveries
        const of = (e: Webhook.Endpoint) =>
          Effect.map(deliveries.list({ endpointId: e.id, limit: 10 }), (list) => list.map((d) => [d.eventId, d.eventType, d.sequence]).reverse())
        const all = events.map((e, i) => [e.id, e.type, i + 1])
        expect(yield* of(a)).toEqual([all[0], all[3]])
        expect(yield* of(b)).toEqual([all[1], all[2]])
        expect(yield* of(c)).toEqual(all)
      }))
    })

    it.effect("passes over events no endpoint wants without enqueueing them, moving the cursor past them", () => {
      const a = endpoint([committed])
      const sub = Fixtures.subscription()
      return withEndpoints([a], Effect.gen(function*() {
        const deliveries = yield* WebhookDeliveries
        const from = yield* deliveries.cursor
        yield* publish([[sub, "subscription.imported"], [Fixtures.subscription(), "subscription.imported"], [sub, "subscription.changed"]])
        const written = yield* Effect.flatMap(Events, (events) => events.list({ after: from, limit: 10 }))
        expect(written.length).toBe(3)
        // One page at a time: the cursor moves past each page, then nothing is left.
        expect((yield* deliveries.fanOut({ limit: 2, now: at(0) })).passed).toBe(2)
        expect(yield* deliveries.cursor).toBe(written[1]!.sequence)
        expect((yield* deliveries.fanOut({ limit: 2, now: at(0) })).passed).toBe(1)
        expect(yield* deliveries.cursor).toBe(written[2]!.sequence)
        expect((yield* deliveries.fanOut({ limit: 2, now: at(0) })).passed).toBe(0)
        expect(yield* deliveries.list({ endpointId: a.id, limit: 10 })).toEqual([])
        // The passed events took their sequences: the next event of `sub` is its third.
        const [next] = yield* enqueue([[sub, committed]])
        expect((yield* deliveries.list({ endpointId: a.id, limit: 10 })).map((d) => [d.eventId, d.sequence])).toEqual([[next!.id, 3]])
      }))
    })

    it.effect("fans each event out once, however many fan outs run at once", () => {
      const a = endpoint([committed])
      const subs = Array.from({ length: 6 }, () => Fixtures.subscription())
      return withEndpoints([a], Effect.gen(function*() {
        const deliveries = yield* WebhookDeliveries
        const events = yield* publish(subs.flatMap((s) => [[s, committed], [s, committed]] as const))
        const passed = yield* Effect.all(Array.from({ length: 4 }, () => fanOutAll(at(0), 3)), { concurrency: "unbounded" })
        expect(passed.reduce((x, y) => x + y, 0)).toBe(events.length)
        const listed = [...(yield* deliveries.list({ endpointId: a.id, limit: 100 }))].reverse()
        expect(listed.map((d) => d.eventId)).toEqual(events.map((e) => e.id))
        expect(listed.map((d) => d.sequence)).toEqual(events.map((_, i) => (i % 2) + 1))
      }))
    })

    it.effect("a fan-out with a claim leases runs of what it enqueues: the first perKey of each key with nothing pending before, limit runs in outbox order; the rest stays claimable in order", () => {
      const a = endpoint([committed])
      const [s1, s2, s3, s4] = Array.from({ length: 4 }, () => Fixtures.subscription())
      return withEndpoints([a], Effect.gen(function*() {
        const deliveries = yield* WebhookDeliveries
        // s1 has a pending delivery from before the page.
        yield* enqueue([[s1, committed]])
        const events = yield* publish([[s1, committed], [s2, committed], [s2, committed], [s2, committed], [s3, committed], [s4, committed]])
        const out = yield* deliveries.fanOut({ limit: 100, now: at(0), claim: { owner: "owner-f", leaseFor: Duration.seconds(60), limit: 2, perKey: 2 } })
        expect(out.passed).toBe(6)
        // In sequence order within each run.
        const runs = WebhookWorker.runsOf(out.claimed)
        expect(runs.flat()).toEqual(out.claimed.filter((c) => c.delivery.orderKey === s2.id).concat(out.claimed.filter((c) => c.delivery.orderKey === s3.id)))
        expect(runs.flat().map((c) => [c.payload.id, c.delivery.orderKey, c.delivery.sequence, c.payload.sequence, c.endpoint.id])).toEqual([
          [events[1]!.id, s2.id, 1, 1, a.id],
          [events[2]!.id, s2.id, 2, 2, a.id],
          [events[4]!.id, s3.id, 1, 1, a.id]
        ])
        expect(out.claimed.every((c) => c.delivery.status === "pending" && c.delivery.attempts === 0 && c.payload.type === committed)).toBe(true)
        expect(out.claimed[0]!.payload.data).toEqual(JSON.parse(JSON.stringify(events[1])))
        // Another claimer gets what the fan-out left: s1's head (and its run), s4; not s2's third, behind a lease.
        const rest = yield* Effect.flatMap(WebhookDeliveries, (d) => d.claim({ owner: "owner-g", now: at(1), leaseFor: Duration.seconds(60), limit: 100, perKey: 5 }))
        expect(rest.map((c) => [c.delivery.orderKey, c.delivery.sequence]).sort()).toEqual([[s1.id, 1], [s1.id, 2], [s4.id, 1]].sort())
        // The fan-out's leases are recorded like a claim's: its owner settles them.
        yield* deliveries.record(runs[0]!.map((c) => delivered(c, "owner-f")), at(1))
        const third = yield* Effect.flatMap(WebhookDeliveries, (d) => d.claim({ owner: "owner-g", now: at(2), leaseFor: Duration.seconds(60), limit: 100 }))
        expect(third.map((c) => [c.delivery.orderKey, c.delivery.sequence])).toEqual([[s2.id, 3]])
        // Without a claim nothing is leased.
        yield* publish([[s3, committed]])
        expect((yield* deliveries.fanOut({ limit: 100, now: at(3) })).claimed).toEqual([])
      }))
    })

    it.effect("claims only the first pending delivery of an order key; other keys do not wait", () => {
      const type = committed
      const a = endpoint([type])
      const [s1, s2] = [Fixtures.subscription(), Fixtures.subscription()]
      return withEndpoints([a], Effect.gen(function*() {
        const events = yield* enqueue([[s1, type], [s1, type], [s2, type]])
        const first = yield* claim(at(1))
        expect(first.map((c) => c.payload.id).sort()).toEqual([events[0]!.id, events[2]!.id].sort())
        expect(first[0]!.endpoint.id).toBe(a.id)
        // The second event of s1 waits, leased or not, until the first is settled.
        expect(yield* claim(at(30))).toEqual([])
        yield* done(first.find((c) => c.payload.id === events[0]!.id)!)
        const second = yield* claim(at(2))
        expect(second.map((c) => [c.payload.id, c.payload.sequence])).toEqual([[events[1]!.id, 2]])
      }))
    })

    it.effect("claims a run of consecutive pending deliveries of one key in sequence order; what a run leaves unattempted stays behind its failed head", () => {
      const type = committed
      const a = endpoint([type])
      const [s1, s2] = [Fixtures.subscription(), Fixtures.subscription()]
      const run = (now: Instant.Instant, owner = "owner-a") =>
        Effect.flatMap(WebhookDeliveries, (d) => d.claim({ owner, now, leaseFor: Duration.seconds(60), limit: 100, perKey: 3 }))
      const ofKey = (claimed: ReadonlyArray<{ readonly delivery: Webhook.Delivery }>, sub: Subscription) =>
        claimed.filter((c) => c.delivery.orderKey === sub.id).map((c) => c.delivery.sequence)
      return withEndpoints([a], Effect.gen(function*() {
        const deliveries = yield* WebhookDeliveries
        yield* enqueue([[s1, type], [s1, type], [s2, type], [s1, type], [s1, type], [s1, type]])
        const first = yield* run(at(1))
        expect([ofKey(first, s1), ofKey(first, s2)]).toEqual([[1, 2, 3], [1]])
        // Leased, and the fourth waits for the three before it.
        expect(yield* run(at(2), "owner-b")).toEqual([])
        const bySequence = (n: number) => first.find((c) => c.delivery.orderKey === s1.id && c.delivery.sequence === n)!
        // The first delivered, the second failed (retried at 50), the third given back unattempted.
        yield* deliveries.record([delivered(bySequence(1)), failedAttempt(bySequence(2), at(5), at(50))], at(5), [
          { deliveryId: bySequence(3).delivery.id, owner: "owner-a" }
        ])
        const third = Option.getOrThrow(yield* deliveries.get(bySequence(3).delivery.id))
        expect([third.status, third.attempts]).toEqual(["pending", 0])
        expect(ofKey(yield* run(at(6), "owner-b"), s1)).toEqual([])
        const again = yield* run(at(50), "owner-b")
        expect(ofKey(again, s1)).toEqual([2, 3, 4])
        expect(again.map((c) => c.delivery.attempts)).toEqual([1, 0, 0])
        yield* deliveries.record(again.map((c) => delivered(c, "owner-b", at(51))), at(51))
        expect(ofKey(yield* run(at(52), "owner-b"), s1)).toEqual([5])
      }))
    })

    it.effect("a lease keeps a delivery from other claimers until it expires, then another owner gets it", () => {
      const type = committed
      const a = endpoint([type])
      return withEndpoints([a], Effect.gen(function*() {
        yield* enqueue([[Fixtures.subscription(), type]])
        expect((yield* claim(at(1), "owner-a", Duration.seconds(30))).length).toBe(1)
        expect(yield* claim(at(20), "owner-b")).toEqual([])
        const retaken = yield* claim(at(31), "owner-b")
        expect(retaken.length).toBe(1)
        // The first owner's late result is logged but does not settle the delivery.
        yield* done(retaken[0]!, "owner-a", at(32))
        const deliveries = yield* WebhookDeliveries
        const after = Option.getOrThrow(yield* deliveries.get(retaken[0]!.delivery.id))
        expect([after.status, after.attempts, after.log.length]).toEqual(["pending", 1, 1])
        yield* done(retaken[0]!, "owner-b", at(33))
        expect(Option.getOrThrow(yield* deliveries.get(retaken[0]!.delivery.id)).status).toBe("delivered")
      }))
    })

    it.effect("records attempts: a retry waits for its instant, a failure starts the endpoint's streak and a success ends it", () => {
      const type = committed
      const a = endpoint([type])
      return withEndpoints([a], Effect.gen(function*() {
        const deliveries = yield* WebhookDeliveries
        yield* enqueue([[Fixtures.subscription(), type]])
        const [claimed] = yield* claim(at(1))
        const since = yield* deliveries.record([{
          deliveryId: claimed!.delivery.id, endpointId: a.id, owner: "owner-a", status: "pending", nextAttemptAt: at(100), endpointOk: false,
          attempt: { at: at(1), statusCode: 500, latencyMs: 12, error: "the endpoint answered 500" }
        }], at(1))
        expect(since).toEqual(new Map([[a.id, at(1)]]))
        expect(yield* claim(at(99))).toEqual([])
        const [again] = yield* claim(at(100))
        expect(again!.delivery.attempts).toBe(1)
        expect(again!.delivery.log).toEqual([{ at: at(1), statusCode: 500, latencyMs: 12, error: "the endpoint answered 500" }])
        const second = yield* deliveries.record([{
          deliveryId: again!.delivery.id, endpointId: a.id, owner: "owner-a", status: "failed", endpointOk: false,
          attempt: { at: at(100), latencyMs: 15000, error: "timed out" }
        }], at(100))
        expect(second).toEqual(new Map([[a.id, at(1)]]))
        const failed = Option.getOrThrow(yield* deliveries.get(again!.delivery.id))
        expect([failed.status, failed.attempts, failed.nextAttemptAt]).toEqual(["failed", 2, undefined])
        expect(yield* deliveries.list({ endpointId: a.id, status: "failed", limit: 10 })).toEqual([failed])
        expect(yield* deliveries.list({ endpointId: a.id, status: "pending", limit: 10 })).toEqual([])
        // A manual retry makes it pending and due now.
        const retried = Option.getOrThrow(yield* deliveries.retry(failed.id, at(200)))
        expect([retried.status, retried.nextAttemptAt]).toEqual(["pending", at(200)])
        const [third] = yield* claim(at(200))
        yield* done(third!, "owner-a", at(201))
        expect(Option.getOrThrow(yield* (yield* WebhookEndpoints).get(a.id)).failingSince).toBeUndefined()
      }))
    })

    it.effect("records a batch at once: each delivery settled, each endpoint's streak as after the attempts in order", () => {
      const type = committed
      const [a, b, c] = [endpoint([type]), endpoint([type]), endpoint([type], { failingSince: at(0) })]
      return withEndpoints([a, b, c], Effect.gen(function*() {
        const deliveries = yield* WebhookDeliveries
        const sub = Fixtures.subscription()
        yield* enqueue([[sub, type], [Fixtures.subscription(), type], [sub, type]])
        const claimed = yield* claim(at(1))
        const of = (e: Webhook.Endpoint) => claimed.filter((x) => x.endpoint.id === e.id)
        // Two heads per endpoint: the later event of `sub` waits for the earlier.
        expect([of(a).length, of(b).length, of(c).length]).toEqual([2, 2, 2])
        // a: a failure then a success (no streak); b: a success then a failure (a streak from now);
        // c: failing since 0, fails twice (the streak goes on).
        const failing = yield* deliveries.record([
          failedAttempt(of(a)[0]!, at(5), at(50)), delivered(of(a)[1]!, "owner-a", at(5)),
          delivered(of(b)[0]!, "owner-a", at(5)), failedAttempt(of(b)[1]!, at(5)),
          failedAttempt(of(c)[0]!, at(5), at(50)), failedAttempt(of(c)[1]!, at(5), at(50))
        ], at(5))
        expect(failing).toEqual(new Map([[b.id, at(5)], [c.id, at(0)]]))
        const endpoints = yield* WebhookEndpoints
        expect(Option.getOrThrow(yield* endpoints.get(a.id)).failingSince).toBeUndefined()
        const statuses = yield* Effect.forEach(claimed, (x) => Effect.map(deliveries.get(x.delivery.id), (d) => Option.getOrThrow(d).status))
        expect(statuses.filter((s) => s === "pending").length).toBe(3)
        // The next event of `sub` to b is claimable now that the first is settled; a's waits for its retry.
        const next = yield* claim(at(6))
        expect(next.map((x) => [x.endpoint.id, x.delivery.sequence])).toEqual([[b.id, 2]])
      }))
    })

    it.effect("the worker disables an endpoint at once on 410 Gone, and one failing everything for 5 days, each with a webhook.endpoint_disabled event", () => {
      const type = committed
      const gone = endpoint([type], { url: "https://gone.example/hook" })
      const failing = endpoint([type], { url: "https://failing.example/hook" })
      const transport = Layer.succeed(WebhookTransport, {
        send: (request, done) => {
          done({ _tag: "Answered", status: request.url.startsWith("https://gone.") ? 410 : 500 })
          return () => {}
        }
      })
      const crypto = Layer.succeed(WebhookCrypto, {
        newSecret: Effect.succeed({ secret: "whsec_c2VjcmV0", sealed: "sealed" }),
        sign: (sealed, { id }) => `v1,${sealed}:${id}`
      })
      const disabledEvents = Effect.map(
        Effect.flatMap(Events, (events) => events.list({ limit: 1000 })),
        (list) => list.filter((e) => e.type === "webhook.endpoint_disabled" && [gone.id, failing.id].includes(e.endpointId ?? ""))
          .map((e) => [e.endpointId, e.reason, e.occurredAt, e.actor])
      )
      return withEndpoints([gone, failing], Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const worker = yield* WebhookWorker.make({ batch: 100 })
        yield* enqueue([[Fixtures.subscription(), type]], at(0))
        yield* worker.round
        const endpoints = yield* WebhookEndpoints
        expect(Option.getOrThrow(yield* endpoints.get(gone.id)).disabledReason).toBe("the endpoint answered 410 Gone")
        expect(Option.getOrThrow(yield* endpoints.get(failing.id)).disabledAt).toBeUndefined()
        expect(yield* disabledEvents).toEqual([[gone.id, "the endpoint answered 410 Gone", at(0), { kind: "system", id: "webhooks" }]])
        // Four days on, the next failure leaves it enabled; at five days, the next one disables it.
        yield* TestClock.setTime(T0 + Duration.toMillis(Duration.days(4)))
        yield* worker.round
        expect(Option.getOrThrow(yield* endpoints.get(failing.id)).disabledAt).toBeUndefined()
        yield* TestClock.setTime(T0 + Duration.toMillis(Duration.days(5)))
        yield* worker.round
        expect(Option.getOrThrow(yield* endpoints.get(failing.id)).disabledAt).toBe(at(5 * 86400))
        expect((yield* disabledEvents).slice(1)).toEqual([[failing.id, "every delivery failed for 5d", at(5 * 86400), { kind: "system", id: "webhooks" }]])
        // Disabling one already disabled writes nothing more.
        yield* endpoints.disable(failing.id, "again", at(6 * 86400))
        expect((yield* disabledEvents).length).toBe(2)
      }).pipe(Effect.provide(Layer.merge(transport, crypto))))
    })

    it.effect("never claims for a disabled endpoint, and claims again once it is enabled", () => {
      const type = committed
      const a = endpoint([type])
      return withEndpoints([a], Effect.gen(function*() {
        const endpoints = yield* WebhookEndpoints
        yield* enqueue([[Fixtures.subscription(), type]])
        yield* endpoints.disable(a.id, "the endpoint answered 410 Gone", at(1))
        const disabled = Option.getOrThrow(yield* endpoints.get(a.id))
        expect([disabled.disabledAt, disabled.disabledReason]).toEqual([at(1), "the endpoint answered 410 Gone"])
        expect(yield* claim(at(2))).toEqual([])
        const enabled = Option.getOrThrow(yield* endpoints.update(a.id, { disabled: false, url: "https://other.example/h" }, at(3)))
        expect([enabled.disabledAt, enabled.url]).toEqual([undefined, "https://other.example/h"])
        const [claimed] = yield* claim(at(3))
        expect(claimed!.endpoint.url).toBe("https://other.example/h")
      }))
    })

    it.effect("enqueues a test event for one endpoint whatever it subscribes to, and nothing for an unknown one", () => {
      const a = endpoint([`t.${unique()}`])
      return withEndpoints([a], Effect.gen(function*() {
        const deliveries = yield* WebhookDeliveries
        const test = testEvent("webhook.test", `evt-test-${unique()}`)
        const id = Option.getOrThrow(yield* deliveries.enqueueFor(a.id, test, at(0)))
        expect(Option.getOrThrow(yield* deliveries.get(id)).eventType).toBe("webhook.test")
        expect(yield* deliveries.enqueueFor(`whk_${unique()}`, test, at(0))).toEqual(Option.none())
        const [claimed] = yield* claim(at(1))
        expect(claimed!.payload).toEqual({ type: "webhook.test", id: test.id, timestamp: test.timestamp, sequence: 1, data: test.data })
      }))
    })

    it.effect("keeps endpoints: list in id order after a cursor, secrets replaced, removal takes the deliveries along", () => {
      const type = committed
      const [a, b] = [endpoint([type]), endpoint([type])].sort((x, y) => (x.id < y.id ? -1 : 1))
      return withEndpoints([a!, b!], Effect.gen(function*() {
        const endpoints = yield* WebhookEndpoints
        const deliveries = yield* WebhookDeliveries
        const listed = yield* endpoints.list({ after: a!.id, limit: 1000 })
        expect(listed.map((e) => e.id)).toContain(b!.id)
        expect(listed.map((e) => e.id)).not.toContain(a!.id)
        const secrets = [{ sealed: "old", createdAt: at(0), expiresAt: at(86400) }, { sealed: "new", createdAt: at(1) }]
        expect(Option.getOrThrow(yield* endpoints.setSecrets(a!.id, secrets)).secrets).toEqual(secrets)
        yield* enqueue([[Fixtures.subscription(), type]])
        const [delivery] = yield* deliveries.list({ endpointId: a!.id, limit: 10 })
        expect(yield* endpoints.remove(a!.id)).toBe(true)
        expect(yield* endpoints.remove(a!.id)).toBe(false)
        expect(yield* endpoints.get(a!.id)).toEqual(Option.none())
        expect(yield* deliveries.get(delivery!.id)).toEqual(Option.none())
      }))
    })
  })

/** Registers the webhook store contract inside its own `describe`. */
export const register = <E>(name: string, layer: Layer.Layer<StorePorts | WebhookStore, E>): void => {
  describe(`webhooks: ${name}`, () => suite(name, layer))
}

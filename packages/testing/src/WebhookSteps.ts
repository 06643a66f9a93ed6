/**
 * Builders and steps the webhook store contract shares: endpoints, outbox events written as the
 * stores write them, fan-out to the end of the outbox, claims and attempt results.
 */
import type * as Event from "@subshift/core/domain/Event"
import * as Instant from "@subshift/core/domain/Instant"
import type { Subscription } from "@subshift/core/domain/Subscription"
import type * as Webhook from "@subshift/core/domain/Webhook"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { WebhookDeliveries, WebhookEndpoints } from "@subshift/core/ports/Webhooks"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Fixtures from "./Fixtures.js"
import { unique } from "./Fixtures.js"

export const T0 = Date.parse("2030-01-01T00:00:00Z")
export const at = (seconds: number) => Instant.fromEpochMillis(T0 + seconds * 1000)

export const endpoint = (eventTypes: ReadonlyArray<string>, overrides: Partial<Webhook.Endpoint> = {}): Webhook.Endpoint => ({
  id: `whk_${unique()}`,
  url: "https://receiver.example/hook",
  eventTypes,
  secrets: [{ sealed: "sealed-secret", createdAt: at(0) }],
  createdAt: at(0),
  ...overrides
})

export const testEvent = (type: string, orderKey: string, n = 0): Webhook.OutboundEvent => ({
  id: `evt-${unique()}`,
  type,
  timestamp: at(n),
  orderKey,
  data: { n, subscriptionId: orderKey }
})

// Fans out every outbox event after the cursor, a page of `limit` at a time; how many it passed.
export const fanOutAll = (now = at(0), limit = 500) =>
  Effect.flatMap(WebhookDeliveries, (deliveries) => {
    const loop = (passed: number): Effect.Effect<number, unknown> =>
      Effect.flatMap(deliveries.fanOut({ limit, now }), ({ passed: n }) => (n === 0 ? Effect.succeed(passed) : loop(passed + n)))
    return loop(0)
  })

// Writes outbox events as the stores write them: each an event of its subscription's saved change.
export const publish = (entries: ReadonlyArray<readonly [Subscription, Event.EventType]>) =>
  Effect.gen(function*() {
    const subscriptions = yield* Subscriptions
    const written: Array<Event.Event> = []
    for (const [subscription, type] of entries) {
      const stored = yield* subscriptions.findById(subscription.id)
      if (Option.isNone(stored)) yield* subscriptions.put(subscription)
      const current = Option.getOrElse(stored, () => subscription)
      const event = Fixtures.event(current, { type })
      yield* subscriptions.save({ ...current, version: current.version + 1 }, current.version, [event])
      written.push(event)
    }
    return written
  })

// Publishes and fans out.
export const enqueue = (entries: ReadonlyArray<readonly [Subscription, Event.EventType]>, now = at(0)) =>
  Effect.tap(publish(entries), () => fanOutAll(now))

export const committed = "amendment.committed" as const

// Registers endpoints once the outbox is fanned out (so they get only the test's events); disables
// them when the test ends, so later tests never claim their deliveries.
export const withEndpoints = <A, E, R>(endpoints: ReadonlyArray<Webhook.Endpoint>, body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    yield* fanOutAll()
    const store = yield* WebhookEndpoints
    yield* Effect.forEach(endpoints, store.create, { discard: true })
    return yield* body
  }).pipe(Effect.ensuring(Effect.flatMap(WebhookEndpoints, (store) =>
    Effect.forEach(endpoints, (e) => Effect.orDie(store.disable(e.id, "test over", at(0))), { discard: true }))))

export const claim = (now: Instant.Instant, owner = "owner-a", leaseFor = Duration.seconds(60)) =>
  Effect.flatMap(WebhookDeliveries, (d) => d.claim({ owner, now, leaseFor, limit: 100 }))

export const delivered = (claimed: { readonly delivery: Webhook.Delivery }, owner = "owner-a", now = at(1)) => ({
  deliveryId: claimed.delivery.id, endpointId: claimed.delivery.endpointId, owner,
  attempt: { at: now, statusCode: 200, latencyMs: 3 }, status: "delivered" as const, endpointOk: true
})

export const failedAttempt = (claimed: { readonly delivery: Webhook.Delivery }, now: Instant.Instant, next?: Instant.Instant) => ({
  deliveryId: claimed.delivery.id, endpointId: claimed.delivery.endpointId, owner: "owner-a",
  attempt: { at: now, statusCode: 500, latencyMs: 9, error: "the endpoint answered 500" },
  status: next === undefined ? "failed" as const : "pending" as const, nextAttemptAt: next, endpointOk: false
})

export const done = (claimed: { readonly delivery: Webhook.Delivery }, owner = "owner-a", now = at(1)) =>
  Effect.flatMap(WebhookDeliveries, (d) => d.record([delivered(claimed, owner, now)], now))

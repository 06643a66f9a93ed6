import * as Instant from "@subshift/core/domain/Instant"
import * as Webhook from "@subshift/core/domain/Webhook"
import * as Demo from "@subshift/core/demo/Demo"
import * as Event from "@subshift/core/domain/Event"
import { Catalog } from "@subshift/core/ports/Catalog"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import {
  type OutboundRequest,
  type TransportResult,
  WebhookCrypto,
  WebhookDeliveries,
  WebhookEndpoints,
  WebhookTransport
} from "@subshift/core/ports/Webhooks"
import * as WebhookAdmin from "@subshift/core/usecases/WebhookAdmin"
import * as WebhookWorker from "@subshift/core/usecases/WebhookWorker"
import { describe, expect, it } from "@effect/vitest"
import { MemoryStore } from "@subshift/store-memory"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Fiber from "effect/Fiber"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { demoSubscription } from "./support.js"

// A transport that answers from a script and records what it was sent.
const scripted = (answer: (request: OutboundRequest, n: number) => TransportResult) => {
  const sent: Array<OutboundRequest> = []
  return {
    sent,
    layer: Layer.succeed(WebhookTransport, {
      send: (request, done) => {
        done(answer(request, sent.push(request)))
        return () => {}
      }
    })
  }
}

// Signing is the server's (node:crypto); here a signature only names its secret.
const crypto = Layer.succeed(WebhookCrypto, {
  newSecret: Effect.sync(() => ({ secret: "whsec_c2VjcmV0", sealed: `sealed-${Math.random()}` })),
  sign: (sealed, { id, timestamp }) => `v1,${sealed}:${id}:${timestamp}`
})

const T0 = Date.parse("2030-01-01T00:00:00Z")

const commit = (n: number, subscriptionId = "sub-alice") =>
  Effect.gen(function*() {
    const subscriptions = yield* Subscriptions
    yield* (yield* Catalog).put(Demo.offers)
    const sub = { ...demoSubscription("sub-alice"), id: subscriptionId }
    yield* subscriptions.put(sub)
    const events = Array.from({ length: n }, (_, i) =>
      Event.changed({ id: `evt-${i}-${Math.random()}`, occurredAt: Instant.fromEpochMillis(T0), before: sub, after: sub }))
    yield* subscriptions.save({ ...sub, version: sub.version + 1 }, sub.version, events)
    return events
  })

const setup = (answer: (request: OutboundRequest, n: number) => TransportResult) => {
  const transport = scripted(answer)
  return { sent: transport.sent, layer: Layer.mergeAll(transport.layer, crypto).pipe(Layer.provideMerge(MemoryStore.layer())) }
}

const onlyDelivery = Effect.gen(function*() {
  const endpoint = (yield* (yield* WebhookEndpoints).list({ limit: 1 }))[0]!
  return (yield* (yield* WebhookDeliveries).list({ endpointId: endpoint.id, limit: 1 }))[0]!
})

describe("webhook worker on the test clock", () => {
  it.effect("retries on the schedule for about three days, then fails; the endpoint is disabled once it has failed for 5 days", () => {
    const { layer, sent } = setup(() => ({ _tag: "Answered", status: 500 }))
    return Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const { endpoint } = yield* WebhookAdmin.create({ url: "https://billing.example/hook", eventTypes: ["*"] })
      yield* commit(1)
      const worker = yield* WebhookWorker.make({ batch: 10 })
      yield* worker.round
      for (let i = 0; i < 20; i++) {
        const delivery = yield* onlyDelivery
        if (delivery.status !== "pending") break
        yield* TestClock.setTime(Instant.toEpochMillis(delivery.nextAttemptAt!))
        yield* worker.round
      }
      const failed = yield* onlyDelivery
      expect(failed.status).toBe("failed")
      expect(failed.attempts).toBe(Webhook.schedule.length + 1)
      const span = Date.parse(failed.log.at(-1)!.at) - Date.parse(failed.log[0]!.at)
      expect(span / 3_600_000).toBeGreaterThan(50)
      expect(span / 3_600_000).toBeLessThan(90)
      expect(sent.every((r) => r.headers["webhook-id"] === failed.eventId)).toBe(true)
      expect(Option.getOrThrow(yield* (yield* WebhookEndpoints).get(endpoint.id)).disabledAt).toBeUndefined()
      // Day 5 of failing: the next failure disables the endpoint.
      yield* TestClock.setTime(T0 + Duration.toMillis(Duration.days(5)))
      yield* commit(1)
      yield* worker.round
      const disabled = Option.getOrThrow(yield* (yield* WebhookEndpoints).get(endpoint.id))
      expect(disabled.disabledReason).toBe("every delivery failed for 5d")
      expect(disabled.failingSince).toBe(Instant.fromEpochMillis(T0))
    }).pipe(Effect.provide(layer))
  })

  it.effect("a Retry-After on a 503 sets the next attempt; a 2xx ends the failing streak", () => {
    const { layer, sent } = setup((_request, n) => (n === 1 ? { _tag: "Answered", status: 503, retryAfter: "120" } : { _tag: "Answered", status: 200 }))
    return Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const { endpoint } = yield* WebhookAdmin.create({ url: "https://billing.example/hook", eventTypes: ["subscription.changed"] })
      yield* commit(1)
      const worker = yield* WebhookWorker.make()
      yield* worker.round
      expect((yield* onlyDelivery).nextAttemptAt).toBe(Instant.fromEpochMillis(T0 + 120_000))
      yield* TestClock.setTime(T0 + 119_000)
      yield* worker.round
      expect(sent.length).toBe(1)
      yield* TestClock.setTime(T0 + 120_000)
      yield* worker.round
      expect((yield* onlyDelivery).status).toBe("delivered")
      expect(Option.getOrThrow(yield* (yield* WebhookEndpoints).get(endpoint.id)).failingSince).toBeUndefined()
      const body = JSON.parse(sent[1]!.body)
      expect([body.type, body.sequence, sent[1]!.headers["webhook-timestamp"]]).toEqual(["subscription.changed", 1, String((T0 + 120_000) / 1000)])
    }).pipe(Effect.provide(layer))
  })
})

// A transport whose answers the test gives, one send at a time, after `send` has returned.
const controlled = () => {
  const pending: Array<{ readonly request: OutboundRequest; readonly done: (result: TransportResult) => void }> = []
  let abandoned = 0
  return {
    pending,
    abandoned: () => abandoned,
    layer: Layer.succeed(WebhookTransport, {
      send: (request, done) => {
        pending.push({ request, done })
        return () => abandoned++
      }
    })
  }
}

// A round started in the background on `n` events of one subscription, once the first send is out.
const roundOnce = (transport: ReturnType<typeof controlled>, n: number) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    yield* WebhookAdmin.create({ url: "https://billing.example/hook", eventTypes: ["*"] })
    const events = yield* commit(n)
    const round = yield* Effect.fork(Effect.flatMap(WebhookWorker.make(), (worker) => worker.round))
    while (transport.pending.length === 0) yield* Effect.yieldNow()
    return { events, round }
  })

describe("a run of one subscription's deliveries", () => {
  it.effect("chains answers that come later: each send starts after the last one's answer, in order, and the first failure ends the run", () => {
    const transport = controlled()
    return Effect.gen(function*() {
      const { events, round } = yield* roundOnce(transport, 4)
      const answer = (status: number) =>
        Effect.gen(function*() {
          while (transport.pending.length === 0) yield* Effect.yieldNow()
          const { done, request } = transport.pending.shift()!
          done({ _tag: "Answered", status })
          return request.headers["webhook-id"]
        })
      // One send at a time: the second starts only once the first is answered.
      expect(yield* answer(204)).toBe(events[0]!.id)
      expect(yield* answer(204)).toBe(events[1]!.id)
      expect(yield* answer(500)).toBe(events[2]!.id)
      expect(yield* Fiber.join(round)).toEqual({ enqueued: 4, attempted: 3 })
      expect(transport.pending.length).toBe(0)
      const deliveries = yield* Effect.flatMap(WebhookEndpoints, (endpoints) => endpoints.list({ limit: 1 })).pipe(
        Effect.flatMap(([endpoint]) => Effect.flatMap(WebhookDeliveries, (d) => d.list({ endpointId: endpoint!.id, limit: 10 })))
      )
      expect(deliveries.map((d) => [d.eventId, d.status, d.attempts]).reverse()).toEqual([
        [events[0]!.id, "delivered", 1],
        [events[1]!.id, "delivered", 1],
        [events[2]!.id, "pending", 1],
        [events[3]!.id, "pending", 0]
      ])
    }).pipe(Effect.provide(Layer.mergeAll(transport.layer, crypto).pipe(Layer.provideMerge(MemoryStore.layer()))))
  })

  it.effect("interrupting a run abandons the send under way", () => {
    const transport = controlled()
    return Effect.gen(function*() {
      const { round } = yield* roundOnce(transport, 2)
      yield* Fiber.interrupt(round)
      expect([transport.pending.length, transport.abandoned()]).toEqual([1, 1])
    }).pipe(Effect.provide(Layer.mergeAll(transport.layer, crypto).pipe(Layer.provideMerge(MemoryStore.layer()))))
  })

  it.effect("a signature that throws is a defect of the run, not an exception in the transport's callback", () => {
    const transport = controlled()
    let signed = 0
    const throwing = Layer.succeed(WebhookCrypto, {
      newSecret: Effect.sync(() => ({ secret: "whsec_c2VjcmV0", sealed: "sealed" })),
      sign: () => {
        if (++signed === 2) throw new Error("the secret does not open under this key")
        return "v1,c2ln"
      }
    })
    return Effect.gen(function*() {
      const { round } = yield* roundOnce(transport, 2)
      // The answer's callback signs the next delivery, which throws: the callback returns.
      expect(() => transport.pending.shift()!.done({ _tag: "Answered", status: 204 })).not.toThrow()
      const exit = yield* Fiber.await(round)
      expect(exit._tag === "Failure" && Cause.isDie(exit.cause) && String(Cause.squash(exit.cause))).toContain("does not open")
      expect(transport.pending.length).toBe(0)
    }).pipe(Effect.provide(Layer.mergeAll(transport.layer, throwing).pipe(Layer.provideMerge(MemoryStore.layer()))))
  })
})

describe("the worker running", () => {
  it.live("delivers a backlog larger than its places without waiting for its poll interval: what a fan-out leaves unleased is claimed as places free up", () => {
    const { layer, sent } = setup(() => ({ _tag: "Answered", status: 204 }))
    return Effect.gen(function*() {
      yield* WebhookAdmin.create({ url: "https://billing.example/hook", eventTypes: ["*"] })
      for (let s = 0; s < 20; s++) yield* commit(3, `sub-${s}`)
      // Two runs in flight at most (four claimed), and an hour between idle polls.
      const worker = yield* WebhookWorker.make({ batch: 2, pollInterval: Duration.hours(1) })
      const running = yield* Effect.fork(worker.run)
      yield* Effect.sleep(Duration.millis(5)).pipe(Effect.repeat({ until: () => sent.length >= 60 }), Effect.timeout(Duration.seconds(10)))
      yield* Fiber.interrupt(running)
      // Each subscription's three events in order.
      const sequences = new Map<string, Array<number>>()
      for (const { body } of sent) {
        const { data, sequence } = JSON.parse(body)
        sequences.set(data.subscriptionId, [...(sequences.get(data.subscriptionId) ?? []), sequence])
      }
      expect([...sequences.values()]).toEqual(Array.from({ length: 20 }, () => [1, 2, 3]))
    }).pipe(Effect.provide(layer))
  })
})

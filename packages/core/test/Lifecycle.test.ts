import { describe, expect, it } from "@effect/vitest"
import { Amendments } from "@subshift/core/ports/Amendments"
import { Baskets } from "@subshift/core/ports/Baskets"
import { BillGroupAmendments } from "@subshift/core/usecases/BillGroupAmendments"
import { Catalog } from "@subshift/core/ports/Catalog"
import { Events } from "@subshift/core/ports/Events"
import * as Ids from "@subshift/core/ports/Ids"
import * as Pricing from "@subshift/core/ports/Pricing"
import { Customer, CurrentPrincipal, Partner } from "@subshift/core/domain/Principal"
import { ScheduledChanges } from "@subshift/core/usecases/ScheduledChanges"
import * as ShiftedClock from "@subshift/core/clock/ShiftedClock"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { MemoryStore } from "@subshift/store-memory"
import { Demo } from "@subshift/testing"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { at, demoOffer, TODAY } from "./support.js"

const Services = Layer.mergeAll(SubscriptionCheckout.Default, ScheduledChanges.Default, BillGroupAmendments.Default).pipe(
  Layer.provideMerge(MemoryStore.layer(Demo.seed(TODAY))),
  Layer.provide(Pricing.layer()),
  Layer.provide(Ids.layerSequential)
)

const as = (customerId: string) => Effect.provideService(CurrentPrincipal, new Customer({ customerId }))

/** Erin (Standard, billed on the 1st) commits a downgrade to Basic: it takes effect on April 1st. */
const scheduleDowngrade = Effect.gen(function*() {
  const checkout = yield* SubscriptionCheckout
  const basket = yield* checkout.initiate({ forSubscription: { id: "sub-erin" } })
  yield* checkout.update(basket.id, [{ action: "add", type: "offer", offerId: "ledger-basic" }])
  return yield* checkout.commit(basket.id)
}).pipe(as("cus-erin"))

describe("scheduled changes", () => {
  it.effect("a committed downgrade waits for its date, then applyDue applies it once and lifts the lock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(`${TODAY}T10:00:00Z`))
      const committed = yield* scheduleDowngrade
      expect(committed.subscription.pendingChange?.effectiveDate).toBe("2025-04-01")
      const scheduler = yield* ScheduledChanges
      expect(yield* scheduler.applyDue()).toEqual({ examined: 0, applied: 0 })

      yield* TestClock.setTime(at("2025-04-01T00:05:00Z"))
      expect(yield* scheduler.applyDue()).toEqual({ examined: 1, applied: 1 })
      const erin = Option.getOrThrow(yield* (yield* Subscriptions).findById("sub-erin"))
      expect(erin.offer.offerId).toBe("ledger-basic")
      expect(erin.pendingChange).toBeUndefined()
      expect(erin.currentPeriod).toEqual({ start: "2025-04-01", end: "2025-05-01" })
      expect(erin.addOns.map((l) => l.offerId)).toEqual([])
      expect(yield* scheduler.applyDue()).toEqual({ examined: 0, applied: 0 })

      const events = yield* (yield* Events).list({ subscriptionId: "sub-erin", limit: 10 })
      expect(events.map((e) => [e.type, e.actor.kind])).toEqual([["amendment.committed", "customer"], ["subscription.changed", "system"]])
      expect(events[1]!.before?.offer.offerId).toBe("ledger-standard")
      expect(events[1]!.after?.offer.offerId).toBe("ledger-basic")
      expect(events[1]!.amendmentId).toBe(committed.amendment.id)

      const basket = yield* (yield* SubscriptionCheckout).initiate({ forSubscription: { id: "sub-erin" } }).pipe(as("cus-erin"))
      expect(basket.forSubscriptionOffer.offerId).toBe("ledger-basic")
    }).pipe(Effect.provide(Services)))

  it.effect("two scheduler runs at the same time apply one change exactly once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(`${TODAY}T10:00:00Z`))
      yield* scheduleDowngrade
      yield* TestClock.setTime(at("2025-04-02T08:00:00Z"))
      const scheduler = yield* ScheduledChanges
      const runs = yield* Effect.all([scheduler.applyDue(), scheduler.applyDue(), scheduler.applyDue()], { concurrency: "unbounded" })
      expect(runs.reduce((n, r) => n + r.applied, 0)).toBe(1)
      const changed = (yield* (yield* Events).list({ subscriptionId: "sub-erin", limit: 10 })).filter((e) => e.type === "subscription.changed")
      expect(changed.length).toBe(1)
    }).pipe(Effect.provide(Services)))
})

describe("events", () => {
  it.effect("a commit writes amendment.committed with the actor, before and after, and the amounts", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(`${TODAY}T10:00:00Z`))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-carol" } })
      yield* checkout.update(basket.id, [{ action: "add", type: "offer", offerId: "ledger-premium" }])
      const committed = yield* checkout.commit(basket.id)
      const [event] = yield* (yield* Events).list({ partnerOrg: Demo.partnerOrg, limit: 10 })
      expect(event).toMatchObject({
        type: "amendment.committed",
        subscriptionId: "sub-carol",
        owner: "cus-carol",
        partnerOrg: Demo.partnerOrg,
        actor: { kind: "partner", id: Demo.partnerOrg },
        amendmentId: committed.amendment.id,
        basketId: basket.id,
        amounts: { dueNow: committed.amendment.quote.dueNow, nextRecurring: committed.amendment.quote.nextRecurring }
      })
      expect(event!.before?.offer.offerId).toBe("ledger-standard")
      expect(event!.after?.offer.offerId).toBe("ledger-premium")
    }).pipe(Effect.provide(Services), Effect.provideService(CurrentPrincipal, new Partner({ partnerOrg: Demo.partnerOrg, scopes: ["partner"] }))))

  it.effect("a refused commit writes no event", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(`${TODAY}T10:00:00Z`))
      const checkout = yield* SubscriptionCheckout
      const first = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      const second = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      yield* checkout.update(first.id, [{ action: "add", type: "offer", offerId: "ledger-standard" }])
      yield* checkout.update(second.id, [{ action: "add", type: "offer", offerId: "ledger-premium" }])
      yield* checkout.commit(first.id)
      const error = yield* Effect.flip(checkout.commit(second.id))
      expect(error._tag).toBe("VersionConflict")
      const events = yield* (yield* Events).list({ subscriptionId: "sub-alice", limit: 10 })
      expect(events.length).toBe(1)
      expect((yield* (yield* Amendments).listBySubscription("sub-alice")).length).toBe(1)
    }).pipe(Effect.provide(Services), as("cus-alice")))

  it.effect("an amendment across a bill group writes one event per subscription", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(`${TODAY}T10:00:00Z`))
      const result = yield* (yield* BillGroupAmendments).amend({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-1", timing: "TODAY", items: [{ productId: "addon-archive", quantity: 2 }] }],
        subscriptionRemovals: [{ subscriptionId: "sub-acme-2", timing: "CURRENT_PERIOD_END" }]
      })
      const events = yield* (yield* Events).list({ limit: 100 })
      const acme = events.filter((e) => e.owner === "cus-acme")
      expect(acme.map((e) => [e.type, e.subscriptionId, e.amendmentId])).toEqual([
        ["amendment.committed", "sub-acme-1", result.updates[0]!.amendment.id],
        ["amendment.committed", "sub-acme-2", result.removals[0]!.amendment.id]
      ])
    }).pipe(Effect.provide(Services), as("cus-acme")))
})

describe("preview equals commit", () => {
  it.effect("a commit later the same period charges exactly what was quoted", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(`${TODAY}T10:00:00Z`))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      const quoted = yield* checkout.update(basket.id, [{ action: "add", type: "offer", offerId: "ledger-premium" }])
      yield* TestClock.setTime(at("2025-03-20T10:00:00Z"))
      const committed = yield* checkout.commit(basket.id)
      expect(committed.amendment.quote.dueNow).toEqual(quoted.quote.dueNow)
      expect(committed.amendment.quote.lines.map((l) => l.amount)).toEqual(quoted.quote.lines.map((l) => l.amount))
      expect(committed.amendment.quote.pricedAt).toBe(quoted.quote.pricedAt)
    }).pipe(Effect.provide(Services), as("cus-alice")))

  it.effect("a price change in the catalog since the quote refuses the commit with QuoteChanged and charges nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(`${TODAY}T10:00:00Z`))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      yield* checkout.update(basket.id, [{ action: "add", type: "offer", offerId: "ledger-premium" }])
      const premium = demoOffer("ledger-premium")
      yield* (yield* Catalog).put([{ ...premium, rates: premium.rates.map((r) => ({ ...r, amount: r.amount + 100 })) }])
      const error = yield* Effect.flip(checkout.commit(basket.id))
      expect(error).toMatchObject({ _tag: "QuoteChanged", reason: "catalog_changed", basketId: basket.id })
      expect(Option.getOrThrow(yield* (yield* Subscriptions).findById("sub-alice")).offer.offerId).toBe("ledger-basic")
      expect(Option.getOrThrow(yield* (yield* Baskets).findById(basket.id)).completed).toBe(false)
      const refreshed = yield* checkout.update(basket.id, [{ action: "add", type: "offer", offerId: "ledger-premium" }])
      expect((yield* checkout.commit(refreshed.id)).amendment.quote.dueNow).toEqual(refreshed.quote.dueNow)
    }).pipe(Effect.provide(Services), as("cus-alice")))

  it.effect("a quote from the previous billing period refuses the commit with QuoteChanged", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at("2025-03-28T10:00:00Z"))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      yield* checkout.update(basket.id, [{ action: "add", type: "offer", offerId: "ledger-standard" }])
      yield* TestClock.setTime(at("2025-04-01T10:00:00Z"))
      const error = yield* Effect.flip(checkout.commit(basket.id))
      expect([error._tag, error._tag === "QuoteChanged" ? error.reason : undefined]).toEqual(["QuoteChanged", "period_changed"])
    }).pipe(Effect.provide(Services), as("cus-alice")))
})

describe("shifted clock", () => {
  it.effect("moves forward only, and everything run on it sees the shift", () =>
    Effect.gen(function*() {
      const shifted = ShiftedClock.make()
      const before = yield* Clock.currentTimeMillis.pipe(Effect.withClock(shifted.clock))
      yield* shifted.advance("3 days")
      const after = yield* Clock.currentTimeMillis.pipe(Effect.withClock(shifted.clock))
      expect(after - before).toBeGreaterThanOrEqual(3 * 86_400_000)
      expect(after - before).toBeLessThan(3 * 86_400_000 + 60_000)
      expect((yield* Effect.flip(shifted.advance(-1)))).toBeInstanceOf(RangeError)
      expect((yield* Effect.flip(shifted.advance(0)))).toBeInstanceOf(RangeError)
    }))
})

import { Amendments } from "@subshift/core/ports/Amendments"
import type { OrderItem } from "@subshift/core/domain/Basket"
import { Baskets } from "@subshift/core/ports/Baskets"
import { Catalog } from "@subshift/core/ports/Catalog"
import {
  BasketCompleted,
  BasketExpired,
  BasketNotFound,
  BasketRejected,
  SubscriptionInactive,
  SubscriptionLocked,
  SubscriptionNotFound,
  VersionConflict
} from "@subshift/core/domain/Errors"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Ids from "@subshift/core/ports/Ids"
import * as Pricing from "@subshift/core/ports/Pricing"
import { CurrentPrincipal, Customer, Partner } from "@subshift/core/domain/Principal"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { MemoryStore } from "@subshift/store-memory"
import { Demo } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { at, TODAY } from "./support.js"

const NOW = `${TODAY}T10:00:00.000Z`

const layer = (seed = Demo.seed(TODAY)) =>
  SubscriptionCheckout.Default.pipe(
    Layer.provideMerge(Layer.mergeAll(MemoryStore.layer(seed), Pricing.layer(), Ids.layerSequential))
  )

const asCustomer = (customerId: string) => Effect.provideService(CurrentPrincipal, new Customer({ customerId }))
const asPartner = (partnerOrg: string) => Effect.provideService(CurrentPrincipal, new Partner({ partnerOrg, scopes: ["partner"] }))

const storedBasket = (id: string) => Effect.flatMap(Baskets, (b) => b.findById(id)).pipe(Effect.map(Option.getOrThrow))
const storedSubscription = (id: string) => Effect.flatMap(Subscriptions, (s) => s.findById(id)).pipe(Effect.map(Option.getOrThrow))

const add = (type: "offer" | "add_on", offerId: string, extra: Partial<OrderItem> = {}): OrderItem => ({ action: "add", type, offerId, ...extra })

describe("SubscriptionCheckout.initiate", () => {
  it.effect("opens a basket by subscription id, with the eligibility snapshot and an empty quote", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" }, tracking: { clientIp: "203.0.113.9" } })
      expect(basket).toMatchObject({
        id: "basket-00000000-0000-4000-8000-000000000001",
        subscriptionId: "sub-alice",
        owner: { kind: "customer", id: "cus-alice" },
        createdAt: NOW,
        expiresAt: "2025-03-30T10:00:00.000Z",
        version: 1,
        completed: false,
        items: [],
        systemItems: [],
        actions: [],
        tracking: { clientIp: "203.0.113.9" },
        forSubscriptionOffer: {
          offerId: "ledger-basic",
          name: "Basic",
          rateId: "ledger-basic-usd-monthly",
          quantity: 1,
          unitPrice: { amount: 999, currency: "USD" },
          interval: { count: 1, unit: "month" }
        }
      })
      expect(basket.nextActions.upgrades.map((o) => o.offerId)).toEqual(["ledger-standard", "ledger-premium"])
      expect(basket.nextActions.subscriptionAddOns.map((o) => o.offerId)).toEqual(["addon-crossword", "addon-podcasts"])
      expect(basket.quote).toMatchObject({
        lines: [],
        dueNow: { amount: 0, currency: "USD" },
        currentRecurring: { amount: 999 + 299 + 399, currency: "USD" },
        nextBillingDate: "2025-04-01"
      })
      expect(yield* storedBasket(basket.id)).toEqual(basket)
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("opens a basket by the subscription's name", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const basket = yield* (yield* SubscriptionCheckout).initiate({ forSubscription: { name: "3V053CN9SFIG" } })
      expect(basket.subscriptionId).toBe("sub-alice")
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("an unknown subscription is SubscriptionNotFound", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      expect(yield* Effect.flip(checkout.initiate({ forSubscription: { name: "NOSUCHNAME" } }))).toEqual(
        new SubscriptionNotFound({ subscription: "NOSUCHNAME" })
      )
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("another customer's subscription is SubscriptionNotFound, by id and by name", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      expect(yield* Effect.flip(checkout.initiate({ forSubscription: { id: "sub-alice" } }))).toEqual(
        new SubscriptionNotFound({ subscription: "sub-alice" })
      )
      expect(yield* Effect.flip(checkout.initiate({ forSubscription: { name: "3V053CN9SFIG" } }))).toEqual(
        new SubscriptionNotFound({ subscription: "3V053CN9SFIG" })
      )
    }).pipe(asCustomer("cus-bob"), Effect.provide(layer())))

  it.effect("a partner sees only its organisation's subscriptions; the partner of the subscription may open it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      expect(yield* Effect.flip(checkout.initiate({ forSubscription: { id: "sub-alice" } }).pipe(asPartner(Demo.partnerOrg)))).toEqual(
        new SubscriptionNotFound({ subscription: "sub-alice" })
      )
      expect(yield* Effect.flip(checkout.initiate({ forSubscription: { id: "sub-carol" } }).pipe(asPartner("partner-other")))).toEqual(
        new SubscriptionNotFound({ subscription: "sub-carol" })
      )
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-carol" } }).pipe(asPartner(Demo.partnerOrg))
      expect(basket.owner).toEqual({ kind: "partner", id: Demo.partnerOrg })
      // The partner's basket is not the customer's.
      expect(yield* Effect.flip(checkout.get(basket.id).pipe(asCustomer("cus-carol")))).toEqual(
        new BasketNotFound({ basketId: basket.id })
      )
    }).pipe(Effect.provide(layer())))

  it.effect("a subscription that is not active cannot be changed", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      expect(yield* Effect.flip(checkout.initiate({ forSubscription: { id: "sub-alice" } }))).toEqual(
        new SubscriptionInactive({ subscriptionId: "sub-alice", status: "cancelled" })
      )
    }).pipe(
      asCustomer("cus-alice"),
      Effect.provide(layer({
        ...Demo.seed(TODAY),
        subscriptions: Demo.subscriptions(TODAY).map((s) => (s.id === "sub-alice" ? { ...s, status: "cancelled" as const } : s))
      }))
    ))

  it.effect("a request without a subscription reference is InvalidInput", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const error = yield* Effect.flip((yield* SubscriptionCheckout).initiate({ forSubscription: {} } as never))
      expect(error).toMatchObject({ _tag: "InvalidInput" })
      expect((error as { field: string }).field).toMatch(/^forSubscription/)
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))
})

describe("SubscriptionCheckout.update", () => {
  it.effect("replaces the caller's items, prices them and bumps the version", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      const first = yield* checkout.update(basket.id, [add("offer", "ledger-premium")])
      expect(first.version).toBe(2)
      expect(first.systemItems.map((s) => s.offerId)).toEqual(["ledger-basic", "addon-podcasts"])
      const second = yield* checkout.update(basket.id, [add("offer", "ledger-standard")], { expectedVersion: 2 })
      expect(second.version).toBe(3)
      expect(second.items).toEqual([add("offer", "ledger-standard")])
      expect(second.systemItems.map((s) => s.offerId)).toEqual(["ledger-basic"])
      expect(yield* storedBasket(basket.id)).toEqual(second)
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("a rejected update leaves the stored basket exactly as it was", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      yield* checkout.update(basket.id, [add("offer", "ledger-standard"), add("add_on", "addon-archive")])
      const before = yield* storedBasket(basket.id)
      const error = yield* Effect.flip(checkout.update(basket.id, [add("offer", "ledger-standard"), add("offer", "ledger-premium")]))
      expect(error).toEqual(new BasketRejected({ code: "too_many_offer_adds", message: "a request may add at most one subscription offer" }))
      expect(yield* storedBasket(basket.id)).toEqual(before)
      const offPath = yield* Effect.flip(checkout.update(basket.id, [add("offer", "ledger-family")]))
      expect(offPath).toMatchObject({ _tag: "BasketRejected", code: "offer_not_eligible", reason: "not_a_configured_path" })
      expect(yield* storedBasket(basket.id)).toEqual(before)
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("items sent without a type take their offer's kind from the one catalog read of the update", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const reads: Array<string> = []
      const counted = Layer.effect(
        Catalog,
        Effect.map(Catalog, (catalog) =>
          Catalog.of({
            ...catalog,
            getMany: (ids) => Effect.zipRight(Effect.sync(() => reads.push("getMany")), catalog.getMany(ids)),
            getWithNeighbours: (ids) => Effect.zipRight(Effect.sync(() => reads.push("getWithNeighbours")), catalog.getWithNeighbours(ids))
          }))
      )
      const store = MemoryStore.layer(Demo.seed(TODAY))
      const services = SubscriptionCheckout.Default.pipe(
        Layer.provide(counted),
        Layer.provideMerge(Layer.mergeAll(store, Pricing.layer(), Ids.layerSequential))
      )
      const updated = yield* Effect.gen(function*() {
        const checkout = yield* SubscriptionCheckout
        const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
        reads.length = 0
        return yield* checkout.update(basket.id, [
          { action: "add", offerId: "ledger-standard" },
          { action: "add", offerId: "addon-archive" }
        ])
      }).pipe(Effect.provide(services))
      expect(updated.items.map((i) => [i.offerId, i.type])).toEqual([["ledger-standard", "offer"], ["addon-archive", "add_on"]])
      expect(reads).toEqual(["getWithNeighbours"])
    }).pipe(asCustomer("cus-alice")))

  it.effect("an update with a stale expected version is VersionConflict and changes nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      yield* checkout.update(basket.id, [add("offer", "ledger-standard")], { expectedVersion: 1 })
      const before = yield* storedBasket(basket.id)
      expect(yield* Effect.flip(checkout.update(basket.id, [add("offer", "ledger-premium")], { expectedVersion: 1 }))).toEqual(
        new VersionConflict({ entity: "basket", id: basket.id, expected: 1, actual: 2 })
      )
      expect(yield* storedBasket(basket.id)).toEqual(before)
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("invalid items are InvalidInput naming the field: a negative quantity, an unknown action", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      const negative = yield* Effect.flip(checkout.update(basket.id, [add("offer", "ledger-standard", { quantity: -1 })]))
      expect(negative).toMatchObject({ _tag: "InvalidInput", field: "orderItems[0].quantity" })
      const unknown = yield* Effect.flip(
        checkout.update(basket.id, [add("offer", "ledger-standard"), { action: "upgrade", type: "offer", offerId: "ledger-premium" } as never])
      )
      expect(unknown).toMatchObject({ _tag: "InvalidInput", field: "orderItems[1].action" })
      const notAList = yield* Effect.flip(checkout.update(basket.id, "everything" as never))
      expect(notAList).toMatchObject({ _tag: "InvalidInput", field: "orderItems" })
      expect(yield* storedBasket(basket.id)).toEqual(basket)
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("another customer's basket is BasketNotFound for get, update and commit", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } }).pipe(asCustomer("cus-alice"))
      const notFound = new BasketNotFound({ basketId: basket.id })
      expect(yield* Effect.flip(checkout.get(basket.id).pipe(asCustomer("cus-bob")))).toEqual(notFound)
      expect(yield* Effect.flip(checkout.update(basket.id, [add("offer", "ledger-standard")]).pipe(asCustomer("cus-bob")))).toEqual(notFound)
      expect(yield* Effect.flip(checkout.commit(basket.id).pipe(asCustomer("cus-bob")))).toEqual(notFound)
      expect(yield* Effect.flip(checkout.get("basket-00000000-0000-4000-8000-00000000ffff").pipe(asCustomer("cus-alice")))).toEqual(
        new BasketNotFound({ basketId: "basket-00000000-0000-4000-8000-00000000ffff" })
      )
      expect(yield* storedBasket(basket.id)).toEqual(basket)
    }).pipe(Effect.provide(layer())))
})

describe("SubscriptionCheckout expiry", () => {
  it.effect("a basket can be read until 14 days after it was opened, and is BasketExpired from then on", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      yield* TestClock.setTime(at("2025-03-30T09:59:59.999Z"))
      expect((yield* checkout.get(basket.id)).id).toBe(basket.id)
      yield* TestClock.setTime(at("2025-03-30T10:00:00.000Z"))
      const expired = new BasketExpired({ basketId: basket.id, expiredAt: "2025-03-30T10:00:00.000Z" })
      expect(yield* Effect.flip(checkout.get(basket.id))).toEqual(expired)
      expect(yield* Effect.flip(checkout.update(basket.id, [add("offer", "ledger-standard")]))).toEqual(expired)
      expect(yield* Effect.flip(checkout.commit(basket.id))).toEqual(expired)
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))
})

describe("SubscriptionCheckout.commit", () => {
  it.effect("applies an upgrade today: new offer and add-ons, version + 1, amendment stored, basket completed", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      const updated = yield* checkout.update(basket.id, [add("offer", "ledger-standard"), add("add_on", "addon-archive")])
      // 16 of 31 days left: -999 → -516, +1999 → +1032, +499 → +258
      expect(updated.quote.lines.map((l) => l.amount.amount)).toEqual([-516, 1032, 258])
      expect(updated.quote.dueNow).toEqual({ amount: 774, currency: "USD" })

      const committed = yield* checkout.commit(basket.id, { expectedVersion: 2 })

      const subscription = yield* storedSubscription("sub-alice")
      expect(subscription).toEqual(committed.subscription)
      expect(subscription.offer).toEqual({
        offerId: "ledger-standard",
        rateId: "ledger-standard-usd-monthly",
        quantity: 1,
        unitPrice: { amount: 1999, currency: "USD" }
      })
      expect(subscription.addOns.map((l) => l.offerId)).toEqual(["addon-crossword", "addon-podcasts", "addon-archive"])
      expect(subscription.version).toBe(2)
      expect(subscription.pendingChange).toBeUndefined()
      expect(subscription.updatedAt).toBe(NOW)

      const amendment = yield* Effect.flatMap(Amendments, (a) => a.findById(committed.amendment.id))
      expect(amendment).toEqual(Option.some(committed.amendment))
      expect(committed.amendment).toMatchObject({
        subscriptionId: "sub-alice",
        source: "checkout",
        basketId: basket.id,
        principal: { kind: "customer", id: "cus-alice" },
        createdAt: NOW
      })
      expect(committed.amendment.quote.dueNow).toEqual({ amount: 774, currency: "USD" })

      const stored = yield* storedBasket(basket.id)
      expect(stored).toEqual(committed.basket)
      expect(stored).toMatchObject({ completed: true, version: 3, amendmentId: committed.amendment.id })

      expect(yield* Effect.flip(checkout.update(basket.id, [add("offer", "ledger-premium")]))).toEqual(
        new BasketCompleted({ basketId: basket.id })
      )
      expect(yield* Effect.flip(checkout.commit(basket.id))).toEqual(new BasketCompleted({ basketId: basket.id }))
      expect(yield* checkout.get(basket.id)).toEqual(stored)
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("after an upgrade every add-on still held is one the new offer accepts, even one the caller removed itself", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      yield* checkout.update(basket.id, [add("offer", "ledger-premium"), { action: "remove", type: "add_on", offerId: "addon-podcasts" }])
      const committed = yield* checkout.commit(basket.id)
      const accepted = Demo.offers.find((o) => o.id === "ledger-premium")!.addOns
      expect(committed.subscription.offer.offerId).toBe("ledger-premium")
      expect(committed.subscription.addOns.map((l) => l.offerId).filter((id) => !accepted.includes(id))).toEqual([])
      expect(committed.subscription.pendingChange).toBeUndefined()
      // Podcasts+ is credited for the 16 unused days of 31: 399 → -206
      expect(committed.amendment.quote.lines.find((l) => l.offerId === "addon-podcasts")!.amount.amount).toBe(-206)
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("a commit with a stale expected version is VersionConflict and applies nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      yield* checkout.update(basket.id, [add("offer", "ledger-standard")])
      expect(yield* Effect.flip(checkout.commit(basket.id, { expectedVersion: 1 }))).toEqual(
        new VersionConflict({ entity: "basket", id: basket.id, expected: 1, actual: 2 })
      )
      expect((yield* storedSubscription("sub-alice")).offer.offerId).toBe("ledger-basic")
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("two baskets on one subscription cannot both commit: the second is stale once the first applied", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const one = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      const two = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      yield* checkout.update(one.id, [add("offer", "ledger-standard")])
      const seen = yield* checkout.update(two.id, [add("offer", "ledger-premium")])
      yield* checkout.commit(one.id)
      // The second basket was priced as Basic → Premium; applying it now would be Standard → Premium at
      // another price than the one shown, so it is refused as a conflict and nothing is applied.
      const result = yield* Effect.either(checkout.commit(two.id))
      expect(Either.isLeft(result) && result.left).toEqual(
        new VersionConflict({ entity: "subscription", id: "sub-alice", expected: 1, actual: 2 })
      )
      expect(yield* storedBasket(two.id)).toEqual(seen)
      const subscription = yield* storedSubscription("sub-alice")
      expect(subscription.offer.offerId).toBe("ledger-standard")
      expect(subscription.version).toBe(2)
      // After a fresh update, the basket prices the change from Standard and commits.
      yield* checkout.update(two.id, [add("offer", "ledger-premium")])
      const committed = yield* checkout.commit(two.id)
      expect(committed.amendment.actions.map((a) => [a.kind, a.offerId])).toEqual([
        ["remove", "ledger-standard"],
        ["add", "ledger-premium"],
        ["remove", "addon-podcasts"]
      ])
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("committing an empty basket is BasketRejected nothing_to_commit, and the basket stays open", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      expect(yield* Effect.flip(checkout.commit(basket.id))).toEqual(
        new BasketRejected({ code: "nothing_to_commit", message: "the basket holds no change to commit" })
      )
      expect(yield* storedBasket(basket.id)).toEqual(basket)
      expect((yield* storedSubscription("sub-alice")).version).toBe(1)
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("a downgrade becomes a pending change that locks the subscription until its date, then applies", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-erin" } })
      yield* checkout.update(basket.id, [add("offer", "ledger-basic")])
      const committed = yield* checkout.commit(basket.id)
      expect(committed.amendment.quote.dueNow).toEqual({ amount: 0, currency: "USD" })

      const pending = yield* storedSubscription("sub-erin")
      // Nothing changes today: Standard and the archive stay until 2025-04-01.
      expect(pending.offer.offerId).toBe("ledger-standard")
      expect(pending.addOns.map((l) => l.offerId)).toEqual(["addon-archive"])
      expect(pending.version).toBe(2)
      expect(pending.pendingChange).toMatchObject({ amendmentId: committed.amendment.id, effectiveDate: "2025-04-01" })
      expect(pending.pendingChange!.actions.map((a) => [a.kind, a.offerId])).toEqual([
        ["remove", "ledger-standard"],
        ["add", "ledger-basic"],
        ["remove", "addon-archive"]
      ])

      const locked = new SubscriptionLocked({ subscriptionId: "sub-erin", pendingChangeDate: CalendarDate.make("2025-04-01") })
      expect(yield* Effect.flip(checkout.initiate({ forSubscription: { id: "sub-erin" } }))).toEqual(locked)
      yield* TestClock.setTime(at("2025-03-31T23:59:59.999Z"))
      expect(yield* Effect.flip(checkout.initiate({ forSubscription: { name: "3R1NSTANDARD" } }))).toEqual(locked)

      yield* TestClock.setTime(at("2025-04-02T08:00:00.000Z"))
      const reopened = yield* checkout.initiate({ forSubscription: { id: "sub-erin" } })
      expect(reopened.forSubscriptionOffer.offerId).toBe("ledger-basic")
      const caughtUp = yield* storedSubscription("sub-erin")
      expect(caughtUp.offer).toEqual({
        offerId: "ledger-basic",
        rateId: "ledger-basic-usd-monthly",
        quantity: 1,
        unitPrice: { amount: 999, currency: "USD" }
      })
      expect(caughtUp.addOns).toEqual([])
      expect(caughtUp.currentPeriod).toEqual({ start: "2025-04-01", end: "2025-05-01" })
      expect(caughtUp.pendingChange).toBeUndefined()
      expect(caughtUp.status).toBe("active")
      expect(caughtUp.version).toBe(3)
      expect(reopened.quote.currentRecurring).toEqual({ amount: 999, currency: "USD" })
    }).pipe(asCustomer("cus-erin"), Effect.provide(layer())))
})

describe("tracking data", () => {
  const open = (tracking: unknown) =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2025-03-16T10:00:00Z"))
      const checkout = yield* SubscriptionCheckout
      return yield* Effect.flip(checkout.initiate({ forSubscription: { id: "sub-alice" }, tracking } as never))
    }).pipe(
      Effect.provide(SubscriptionCheckout.Default.pipe(
        Layer.provide(MemoryStore.layer(Demo.seed(CalendarDate.make("2025-03-16")))),
        Layer.provide(Pricing.layer()),
        Layer.provide(Ids.layerSequential)
      )),
      Effect.provideService(CurrentPrincipal, new Customer({ customerId: "cus-alice" }))
    )

  it.effect("refuses prototype keys, deep nesting and oversized data in tracking, naming the field", () =>
    Effect.gen(function*() {
      for (const data of [
        JSON.parse("{\"__proto__\":{\"admin\":true}}"),
        { nested: JSON.parse("{\"constructor\":{\"prototype\":{}}}") },
        { deep: [[[[[[[[[["too deep"]]]]]]]]]] },
        { big: "x".repeat(10_000) }
      ]) {
        const error = yield* open({ data })
        expect(error._tag).toBe("InvalidInput")
        expect((error as { field: string }).field).toMatch(/^tracking\.data/)
      }
    }))
})

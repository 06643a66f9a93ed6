import { Amendments } from "@subshift/core/ports/Amendments"
import { type Amended, type AmendRequest, BillGroupAmendments } from "@subshift/core/usecases/BillGroupAmendments"
import { AmendRejected, InvalidInput } from "@subshift/core/domain/Errors"
import * as Ids from "@subshift/core/ports/Ids"
import type { Offer } from "@subshift/core/domain/Offer"
import * as Pricing from "@subshift/core/ports/Pricing"
import { CurrentPrincipal, Customer, Partner } from "@subshift/core/domain/Principal"
import type { Subscription } from "@subshift/core/domain/Subscription"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { MemoryStore } from "@subshift/store-memory"
import { Demo } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { at, demoOffer, demoOffersWith, TODAY } from "./support.js"

const NOW = `${TODAY}T10:00:00.000Z`
type Seed = ReturnType<typeof Demo.seed>

const ports = (seed: Seed) => Layer.mergeAll(MemoryStore.layer(seed), Pricing.layer(), Ids.layerSequential)
const layer = (seed: Seed = Demo.seed(TODAY)) => BillGroupAmendments.Default.pipe(Layer.provideMerge(ports(seed)))

/** A store whose commit finds the subscription it is about to write changed by someone else in between. */
const racingLayer = (seed: Seed) =>
  BillGroupAmendments.Default.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        Layer.effectContext(
          Effect.map(MemoryStore.make(seed), (ctx) => {
            const real = Context.get(ctx, Subscriptions)
            return Context.add(ctx, Subscriptions, {
              ...real,
              commit: (commit) =>
                Effect.gen(function*() {
                  const target = commit.subscriptions.find((s) => s.expectedVersion !== undefined)!
                  const stored = Option.getOrThrow(yield* real.findById(target.next.id))
                  yield* Effect.orDie(real.put({ ...stored, version: stored.version + 1 }))
                  return yield* real.commit(commit)
                })
            })
          })
        ),
        Pricing.layer(),
        Ids.layerSequential
      )
    )
  )

const asCustomer = (customerId: string) => Effect.provideService(CurrentPrincipal, new Customer({ customerId }))
const stored = (id: string) => Effect.flatMap(Subscriptions, (s) => s.findById(id))
const storedAll = Effect.flatMap(Subscriptions, (s) => s.listByOwner("cus-acme"))

const seedWith = (change: (subs: Array<Subscription>) => Array<Subscription>, offers?: ReadonlyArray<Offer>): Seed => {
  const seed = Demo.seed(TODAY)
  return { ...seed, subscriptions: change(seed.subscriptions), offers: offers ?? seed.offers }
}

/** Runs an amend request as cus-acme and answers its error. */
const failure = (request: AmendRequest) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(at(NOW))
    return yield* Effect.flip((yield* BillGroupAmendments).amend(request))
  })

/** A touched subscription seen by what a caller reads of it: ids, date, amounts, rate, interval and lines. */
const seen = (a: Amended) => {
  const { addOns, id, interval, offer } = a.subscription
  const { currency, dueNow, nextRecurring } = a.amendment.quote
  const items = [offer, ...addOns].map((l) => ({ productId: l.offerId, quantity: l.quantity, amountPerPeriod: l.unitPrice.amount * l.quantity }))
  return { subscriptionId: id, amendmentId: a.amendment.id, effectiveDate: a.effectiveDate, amountPerPeriod: nextRecurring.amount, currency, rateId: offer.rateId, interval, dueNow: dueNow.amount, items }
}

/** Runs an amend request and answers what it did, by kind; a removal is read by its end date and current amount. */
const amendSeen = (request: AmendRequest) =>
  Effect.map(Effect.flatMap(BillGroupAmendments, (s) => s.amend(request)), (r) => ({
    billGroupId: r.billGroupId,
    subscriptionUpdates: r.updates.map(seen),
    subscriptionCreations: r.creations.map(seen),
    subscriptionRemovals: r.removals.map((a) => ({
      subscriptionId: a.subscription.id,
      amendmentId: a.amendment.id,
      endDate: a.effectiveDate,
      amountPerPeriod: a.amendment.quote.currentRecurring.amount,
      currency: a.amendment.quote.currency,
      dueNow: a.amendment.quote.dueNow.amount
    }))
  }))

const rejection = (errorCode: AmendRejected["errorCode"]) => expect.objectContaining({ _tag: "AmendRejected", errorCode })

describe("BillGroupAmendments.amend success with per-action timing", () => {
  it.effect("updates today with proration, changes an add-on quantity, creates from the next period and removes at period end", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const before = Option.getOrThrow(yield* stored("sub-acme-1"))
      const result = yield* amendSeen({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{
          subscriptionId: "sub-acme-1",
          timing: "TODAY",
          items: [{ productId: "ledger-standard", quantity: 2 }, { productId: "addon-archive", quantity: 3 }]
        }],
        offerings: [{
          offeringId: "ledger-premium",
          rateId: "ledger-premium-usd-monthly",
          timing: "NEXT_PERIOD_START",
          items: [{ productId: "addon-crossword", quantity: 1 }]
        }],
        subscriptionRemovals: [{ subscriptionId: "sub-acme-2", timing: "CURRENT_PERIOD_END" }]
      })

      // Update today, 16 of 31 days left: Standard 1 → 2 (+1999 → +1032), archive 1 → 3 (+998 → +515).
      expect(result.subscriptionUpdates).toEqual([{
        subscriptionId: "sub-acme-1",
        amendmentId: expect.stringMatching(/^amd-/),
        effectiveDate: "2025-03-16",
        amountPerPeriod: 2 * 1999 + 3 * 499,
        currency: "USD",
        rateId: "ledger-standard-usd-monthly",
        interval: { count: 1, unit: "month" },
        dueNow: 1032 + 515,
        items: [
          { productId: "ledger-standard", quantity: 2, amountPerPeriod: 3998 },
          { productId: "addon-archive", quantity: 3, amountPerPeriod: 1497 }
        ]
      }])
      // Creation from the bill group's next anchor date, nothing due now.
      expect(result.subscriptionCreations).toEqual([{
        subscriptionId: expect.stringMatching(/^sub-/),
        amendmentId: expect.stringMatching(/^amd-/),
        effectiveDate: "2025-04-01",
        amountPerPeriod: 2999 + 299,
        currency: "USD",
        rateId: "ledger-premium-usd-monthly",
        interval: { count: 1, unit: "month" },
        dueNow: 0,
        items: [
          { productId: "ledger-premium", quantity: 1, amountPerPeriod: 2999 },
          { productId: "addon-crossword", quantity: 1, amountPerPeriod: 299 }
        ]
      }])
      // Removal at period end: billed until then, nothing credited.
      expect(result.subscriptionRemovals).toEqual([{
        subscriptionId: "sub-acme-2",
        amendmentId: expect.stringMatching(/^amd-/),
        endDate: "2025-04-01",
        amountPerPeriod: 999,
        currency: "USD",
        dueNow: 0
      }])

      const updated = Option.getOrThrow(yield* stored("sub-acme-1"))
      expect(updated.offer).toMatchObject({ offerId: "ledger-standard", quantity: 2 })
      expect(updated.addOns).toEqual([{ ...before.addOns[0]!, quantity: 3 }])
      expect(updated.version).toBe(before.version + 1)
      expect(updated.pendingChange).toBeUndefined()

      const removed = Option.getOrThrow(yield* stored("sub-acme-2"))
      expect(removed.status).toBe("active")
      expect(removed.pendingChange).toMatchObject({ effectiveDate: "2025-04-01" })
      expect(removed.pendingChange!.actions.map((a) => [a.kind, a.type, a.offerId])).toEqual([["remove", "offer", "ledger-basic"]])

      const created = Option.getOrThrow(yield* stored(result.subscriptionCreations[0]!.subscriptionId))
      expect(created).toMatchObject({
        owner: "cus-acme",
        billGroupId: "bg-acme",
        status: "pending",
        currentPeriod: { start: "2025-04-01", end: "2025-05-01" },
        anchorDay: 1,
        offer: { offerId: "ledger-premium", rateId: "ledger-premium-usd-monthly", quantity: 1 },
        addOns: [{ offerId: "addon-crossword", rateId: "addon-crossword-usd-monthly", quantity: 1 }]
      })

      const amendments = yield* Amendments
      for (const id of ["sub-acme-1", "sub-acme-2", created.id]) {
        const list = yield* amendments.listBySubscription(id)
        expect(list.map((a) => [a.source, a.billGroupId])).toEqual([["amend_api", "bg-acme"]])
      }
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))

  it.effect("a removal today credits the unused part and ends the subscription today", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const result = yield* amendSeen({
        billGroupId: "bg-acme",
        subscriptionRemovals: [{ subscriptionId: "sub-acme-1", timing: "TODAY" }]
      })
      // 16 of 31 days unused: Standard 1999 → -1032, archive 499 → -258
      expect(result.subscriptionRemovals[0]).toMatchObject({ endDate: "2025-03-16", dueNow: -1032 - 258 })
      const ended = Option.getOrThrow(yield* stored("sub-acme-1"))
      expect(ended).toMatchObject({ status: "cancelled", endDate: "2025-03-16" })
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))

  it.effect("a rate change and a quantity change in one update are priced once each, one after the other", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const result = yield* amendSeen({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{
          subscriptionId: "sub-acme-1",
          timing: "TODAY",
          rateId: "ledger-standard-usd-promo",
          items: [{ productId: "ledger-standard", quantity: 2 }]
        }]
      })
      // Standard 1 × 1999 → 2 × 1499 (+999 a period), archive 499 unchanged; 16 of 31 days: +999 → +516
      expect(result.subscriptionUpdates[0]).toMatchObject({
        rateId: "ledger-standard-usd-promo",
        amountPerPeriod: 2 * 1499 + 499,
        dueNow: -258 + 774
      })
      const updated = Option.getOrThrow(yield* stored("sub-acme-1"))
      expect(updated.offer).toEqual({ offerId: "ledger-standard", rateId: "ledger-standard-usd-promo", quantity: 2, unitPrice: { amount: 1499, currency: "USD" } })
    }).pipe(
      asCustomer("cus-acme"),
      Effect.provide(layer(seedWith((s) => s, demoOffersWith({
        ...demoOffer("ledger-standard"),
        rates: [
          ...demoOffer("ledger-standard").rates,
          { id: "ledger-standard-usd-promo", amount: 1499, currency: "USD", interval: { count: 1, unit: "month" } }
        ]
      }))))
    ))

  it.effect("an update at the next period start is not prorated and becomes a pending change", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const result = yield* amendSeen({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-2", timing: "NEXT_PERIOD_START", items: [{ productId: "addon-podcasts", quantity: 2 }] }]
      })
      expect(result.subscriptionUpdates[0]).toMatchObject({ effectiveDate: "2025-04-01", dueNow: 0, amountPerPeriod: 999 + 2 * 399 })
      const later = Option.getOrThrow(yield* stored("sub-acme-2"))
      expect(later.addOns).toEqual([])
      expect(later.pendingChange).toMatchObject({ effectiveDate: "2025-04-01" })
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))
})

describe("BillGroupAmendments.amend error codes", () => {
  it.effect("INVALID_OFFERINGS: an unknown offering, an add-on as an offering, a product the offering does not have", () =>
    Effect.gen(function*() {
      expect(yield* failure({
        billGroupId: "bg-acme",
        offerings: [{ offeringId: "ledger-gold", rateId: "ledger-gold-usd", timing: "TODAY" }]
      })).toEqual(new AmendRejected({
        errorCode: "INVALID_OFFERINGS",
        details: "offerings[0].offeringId: no offering ledger-gold",
        context: { field: "offerings[0].offeringId", offeringId: "ledger-gold" }
      }))
      expect(yield* failure({
        billGroupId: "bg-acme",
        offerings: [{ offeringId: "addon-archive", rateId: "addon-archive-usd-monthly", timing: "TODAY" }]
      })).toEqual(rejection("INVALID_OFFERINGS"))
      expect(yield* failure({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-2", timing: "TODAY", items: [{ productId: "addon-archive", quantity: 1 }] }]
      })).toEqual(rejection("INVALID_OFFERINGS"))
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))

  it.effect("INVALID_RATES: an unknown rate, another offering's rate, a rate in another currency, another billing frequency", () =>
    Effect.gen(function*() {
      const creation = (rateId: string) => ({ billGroupId: "bg-acme", offerings: [{ offeringId: "ledger-premium", rateId, timing: "TODAY" }] })
      expect(yield* failure(creation("ledger-premium-usd-weekly"))).toEqual(new AmendRejected({
        errorCode: "INVALID_RATES",
        details: "offerings[0].rateId: no rate ledger-premium-usd-weekly",
        context: { field: "offerings[0].rateId", rateId: "ledger-premium-usd-weekly" }
      }))
      expect(yield* failure(creation("ledger-basic-usd-monthly"))).toEqual(rejection("INVALID_RATES"))
      expect(yield* failure(creation("ledger-premium-gbp-monthly"))).toEqual(rejection("INVALID_RATES"))
      expect(yield* failure({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-1", timing: "TODAY", rateId: "ledger-standard-usd-annual" }]
      })).toEqual(rejection("INVALID_RATES"))
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))

  it.effect("ACCOUNT_RATE_MISMATCH: a rate reserved to another account", () =>
    Effect.gen(function*() {
      expect(yield* failure({
        billGroupId: "bg-acme",
        offerings: [{ offeringId: "ledger-premium", rateId: "ledger-premium-globex", timing: "TODAY" }]
      })).toEqual(new AmendRejected({
        errorCode: "ACCOUNT_RATE_MISMATCH",
        details: "offerings[0].rateId: rate ledger-premium-globex belongs to another account",
        context: { field: "offerings[0].rateId", rateId: "ledger-premium-globex" }
      }))
    }).pipe(
      asCustomer("cus-acme"),
      Effect.provide(layer(seedWith((s) => s, demoOffersWith({
        ...demoOffer("ledger-premium"),
        rates: [
          ...demoOffer("ledger-premium").rates,
          { id: "ledger-premium-globex", amount: 1999, currency: "USD", interval: { count: 1, unit: "month" }, accountId: "cus-globex" }
        ]
      }))))
    ))

  it.effect("a rate reserved to the bill group's own account is accepted", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const result = yield* amendSeen({
        billGroupId: "bg-acme",
        offerings: [{ offeringId: "ledger-premium", rateId: "ledger-premium-acme", timing: "TODAY" }]
      })
      expect(result.subscriptionCreations[0]).toMatchObject({ rateId: "ledger-premium-acme", amountPerPeriod: 1999, effectiveDate: TODAY })
    }).pipe(
      asCustomer("cus-acme"),
      Effect.provide(layer(seedWith((s) => s, demoOffersWith({
        ...demoOffer("ledger-premium"),
        rates: [
          ...demoOffer("ledger-premium").rates,
          { id: "ledger-premium-acme", amount: 1999, currency: "USD", interval: { count: 1, unit: "month" }, accountId: "cus-acme" }
        ]
      }))))
    ))

  it.effect("INVALID_SUBSCRIPTION_TIMING: a removal at the next period start, an update without timing", () =>
    Effect.gen(function*() {
      expect(yield* failure({
        billGroupId: "bg-acme",
        subscriptionRemovals: [{ subscriptionId: "sub-acme-2", timing: "NEXT_PERIOD_START" }]
      })).toEqual(new AmendRejected({
        errorCode: "INVALID_SUBSCRIPTION_TIMING",
        details: "subscriptionRemovals[0].timing must be one of TODAY, CURRENT_PERIOD_END for a subscription removal",
        context: { field: "subscriptionRemovals[0].timing", timing: "NEXT_PERIOD_START" }
      }))
      expect(yield* failure({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-1", items: [{ productId: "addon-archive", quantity: 2 }] }]
      })).toEqual(rejection("INVALID_SUBSCRIPTION_TIMING"))
      expect(yield* failure({
        billGroupId: "bg-acme",
        offerings: [{ offeringId: "ledger-basic", rateId: "ledger-basic-usd-monthly", timing: "CURRENT_PERIOD_END" }]
      })).toEqual(rejection("INVALID_SUBSCRIPTION_TIMING"))
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))

  it.effect("INVALID_BILL_GROUP_SUBSCRIPTIONS: a subscription of another bill group, one named twice", () =>
    Effect.gen(function*() {
      expect(yield* failure({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-old", timing: "TODAY" }]
      })).toEqual(new AmendRejected({
        errorCode: "INVALID_BILL_GROUP_SUBSCRIPTIONS",
        details: "not on bill group bg-acme: sub-acme-old",
        context: { subscriptionIds: ["sub-acme-old"] }
      }))
      expect(yield* failure({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-1", timing: "TODAY" }],
        subscriptionRemovals: [{ subscriptionId: "sub-acme-1", timing: "TODAY" }]
      })).toEqual(rejection("INVALID_BILL_GROUP_SUBSCRIPTIONS"))
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))

  it.effect("INVALID_BILL_GROUP: an unknown bill group", () =>
    Effect.gen(function*() {
      expect(yield* failure({ billGroupId: "bg-nope", subscriptionRemovals: [{ subscriptionId: "sub-acme-1", timing: "TODAY" }] })).toEqual(
        new AmendRejected({ errorCode: "INVALID_BILL_GROUP", details: "no bill group bg-nope", context: { billGroupId: "bg-nope" } })
      )
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))

  it.effect("INVALID_BILL_GROUP: another account's bill group, told apart from nothing", () =>
    Effect.gen(function*() {
      expect(yield* failure({ billGroupId: "bg-acme", subscriptionRemovals: [{ subscriptionId: "sub-acme-1", timing: "TODAY" }] })).toEqual(
        new AmendRejected({ errorCode: "INVALID_BILL_GROUP", details: "no bill group bg-acme", context: { billGroupId: "bg-acme" } })
      )
      expect(Option.getOrThrow(yield* stored("sub-acme-1")).version).toBe(1)
    }).pipe(asCustomer("cus-alice"), Effect.provide(layer())))

  it.effect("INVALID_BILL_GROUP: a partner principal has no bill groups", () =>
    Effect.gen(function*() {
      expect(yield* failure({ billGroupId: "bg-acme", subscriptionRemovals: [{ subscriptionId: "sub-acme-1", timing: "TODAY" }] })).toEqual(
        rejection("INVALID_BILL_GROUP")
      )
    }).pipe(Effect.provideService(CurrentPrincipal, new Partner({ partnerOrg: "cus-acme", scopes: [] })), Effect.provide(layer())))

  it.effect("NO_ACTIVE_BILL_GROUP_CONTRACT: a bill group whose contract finished", () =>
    Effect.gen(function*() {
      expect(yield* failure({
        billGroupId: "bg-acme-old",
        subscriptionRemovals: [{ subscriptionId: "sub-acme-old", timing: "TODAY" }]
      })).toEqual(new AmendRejected({
        errorCode: "NO_ACTIVE_BILL_GROUP_CONTRACT",
        details: "bill group bg-acme-old has no active contract (FINISHED)",
        context: { billGroupId: "bg-acme-old", contractStatus: "FINISHED" }
      }))
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))

  it.effect("SUBSCRIPTION_UPDATE_FAILURE: an inactive subscription", () =>
    Effect.gen(function*() {
      expect(yield* failure({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-2", timing: "TODAY", items: [{ productId: "ledger-basic", quantity: 2 }] }]
      })).toEqual(new AmendRejected({
        errorCode: "SUBSCRIPTION_UPDATE_FAILURE",
        details: "subscription sub-acme-2 is cancelled",
        context: { subscriptionId: "sub-acme-2", status: "cancelled" }
      }))
    }).pipe(
      asCustomer("cus-acme"),
      Effect.provide(layer(seedWith((subs) => subs.map((s) => (s.id === "sub-acme-2" ? { ...s, status: "cancelled" as const } : s)))))
    ))

  it.effect("AMENDMENT_FAILURE: the subscription changed while the amendment was being made; nothing is applied", () =>
    Effect.gen(function*() {
      const error = yield* failure({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-1", timing: "TODAY", items: [{ productId: "addon-archive", quantity: 2 }] }],
        offerings: [{ offeringId: "ledger-basic", rateId: "ledger-basic-usd-monthly", timing: "TODAY" }]
      })
      expect(error).toEqual(new AmendRejected({
        errorCode: "AMENDMENT_FAILURE",
        details: "a subscription changed while the amendment was being made; nothing was applied, retry",
        context: { subscriptionId: "sub-acme-1" }
      }))
      const acme1 = Option.getOrThrow(yield* stored("sub-acme-1"))
      expect(acme1.addOns[0]!.quantity).toBe(1)
      expect((yield* storedAll).map((s) => s.id)).toEqual(["sub-acme-1", "sub-acme-2", "sub-acme-old"])
      expect(yield* Effect.flatMap(Amendments, (a) => a.listBySubscription("sub-acme-1"))).toEqual([])
    }).pipe(asCustomer("cus-acme"), Effect.provide(racingLayer(Demo.seed(TODAY)))))

  it.effect("a request that changes nothing is InvalidInput", () =>
    Effect.gen(function*() {
      expect(yield* failure({ billGroupId: "bg-acme" })).toEqual(
        new InvalidInput({ field: "subscriptionUpdates", message: "the request changes nothing" })
      )
      expect(yield* failure({ billGroupId: "" } as AmendRequest)).toMatchObject({ _tag: "InvalidInput", field: "billGroupId" })
      expect(yield* failure({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-1", timing: "TODAY", items: [{ productId: "addon-archive", quantity: -1 }] }]
      })).toMatchObject({ _tag: "InvalidInput", field: "subscriptionUpdates[0].items[0].quantity" })
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))
})

describe("BillGroupAmendments.amend is all or nothing", () => {
  it.effect("a request failing on its last item changes nothing stored", () =>
    Effect.gen(function*() {
      const before = yield* storedAll
      const error = yield* failure({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-1", timing: "TODAY", items: [{ productId: "addon-archive", quantity: 5 }] }],
        subscriptionRemovals: [{ subscriptionId: "sub-acme-2", timing: "CURRENT_PERIOD_END" }],
        offerings: [
          { offeringId: "ledger-basic", rateId: "ledger-basic-usd-monthly", timing: "TODAY" },
          { offeringId: "ledger-standard", rateId: "ledger-standard-usd-monthly", timing: "TODAY", items: [{ productId: "addon-print-weekend" }] }
        ]
      })
      expect(error).toEqual(rejection("INVALID_OFFERINGS"))
      expect((error as AmendRejected).context).toEqual({ field: "offerings[1].items[0].productId", productId: "addon-print-weekend" })
      expect(yield* storedAll).toEqual(before)
      const amendments = yield* Amendments
      for (const s of before) expect(yield* amendments.listBySubscription(s.id)).toEqual([])
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))

  it.effect("a subscription with a pending change is locked", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const amend = (yield* BillGroupAmendments).amend
      yield* amend({ billGroupId: "bg-acme", subscriptionRemovals: [{ subscriptionId: "sub-acme-2", timing: "CURRENT_PERIOD_END" }] })
      const error = yield* Effect.flip(amend({
        billGroupId: "bg-acme",
        subscriptionUpdates: [{ subscriptionId: "sub-acme-2", timing: "TODAY", items: [{ productId: "ledger-basic", quantity: 2 }] }]
      }))
      expect(error).toMatchObject({ _tag: "SubscriptionLocked", subscriptionId: "sub-acme-2", pendingChangeDate: "2025-04-01" })
    }).pipe(asCustomer("cus-acme"), Effect.provide(layer())))
})

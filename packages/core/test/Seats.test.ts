/**
 * Seat (quantity) changes through the library: the rules, the price of each line, the range an
 * offer allows, and committing through the checkout on the in-memory store, with a decrease
 * scheduled for the next period start, locking the subscription, and applied by the scheduler.
 */
import { describe, expect, it } from "@effect/vitest"
import type { OrderItem } from "@subshift/core/domain/Basket"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import { AmendRejected, BasketRejected, InvalidInput, SubscriptionLocked } from "@subshift/core/domain/Errors"
import * as Subscription from "@subshift/core/domain/Subscription"
import * as Catalog from "@subshift/core/ports/Catalog"
import { Events } from "@subshift/core/ports/Events"
import * as Ids from "@subshift/core/ports/Ids"
import * as Pricing from "@subshift/core/ports/Pricing"
import { CurrentPrincipal, Customer } from "@subshift/core/domain/Principal"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as BasketRules from "@subshift/core/rules/BasketRules"
import type * as Eligibility from "@subshift/core/rules/Eligibility"
import { BillGroupAmendments } from "@subshift/core/usecases/BillGroupAmendments"
import { ScheduledChanges } from "@subshift/core/usecases/ScheduledChanges"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { MemoryStore } from "@subshift/store-memory"
import { Seats } from "@subshift/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { at, contextFor } from "./support.js"

const YEAR = 2025
const TODAY = CalendarDate.make("2025-11-16")

const ctxOn = (offer = Seats.team) => contextFor(Seats.subscription(YEAR, offer), { offers: Seats.offers, today: TODAY })

const update = (offerId: string, quantity: number, type: "offer" | "add_on" = "offer"): OrderItem => ({ action: "update", type, offerId, quantity })

const accepted = (ctx: Eligibility.Context, items: ReadonlyArray<OrderItem>) => {
  const result = BasketRules.update(ctx, items)
  if (Either.isLeft(result)) throw new Error(`expected the update to be accepted, got ${result.left.code}: ${result.left.message}`)
  return { outcome: result.right, quote: Pricing.price({ subscription: ctx.subscription, actions: result.right.actions, now: ctx.now, today: ctx.today }) }
}

const refused = (ctx: Eligibility.Context, items: ReadonlyArray<OrderItem>): BasketRejected => {
  const result = BasketRules.update(ctx, items)
  if (Either.isRight(result)) throw new Error("expected the update to be refused")
  return result.left
}

describe("seat changes: rules and prices", () => {
  it("5 → 8 seats at $10 with 15 of 30 days left applies today and charges $15.00", () => {
    const ctx = ctxOn()
    const { outcome, quote } = accepted(ctx, [update("team", 8)])
    expect(outcome.actions).toEqual([{
      kind: "change_quantity",
      type: "offer",
      offerId: "team",
      name: "Team",
      rateId: "team-usd-monthly",
      quantity: 8,
      unitPrice: { amount: 1000, currency: "USD" },
      timing: "TODAY",
      effectiveDate: TODAY,
      prorate: true
    }])
    expect(outcome.systemItems).toEqual([])
    expect(quote.lines).toEqual([{
      kind: "change_quantity",
      type: "offer",
      offerId: "team",
      description: `Team quantity 5 → 8 from ${TODAY} (15 of 30 days)`,
      effectiveDate: TODAY,
      amount: { amount: 1500, currency: "USD" },
      recurringDelta: { amount: 3000, currency: "USD" },
      proration: { convention: "actual-days", days: 15, periodDays: 30, from: TODAY, periodStart: "2025-11-01", periodEnd: "2025-12-01" },
      quantity: { before: 5, after: 8 }
    }])
    expect([quote.dueNow.amount, quote.charges.amount, quote.credits.amount]).toEqual([1500, 1500, 0])
    expect([quote.currentRecurring.amount, quote.nextRecurring.amount]).toEqual([6500, 9500])
  })

  it("fewer seats apply at the next period start, not prorated, and the add-on is untouched", () => {
    const ctx = ctxOn()
    const { outcome, quote } = accepted(ctx, [update("team", 3)])
    expect(outcome.actions.map((a) => [a.kind, a.quantity, a.timing, a.effectiveDate, a.prorate])).toEqual([
      ["change_quantity", 3, "NEXT_PERIOD_START", "2025-12-01", false]
    ])
    expect(quote.lines[0]).toMatchObject({
      amount: { amount: 0 },
      recurringDelta: { amount: -2000 },
      quantity: { before: 5, after: 3 },
      description: "Team quantity 5 → 3 from 2025-12-01"
    })
    expect(quote.lines[0]!.proration).toBeUndefined()
    const after = Subscription.applyActions(ctx.subscription, outcome.actions)
    expect(after.addOns).toEqual(ctx.subscription.addOns)
    expect(after.offer).toEqual({ ...ctx.subscription.offer, quantity: 3 })
  })

  it("an owned add-on's seats change on their own: 5 → 7 at $3 is $3.00 today; with the offer's seats in one request each line is priced apart", () => {
    const ctx = ctxOn()
    expect(accepted(ctx, [update("seat-support", 7, "add_on")]).quote.lines.map((l) => [l.offerId, l.amount.amount, l.quantity])).toEqual([
      ["seat-support", 300, { before: 5, after: 7 }]
    ])
    const both = accepted(ctx, [update("team", 10), update("seat-support", 2, "add_on")])
    expect(both.quote.lines.map((l) => [l.offerId, l.effectiveDate, l.amount.amount, l.recurringDelta.amount])).toEqual([
      ["team", TODAY, 2500, 5000],
      ["seat-support", "2025-12-01", 0, -900]
    ])
  })

  it("an item without type takes the catalog's kind, as for adds", () => {
    const { outcome } = accepted(ctxOn(), [{ action: "update", offerId: "seat-support", quantity: 6 } as OrderItem])
    expect(outcome.actions[0]).toMatchObject({ kind: "change_quantity", type: "add_on", offerId: "seat-support", quantity: 6 })
  })

  it("the offer's changePolicy.quantityDecrease makes fewer seats apply today with a prorated credit", () => {
    const ctx = ctxOn(Seats.teamPlus)
    const { outcome, quote } = accepted(ctx, [update("team-plus", 8)])
    expect(outcome.actions[0]).toMatchObject({ timing: "TODAY", effectiveDate: TODAY, prorate: true })
    const down = accepted({ ...ctx, subscription: Subscription.applyActions(ctx.subscription, outcome.actions) }, [update("team-plus", 5)])
    expect(down.quote.lines[0]).toMatchObject({ amount: { amount: -3000 }, recurringDelta: { amount: -6000 }, quantity: { before: 8, after: 5 } })
    expect(quote.dueNow.amount + down.quote.dueNow.amount).toBe(0)
  })

  it("a quantity outside the offer's range is quantity_out_of_range, naming the item's quantity", () => {
    const ctx = ctxOn()
    expect(refused(ctx, [update("team", 1)])).toEqual(new BasketRejected({
      code: "quantity_out_of_range",
      offerId: "team",
      field: "orderItems[0].quantity",
      message: "Team allows a quantity from 2 to 50, not 1"
    }))
    expect(refused(ctx, [update("seat-support", 2, "add_on"), update("team", 51)])).toMatchObject({ code: "quantity_out_of_range", field: "orderItems[1].quantity" })
    expect(refused(ctx, [update("seat-support", 21, "add_on")])).toMatchObject({
      code: "quantity_out_of_range",
      offerId: "seat-support",
      message: "Priority support allows a quantity from 1 to 20, not 21"
    })
    // An offer change takes the new offer's range: Team Plus wants at least 5 seats.
    expect(refused(ctx, [{ action: "add", type: "offer", offerId: "team-plus", quantity: 4 }])).toMatchObject({
      code: "quantity_out_of_range",
      offerId: "team-plus",
      field: "orderItems[0].quantity"
    })
    expect(accepted(ctx, [{ action: "add", type: "offer", offerId: "team-plus", quantity: 6 }]).outcome.resulting.id).toBe("team-plus")
  })

  it("refuses an update of a line not held, one unchanged, and the current offer's seats together with an offer change", () => {
    const ctx = ctxOn()
    expect(refused(ctx, [update("team-plus", 6)])).toMatchObject({ code: "not_owned", offerId: "team-plus" })
    expect(refused(ctx, [update("team", 5)])).toMatchObject({ code: "quantity_unchanged", field: "orderItems[0].quantity" })
    expect(refused(ctx, [{ action: "add", type: "offer", offerId: "team-plus" }, update("team", 6)])).toMatchObject({
      code: "update_with_offer_change",
      offerId: "team"
    })
    expect(refused(ctx, [update("team", 6), { action: "remove", type: "offer", offerId: "team" }])).toMatchObject({ code: "duplicate_item" })
    // Sending the held offer as an add is still not a quantity change.
    expect(refused(ctx, [{ action: "add", type: "offer", offerId: "team", quantity: 8 }])).toMatchObject({
      code: "offer_not_eligible",
      reason: "already_owned"
    })
  })

  it("eligibility lists every held line's range and timing, and the range of an offer that sets one", () => {
    const { outcome } = accepted(ctxOn(), [])
    expect(outcome.nextActions.quantityChanges).toEqual([
      {
        type: "offer",
        offerId: "team",
        name: "Team",
        quantity: 5,
        minQuantity: 2,
        maxQuantity: 50,
        increase: { timing: "TODAY", effectiveDate: TODAY, prorate: true },
        decrease: { timing: "NEXT_PERIOD_START", effectiveDate: "2025-12-01", prorate: false }
      },
      {
        type: "add_on",
        offerId: "seat-support",
        name: "Priority support",
        quantity: 5,
        minQuantity: 1,
        maxQuantity: 20,
        increase: { timing: "TODAY", effectiveDate: TODAY, prorate: true },
        decrease: { timing: "NEXT_PERIOD_START", effectiveDate: "2025-12-01", prorate: false }
      }
    ])
    expect(outcome.nextActions.upgrades.map((o) => [o.offerId, o.minQuantity, o.maxQuantity])).toEqual([["team-plus", 5, undefined]])
    expect(outcome.nextActions.subscriptionAddOns.map((o) => [o.offerId, o.minQuantity, o.maxQuantity])).toEqual([["seat-support", undefined, 20]])
  })

  it("catalog validation refuses a range upside down or out of bounds, naming the field", () => {
    const withTeam = (team: object) => ({ offers: [{ ...Seats.team, ...team }, Seats.teamPlus, Seats.support] })
    expect(Catalog.decode(withTeam({ minQuantity: 10, maxQuantity: 5 }))).toEqual(
      Either.left(new InvalidInput({ field: "offers[0].maxQuantity", message: "maxQuantity 5 is below minQuantity 10" }))
    )
    expect(Catalog.decode(withTeam({ minQuantity: 0 }))).toMatchObject({ left: { field: "offers[0].minQuantity" } })
    expect(Catalog.decode(withTeam({ maxQuantity: 10_001 }))).toMatchObject({ left: { field: "offers[0].maxQuantity" } })
    expect(Either.isRight(Catalog.decode({ offers: Seats.offers }))).toBe(true)
  })
})

const Services = Layer.mergeAll(SubscriptionCheckout.Default, ScheduledChanges.Default).pipe(
  Layer.provideMerge(MemoryStore.layer({ offers: Seats.offers, subscriptions: [Seats.subscription(YEAR)] })),
  Layer.provide(Pricing.layer()),
  Layer.provide(Ids.layerSequential)
)

const asOwner = Effect.provideService(CurrentPrincipal, new Customer({ customerId: Seats.owner }))
const stored = Effect.flatMap(Subscriptions, (s) => s.findById("sub-team")).pipe(Effect.map(Option.getOrThrow))
const open = Effect.flatMap(SubscriptionCheckout, (checkout) => checkout.initiate({ forSubscription: { id: "sub-team" } })).pipe(asOwner)

const changeSeats = (items: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const checkout = yield* SubscriptionCheckout
    const basket = yield* open
    const priced = yield* checkout.update(basket.id, items as never).pipe(asOwner)
    return { priced, committed: yield* checkout.commit(basket.id).pipe(asOwner) }
  })

describe("seat changes through the checkout", () => {
  it.effect("more seats commit today: the amendment charges $15.00 and the subscription holds 8 seats, unlocked", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(Seats.midPeriod(YEAR)))
      const { committed, priced } = yield* changeSeats([{ action: "update", type: "offer", offerId: "team", quantity: 8 }])
      expect(priced.items).toEqual([{ action: "update", type: "offer", offerId: "team", quantity: 8 }])
      expect(committed.amendment.quote.dueNow).toEqual({ amount: 1500, currency: "USD" })
      expect(committed.amendment.actions.map((a) => [a.kind, a.offerId, a.quantity])).toEqual([["change_quantity", "team", 8]])
      const after = yield* stored
      expect(after.offer).toEqual({ offerId: "team", rateId: "team-usd-monthly", quantity: 8, unitPrice: { amount: 1000, currency: "USD" } })
      expect(after.addOns.map((l) => l.quantity)).toEqual([5])
      expect(after.pendingChange).toBeUndefined()
      expect((yield* open).forSubscriptionOffer.quantity).toBe(8)
    }).pipe(Effect.provide(Services)))

  it.effect("fewer seats wait for the next period start, lock the subscription (423) until then, and the scheduler applies them once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(Seats.midPeriod(YEAR)))
      const { committed } = yield* changeSeats([{ action: "update", type: "offer", offerId: "team", quantity: 3 }])
      expect(committed.amendment.quote.dueNow.amount).toBe(0)
      expect(committed.subscription.offer.quantity).toBe(5)
      expect(committed.subscription.pendingChange).toMatchObject({
        effectiveDate: "2025-12-01",
        actions: [{ kind: "change_quantity", offerId: "team", quantity: 3 }]
      })
      const locked = yield* Effect.flip(open)
      expect(locked).toEqual(new SubscriptionLocked({ subscriptionId: "sub-team", pendingChangeDate: Seats.nextPeriodStart(YEAR) }))

      const scheduler = yield* ScheduledChanges
      expect(yield* scheduler.applyDue()).toEqual({ examined: 0, applied: 0 })
      yield* TestClock.setTime(at("2025-12-01T00:10:00Z"))
      expect(yield* scheduler.applyDue()).toEqual({ examined: 1, applied: 1 })
      const after = yield* stored
      expect([after.offer.quantity, after.pendingChange, after.currentPeriod]).toEqual([3, undefined, { start: "2025-12-01", end: "2026-01-01" }])
      expect(Subscription.recurringAmount(after).amount).toBe(4500)
      const changed = (yield* (yield* Events).list({ subscriptionId: "sub-team", limit: 10 })).map((e) => [e.type, e.after?.offer.quantity])
      expect(changed).toEqual([["amendment.committed", 5], ["subscription.changed", 3]])
      expect((yield* open).forSubscriptionOffer.quantity).toBe(3)
    }).pipe(Effect.provide(Services)))

  it.effect("an update without a quantity, or with a rate, is InvalidInput naming the field; the basket stays as it was", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(Seats.midPeriod(YEAR)))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* open
      const noQuantity = yield* Effect.flip(checkout.update(basket.id, [{ action: "update", type: "offer", offerId: "team" }]).pipe(asOwner))
      expect(noQuantity).toMatchObject({ _tag: "InvalidInput", field: "orderItems[0].quantity" })
      const withRate = yield* Effect.flip(
        checkout.update(basket.id, [{ action: "update", type: "offer", offerId: "team", quantity: 6, rateId: "team-usd-monthly" }]).pipe(asOwner)
      )
      expect(withRate).toMatchObject({ _tag: "InvalidInput", field: "orderItems[0].rateId" })
      const outOfRange = yield* Effect.flip(checkout.update(basket.id, [{ action: "update", type: "offer", offerId: "team", quantity: 60 }]).pipe(asOwner))
      expect(outOfRange).toMatchObject({ _tag: "BasketRejected", code: "quantity_out_of_range", field: "orderItems[0].quantity" })
      expect((yield* checkout.get(basket.id).pipe(asOwner)).version).toBe(1)
    }).pipe(Effect.provide(Services)))
})

describe("the amend API holds the same ranges", () => {
  const teamGroup = { id: "bg-team", accountId: Seats.owner, currency: "USD", contractStatus: "ACTIVE", anchorDay: 1, version: 1 } as const
  const AmendServices = BillGroupAmendments.Default.pipe(
    Layer.provideMerge(MemoryStore.layer({
      offers: Seats.offers,
      subscriptions: [{ ...Seats.subscription(YEAR), billGroupId: teamGroup.id }],
      billGroups: [teamGroup]
    })),
    Layer.provide(Pricing.layer()),
    Layer.provide(Ids.layerSequential)
  )
  const amend = (request: unknown) => Effect.flatMap(BillGroupAmendments, (a) => a.amend(request as never)).pipe(asOwner)

  it.effect("a quantity outside the offer's range is INVALID_OFFERINGS naming the item's quantity, and nothing changes", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(Seats.midPeriod(YEAR)))
      const update = (items: ReadonlyArray<object>) => ({ billGroupId: "bg-team", subscriptionUpdates: [{ subscriptionId: "sub-team", timing: "TODAY", items }] })
      const tooMany = yield* Effect.flip(amend(update([{ productId: "seat-support", quantity: 3 }, { productId: "team", quantity: 51 }])))
      expect(tooMany).toEqual(new AmendRejected({
        errorCode: "INVALID_OFFERINGS",
        details: "subscriptionUpdates[0].items[1].quantity: Team allows a quantity from 2 to 50, not 51",
        context: { field: "subscriptionUpdates[0].items[1].quantity", productId: "team", quantity: 51 }
      }))
      const addOn = yield* Effect.flip(amend(update([{ productId: "seat-support", quantity: 21 }])))
      expect(addOn).toMatchObject({ errorCode: "INVALID_OFFERINGS", context: { field: "subscriptionUpdates[0].items[0].quantity" } })
      const creation = yield* Effect.flip(amend({
        billGroupId: "bg-team",
        offerings: [{ offeringId: "team-plus", rateId: "team-plus-usd-monthly", timing: "TODAY", items: [] }]
      }))
      expect(creation).toMatchObject({ errorCode: "INVALID_OFFERINGS", context: { field: "offerings[0].items", productId: "team-plus", quantity: 1 } })
      expect((yield* stored).offer.quantity).toBe(5)
      const inRange = yield* amend(update([{ productId: "team", quantity: 8 }]))
      expect(inRange.updates.map((u) => [u.subscription.offer.quantity, u.amendment.quote.dueNow.amount])).toEqual([[8, 1500]])
    }).pipe(Effect.provide(AmendServices)))
})

/**
 * Arbitraries for property tests: Schema-derived ones for the domain values, and a generator of
 * whole, consistent scenarios (a catalog, a subscription on it, a day in its period and a basket
 * request) for testing the rules.
 */
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"
import type { OrderItem } from "@subshift/core/domain/Basket"
import { Basket as BasketSchema, OrderItem as OrderItemSchema } from "@subshift/core/domain/Basket"
import * as BillingPeriod from "@subshift/core/domain/BillingPeriod"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import type * as Eligibility from "@subshift/core/rules/Eligibility"
import * as Instant from "@subshift/core/domain/Instant"
import { Money as MoneySchema } from "@subshift/core/domain/Money"
import type { Offer, Rate } from "@subshift/core/domain/Offer"
import { Interval } from "@subshift/core/domain/BillingPeriod"
import * as Subscription from "@subshift/core/domain/Subscription"

/** Any money value (Schema-derived). */
export const money = Arbitrary.make(MoneySchema)

/** Any billing interval (Schema-derived). */
export const interval = Arbitrary.make(Interval)

/** Any basket (Schema-derived: valid in shape, not in meaning). */
export const basket = Arbitrary.make(BasketSchema)

/** Any caller order item (Schema-derived; ids are random, so mostly unknown offers). */
export const orderItem = Arbitrary.make(OrderItemSchema)

/** A calendar date between 2020 and 2032, leap days included. */
export const calendarDate: FastCheck.Arbitrary<CalendarDate.CalendarDate> = FastCheck.integer({
  min: CalendarDate.toEpochDay(CalendarDate.make("2020-01-01")),
  max: CalendarDate.toEpochDay(CalendarDate.make("2032-12-31"))
}).map(CalendarDate.fromEpochDay)

/** A price in minor units, from free to 10,000.00. */
export const amount = FastCheck.integer({ min: 0, max: 1_000_000 })

/** A whole rules scenario. */
export interface Scenario {
  readonly offers: ReadonlyArray<Offer>
  readonly subscription: Subscription.Subscription
  readonly today: CalendarDate.CalendarDate
  readonly now: Instant.Instant
  readonly items: ReadonlyArray<OrderItem>
}

const monthly = { count: 1, unit: "month" } as const

const subsetOf = <A>(values: ReadonlyArray<A>) => FastCheck.subarray(values as Array<A>)

/**
 * A consistent scenario: 2-6 tiers and 0-5 add-ons with random paths, compatibility, prices,
 * sellable windows, partner restrictions, missing currencies, quantity ranges and quantity policies;
 * a USD monthly subscription on one tier holding some add-ons; a day in or after its first period;
 * and 0-4 caller items, most of them aimed at moves the catalog configures (offer changes along
 * paths, add-ons, removals, quantity updates of held lines).
 */
export const scenario: FastCheck.Arbitrary<Scenario> = FastCheck.record({
  tiers: FastCheck.integer({ min: 2, max: 6 }),
  addOns: FastCheck.integer({ min: 0, max: 5 })
}).chain(({ addOns, tiers }) => {
  const tierIds = Array.from({ length: tiers }, (_, i) => `tier-${i}`)
  const addOnIds = Array.from({ length: addOns }, (_, i) => `addon-${i}`)
  const rates = (id: string) =>
    FastCheck.record({ usd: amount, gbpOnly: FastCheck.integer({ min: 0, max: 4 }).map((n) => n === 0), alsoAnnual: FastCheck.boolean() })
      .map(({ alsoAnnual, gbpOnly, usd }): Array<Rate> => [
        { id: `${id}-m`, amount: usd, currency: gbpOnly ? "GBP" : "USD", interval: monthly },
        ...(alsoAnnual ? [{ id: `${id}-y`, amount: usd * 10, currency: "USD", interval: { count: 1, unit: "year" } } as const] : [])
      ])
  const range = FastCheck.constantFrom<Pick<Offer, "minQuantity" | "maxQuantity">>({}, {}, {}, { minQuantity: 2 }, { maxQuantity: 4 }, { minQuantity: 2, maxQuantity: 6 })
  const quantityPolicy = FastCheck.constantFrom<Offer["changePolicy"]>(
    undefined,
    undefined,
    { quantityDecrease: { timing: "TODAY", prorate: true } },
    { quantityIncrease: { timing: "NEXT_PERIOD_START", prorate: false }, quantityDecrease: { timing: "CURRENT_PERIOD_END", prorate: false } }
  )
  const sellable = FastCheck.constantFrom({}, {}, {}, {}, {}, { from: Instant.make("2040-01-01T00:00:00.000Z") }, { until: Instant.make("2019-01-01T00:00:00.000Z") })
  const partners = FastCheck.constantFrom(undefined, undefined, undefined, undefined, ["partner-a"])
  const tierArb = (id: string) =>
    FastCheck.record({
      rates: rates(id),
      paths: subsetOf(tierIds.filter((t) => t !== id)),
      split: FastCheck.integer({ min: 0, max: 6 }),
      addOns: subsetOf(addOnIds),
      sellable,
      partners,
      policy: FastCheck.constantFrom(undefined, undefined, { timing: "NEXT_PERIOD_START", prorate: false } as const, {
        timing: "TODAY",
        prorate: false
      } as const),
      range,
      quantityPolicy
    }).map(({ addOns, partners, paths, policy, quantityPolicy, range, rates, sellable, split }): Offer => ({
      id,
      name: `Tier ${id}`,
      kind: "subscription",
      rates,
      upgrades: paths.slice(0, split),
      downgrades: paths.slice(split),
      addOns,
      sellable,
      ...(partners === undefined ? {} : { eligiblePartners: partners }),
      ...range,
      ...(policy === undefined && quantityPolicy === undefined ? {} : { changePolicy: { ...quantityPolicy, ...(policy === undefined ? {} : { upgrade: policy }) } })
    }))
  const addOnArb = (id: string) =>
    FastCheck.record({ rates: rates(id), sellable, partners, range, quantityPolicy }).map(({ partners, quantityPolicy, range, rates, sellable }): Offer => ({
      id,
      name: `Add-on ${id}`,
      kind: "add_on",
      rates,
      upgrades: [],
      downgrades: [],
      addOns: [],
      sellable,
      ...(partners === undefined ? {} : { eligiblePartners: partners }),
      ...range,
      ...(quantityPolicy === undefined ? {} : { changePolicy: quantityPolicy })
    }))
  return FastCheck.record({
    tierOffers: FastCheck.tuple(...tierIds.map(tierArb)),
    addOnOffers: addOns === 0 ? FastCheck.constant([] as Array<Offer>) : FastCheck.tuple(...addOnIds.map(addOnArb)),
    current: FastCheck.constantFrom(...tierIds),
    owned: subsetOf(addOnIds),
    quantity: FastCheck.integer({ min: 1, max: 5 }),
    addOnQuantity: FastCheck.integer({ min: 1, max: 3 }),
    anchorDay: FastCheck.integer({ min: 1, max: 31 }),
    firstStart: calendarDate,
    dayOffset: FastCheck.integer({ min: 0, max: 400 }),
    partner: FastCheck.constantFrom(undefined, "partner-a"),
    picks: FastCheck.array(
      FastCheck.record({
        kind: FastCheck.constantFrom("changeOffer", "changeOffer", "addAddOn", "addAddOn", "removeAddOn", "removeOffer", "updateOffer", "updateAddOn", "anything"),
        index: FastCheck.nat(),
        action: FastCheck.constantFrom("add" as const, "remove" as const, "update" as const),
        type: FastCheck.constantFrom("offer" as const, "add_on" as const),
        quantity: FastCheck.option(FastCheck.integer({ min: 1, max: 5 }), { nil: undefined })
      }),
      { maxLength: 4 }
    )
  }).map(({ addOnOffers, addOnQuantity, anchorDay, current, dayOffset, firstStart, owned, partner, picks, quantity, tierOffers }): Scenario => {
    const offers: Array<Offer> = [...tierOffers, ...addOnOffers]
    const byId = new Map(offers.map((o) => [o.id, o]))
    const start = CalendarDate.fromParts(
      CalendarDate.toParts(firstStart).year,
      CalendarDate.toParts(firstStart).month,
      anchorDay
    )
    const first = BillingPeriod.startingOn(start, monthly, anchorDay)
    const today = CalendarDate.addDays(start, dayOffset)
    const line = (id: string, qty: number) => {
      const rate = byId.get(id)!.rates[0]!
      // The subscription pays USD even where the catalog has since moved the offer to GBP.
      return { offerId: id, rateId: rate.id, quantity: qty, unitPrice: { amount: rate.amount, currency: "USD" } }
    }
    const subscription: Subscription.Subscription = {
      id: "sub-prop",
      name: "PROPERTY0001",
      owner: "cus-prop",
      ...(partner === undefined ? {} : { partnerOrg: partner }),
      status: "active",
      currency: "USD",
      interval: monthly,
      anchorDay,
      offer: line(current, quantity),
      addOns: owned.map((id) => line(id, addOnQuantity)),
      currentPeriod: first,
      version: 1,
      updatedAt: Instant.make(`${start}T00:00:00.000Z`)
    }
    // Most picks aim at moves the catalog allows, so that accepted updates are common.
    const currentOffer = byId.get(current)!
    const choose = <A>(values: ReadonlyArray<A>, fallback: ReadonlyArray<A>, index: number): A =>
      values.length > 0 ? values[index % values.length]! : fallback[index % fallback.length]!
    const everything = [...tierIds, ...addOnIds, "nowhere"]
    const seen = new Set<string>()
    const items = picks.flatMap(({ action, index, kind, quantity, type }): Array<OrderItem> => {
      const item: OrderItem = kind === "changeOffer"
        ? { action: "add", type: "offer", offerId: choose([...currentOffer.upgrades, ...currentOffer.downgrades], tierIds, index) }
        : kind === "addAddOn"
        ? { action: "add", type: "add_on", offerId: choose(addOnIds, everything, index) }
        : kind === "removeAddOn"
        ? { action: "remove", type: "add_on", offerId: choose(owned, everything, index) }
        : kind === "removeOffer"
        ? { action: "remove", type: "offer", offerId: current }
        : kind === "updateOffer"
        ? { action: "update", type: "offer", offerId: current, quantity: 1 + (index % 8) }
        : kind === "updateAddOn"
        ? { action: "update", type: "add_on", offerId: choose(owned, everything, index), quantity: 1 + (index % 8) }
        : action === "update"
        ? { action, type, offerId: choose(everything, everything, index), quantity: 1 + (index % 8) }
        : { action, type, offerId: choose(everything, everything, index) }
      // Aimed picks never repeat an item; only "anything" may, to exercise the duplicate rule.
      const key = `${item.type}:${item.offerId}`
      if (kind !== "anything" && seen.has(key)) return []
      seen.add(key)
      return [quantity === undefined || item.action === "update" ? item : { ...item, quantity }]
    })
    return { offers, subscription, today, now: Instant.make(`${today}T12:00:00.000Z`), items }
  })
})

/** The rules context of a scenario. */
export const contextOf = (s: Scenario): Eligibility.Context => {
  const offers = new Map(s.offers.map((o) => [o.id, o]))
  return {
    subscription: s.subscription,
    current: offers.get(s.subscription.offer.offerId)!,
    offers,
    now: s.now,
    today: s.today,
    period: Subscription.periodOn(s.subscription, s.today),
    partner: s.subscription.partnerOrg
  }
}

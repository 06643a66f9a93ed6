/**
 * Arbitraries for the amend rules: a bill group with a few subscriptions on a small random
 * catalog, a valid amend request on it, and the same request spoiled by one defect per error code
 * the rules can answer.
 */
import * as FastCheck from "effect/FastCheck"
import type { AmendRequest, Context } from "@subshift/core/rules/AmendRules"
import type { BillGroup } from "@subshift/core/domain/BillGroup"
import * as BillingPeriod from "@subshift/core/domain/BillingPeriod"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import type { AmendErrorCode } from "@subshift/core/domain/Errors"
import * as Instant from "@subshift/core/domain/Instant"
import type { Offer, Rate } from "@subshift/core/domain/Offer"
import { Customer } from "@subshift/core/domain/Principal"
import type { Subscription } from "@subshift/core/domain/Subscription"
import { amount, calendarDate } from "./Arbitraries.js"

/** A bill group, its subscriptions and catalog, the caller, a day and a request. */
export interface AmendScenario {
  readonly offers: ReadonlyArray<Offer>
  readonly billGroup: BillGroup
  /** The members of the bill group, then one subscription of the same account on another group. */
  readonly subscriptions: ReadonlyArray<Subscription>
  readonly customerId: string
  readonly today: CalendarDate.CalendarDate
  readonly now: Instant.Instant
  readonly request: AmendRequest
}

/** The account owning the bill group. */
export const ACCOUNT = "cus-a"
/** A subscription of the same account that is not on the bill group. */
export const STRANGER = "sub-x"

const monthly = { count: 1, unit: "month" } as const
const annual = { count: 1, unit: "year" } as const
const TIERS = ["tier-0", "tier-1", "tier-2"]
const ADD_ONS = ["addon-0", "addon-1", "addon-2"]

const rate = (id: string, price: number, currency: string, interval: BillingPeriod.Interval, accountId?: string): Rate => ({
  id,
  amount: price,
  currency,
  interval,
  ...(accountId === undefined ? {} : { accountId })
})

/** Tiers with USD monthly (two prices), annual, GBP and another account's rates; add-ons, some annual only. */
const catalog = FastCheck.record({
  prices: FastCheck.array(amount, { minLength: 6, maxLength: 6 }),
  tierAddOns: FastCheck.array(FastCheck.subarray(ADD_ONS), { minLength: 3, maxLength: 3 }),
  annualOnly: FastCheck.subarray(ADD_ONS, { maxLength: 1 })
}).map(({ annualOnly, prices, tierAddOns }): ReadonlyArray<Offer> => [
  ...TIERS.map((id, i): Offer => ({
    id,
    name: `Tier ${i}`,
    kind: "subscription",
    rates: [
      rate(`${id}-m`, prices[i]!, "USD", monthly),
      rate(`${id}-m2`, prices[i]! + 100, "USD", monthly),
      rate(`${id}-y`, prices[i]! * 10, "USD", annual),
      rate(`${id}-gbp`, prices[i]!, "GBP", monthly),
      rate(`${id}-acct`, prices[i]!, "USD", monthly, "cus-other")
    ],
    upgrades: [],
    downgrades: [],
    addOns: tierAddOns[i]!,
    sellable: {}
  })),
  ...ADD_ONS.map((id, i): Offer => ({
    id,
    name: `Add-on ${i}`,
    kind: "add_on",
    rates: [
      ...(annualOnly.includes(id) ? [] : [rate(`${id}-m`, prices[3 + i]!, "USD", monthly)]),
      rate(`${id}-y`, prices[3 + i]! * 10, "USD", annual)
    ],
    upgrades: [],
    downgrades: [],
    addOns: [],
    sellable: {}
  }))
])

const hasRate = (offer: Offer, interval: BillingPeriod.Interval) =>
  offer.rates.some((r) => r.currency === "USD" && r.accountId === undefined && BillingPeriod.sameInterval(r.interval, interval))

const line = (offer: Offer, interval: BillingPeriod.Interval, quantity: number) => {
  const r = offer.rates.find((x) => x.currency === "USD" && x.accountId === undefined && BillingPeriod.sameInterval(x.interval, interval))!
  return { offerId: offer.id, rateId: r.id, quantity, unitPrice: { amount: r.amount, currency: r.currency } }
}

/** The period containing `today` of a monthly subscription started about a year before. */
const yearOldPeriod = (today: CalendarDate.CalendarDate, anchorDay: number) => {
  const { month, year } = CalendarDate.toParts(today)
  const first = CalendarDate.fromParts(year - 1, month, anchorDay)
  return BillingPeriod.containing(BillingPeriod.startingOn(first, monthly, anchorDay), monthly, anchorDay, today)
}

const subscriptionOn = (
  id: string,
  billGroupId: string,
  tier: Offer,
  addOns: ReadonlyArray<Offer>,
  anchorDay: number,
  today: CalendarDate.CalendarDate
): Subscription => ({
  id,
  name: `REF-${id}`,
  owner: ACCOUNT,
  billGroupId,
  status: "active",
  currency: "USD",
  interval: monthly,
  anchorDay,
  offer: line(tier, monthly, 1),
  addOns: addOns.map((a) => line(a, monthly, 1)),
  currentPeriod: yearOldPeriod(today, anchorDay),
  version: 1,
  updatedAt: Instant.make(`${today}T00:00:00.000Z`)
})

const pick = <A>(values: ReadonlyArray<A>) => FastCheck.constantFrom(...values)
const maybe = <A>(arb: FastCheck.Arbitrary<A>) => FastCheck.option(arb, { nil: undefined })

/** A request every rule accepts: each member named at most once, rates and items the catalog allows. */
const validRequest = (offers: ReadonlyArray<Offer>, members: ReadonlyArray<Subscription>) => {
  const byId = new Map(offers.map((o) => [o.id, o]))
  const monthlyAddOns = (tier: string) => byId.get(tier)!.addOns.filter((a) => hasRate(byId.get(a)!, monthly))
  const update = (s: Subscription) =>
    FastCheck.record({
      timing: pick(["TODAY", "NEXT_PERIOD_START"]),
      rateId: maybe(pick([`${s.offer.offerId}-m`, `${s.offer.offerId}-m2`])),
      main: maybe(FastCheck.integer({ min: 1, max: 3 })),
      addOns: FastCheck.subarray(monthlyAddOns(s.offer.offerId)).chain((ids) =>
        FastCheck.tuple(...ids.map((productId) => FastCheck.record({ productId: FastCheck.constant(productId), quantity: maybe(FastCheck.integer({ min: 0, max: 3 })) })))
      )
    }).map(({ addOns, main, rateId, timing }) => ({
      subscriptionId: s.id,
      timing,
      ...(rateId === undefined ? {} : { rateId }),
      items: [...(main === undefined ? [] : [{ productId: s.offer.offerId, quantity: main }]), ...addOns]
    }))
  const creation = pick(TIERS).chain((tier) =>
    FastCheck.record({ rateId: pick([`${tier}-m`, `${tier}-m2`, `${tier}-y`]), timing: pick(["TODAY", "NEXT_PERIOD_START"]) }).chain(
      ({ rateId, timing }) => {
        const interval = rateId.endsWith("-y") ? annual : monthly
        const fits = byId.get(tier)!.addOns.filter((a) => hasRate(byId.get(a)!, interval))
        return FastCheck.subarray(fits).map((ids) => ({
          offeringId: tier,
          rateId,
          timing,
          items: ids.map((productId, i) => ({ productId, quantity: (i % 3) + 1 }))
        }))
      }
    )
  )
  return FastCheck.shuffledSubarray(members as Array<Subscription>).chain((named) =>
    FastCheck.integer({ min: 0, max: named.length }).chain((split) =>
      FastCheck.record({
        subscriptionUpdates: FastCheck.tuple(...named.slice(0, split).map(update)),
        subscriptionRemovals: FastCheck.tuple(
          ...named.slice(split).map((s) => pick(["TODAY", "CURRENT_PERIOD_END"]).map((timing) => ({ subscriptionId: s.id, timing })))
        ),
        offerings: FastCheck.array(creation, { maxLength: 2 })
      })
    )
  ).map((r): AmendRequest => ({ billGroupId: "bg-1", ...r }))
}

/** A consistent amend scenario whose request the rules accept. */
export const validScenario: FastCheck.Arbitrary<AmendScenario> = FastCheck.record({
  offers: catalog,
  today: calendarDate,
  anchorDay: FastCheck.integer({ min: 1, max: 28 }),
  members: FastCheck.array(FastCheck.record({ tier: pick(TIERS), anchorDay: FastCheck.integer({ min: 1, max: 31 }), addOns: FastCheck.boolean() }), {
    minLength: 1,
    maxLength: 3
  })
}).chain(({ anchorDay, members, offers, today }) => {
  const byId = new Map(offers.map((o) => [o.id, o]))
  const subscriptions = members.map((m, i) => {
    const tier = byId.get(m.tier)!
    const held = m.addOns ? tier.addOns.map((a) => byId.get(a)!).filter((a) => hasRate(a, monthly)) : []
    return subscriptionOn(`sub-m${i}`, "bg-1", tier, held, m.anchorDay, today)
  })
  const stranger = subscriptionOn(STRANGER, "bg-2", byId.get("tier-0")!, [], 1, today)
  const billGroup: BillGroup = { id: "bg-1", accountId: ACCOUNT, currency: "USD", contractStatus: "ACTIVE", anchorDay, version: 1 }
  return validRequest(offers, subscriptions).map((request) => ({
    offers,
    billGroup,
    subscriptions: [...subscriptions, stranger],
    customerId: ACCOUNT,
    today,
    now: Instant.make(`${today}T12:00:00.000Z`),
    request
  }))
})

/** The error codes a request alone can cause (`AMENDMENT_FAILURE` needs a concurrent write). */
export type RuleCode = Exclude<AmendErrorCode, "AMENDMENT_FAILURE">

const withRequest = (s: AmendScenario, change: (r: AmendRequest) => AmendRequest): AmendScenario => ({ ...s, request: change(s.request) })
const appendOffering = (s: AmendScenario, offering: NonNullable<AmendRequest["offerings"]>[number]) =>
  withRequest(s, (r) => ({ ...r, offerings: [...r.offerings ?? [], offering] }))
const appendRemoval = (s: AmendScenario, subscriptionId: string) =>
  withRequest(s, (r) => ({ ...r, subscriptionRemovals: [...r.subscriptionRemovals ?? [], { subscriptionId, timing: "TODAY" }] }))
const namedIn = (r: AmendRequest) => [...r.subscriptionUpdates ?? [], ...r.subscriptionRemovals ?? []].map((x) => x.subscriptionId)

/** For each rule code, a generator of one defect that makes a valid scenario answer that code. */
export const defects: { readonly [C in RuleCode]: FastCheck.Arbitrary<(s: AmendScenario) => AmendScenario> } = {
  INVALID_BILL_GROUP: FastCheck.oneof(
    FastCheck.constant((s: AmendScenario) => withRequest(s, (r) => ({ ...r, billGroupId: "bg-none" }))),
    FastCheck.constant((s: AmendScenario) => ({ ...s, customerId: "cus-b" }))
  ),
  NO_ACTIVE_BILL_GROUP_CONTRACT: pick(["PENDING", "FINISHED", "CANCELED"] as const).map((contractStatus) => (s: AmendScenario) => ({
    ...s,
    billGroup: { ...s.billGroup, contractStatus }
  })),
  INVALID_SUBSCRIPTION_TIMING: pick<unknown>(["TOMORROW", "CURRENT_PERIOD_END", "today", 42, null, undefined]).map((timing) => (s: AmendScenario) =>
    appendOffering(s, { offeringId: "tier-0", rateId: "tier-0-m", timing })
  ),
  INVALID_BILL_GROUP_SUBSCRIPTIONS: FastCheck.boolean().map((twice) => (s: AmendScenario) => {
    const named = namedIn(s.request)
    return appendRemoval(s, twice && named.length > 0 ? named[0]! : STRANGER)
  }),
  SUBSCRIPTION_UPDATE_FAILURE: pick(["cancelled", "expired"] as const).map((status) => (s: AmendScenario) => {
    const target = namedIn(s.request)[0]
    const named = target === undefined ? appendRemoval(s, s.subscriptions[0]!.id) : s
    const id = target ?? s.subscriptions[0]!.id
    return { ...named, subscriptions: named.subscriptions.map((x) => x.id === id ? { ...x, status } : x) }
  }),
  INVALID_OFFERINGS: pick(["no-offer", "addon-0", "not-a-product"]).map((what) => (s: AmendScenario) => {
    if (what !== "not-a-product") return appendOffering(s, { offeringId: what, rateId: "tier-0-m", timing: "TODAY" })
    return appendOffering(s, { offeringId: "tier-0", rateId: "tier-0-m", timing: "TODAY", items: [{ productId: "tier-1", quantity: 1 }] })
  }),
  INVALID_RATES: pick(["no-rate", "tier-1-m", "tier-0-gbp"]).map((rateId) => (s: AmendScenario) =>
    appendOffering(s, { offeringId: "tier-0", rateId, timing: "NEXT_PERIOD_START" })
  ),
  ACCOUNT_RATE_MISMATCH: pick(TIERS).map((tier) => (s: AmendScenario) =>
    appendOffering(s, { offeringId: tier, rateId: `${tier}-acct`, timing: "TODAY" })
  )
}

/** One defect, with the code it causes. */
export const defect: FastCheck.Arbitrary<{ readonly code: RuleCode; readonly spoil: (s: AmendScenario) => AmendScenario }> = pick(
  Object.keys(defects) as Array<RuleCode>
).chain((code) => defects[code].map((spoil) => ({ code, spoil })))

/** A valid scenario spoiled by the defect of one rule code, with that code. */
export const spoiled: FastCheck.Arbitrary<{ readonly code: RuleCode; readonly scenario: AmendScenario }> = FastCheck.tuple(
  validScenario,
  defect
).map(([s, { code, spoil }]) => ({ code, scenario: spoil(s) }))

/** The rules context of a scenario, with every offer and rate of its catalog loaded. */
export const contextOf = (s: AmendScenario): Context => ({
  principal: new Customer({ customerId: s.customerId }),
  billGroup: s.request.billGroupId === s.billGroup.id ? s.billGroup : undefined,
  members: s.subscriptions.filter((x) => x.billGroupId === s.billGroup.id),
  offers: new Map(s.offers.map((o) => [o.id, o])),
  rates: new Map(s.offers.flatMap((offer) => offer.rates.map((rate) => [rate.id, { offer, rate }] as const))),
  now: s.now
})

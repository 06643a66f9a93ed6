/**
 * A realistic demo: "The Daily Ledger", a digital publisher. Three tiers billed monthly or
 * annually in USD and GBP, add-ons with different compatibility, a partner-exclusive tier, a tier
 * not on sale yet, a partner organisation, and a bill group with an active contract. It lives in
 * the core so that a server can ship it to seed a demo store, and tests can share it.
 */
import type { BillGroup } from "../domain/BillGroup.js"
import * as BillingPeriod from "../domain/BillingPeriod.js"
import * as CalendarDate from "../domain/CalendarDate.js"
import * as Instant from "../domain/Instant.js"
import type { Offer, Rate } from "../domain/Offer.js"
import type { Subscription } from "../domain/Subscription.js"

const monthly = { count: 1, unit: "month" } as const
const annual = { count: 1, unit: "year" } as const

const rates = (id: string, usdMonthly: number, gbpMonthly: number, usdAnnual: number, gbpAnnual: number): Array<Rate> => [
  { id: `${id}-usd-monthly`, amount: usdMonthly, currency: "USD", interval: monthly },
  { id: `${id}-gbp-monthly`, amount: gbpMonthly, currency: "GBP", interval: monthly },
  { id: `${id}-usd-annual`, amount: usdAnnual, currency: "USD", interval: annual },
  { id: `${id}-gbp-annual`, amount: gbpAnnual, currency: "GBP", interval: annual }
]

const tier = (id: string, name: string, prices: [number, number, number, number], paths: Partial<Offer>): Offer => ({
  id,
  name,
  kind: "subscription",
  rates: rates(id, ...prices),
  upgrades: [],
  downgrades: [],
  addOns: [],
  sellable: {},
  ...paths
})

const addOn = (id: string, name: string, prices: [number, number, number, number], extra: Partial<Offer> = {}): Offer => ({
  id,
  name,
  kind: "add_on",
  rates: rates(id, ...prices),
  upgrades: [],
  downgrades: [],
  addOns: [],
  sellable: {},
  ...extra
})

/** The partner organisation of the demo. */
export const partnerOrg = "partner-telco"

/** The catalog. */
export const offers: ReadonlyArray<Offer> = [
  tier("ledger-basic", "Basic", [999, 799, 9900, 7900], {
    upgrades: ["ledger-standard", "ledger-premium"],
    addOns: ["addon-crossword", "addon-podcasts"]
  }),
  tier("ledger-standard", "Standard", [1999, 1599, 19900, 15900], {
    upgrades: ["ledger-premium"],
    downgrades: ["ledger-basic"],
    addOns: ["addon-crossword", "addon-podcasts", "addon-archive"]
  }),
  tier("ledger-premium", "Premium", [2999, 2499, 29900, 24900], {
    upgrades: ["ledger-business", "ledger-family"],
    downgrades: ["ledger-standard", "ledger-basic"],
    addOns: ["addon-crossword", "addon-archive", "addon-print-weekend"],
    // Moving down from Premium waits for the period to end even on the catalog's own path.
    changePolicy: { paths: { "ledger-basic": { timing: "NEXT_PERIOD_START", prorate: false } } }
  }),
  tier("ledger-business", "Business (partners only)", [4999, 3999, 49900, 39900], {
    downgrades: ["ledger-premium"],
    addOns: ["addon-crossword", "addon-archive", "addon-print-weekend"],
    eligiblePartners: [partnerOrg]
  }),
  tier("ledger-family", "Family", [3999, 3299, 39900, 32900], {
    downgrades: ["ledger-premium"],
    addOns: ["addon-crossword", "addon-archive"],
    sellable: { from: Instant.make("2030-01-01T00:00:00.000Z") }
  }),
  addOn("addon-crossword", "Crossword", [299, 249, 2900, 2400]),
  addOn("addon-podcasts", "Podcasts+", [399, 299, 3900, 2900]),
  addOn("addon-archive", "Archive since 1850", [499, 399, 4900, 3900]),
  addOn("addon-print-weekend", "Weekend print edition", [1299, 1099, 12900, 10900])
]

const offerById = new Map(offers.map((o) => [o.id, o]))

/** A subscription line at the catalog price of a rate. */
export const line = (offerId: string, rateId: string, quantity = 1) => {
  const rate = offerById.get(offerId)!.rates.find((r) => r.id === rateId)!
  return { offerId, rateId, quantity, unitPrice: { amount: rate.amount, currency: rate.currency } }
}

interface DemoSubscription {
  readonly id: string
  readonly name: string
  readonly owner: string
  readonly partnerOrg?: string
  readonly billGroupId?: string
  readonly tier: string
  readonly currency: "USD" | "GBP"
  readonly interval: typeof monthly | typeof annual
  readonly addOns: ReadonlyArray<string>
  readonly anchorDay: number
}

const demo: ReadonlyArray<DemoSubscription> = [
  { id: "sub-alice", name: "3V053CN9SFIG", owner: "cus-alice", tier: "ledger-basic", currency: "USD", interval: monthly, addOns: ["addon-crossword", "addon-podcasts"], anchorDay: 1 },
  { id: "sub-bob", name: "7KQ2M4XW9PLA", owner: "cus-bob", tier: "ledger-premium", currency: "GBP", interval: annual, addOns: ["addon-archive", "addon-print-weekend"], anchorDay: 1 },
  { id: "sub-carol", name: "C4R0LTELC0AA", owner: "cus-carol", partnerOrg, tier: "ledger-standard", currency: "USD", interval: monthly, addOns: ["addon-podcasts"], anchorDay: 15 },
  { id: "sub-dave", name: "D4V3TELC0BBB", owner: "cus-dave", partnerOrg, tier: "ledger-premium", currency: "USD", interval: monthly, addOns: ["addon-print-weekend"], anchorDay: 31 },
  { id: "sub-erin", name: "3R1NSTANDARD", owner: "cus-erin", tier: "ledger-standard", currency: "USD", interval: monthly, addOns: ["addon-archive"], anchorDay: 1 },
  { id: "sub-acme-1", name: "ACME00000001", owner: "cus-acme", billGroupId: "bg-acme", tier: "ledger-standard", currency: "USD", interval: monthly, addOns: ["addon-archive"], anchorDay: 1 },
  { id: "sub-acme-2", name: "ACME00000002", owner: "cus-acme", billGroupId: "bg-acme", tier: "ledger-basic", currency: "USD", interval: monthly, addOns: [], anchorDay: 1 },
  { id: "sub-acme-old", name: "ACME00000003", owner: "cus-acme", billGroupId: "bg-acme-old", tier: "ledger-basic", currency: "USD", interval: monthly, addOns: [], anchorDay: 1 }
]

const rateIdOf = (offerId: string, currency: string, interval: { unit: string }) =>
  `${offerId}-${currency.toLowerCase()}-${interval.unit === "year" ? "annual" : "monthly"}`

/** The demo subscriptions, with periods that contain `today`. */
export const subscriptions = (today: CalendarDate.CalendarDate, updatedAt = Instant.make(`${today}T00:00:00.000Z`)): Array<Subscription> =>
  demo.map((d) => {
    const { month, year } = CalendarDate.toParts(today)
    const first = CalendarDate.fromParts(year - 1, month, d.anchorDay)
    const period = BillingPeriod.containing(BillingPeriod.startingOn(first, d.interval, d.anchorDay), d.interval, d.anchorDay, today)
    return {
      id: d.id,
      name: d.name,
      owner: d.owner,
      ...(d.partnerOrg === undefined ? {} : { partnerOrg: d.partnerOrg }),
      ...(d.billGroupId === undefined ? {} : { billGroupId: d.billGroupId }),
      status: "active",
      currency: d.currency,
      interval: d.interval,
      anchorDay: d.anchorDay,
      offer: line(d.tier, rateIdOf(d.tier, d.currency, d.interval)),
      addOns: d.addOns.map((a) => line(a, rateIdOf(a, d.currency, d.interval))),
      currentPeriod: period,
      version: 1,
      updatedAt
    }
  })

/** The demo bill groups: one with an active contract, one whose contract finished. */
export const billGroups: ReadonlyArray<BillGroup> = [
  { id: "bg-acme", accountId: "cus-acme", currency: "USD", contractStatus: "ACTIVE", anchorDay: 1, version: 1 },
  { id: "bg-acme-old", accountId: "cus-acme", currency: "USD", contractStatus: "FINISHED", anchorDay: 1, version: 1 }
]

/** The customers of the demo, by id. */
export const customers = {
  alice: "cus-alice",
  bob: "cus-bob",
  carol: "cus-carol",
  dave: "cus-dave",
  erin: "cus-erin",
  acme: "cus-acme"
} as const

/** Everything a store needs to serve the demo on `today`. */
export const seed = (today: CalendarDate.CalendarDate) => ({ offers, subscriptions: subscriptions(today), billGroups })

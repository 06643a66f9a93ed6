/**
 * A seat-based catalog and a team subscription on it, for tests of quantity changes: Team at
 * $10 a seat (2 to 50 seats) with a Priority support add-on at $3 a seat (at most 20), and
 * Team Plus at $20 a seat (at least 5) whose fewer seats apply today with a prorated credit.
 * The team subscription holds 5 seats of each, billed on the 1st, in a November of 30 days.
 */
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Instant from "@subshift/core/domain/Instant"
import type { Offer } from "@subshift/core/domain/Offer"
import type { Subscription } from "@subshift/core/domain/Subscription"

const monthly = { count: 1, unit: "month" } as const

const usdMonthly = (id: string, amount: number) => [{ id: `${id}-usd-monthly`, amount, currency: "USD", interval: monthly }]

/** Team: $10 a seat, 2 to 50 seats. */
export const team: Offer = {
  id: "team",
  name: "Team",
  kind: "subscription",
  rates: usdMonthly("team", 1000),
  upgrades: ["team-plus"],
  downgrades: [],
  addOns: ["seat-support"],
  sellable: {},
  minQuantity: 2,
  maxQuantity: 50
}

/** Team Plus: $20 a seat, at least 5; fewer seats apply today with a prorated credit. */
export const teamPlus: Offer = {
  id: "team-plus",
  name: "Team Plus",
  kind: "subscription",
  rates: usdMonthly("team-plus", 2000),
  upgrades: [],
  downgrades: ["team"],
  addOns: ["seat-support"],
  sellable: {},
  minQuantity: 5,
  changePolicy: { quantityDecrease: { timing: "TODAY", prorate: true } }
}

/** Priority support, per seat: $3, at most 20. */
export const support: Offer = {
  id: "seat-support",
  name: "Priority support",
  kind: "add_on",
  rates: usdMonthly("seat-support", 300),
  upgrades: [],
  downgrades: [],
  addOns: [],
  sellable: {},
  maxQuantity: 20
}

/** The seat catalog. */
export const offers: ReadonlyArray<Offer> = [team, teamPlus, support]

/** The owner of the team subscription. */
export const owner = "cus-team"

/**
 * The team subscription in November of `year` (30 days, `[11-01, 12-01)`): 5 seats of `offer`
 * (Team unless told) at its catalog price, and 5 seats of Priority support.
 */
export const subscription = (year: number, offer: Offer = team): Subscription => ({
  id: "sub-team",
  name: "TEAMSEATS005",
  owner,
  status: "active",
  currency: "USD",
  interval: monthly,
  anchorDay: 1,
  offer: { offerId: offer.id, rateId: offer.rates[0]!.id, quantity: 5, unitPrice: { amount: offer.rates[0]!.amount, currency: "USD" } },
  addOns: [{ offerId: support.id, rateId: support.rates[0]!.id, quantity: 5, unitPrice: { amount: 300, currency: "USD" } }],
  currentPeriod: { start: CalendarDate.make(`${year}-11-01`), end: CalendarDate.make(`${year}-12-01`) },
  version: 1,
  updatedAt: Instant.make(`${year}-11-01T00:00:00.000Z`)
})

/** Mid-November of `year`: 15 of the period's 30 days are left. */
export const midPeriod = (year: number): Instant.Instant => Instant.make(`${year}-11-16T09:00:00.000Z`)

/** The first day of the next period, when fewer seats take effect by default. */
export const nextPeriodStart = (year: number): CalendarDate.CalendarDate => CalendarDate.make(`${year}-12-01`)

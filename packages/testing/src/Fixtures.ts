/**
 * Builders for valid domain values with sensible defaults, for tests of adapters and rules.
 */
import type { Action, Amendment } from "@subshift/core/domain/Amendment"
import type { Basket } from "@subshift/core/domain/Basket"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import type { Event } from "@subshift/core/domain/Event"
import type { BillGroup } from "@subshift/core/domain/BillGroup"
import * as Instant from "@subshift/core/domain/Instant"
import type { Offer } from "@subshift/core/domain/Offer"
import type { Quote } from "@subshift/core/domain/Quote"
import type { Subscription } from "@subshift/core/domain/Subscription"
import type { Commit } from "@subshift/core/ports/Subscriptions"

/** A short random suffix, so that tests sharing a store never collide. */
export const unique = (): string => globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 12)

/** A basket id, `basket-<uuid>`. */
export const basketId = (): string => `basket-${globalThis.crypto.randomUUID()}`

const usd = (amount: number) => ({ amount, currency: "USD" })
const monthly = { count: 1, unit: "month" } as const

/** A subscription offer with one monthly USD rate. */
export const offer = (overrides: Partial<Offer> = {}): Offer => {
  const id = overrides.id ?? `offer-${unique()}`
  return {
    id,
    name: `Offer ${id}`,
    kind: "subscription",
    rates: [{ id: `${id}-usd`, amount: 1000, currency: "USD", interval: monthly }],
    upgrades: [],
    downgrades: [],
    addOns: [],
    sellable: {},
    ...overrides
  }
}

/** An active monthly USD subscription for March 2025. */
export const subscription = (overrides: Partial<Subscription> = {}): Subscription => {
  const id = overrides.id ?? `sub-${unique()}`
  return {
    id,
    name: `N${unique().toUpperCase()}`,
    owner: `cus-${unique()}`,
    status: "active",
    currency: "USD",
    interval: monthly,
    anchorDay: 1,
    offer: { offerId: "offer-basic", rateId: "offer-basic-usd", quantity: 1, unitPrice: usd(1000) },
    addOns: [],
    currentPeriod: { start: CalendarDate.make("2025-03-01"), end: CalendarDate.make("2025-04-01") },
    version: 1,
    updatedAt: Instant.make("2025-03-01T00:00:00.000Z"),
    ...overrides
  }
}

/** An empty quote priced on 2025-03-16. */
export const quote = (overrides: Partial<Quote> = {}): Quote => ({
  pricedAt: Instant.make("2025-03-16T10:00:00.000Z"),
  currency: "USD",
  convention: "actual-days",
  lines: [],
  dueNow: usd(0),
  charges: usd(0),
  credits: usd(0),
  currentRecurring: usd(1000),
  nextRecurring: usd(1000),
  nextBillingDate: CalendarDate.make("2025-04-01"),
  effectiveDates: [],
  ...overrides
})

/** An upgrade action effective on 2025-03-16. */
export const action = (overrides: Partial<Action> = {}): Action => ({
  kind: "add",
  type: "offer",
  offerId: "offer-plus",
  name: "Plus",
  rateId: "offer-plus-usd",
  quantity: 1,
  unitPrice: usd(2000),
  timing: "TODAY",
  effectiveDate: CalendarDate.make("2025-03-16"),
  prorate: true,
  ...overrides
})

/** An open basket on a subscription, expiring far in the future. */
export const basket = (overrides: Partial<Basket> = {}): Basket => ({
  id: basketId(),
  subscriptionId: `sub-${unique()}`,
  subscriptionVersion: 1,
  owner: { kind: "customer", id: `cus-${unique()}` },
  createdAt: Instant.make("2025-03-16T10:00:00.000Z"),
  expiresAt: Instant.make("2099-03-30T10:00:00.000Z"),
  version: 1,
  completed: false,
  forSubscriptionOffer: {
    offerId: "offer-basic",
    name: "Basic",
    rateId: "offer-basic-usd",
    quantity: 1,
    unitPrice: usd(1000),
    interval: monthly
  },
  items: [{ action: "add", type: "offer", offerId: "offer-plus" }],
  systemItems: [],
  actions: [action()],
  nextActions: { upgrades: [], downgrades: [], crossSells: [], subscriptionAddOns: [], quantityChanges: [], excluded: [] },
  quote: quote(),
  tracking: { data: { campaign: "spring", nested: { list: [1, 2] } }, clientIp: "203.0.113.7", referer: "https://example.com/" },
  ...overrides
})

/** A committed amendment of a subscription. */
export const amendment = (subscriptionId: string, overrides: Partial<Amendment> = {}): Amendment => ({
  id: `amd-${unique()}`,
  subscriptionId,
  source: "checkout",
  principal: { kind: "customer", id: "cus-x" },
  createdAt: Instant.make("2025-03-16T10:00:00.000Z"),
  actions: [action()],
  quote: quote(),
  interval: monthly,
  ...overrides
})

/** A bill group with an active contract. */
export const billGroup = (overrides: Partial<BillGroup> = {}): BillGroup => ({
  id: `bg-${unique()}`,
  accountId: `cus-${unique()}`,
  currency: "USD",
  contractStatus: "ACTIVE",
  anchorDay: 1,
  version: 1,
  ...overrides
})

/** An `amendment.committed` event about a subscription. */
export const event = (subscription: Subscription, overrides: Partial<Event> = {}): Event => ({
  id: `evt-${unique()}`,
  type: "amendment.committed",
  occurredAt: Instant.make("2025-03-16T10:00:00.000Z"),
  subscriptionId: subscription.id,
  owner: subscription.owner,
  ...(subscription.partnerOrg === undefined ? {} : { partnerOrg: subscription.partnerOrg }),
  actor: { kind: "customer", id: subscription.owner },
  amendmentId: `amd-${unique()}`,
  after: {
    status: subscription.status,
    offer: subscription.offer,
    addOns: subscription.addOns,
    currentPeriod: subscription.currentPeriod,
    version: subscription.version
  },
  amounts: { dueNow: usd(500), currentRecurring: usd(1000), nextRecurring: usd(2000) },
  ...overrides
})

/**
 * What a checkout order commits: one amendment taking `basket`'s subscription from version
 * `expectedVersion` to `next`, its event, and the basket completed at version 2.
 */
export const checkoutCommit = (
  basket: Basket,
  next: Subscription,
  expectedVersion: number,
  eventOverrides: Partial<Event> = {}
): { readonly amendment: Amendment; readonly event: Event; readonly completed: Basket; readonly commit: Commit } => {
  const committed = amendment(next.id, { basketId: basket.id })
  const written = event(next, { amendmentId: committed.id, basketId: basket.id, ...eventOverrides })
  const completed: Basket = { ...basket, version: 2, completed: true, amendmentId: committed.id }
  return {
    amendment: committed,
    event: written,
    completed,
    commit: {
      events: [written],
      amendments: [committed],
      subscriptions: [{ next, expectedVersion }],
      basket: { next: completed, expectedVersion: 1 }
    }
  }
}

/** Helpers shared by the core tests: rule contexts over the demo catalog, and clock instants. */
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import type * as Eligibility from "@subshift/core/rules/Eligibility"
import * as Instant from "@subshift/core/domain/Instant"
import type { Offer } from "@subshift/core/domain/Offer"
import * as Subscription from "@subshift/core/domain/Subscription"
import { Demo } from "@subshift/testing"

/** The day the demo runs on in these tests (a Sunday in March 2025). */
export const TODAY = CalendarDate.make("2025-03-16")

/** Epoch milliseconds of a UTC instant, for `TestClock.setTime`. */
export const at = (instant: string): number => Date.parse(instant)

/** The demo subscription with an id, as seeded for `today`. */
export const demoSubscription = (id: string, today: CalendarDate.CalendarDate = TODAY): Subscription.Subscription => {
  const found = Demo.subscriptions(today).find((s) => s.id === id)
  if (found === undefined) throw new Error(`no demo subscription ${id}`)
  return found
}

/** A rules context for a subscription over a catalog (the demo catalog unless given). */
export const contextFor = (
  subscription: Subscription.Subscription,
  options: { readonly offers?: ReadonlyArray<Offer>; readonly today?: CalendarDate.CalendarDate } = {}
): Eligibility.Context => {
  const offers = new Map((options.offers ?? Demo.offers).map((o) => [o.id, o] as const))
  const today = options.today ?? TODAY
  return {
    subscription,
    current: offers.get(subscription.offer.offerId)!,
    offers,
    now: Instant.make(`${today}T10:00:00.000Z`),
    today,
    period: Subscription.periodOn(subscription, today),
    partner: subscription.partnerOrg
  }
}

/** The demo catalog with some offers replaced. */
export const demoOffersWith = (...replacements: ReadonlyArray<Offer>): ReadonlyArray<Offer> =>
  Demo.offers.map((o) => replacements.find((r) => r.id === o.id) ?? o)

/** The demo offer with an id. */
export const demoOffer = (id: string): Offer => Demo.offers.find((o) => o.id === id)!

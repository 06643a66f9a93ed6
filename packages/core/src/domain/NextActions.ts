/**
 * What a subscriber may do next, as a basket shows it: the offers they may pick, the add-ons they
 * hold, and every offer left out with its reason. Eligibility (a rule) computes it.
 */
import * as Schema from "effect/Schema"
import * as BillingPeriod from "./BillingPeriod.js"
import { CalendarDate } from "./CalendarDate.js"
import { IneligibilityReason } from "./Errors.js"
import * as Money from "./Money.js"
import * as Offer from "./Offer.js"

/** An offer the subscriber may pick, priced at the rate they would be billed, with its timing. */
export const OfferOption = Schema.Struct({
  offerId: Offer.OfferId,
  name: Schema.String,
  kind: Offer.OfferKind,
  rateId: Offer.RateId,
  price: Money.Money,
  interval: BillingPeriod.Interval,
  timing: Offer.Timing,
  effectiveDate: CalendarDate,
  prorate: Schema.Boolean
})
export type OfferOption = typeof OfferOption.Type

/** An add-on the subscription holds. */
export const OwnedAddOn = Schema.Struct({
  offerId: Offer.OfferId,
  name: Schema.String,
  rateId: Offer.RateId,
  quantity: Schema.Int,
  unitPrice: Money.Money
})
export type OwnedAddOn = typeof OwnedAddOn.Type

/** An offer left out, and why. */
export const Exclusion = Schema.Struct({ offerId: Schema.String, reason: IneligibilityReason })
export type Exclusion = typeof Exclusion.Type

/** What the subscriber may do next. */
export const NextActions = Schema.Struct({
  upgrades: Schema.Array(OfferOption),
  downgrades: Schema.Array(OfferOption),
  crossSells: Schema.Array(OfferOption),
  subscriptionAddOns: Schema.Array(OwnedAddOn),
  excluded: Schema.Array(Exclusion)
})
export type NextActions = typeof NextActions.Type

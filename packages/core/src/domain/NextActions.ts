/**
 * What a subscriber may do next, as a basket shows it: the offers they may pick, the add-ons they
 * hold, and every offer left out with its reason. Eligibility (a rule) computes it.
 */
import * as Schema from "effect/Schema"
import { ItemType } from "./Amendment.js"
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
  prorate: Schema.Boolean,
  /** The fewest units the offer allows, when it sets a minimum. */
  minQuantity: Schema.optional(Schema.Int),
  /** The most units the offer allows, when it sets a maximum. */
  maxQuantity: Schema.optional(Schema.Int)
})
export type OfferOption = typeof OfferOption.Type

/** An add-on the subscription holds. */
export const OwnedAddOn = Schema.Struct({
  offerId: Offer.OfferId,
  name: Schema.String,
  rateId: Offer.RateId,
  quantity: Schema.Int,
  unitPrice: Money.Money,
  /** The fewest units the add-on allows, when it sets a minimum. */
  minQuantity: Schema.optional(Schema.Int),
  /** The most units the add-on allows, when it sets a maximum. */
  maxQuantity: Schema.optional(Schema.Int)
})
export type OwnedAddOn = typeof OwnedAddOn.Type

/** An offer left out, and why. */
export const Exclusion = Schema.Struct({ offerId: Schema.String, reason: IneligibilityReason })
export type Exclusion = typeof Exclusion.Type

/** When a change lands: its timing, its date, and whether the part-period is prorated. */
export const ChangeTiming = Schema.Struct({ timing: Offer.Timing, effectiveDate: CalendarDate, prorate: Schema.Boolean })
export type ChangeTiming = typeof ChangeTiming.Type

/**
 * A held line whose quantity (seats) may change with an `update` item: the quantity held, the
 * range its offer allows (`minQuantity` to `maxQuantity`, inclusive), and when more or fewer units
 * would take effect.
 */
export const QuantityOption = Schema.Struct({
  type: ItemType,
  offerId: Offer.OfferId,
  name: Schema.String,
  quantity: Schema.Int,
  minQuantity: Schema.Int,
  maxQuantity: Schema.Int,
  increase: ChangeTiming,
  decrease: ChangeTiming
})
export type QuantityOption = typeof QuantityOption.Type

/** What the subscriber may do next. */
export const NextActions = Schema.Struct({
  upgrades: Schema.Array(OfferOption),
  downgrades: Schema.Array(OfferOption),
  crossSells: Schema.Array(OfferOption),
  subscriptionAddOns: Schema.Array(OwnedAddOn),
  /** The held lines whose quantity may change: the current offer, then the owned add-ons (absent on baskets stored before). */
  quantityChanges: Schema.optionalWith(Schema.Array(QuantityOption), { default: () => [] }),
  excluded: Schema.Array(Exclusion)
})
export type NextActions = typeof NextActions.Type

/**
 * Catalog offers: subscription offers and add-ons, their rates per currency, the configured
 * upgrade and downgrade paths, compatible add-ons, sellable window, eligible partners and the
 * change policy per path.
 */
import * as Schema from "effect/Schema"
import * as BillingPeriod from "./BillingPeriod.js"
import { MAX_ID_LENGTH } from "./Id.js"
import * as Instant from "./Instant.js"
import * as Money from "./Money.js"

const Id = (what: string) =>
  Schema.String.pipe(
    Schema.minLength(1, { message: () => `${what} cannot be empty` }),
    Schema.maxLength(MAX_ID_LENGTH, { message: () => `${what} is at most ${MAX_ID_LENGTH} characters` }),
    Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, {
      message: () => `${what} uses letters, digits and . _ : - only`
    })
  )

/** An offer id. */
export const OfferId = Id("an offer id")
export type OfferId = typeof OfferId.Type

/** A rate id. */
export const RateId = Id("a rate id")
export type RateId = typeof RateId.Type

/** A partner organisation id. */
export const PartnerOrgId = Id("a partner organisation id")
export type PartnerOrgId = typeof PartnerOrgId.Type

/** When a change takes effect. */
export const Timing = Schema.Literal("TODAY", "NEXT_PERIOD_START", "CURRENT_PERIOD_END")
export type Timing = typeof Timing.Type

/** How a change along a path is timed, and whether the part-period is prorated. */
export const ChangePolicy = Schema.Struct({ timing: Timing, prorate: Schema.Boolean })
export type ChangePolicy = typeof ChangePolicy.Type

/**
 * Catalog overrides of the default timing. An offer change reads them on the offer being left:
 * per direction (`upgrade`, `downgrade`) and per target offer (`paths`). A quantity change of a
 * held line (seats) reads them on the line's own offer, the one kept: `quantityIncrease`,
 * `quantityDecrease`.
 */
export const ChangePolicies = Schema.Struct({
  upgrade: Schema.optional(ChangePolicy),
  downgrade: Schema.optional(ChangePolicy),
  paths: Schema.optional(Schema.Record({ key: OfferId, value: ChangePolicy })),
  quantityIncrease: Schema.optional(ChangePolicy),
  quantityDecrease: Schema.optional(ChangePolicy)
})
export type ChangePolicies = typeof ChangePolicies.Type

/** The largest quantity (seats) a line may hold. */
export const MAX_QUANTITY = 10_000

/** A quantity bound an offer sets: a whole number from 1 to `MAX_QUANTITY`. */
export const QuantityBound = Schema.Int.pipe(
  Schema.between(1, MAX_QUANTITY, { message: () => `a quantity bound is a whole number from 1 to ${MAX_QUANTITY}` })
)

/** A price per billing interval in one currency, optionally reserved to one account. */
export const Rate = Schema.Struct({
  id: RateId,
  amount: Money.MinorUnits.pipe(Schema.nonNegative({ message: () => "a rate amount cannot be negative" })),
  currency: Money.Currency,
  interval: BillingPeriod.Interval,
  accountId: Schema.optional(Schema.String)
})
export type Rate = typeof Rate.Type

/** When an offer may be sold: `[from, until)`, either end open. */
export const SellableWindow = Schema.Struct({
  from: Schema.optional(Instant.Instant),
  until: Schema.optional(Instant.Instant)
})
export type SellableWindow = typeof SellableWindow.Type

/** The kind of an offer. */
export const OfferKind = Schema.Literal("subscription", "add_on")
export type OfferKind = typeof OfferKind.Type

/** A catalog offer. */
export const Offer = Schema.Struct({
  id: OfferId,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
  kind: OfferKind,
  rates: Schema.Array(Rate).pipe(Schema.minItems(1, { message: () => "an offer needs at least one rate" })),
  upgrades: Schema.optionalWith(Schema.Array(OfferId), { default: () => [] }),
  downgrades: Schema.optionalWith(Schema.Array(OfferId), { default: () => [] }),
  addOns: Schema.optionalWith(Schema.Array(OfferId), { default: () => [] }),
  sellable: Schema.optionalWith(SellableWindow, { default: () => ({}) }),
  eligiblePartners: Schema.optional(Schema.Array(PartnerOrgId)),
  changePolicy: Schema.optional(ChangePolicies),
  /** The fewest units (seats) a subscription may hold of this offer; 1 when absent. */
  minQuantity: Schema.optional(QuantityBound),
  /** The most units (seats) a subscription may hold of this offer; `MAX_QUANTITY` when absent. */
  maxQuantity: Schema.optional(QuantityBound)
})
export type Offer = typeof Offer.Type

/** The quantities an offer allows, `[min, max]`. */
export const quantityRange = (offer: Pick<Offer, "minQuantity" | "maxQuantity">): { readonly min: number; readonly max: number } => ({
  min: offer.minQuantity ?? 1,
  max: offer.maxQuantity ?? MAX_QUANTITY
})

/** Whether an offer allows a quantity. */
export const allowsQuantity = (offer: Pick<Offer, "minQuantity" | "maxQuantity">, quantity: number): boolean =>
  quantity >= (offer.minQuantity ?? 1) && quantity <= (offer.maxQuantity ?? MAX_QUANTITY)

/** Whether the offer may be sold at `now`. */
export const isSellable = (offer: Offer, now: Instant.Instant): boolean =>
  (offer.sellable.from === undefined || offer.sellable.from <= now) &&
  (offer.sellable.until === undefined || now < offer.sellable.until)

/** Whether a partner may sell the offer (`undefined` partner: the direct channel). */
export const isAllowedFor = (offer: Offer, partner: PartnerOrgId | undefined): boolean =>
  offer.eligiblePartners === undefined || (partner !== undefined && offer.eligiblePartners.includes(partner))

/**
 * The rate to bill an offer at for a subscription: same currency, open to the account, preferring
 * the interval the subscription is billed on and, among equals, catalog order.
 */
export const rateFor = (
  offer: Offer,
  currency: Money.Currency,
  accountId: string,
  interval?: BillingPeriod.Interval
): Rate | undefined => {
  let fallback: Rate | undefined
  for (const rate of offer.rates) {
    if (rate.currency !== currency) continue
    if (rate.accountId !== undefined && rate.accountId !== accountId) continue
    if (interval === undefined || BillingPeriod.sameInterval(rate.interval, interval)) return rate
    fallback ??= rate
  }
  return fallback
}

/** The rate billed in exactly this currency and interval, open to the account. */
export const exactRate = (
  offer: Offer,
  currency: Money.Currency,
  accountId: string,
  interval: BillingPeriod.Interval
): Rate | undefined =>
  offer.rates.find((r) =>
    r.currency === currency && BillingPeriod.sameInterval(r.interval, interval) &&
    (r.accountId === undefined || r.accountId === accountId)
  )

/** The rate with an id, if the offer has it. */
export const findRate = (offer: Offer, rateId: RateId): Rate | undefined => offer.rates.find((r) => r.id === rateId)

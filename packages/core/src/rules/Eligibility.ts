/**
 * Eligibility (DESIGN §3.1): which offers a subscription may move to, which add-ons it may add,
 * and, for every offer left out, why.
 */
import * as BillingPeriod from "../domain/BillingPeriod.js"
import { CalendarDate } from "../domain/CalendarDate.js"
import type { IneligibilityReason as Reason } from "../domain/Errors.js"
import type { Instant } from "../domain/Instant.js"
import * as Offer from "../domain/Offer.js"
import type * as Subscription from "../domain/Subscription.js"
import * as Timing from "./Timing.js"

export { ChangeTiming, Exclusion, NextActions, OfferOption, OwnedAddOn, QuantityOption } from "../domain/NextActions.js"
import type { ChangeTiming, Exclusion, NextActions, OfferOption, QuantityOption } from "../domain/NextActions.js"

/** Everything the rules look at; built by the use case, read-only to the rules. */
export interface Context {
  readonly subscription: Subscription.Subscription
  readonly current: Offer.Offer
  /** Every offer the rules may look at, by id (a missing id is an unknown offer). */
  readonly offers: ReadonlyMap<string, Offer.Offer>
  readonly now: Instant
  readonly today: CalendarDate
  /** The billing period in force today. */
  readonly period: BillingPeriod.Period
  /** The partner organisation the subscription was sold through, if any. */
  readonly partner: Offer.PartnerOrgId | undefined
}

/** The rate a subscription would be billed at for an offer, or why there is none. */
export const rateOf = (ctx: Context, offer: Offer.Offer, rateId?: string): Offer.Rate | Reason => {
  const { subscription } = ctx
  const rate = rateId === undefined
    ? Offer.rateFor(offer, subscription.currency, subscription.owner, subscription.interval)
    : Offer.findRate(offer, rateId)
  if (rate === undefined || rate.currency !== subscription.currency) return "currency_mismatch"
  if (rate.accountId !== undefined && rate.accountId !== subscription.owner) return "currency_mismatch"
  if (!BillingPeriod.sameInterval(rate.interval, subscription.interval)) return "interval_mismatch"
  return rate
}

const commonChecks = (ctx: Context, offer: Offer.Offer): Reason | undefined =>
  !Offer.isSellable(offer, ctx.now)
    ? "not_sellable"
    : !Offer.isAllowedFor(offer, ctx.partner)
    ? "partner_not_eligible"
    : undefined

/** Why the subscription may not move to `offerId`, or `undefined` when it may. */
export const offerChangeRefusal = (ctx: Context, offerId: string, rateId?: string): Reason | undefined => {
  const offer = ctx.offers.get(offerId)
  if (offer === undefined) return "unknown_offer"
  if (offerId === ctx.current.id) return "already_owned"
  if (offer.kind !== "subscription" || Timing.directionOf(ctx.current, offerId) === undefined) {
    return "not_a_configured_path"
  }
  const refusal = commonChecks(ctx, offer)
  if (refusal !== undefined) return refusal
  const rate = rateOf(ctx, offer, rateId)
  return typeof rate === "string" ? rate : undefined
}

/** Why the add-on may not be added when the basket ends on `resulting`, or `undefined`. */
export const addOnRefusal = (
  ctx: Context,
  resulting: Offer.Offer,
  offerId: string,
  rateId?: string
): Reason | undefined => {
  const offer = ctx.offers.get(offerId)
  if (offer === undefined) return "unknown_offer"
  if (ctx.subscription.addOns.some((l) => l.offerId === offerId)) return "already_owned"
  if (offer.kind !== "add_on" || !resulting.addOns.includes(offerId)) return "not_compatible"
  const refusal = commonChecks(ctx, offer)
  if (refusal !== undefined) return refusal
  const rate = rateOf(ctx, offer, rateId)
  return typeof rate === "string" ? rate : undefined
}

/** When a change under a policy lands, for the period in force today. */
export const landing = (ctx: Pick<Context, "today" | "period">, policy: Offer.ChangePolicy): ChangeTiming => ({
  timing: policy.timing,
  effectiveDate: Timing.effectiveDate(policy.timing, ctx.today, ctx.period),
  prorate: Timing.isProrated(policy)
})

/** The quantity bounds an offer sets, as options show them (only those it sets). */
const bounds = (offer: Offer.Offer) => ({
  ...(offer.minQuantity === undefined ? {} : { minQuantity: offer.minQuantity }),
  ...(offer.maxQuantity === undefined ? {} : { maxQuantity: offer.maxQuantity })
})

const option = (ctx: Context, offer: Offer.Offer, rate: Offer.Rate, policy: Offer.ChangePolicy): OfferOption => {
  const option: OfferOption = {
    offerId: offer.id,
    name: offer.name,
    kind: offer.kind,
    rateId: rate.id,
    price: { amount: rate.amount, currency: rate.currency },
    interval: rate.interval,
    timing: policy.timing,
    effectiveDate: Timing.effectiveDate(policy.timing, ctx.today, ctx.period),
    prorate: Timing.isProrated(policy)
  }
  // Most offers set no bounds: their options keep one shape.
  return offer.minQuantity === undefined && offer.maxQuantity === undefined ? option : { ...option, ...bounds(offer) }
}

/**
 * The held lines whose quantity may change: the current offer, then each owned add-on the catalog
 * still holds, with the range its offer allows and when an increase or a decrease would land.
 */
export const quantityChanges = (ctx: Context): Array<QuantityOption> => {
  const held: ReadonlyArray<readonly [Subscription.Line, "offer" | "add_on"]> = [
    [ctx.subscription.offer, "offer"],
    ...ctx.subscription.addOns.map((line) => [line, "add_on"] as const)
  ]
  const options: Array<QuantityOption> = []
  for (const [line, type] of held) {
    const offer = ctx.offers.get(line.offerId)
    if (offer === undefined) continue
    const { max, min } = Offer.quantityRange(offer)
    options.push({
      type,
      offerId: offer.id,
      name: offer.name,
      quantity: line.quantity,
      minQuantity: min,
      maxQuantity: max,
      increase: landing(ctx, Timing.quantityPolicyFor(offer, "increase")),
      decrease: landing(ctx, Timing.quantityPolicyFor(offer, "decrease"))
    })
  }
  return options
}

/**
 * The next actions for a basket that ends on `resulting` and adds `basketAddOns`: the configured
 * upgrades and downgrades of the current offer that pass every check, the add-ons compatible with
 * the resulting offer that the subscription neither owns nor already adds, and the owned add-ons.
 */
export const nextActions = (
  ctx: Context,
  resulting: Offer.Offer,
  basketAddOns: ReadonlySet<string>
): NextActions => {
  const excluded: Array<Exclusion> = []
  const paths = (direction: Timing.Direction, ids: ReadonlyArray<string>): Array<OfferOption> => {
    const options: Array<OfferOption> = []
    for (const id of ids) {
      const reason = offerChangeRefusal(ctx, id)
      if (reason !== undefined) {
        excluded.push({ offerId: id, reason })
        continue
      }
      const offer = ctx.offers.get(id)!
      options.push(option(ctx, offer, rateOf(ctx, offer) as Offer.Rate, Timing.policyFor(ctx.current, id, direction)))
    }
    return options
  }
  const upgrades = paths("upgrade", ctx.current.upgrades)
  const downgrades = paths("downgrade", ctx.current.downgrades.filter((id) => !ctx.current.upgrades.includes(id)))
  const crossSells: Array<OfferOption> = []
  for (const id of resulting.addOns) {
    if (basketAddOns.has(id)) continue
    const reason = addOnRefusal(ctx, resulting, id)
    if (reason !== undefined) {
      excluded.push({ offerId: id, reason })
      continue
    }
    const offer = ctx.offers.get(id)!
    crossSells.push(option(ctx, offer, rateOf(ctx, offer) as Offer.Rate, Timing.addOnAddDefault))
  }
  const subscriptionAddOns = ctx.subscription.addOns.map((line) => {
    const offer = ctx.offers.get(line.offerId)
    return {
      offerId: line.offerId,
      name: offer?.name ?? line.offerId,
      rateId: line.rateId,
      quantity: line.quantity,
      unitPrice: line.unitPrice,
      ...(offer === undefined || (offer.minQuantity === undefined && offer.maxQuantity === undefined) ? {} : bounds(offer))
    }
  })
  return { upgrades, downgrades, crossSells, subscriptionAddOns, quantityChanges: quantityChanges(ctx), excluded }
}

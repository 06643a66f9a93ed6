/**
 * Quantity (seat) rules of a basket: the range an offer allows for every quantity an item asks
 * for, and the `update` items that change the quantity of a held line (the current offer or an
 * owned add-on) without changing the offer. Such a change keeps the line's rate and the unit
 * price the subscription pays; more units apply today, prorated, and fewer at the next period
 * start, unless the line's own offer says otherwise (`changePolicy.quantityIncrease` /
 * `quantityDecrease`).
 */
import type { Action } from "../domain/Amendment.js"
import type { OrderItem } from "../domain/Basket.js"
import { BasketRejected } from "../domain/Errors.js"
import * as Offer from "../domain/Offer.js"
import type * as Subscription from "../domain/Subscription.js"
import type * as Eligibility from "./Eligibility.js"
import * as Timing from "./Timing.js"

/** The request path of an item's quantity. */
export const quantityField = (index: number): string => `orderItems[${index}].quantity`

/** Why an offer does not allow a quantity (`Team allows a quantity from 2 to 50, not 51`), or `undefined` when it does. */
export const rangeProblem = (offer: Pick<Offer.Offer, "name" | "minQuantity" | "maxQuantity">, quantity: number): string | undefined => {
  if (Offer.allowsQuantity(offer, quantity)) return undefined
  const { max, min } = Offer.quantityRange(offer)
  return `${offer.name} allows a quantity from ${min} to ${max}, not ${quantity}`
}

/** Refuses a quantity outside the range an offer allows, naming the item's quantity field. */
export const rangeRefusal = (
  offer: Pick<Offer.Offer, "id" | "name" | "minQuantity" | "maxQuantity">,
  quantity: number,
  index: number
): BasketRejected | undefined => {
  const problem = rangeProblem(offer, quantity)
  return problem === undefined
    ? undefined
    : new BasketRejected({ code: "quantity_out_of_range", offerId: offer.id, field: quantityField(index), message: problem })
}

/** The held line an `update` item names, if the subscription holds it. */
export const heldLine = (subscription: Subscription.Subscription, item: Pick<OrderItem, "type" | "offerId">) =>
  item.type === "offer"
    ? subscription.offer.offerId === item.offerId ? subscription.offer : undefined
    : subscription.addOns.find((l) => l.offerId === item.offerId)

/**
 * Why an `update` item is refused, or `undefined`: it must name a held line, not go with an offer
 * change for the current offer (the new offer's `add` takes the quantity), not name an add-on the
 * offer change drops, change the quantity, and stay in the offer's range.
 */
export const updateRefusal = (
  ctx: Eligibility.Context,
  item: OrderItem,
  index: number,
  offerChange: boolean,
  resulting: Offer.Offer
): BasketRejected | undefined => {
  const line = heldLine(ctx.subscription, item)
  const what = item.type === "offer" ? "offer" : "add-on"
  if (line === undefined) {
    return new BasketRejected({ code: "not_owned", offerId: item.offerId, message: `the subscription does not hold ${what} ${item.offerId}` })
  }
  if (item.type === "offer" && offerChange) {
    return new BasketRejected({
      code: "update_with_offer_change",
      offerId: item.offerId,
      message: "the current offer's quantity cannot change with an offer change; give the quantity on the offer added"
    })
  }
  if (item.type === "add_on" && offerChange && !resulting.addOns.includes(item.offerId)) {
    return new BasketRejected({
      code: "add_on_not_eligible",
      offerId: item.offerId,
      reason: "not_compatible",
      message: `add-on ${item.offerId} is not available on ${resulting.name}, which the basket moves to`
    })
  }
  const quantity = item.quantity!
  if (quantity === line.quantity) {
    return new BasketRejected({
      code: "quantity_unchanged",
      offerId: item.offerId,
      field: quantityField(index),
      message: `the subscription already holds ${quantity} of ${item.offerId}`
    })
  }
  const offer = ctx.offers.get(item.offerId)
  return offer === undefined ? undefined : rangeRefusal(offer, quantity, index)
}

/** The `change_quantity` action of an accepted `update` item: the held line at the new quantity. */
export const changeAction = (ctx: Eligibility.Context, item: OrderItem): Action => {
  const line = heldLine(ctx.subscription, item)!
  const quantity = item.quantity!
  const offer = ctx.offers.get(item.offerId)
  const direction: Timing.QuantityDirection = quantity > line.quantity ? "increase" : "decrease"
  const policy = offer === undefined
    ? direction === "increase" ? Timing.quantityIncreaseDefault : Timing.quantityDecreaseDefault
    : Timing.quantityPolicyFor(offer, direction)
  return {
    kind: "change_quantity",
    type: item.type,
    offerId: item.offerId,
    name: offer?.name ?? item.offerId,
    rateId: line.rateId,
    quantity,
    unitPrice: line.unitPrice,
    timing: policy.timing,
    effectiveDate: Timing.effectiveDate(policy.timing, ctx.today, ctx.period),
    prorate: Timing.isProrated(policy)
  }
}

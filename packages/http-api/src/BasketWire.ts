/**
 * The contract's own mapping of the checkout bodies to and from the core: a basket as POST, PUT
 * and GET answer it, and the items of a PUT as the core's use case takes them.
 */
import * as Basket from "@subshift/core/domain/Basket"
import * as CoreErrors from "@subshift/core/domain/Errors"
import type * as Wire from "./Wire.js"

/** The items of an update body, already checked by `Wire.UpdateRequest` (built from the core's fields). */
export const itemsOf = (payload: Wire.UpdateRequest): Basket.CheckedItems =>
  new Basket.CheckedItems(payload.order.orderItems.map((item): Basket.OrderItemRequest => ({
    action: item.orderItemActionType,
    ...(item.type === undefined ? {} : { type: item.type }),
    offerId: item.offer.id,
    ...(item.quantity === undefined ? {} : { quantity: item.quantity }),
    ...(item.rateId === undefined ? {} : { rateId: item.rateId })
  })))

/**
 * A refusal as the update body names it: the core names an item's field from its items
 * (`orderItems[1].quantity`), the body holds them under `order`.
 */
export const refusalOnWire = <E>(error: E): E =>
  error instanceof CoreErrors.BasketRejected && error.field !== undefined && error.field.startsWith("orderItems[")
    ? new CoreErrors.BasketRejected({
      code: error.code,
      ...(error.offerId === undefined ? {} : { offerId: error.offerId }),
      ...(error.reason === undefined ? {} : { reason: error.reason }),
      field: `order.${error.field}`,
      message: error.message
    }) as E
    : error

/** Shapes a basket as the wire shows it: offers named from what the basket already holds. */
export const encode = (basket: Basket.Basket): Wire.Basket => {
  const names = new Map<string, string>()
  for (const option of basket.nextActions.upgrades) names.set(option.offerId, option.name)
  for (const option of basket.nextActions.downgrades) names.set(option.offerId, option.name)
  for (const option of basket.nextActions.crossSells) names.set(option.offerId, option.name)
  for (const owned of basket.nextActions.subscriptionAddOns) names.set(owned.offerId, owned.name)
  for (const action of basket.actions) names.set(action.offerId, action.name)
  const offer = (id: string) => {
    const name = names.get(id)
    return name === undefined ? { id } : { id, name }
  }
  const orderItems: Array<Wire.OrderItem> = []
  for (const item of basket.items) {
    orderItems.push({
      orderItemActionType: item.action,
      type: item.type,
      offer: offer(item.offerId),
      ...(item.quantity === undefined ? {} : { quantity: item.quantity }),
      ...(item.rateId === undefined ? {} : { rateId: item.rateId })
    })
  }
  for (const item of basket.systemItems) {
    orderItems.push({
      orderItemActionType: item.action,
      type: item.type,
      offer: offer(item.offerId),
      quantity: item.quantity,
      auto: true,
      reason: item.reason
    })
  }
  const current = basket.forSubscriptionOffer
  const name = basket.subscriptionName
  return {
    checkoutId: basket.id,
    completed: basket.completed,
    createdAt: basket.createdAt,
    expiresAt: basket.expiresAt,
    version: basket.version,
    order: {
      order_type: "update_subscription",
      forSubscription: name === undefined ? { id: basket.subscriptionId } : { id: basket.subscriptionId, name },
      orderItems
    },
    forSubscriptionOffer: {
      id: current.offerId,
      name: current.name,
      rateId: current.rateId,
      quantity: current.quantity,
      unitPrice: current.unitPrice,
      interval: current.interval
    },
    nextActions: basket.nextActions,
    quote: basket.quote,
    ...(basket.amendmentId === undefined ? {} : { amendmentId: basket.amendmentId })
  }
}

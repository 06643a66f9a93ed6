/**
 * Request and response bodies as they travel, with the field names of the public checkout and
 * amend APIs (`order.order_type`, `forSubscription`, `orderItems[].orderItemActionType`,
 * `checkoutId`, `nextActions`, `queryMore`, `billGroupId`…). Amounts are integer minor units with
 * their currency.
 */
import { AutoReason, ItemType, Action } from "@subshift/core/domain/Amendment"
import { ItemAction, itemShapeProblem, Quantity, TrackingData } from "@subshift/core/domain/Basket"
import * as BillingPeriod from "@subshift/core/domain/BillingPeriod"
import type { Amended, AmendResult } from "@subshift/core/usecases/BillGroupAmendments"
import { AmendRequest as CoreAmendRequest } from "@subshift/core/usecases/BillGroupAmendments"
import { CalendarDate } from "@subshift/core/domain/CalendarDate"
import { NextActions } from "@subshift/core/rules/Eligibility"
import { StoredEvent } from "@subshift/core/domain/Event"
import { Id as CoreId, MAX_ID_LENGTH } from "@subshift/core/domain/Id"
import { MAX_KEY_LENGTH } from "@subshift/core/ports/Idempotency"
import * as Money from "@subshift/core/domain/Money"
import { OfferId, RateId } from "@subshift/core/domain/Offer"
import { Quote } from "@subshift/core/domain/Quote"
import { Subscription as CoreSubscription } from "@subshift/core/domain/Subscription"
import * as Schema from "effect/Schema"

/** An identifier in a request: 1 to `MAX_ID_LENGTH` characters. */
export const Id = CoreId

/** Which subscription to open a checkout on: by id or by its human reference. */
export const ForSubscription = Schema.Union(Schema.Struct({ id: Id }), Schema.Struct({ name: Id }))

/** The initiate body. */
export const InitiateRequest = Schema.Struct({
  order: Schema.Struct({
    order_type: Schema.Literal("update_subscription"),
    forSubscription: ForSubscription
  }),
  /** Free-form analytics data, stored with the basket. */
  tracking: Schema.optional(TrackingData)
}).annotations({ identifier: "InitiateCheckout" })
export type InitiateRequest = typeof InitiateRequest.Type

/** An offer reference in an order item; a full offer object is accepted and only its `id` is read. */
export const OfferRef = Schema.Struct({ id: OfferId }, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

/**
 * One item of a basket update. Its fields and checks are the core's own (`Basket.OrderItem`'s),
 * so what this schema accepts the core's use case takes as it is (`BasketWire.itemsOf`).
 */
export const OrderItemRequest = Schema.Struct({
  orderItemActionType: ItemAction.annotations({
    description:
      "`add` or `remove` an offer or an add-on; `update` changes the quantity (seats) of one the subscription holds (its current offer or an owned add-on), keeping its rate and price: more units apply today, prorated, fewer at the next period start, unless the offer's changePolicy.quantityIncrease / quantityDecrease says otherwise"
  }),
  /** `offer` or `add_on`; when absent the catalog's kind of the offer is used. */
  type: Schema.optional(ItemType),
  offer: OfferRef,
  quantity: Schema.optional(Quantity.annotations({
    description:
      "For `add`, the units wanted (default: the quantity held for an offer, 1 for an add-on); for `update`, required: the new quantity. It must lie within the offer's minQuantity and maxQuantity (422 quantity_out_of_range, `details.field` naming the item's quantity)"
  })),
  /** A rate of the offer to add; an `update` keeps the rate held and takes none. */
  rateId: Schema.optional(RateId)
}).pipe(Schema.filter((item) => itemShapeProblem(item.orderItemActionType, item)))
export type OrderItemRequest = typeof OrderItemRequest.Type

/** The update body: the caller's items replace the basket's entirely. */
export const UpdateRequest = Schema.Struct({
  order: Schema.Struct({
    orderItems: Schema.Array(OrderItemRequest).pipe(Schema.maxItems(100, { message: () => "a basket holds at most 100 items" }))
  })
}).annotations({ identifier: "UpdateCheckout" })
export type UpdateRequest = typeof UpdateRequest.Type

/** An item of the basket: the caller's, or one the engine generated (`auto`, with its `reason`). */
export const OrderItem = Schema.Struct({
  orderItemActionType: ItemAction,
  type: ItemType,
  offer: Schema.Struct({ id: Schema.String, name: Schema.optional(Schema.String) }),
  quantity: Schema.optional(Schema.Int),
  rateId: Schema.optional(Schema.String),
  auto: Schema.optional(Schema.Boolean),
  reason: Schema.optional(AutoReason)
})
export type OrderItem = typeof OrderItem.Type

/** What the subscription holds now. */
export const SubscriptionOffer = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  rateId: Schema.String,
  quantity: Schema.Int,
  unitPrice: Money.Money,
  interval: BillingPeriod.Interval
})

/** The basket, as POST, PUT and GET answer it. */
export const Basket = Schema.Struct({
  checkoutId: Schema.String,
  completed: Schema.Boolean,
  createdAt: Schema.String,
  expiresAt: Schema.String,
  /** Also sent as the `ETag`; send it back in `If-Match`. */
  version: Schema.Int,
  order: Schema.Struct({
    order_type: Schema.Literal("update_subscription"),
    forSubscription: Schema.Struct({ id: Schema.String, name: Schema.optional(Schema.String) }),
    orderItems: Schema.Array(OrderItem)
  }),
  forSubscriptionOffer: SubscriptionOffer,
  nextActions: NextActions,
  /** The priced change: a line per action (with its proration), `dueNow` with its `charges` and `credits`, `nextRecurring`, effective dates. */
  quote: Quote,
  amendmentId: Schema.optional(Schema.String)
}).annotations({ identifier: "SubscriptionCheckout" })
export type Basket = typeof Basket.Encoded

/** The order (commit) body. */
export const OrderRequest = Schema.Struct({
  /** The basket to commit; must match the basket cookie when both are sent. */
  checkoutId: Schema.optional(Id)
}).annotations({ identifier: "SubmitOrder" })
export type OrderRequest = typeof OrderRequest.Type

/** The committed order. */
export const OrderResponse = Schema.Struct({
  /** The amendment id. */
  id: Schema.String,
  status: Schema.Literal("complete"),
  checkoutId: Schema.String,
  subscriptionId: Schema.String,
  subscriptionReference: Schema.String,
  owner: Schema.String,
  actions: Schema.Array(Action),
  quote: Quote,
  /** When the last of the actions takes effect; until then the subscription is locked. */
  pendingChangeDate: Schema.optional(CalendarDate)
}).annotations({ identifier: "SubmitOrderResponse" })
export type OrderResponse = typeof OrderResponse.Encoded

/** The list query of partner subscriptions. */
export const ListParams = Schema.Struct({
  ownerId: Schema.optional(Id),
  queryMore: Schema.optional(Schema.String.pipe(Schema.maxLength(512))),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)))
})

/** A subscription, as partner endpoints show it. */
export const Subscription = CoreSubscription

/** A page of subscriptions; `queryMore` is absent on the last page. */
export const SubscriptionPage = Schema.Struct({
  items: Schema.Array(Subscription),
  queryMore: Schema.optional(Schema.String)
}).annotations({ identifier: "SubscriptionPage" })

/** An offer as partner endpoints show it: only rates the subscription's owner may be billed at. */
export const Offer = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  kind: Schema.Literal("subscription", "add_on"),
  rates: Schema.Array(Schema.Struct({
    id: Schema.String,
    amount: Schema.Int,
    currency: Schema.String,
    interval: BillingPeriod.Interval
  }))
})

/** One upcoming billing period. */
export const ScheduledPeriod = Schema.Struct({
  periodStart: CalendarDate,
  periodEnd: CalendarDate,
  amount: Money.Money,
  lines: Schema.Array(Schema.Struct({ offerId: Schema.String, rateId: Schema.String, quantity: Schema.Int, unitPrice: Money.Money }))
})

/** A subscription with what relates to it. */
export const SubscriptionDetail = Schema.Struct({
  subscription: Subscription,
  schedule: Schema.Array(ScheduledPeriod),
  offers: Schema.Array(Offer),
  addOns: Schema.Array(Offer)
}).annotations({ identifier: "SubscriptionDetail" })

/** The amend request (MonetizeNow-style). */
export const AmendRequest = CoreAmendRequest.annotations({ identifier: "AmendCheckoutRequest" })

const AmendItem = Schema.Struct({ productId: Schema.String, quantity: Schema.Int, amountPerPeriod: Schema.Int })

/** A subscription updated or created by an amendment. */
export const AmendedSubscription = Schema.Struct({
  subscriptionId: Schema.String,
  amendmentId: Schema.String,
  effectiveDate: Schema.String,
  amountPerPeriod: Schema.Int,
  currency: Schema.String,
  rateId: Schema.String,
  billingFrequency: Schema.String,
  dueNow: Schema.Int,
  items: Schema.Array(AmendItem)
})

/** A subscription removed by an amendment; `endDate` is the first day without service. */
export const RemovedSubscription = Schema.Struct({
  subscriptionId: Schema.String,
  amendmentId: Schema.String,
  endDate: Schema.String,
  amountPerPeriod: Schema.Int,
  currency: Schema.String,
  dueNow: Schema.Int
})

/** The amend response. */
export const AmendResponse = Schema.Struct({
  billGroupId: Schema.String,
  subscriptionUpdates: Schema.Array(AmendedSubscription),
  subscriptionCreations: Schema.Array(AmendedSubscription),
  subscriptionRemovals: Schema.Array(RemovedSubscription)
}).annotations({ identifier: "AmendCheckoutResponse" })
export type AmendResponse = typeof AmendResponse.Type

/** `MONTHLY`, `ANNUALLY`, `QUARTERLY`… for an interval. */
export const billingFrequency = (interval: BillingPeriod.Interval): string => {
  const { count, unit } = interval
  if (count === 1) return { day: "DAILY", week: "WEEKLY", month: "MONTHLY", year: "ANNUALLY" }[unit]
  if (unit === "month" && count === 3) return "QUARTERLY"
  if (unit === "month" && count === 6) return "SEMI_ANNUALLY"
  return `EVERY_${count}_${unit.toUpperCase()}S`
}

const amendedSubscription = ({ amendment, effectiveDate, subscription }: Amended): typeof AmendedSubscription.Type => ({
  subscriptionId: subscription.id,
  amendmentId: amendment.id,
  effectiveDate,
  amountPerPeriod: amendment.quote.nextRecurring.amount,
  currency: amendment.quote.currency,
  rateId: subscription.offer.rateId,
  billingFrequency: billingFrequency(subscription.interval),
  dueNow: amendment.quote.dueNow.amount,
  items: [subscription.offer, ...subscription.addOns].map((l) => ({
    productId: l.offerId,
    quantity: l.quantity,
    amountPerPeriod: Money.times(l.unitPrice, l.quantity).amount
  }))
})

/** The amend response for what an amendment produced: amounts in integer minor units. */
export const amendResponse = (result: AmendResult): AmendResponse => ({
  billGroupId: result.billGroupId,
  subscriptionUpdates: result.updates.map(amendedSubscription),
  subscriptionCreations: result.creations.map(amendedSubscription),
  subscriptionRemovals: result.removals.map(({ amendment, effectiveDate, subscription }) => ({
    subscriptionId: subscription.id,
    amendmentId: amendment.id,
    endDate: effectiveDate,
    amountPerPeriod: amendment.quote.currentRecurring.amount,
    currency: amendment.quote.currency,
    dueNow: amendment.quote.dueNow.amount
  }))
})

/** Liveness and readiness answers. */
export const Health = Schema.Struct({ status: Schema.Literal("ok", "ready") })

/** Headers of a basket read. */
export const BasketHeaders = Schema.Struct({
  /** The landing-state cookie (`lmo_ls`, or `limio_state`) holding the signed basket id. */
  cookie: Schema.optional(Schema.String)
})

/** Headers of a basket write. */
export const WriteHeaders = Schema.Struct({
  cookie: Schema.optional(Schema.String),
  /** The basket version last seen (its `ETag`); a stale one is a 409. */
  "if-match": Schema.optional(Schema.String.pipe(Schema.maxLength(MAX_ID_LENGTH)))
})

/** Headers of an initiate. */
export const InitiateHeaders = Schema.Struct({
  "x-forwarded-for": Schema.optional(Schema.String),
  referer: Schema.optional(Schema.String)
})

/** Headers of a partner initiate: the reCAPTCHA token is required. */
export const PartnerInitiateHeaders = Schema.Struct({
  "x-limio-recaptcha": Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4096)),
  "x-forwarded-for": Schema.optional(Schema.String),
  referer: Schema.optional(Schema.String)
})

/** An `Idempotency-Key`: 1 to 255 characters, chosen by the caller (a UUID is a good choice). */
export const IdempotencyKey = Schema.String.pipe(
  Schema.minLength(1, { message: () => "an Idempotency-Key cannot be empty" }),
  Schema.maxLength(MAX_KEY_LENGTH, { message: () => `an Idempotency-Key is at most ${MAX_KEY_LENGTH} characters` })
)

/** The header that marks an answer replayed for an `Idempotency-Key` rather than computed again. */
export const REPLAYED_HEADER = "idempotent-replayed"

/** Headers of an order. */
export const OrderHeaders = Schema.Struct({
  cookie: Schema.optional(Schema.String),
  "if-match": Schema.optional(Schema.String.pipe(Schema.maxLength(MAX_ID_LENGTH))),
  /** The first result (success or error) for this key and caller is replayed for 24 hours. */
  "idempotency-key": Schema.optional(IdempotencyKey)
})

/** Headers of an amend. */
export const AmendHeaders = Schema.Struct({
  /** The first result (success or error) for this key and caller is replayed for 24 hours. */
  "idempotency-key": Schema.optional(IdempotencyKey)
})

/** The events query: events after the `after` sequence (the `next` of the previous page), at most `limit`. */
export const EventParams = Schema.Struct({
  after: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(0, Number.MAX_SAFE_INTEGER))),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)))
})

/** An event of the audit trail. */
export const Event = StoredEvent.annotations({ identifier: "Event" })

/**
 * A page of events in write order. `next` is the cursor to send as `after` for the following
 * page (the same as the request's when the page is empty, so a poller can keep asking);
 * `hasMore` says whether more events were already waiting.
 */
export const EventPage = Schema.Struct({
  items: Schema.Array(Event),
  next: Schema.Int,
  hasMore: Schema.Boolean
}).annotations({ identifier: "EventPage" })
export type EventPage = typeof EventPage.Encoded

/** How far to move the test clock: days and/or seconds, together more than zero. */
export const TestClockAdvance = Schema.Struct({
  days: Schema.optional(Schema.Int.pipe(Schema.between(0, 3660))),
  seconds: Schema.optional(Schema.Int.pipe(Schema.between(0, 316_224_000)))
}).pipe(
  Schema.filter((a) => (a.days ?? 0) + (a.seconds ?? 0) > 0 || "the clock only moves forward: give a positive days or seconds"),
  Schema.annotations({ identifier: "TestClockAdvance" })
)
export type TestClockAdvance = typeof TestClockAdvance.Type

/** The test clock: the instant the server runs at, its day, and how far ahead of real time it is. */
export const TestClockState = Schema.Struct({
  now: Schema.String,
  today: CalendarDate,
  offsetSeconds: Schema.Number
}).annotations({ identifier: "TestClock" })
export type TestClockState = typeof TestClockState.Encoded

/** The test clock after an advance, with what the scheduler run right after it did. */
export const TestClockAdvanced = Schema.Struct({
  ...TestClockState.fields,
  scheduler: Schema.Struct({ examined: Schema.Int, applied: Schema.Int })
}).annotations({ identifier: "TestClockAdvanced" })
export type TestClockAdvanced = typeof TestClockAdvanced.Encoded

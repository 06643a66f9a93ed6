/**
 * Amendments: the committed result of a basket or of an amend request, as a list of priced actions
 * each with its effective date.
 */
import * as Schema from "effect/Schema"
import * as BillingPeriod from "./BillingPeriod.js"
import { CalendarDate } from "./CalendarDate.js"
import { Instant } from "./Instant.js"
import * as Money from "./Money.js"
import { OfferId, RateId, Timing } from "./Offer.js"
import { PrincipalRef } from "./Principal.js"
import { Quote } from "./Quote.js"

/** Why the engine generated an item the caller did not ask for. */
export const AutoReason = Schema.Struct({
  code: Schema.Literal("replaced_by_new_offer", "not_compatible_with_new_offer"),
  /** The offer whose selection caused this item. */
  causedBy: OfferId,
  message: Schema.String
})
export type AutoReason = typeof AutoReason.Type

/** What an action does. */
export const ActionKind = Schema.Literal("add", "remove", "change_quantity", "change_rate")
export type ActionKind = typeof ActionKind.Type

/** Whether an action is about the subscription's offer or one of its add-ons. */
export const ItemType = Schema.Literal("offer", "add_on")
export type ItemType = typeof ItemType.Type

/** One change to a subscription, resolved to a rate, a price, a timing and an effective date. */
export const Action = Schema.Struct({
  kind: ActionKind,
  type: ItemType,
  offerId: OfferId,
  /** The offer's name when the action was made, for people. */
  name: Schema.String,
  rateId: RateId,
  quantity: Schema.Int.pipe(Schema.nonNegative()),
  unitPrice: Money.Money,
  timing: Timing,
  effectiveDate: CalendarDate,
  prorate: Schema.Boolean,
  auto: Schema.optional(AutoReason)
})
export type Action = typeof Action.Type

/** The part of a committed amendment that is still to come. */
export const PendingChange = Schema.Struct({
  amendmentId: Schema.String,
  effectiveDate: CalendarDate,
  actions: Schema.Array(Action)
})
export type PendingChange = typeof PendingChange.Type

/** Where an amendment came from. */
export const AmendmentSource = Schema.Literal("checkout", "amend_api")

/** A committed amendment. */
export const Amendment = Schema.Struct({
  id: Schema.String,
  subscriptionId: Schema.String,
  source: AmendmentSource,
  basketId: Schema.optional(Schema.String),
  billGroupId: Schema.optional(Schema.String),
  principal: PrincipalRef,
  createdAt: Instant,
  actions: Schema.Array(Action),
  quote: Quote,
  /** The billing interval in force after the amendment. */
  interval: BillingPeriod.Interval
})
export type Amendment = typeof Amendment.Type

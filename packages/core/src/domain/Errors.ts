/**
 * Every typed failure of the core. They are Schema-backed so that adapters (HTTP, RPC) can encode
 * them; none of them knows about a transport. The stable `code` of each is its `_tag`, except
 * `BasketRejected` and `AmendRejected`, which carry a finer code of their own.
 */
import * as Schema from "effect/Schema"
import { CalendarDate } from "./CalendarDate.js"

/** The store (database, network) could not be reached; safe to retry. */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  message: Schema.String
}) {}

/** A write carried an expected version that is no longer current. */
export class VersionConflict extends Schema.TaggedError<VersionConflict>()("VersionConflict", {
  entity: Schema.Literal("basket", "subscription", "bill_group"),
  id: Schema.String,
  expected: Schema.Number,
  actual: Schema.optional(Schema.Number)
}) {
  override get message() {
    return `${this.entity} ${this.id} was changed by someone else (expected version ${this.expected})`
  }
}

/** Unknown data (a request, a catalog file) did not decode; `field` names where. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  field: Schema.String,
  message: Schema.String
}) {}

/** The subscription does not exist or is not the caller's (the two are never told apart). */
export class SubscriptionNotFound extends Schema.TaggedError<SubscriptionNotFound>()("SubscriptionNotFound", {
  subscription: Schema.String
}) {
  override get message() {
    return `subscription ${this.subscription} was not found`
  }
}

/** The basket does not exist or is not the caller's. */
export class BasketNotFound extends Schema.TaggedError<BasketNotFound>()("BasketNotFound", {
  basketId: Schema.String
}) {
  override get message() {
    return `basket ${this.basketId} was not found`
  }
}

/** The basket is past its expiry. */
export class BasketExpired extends Schema.TaggedError<BasketExpired>()("BasketExpired", {
  basketId: Schema.String,
  expiredAt: Schema.String
}) {
  override get message() {
    return `basket ${this.basketId} expired at ${this.expiredAt}`
  }
}

/** The basket was already committed and is read-only. */
export class BasketCompleted extends Schema.TaggedError<BasketCompleted>()("BasketCompleted", {
  basketId: Schema.String
}) {
  override get message() {
    return `basket ${this.basketId} is completed and can no longer change`
  }
}

/** The subscription has a scheduled change and is locked until its date. */
export class SubscriptionLocked extends Schema.TaggedError<SubscriptionLocked>()("SubscriptionLocked", {
  subscriptionId: Schema.String,
  pendingChangeDate: CalendarDate
}) {
  override get message() {
    return `subscription ${this.subscriptionId} has a change scheduled for ${this.pendingChangeDate}`
  }
}

/**
 * There is no scheduled change to withdraw: none was ever scheduled, it was withdrawn already, or
 * it has taken effect (`appliedOn` is then its date, when known).
 */
export class NoPendingChange extends Schema.TaggedError<NoPendingChange>()("NoPendingChange", {
  subscriptionId: Schema.String,
  appliedOn: Schema.optional(CalendarDate)
}) {
  override get message() {
    return this.appliedOn === undefined
      ? `subscription ${this.subscriptionId} has no scheduled change`
      : `the change scheduled on subscription ${this.subscriptionId} took effect on ${this.appliedOn}`
  }
}

/** The subscription cannot change because it is not active. */
export class SubscriptionInactive extends Schema.TaggedError<SubscriptionInactive>()("SubscriptionInactive", {
  subscriptionId: Schema.String,
  status: Schema.String
}) {
  override get message() {
    return `subscription ${this.subscriptionId} is ${this.status} and cannot be changed`
  }
}

/** Why an offer is left out of, or refused by, a basket. */
export const IneligibilityReason = Schema.Literal(
  "not_sellable",
  "currency_mismatch",
  "partner_not_eligible",
  "already_owned",
  "not_compatible",
  "not_a_configured_path",
  "interval_mismatch",
  "unknown_offer"
)
export type IneligibilityReason = typeof IneligibilityReason.Type

/** Stable codes for a refused basket update. */
export const BasketRuleCode = Schema.Literal(
  "too_many_offer_adds",
  "offer_not_eligible",
  "add_on_not_eligible",
  "not_owned",
  "duplicate_item",
  "offer_removal_needs_replacement",
  "wrong_item_type",
  "nothing_to_commit",
  "quantity_out_of_range",
  "quantity_unchanged",
  "update_with_offer_change"
)
export type BasketRuleCode = typeof BasketRuleCode.Type

/** A basket update broke a rule; nothing was changed. */
export class BasketRejected extends Schema.TaggedError<BasketRejected>()("BasketRejected", {
  code: BasketRuleCode,
  offerId: Schema.optional(Schema.String),
  reason: Schema.optional(IneligibilityReason),
  /** The field of the request at fault, when one is (`orderItems[1].quantity`). */
  field: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/** The error codes of the amend API. */
export const AmendErrorCode = Schema.Literal(
  "INVALID_OFFERINGS",
  "INVALID_RATES",
  "ACCOUNT_RATE_MISMATCH",
  "INVALID_SUBSCRIPTION_TIMING",
  "INVALID_BILL_GROUP_SUBSCRIPTIONS",
  "INVALID_BILL_GROUP",
  "NO_ACTIVE_BILL_GROUP_CONTRACT",
  "SUBSCRIPTION_UPDATE_FAILURE",
  "AMENDMENT_FAILURE"
)
export type AmendErrorCode = typeof AmendErrorCode.Type

/** An amend request was refused; nothing was changed. */
export class AmendRejected extends Schema.TaggedError<AmendRejected>()("AmendRejected", {
  errorCode: AmendErrorCode,
  details: Schema.String,
  context: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
}) {
  override get message() {
    return `${this.errorCode}: ${this.details}`
  }
}

/** Credentials were missing or invalid. */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>()("Unauthenticated", {
  message: Schema.String
}) {}

/** The principal is known but lacks a required scope. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String
}) {}

/** The pricing backend could not price the actions. */
export class PricingFailed extends Schema.TaggedError<PricingFailed>()("PricingFailed", {
  message: Schema.String
}) {}

/** The bot check could not be performed (the verify service is down). */
export class BotCheckUnavailable extends Schema.TaggedError<BotCheckUnavailable>()("BotCheckUnavailable", {
  message: Schema.String
}) {}

/** An `Idempotency-Key` was used again with a different request. */
export class IdempotencyKeyMismatch extends Schema.TaggedError<IdempotencyKeyMismatch>()("IdempotencyKeyMismatch", {
  key: Schema.String
}) {
  override get message() {
    return `the Idempotency-Key ${this.key} was first used with a different request`
  }
}

/** The first request with this `Idempotency-Key` is still running. */
export class IdempotencyKeyInFlight extends Schema.TaggedError<IdempotencyKeyInFlight>()("IdempotencyKeyInFlight", {
  key: Schema.String
}) {
  override get message() {
    return `a request with the Idempotency-Key ${this.key} is still being processed; retry shortly`
  }
}

/** The basket's quote no longer holds (the catalog or the billing period changed since); nothing was charged. */
export class QuoteChanged extends Schema.TaggedError<QuoteChanged>()("QuoteChanged", {
  basketId: Schema.String,
  reason: Schema.Literal("catalog_changed", "period_changed")
}) {
  override get message() {
    return this.reason === "catalog_changed"
      ? `the catalog changed since basket ${this.basketId} was priced; update the basket to see the new quote`
      : `a new billing period began since basket ${this.basketId} was priced; update the basket to see the new quote`
  }
}

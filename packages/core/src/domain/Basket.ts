/**
 * Baskets: a stateful change checkout on one subscription, owned by the principal that opened it,
 * living 14 days.
 */
import * as Schema from "effect/Schema"
import { Action, AutoReason, ItemType } from "./Amendment.js"
import * as BillingPeriod from "./BillingPeriod.js"
import { NextActions } from "./NextActions.js"
import * as Instant from "./Instant.js"
import * as Money from "./Money.js"
import { OfferId, RateId } from "./Offer.js"
import { PrincipalRef } from "./Principal.js"
import { Quote } from "./Quote.js"

/** How long a basket lives. */
export const LIFETIME_DAYS = 14

/** A basket id, `basket-<uuid>`. */
export const BasketId = Schema.String.pipe(
  Schema.pattern(/^basket-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, {
    message: () => "a basket id looks like basket-<uuid>"
  })
)

/** A quantity a caller asks for. */
export const Quantity = Schema.Int.pipe(Schema.between(1, 10_000, { message: () => "a quantity is a whole number from 1 to 10000" }))

/**
 * What an item does: `add` or `remove` an offer or an add-on, or `update` the quantity (seats) of
 * one the subscription holds (its current offer or an owned add-on), keeping its rate and price.
 */
export const ItemAction = Schema.Literal("add", "remove", "update")
export type ItemAction = typeof ItemAction.Type

/**
 * What is wrong with an item's shape, by the field at fault: an `update` gives the new quantity,
 * and names no rate (it keeps the one held).
 */
export const itemShapeProblem = (
  action: ItemAction,
  item: { readonly quantity?: number | undefined; readonly rateId?: string | undefined }
): Schema.FilterIssue | undefined =>
  action !== "update"
    ? undefined
    : item.quantity === undefined
    ? { path: ["quantity"], message: "an update gives the new quantity" }
    : item.rateId !== undefined
    ? { path: ["rateId"], message: "an update keeps the rate held; it takes no rateId" }
    : undefined

const orderItemFields = {
  action: ItemAction,
  type: ItemType,
  offerId: OfferId,
  /** For `add`, defaults to the quantity held (for the offer) or 1 (for an add-on); for `update`, the new quantity. */
  quantity: Schema.optional(Quantity),
  rateId: Schema.optional(RateId)
}

/** What the caller asks for: add or remove an offer or an add-on, or update the quantity of one held. */
export const OrderItem = Schema.Struct(orderItemFields).pipe(Schema.filter((item) => itemShapeProblem(item.action, item)))
export type OrderItem = typeof OrderItem.Type

/** An item as a caller may send it: without `type`, the catalog's kind of the offer decides. */
export const OrderItemRequest = Schema.Struct({ ...orderItemFields, type: Schema.optional(ItemType) }).pipe(
  Schema.filter((item) => itemShapeProblem(item.action, item))
)
export type OrderItemRequest = typeof OrderItemRequest.Type

/** The caller's items of one update; at most 100. */
export const OrderItems = Schema.Array(OrderItemRequest).pipe(
  Schema.maxItems(100, { message: () => "a basket holds at most 100 items" })
)

/**
 * Items a schema built from the same fields already checked (the HTTP contract's): the use case
 * takes them as they are instead of decoding them a second time.
 */
export class CheckedItems {
  constructor(readonly items: ReadonlyArray<OrderItemRequest>) {}
}

/** An item the engine generated, with its reason. */
export const SystemItem = Schema.Struct({
  action: Schema.Literal("add", "remove"),
  type: ItemType,
  offerId: OfferId,
  quantity: Schema.Int,
  reason: AutoReason
})
export type SystemItem = typeof SystemItem.Type

/** What the subscription holds now, as the basket shows it. */
export const CurrentOffer = Schema.Struct({
  offerId: OfferId,
  name: Schema.String,
  rateId: RateId,
  quantity: Schema.Int,
  unitPrice: Money.Money,
  interval: BillingPeriod.Interval
})
export type CurrentOffer = typeof CurrentOffer.Type

/** Tracking data stored with the basket. */
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"])
const MAX_TRACKING_DEPTH = 8
const MAX_TRACKING_BYTES = 8192

/** Why tracking data is refused: a key that could pollute prototypes, too deep, too large, or not JSON. */
const trackingProblem = (data: unknown): string | undefined => {
  const walk = (value: unknown, depth: number): string | undefined => {
    if (value === null || typeof value === "string" || typeof value === "boolean") return undefined
    if (typeof value === "number") return Number.isFinite(value) ? undefined : "numbers must be finite"
    if (typeof value !== "object") return "only JSON values are kept"
    if (depth > MAX_TRACKING_DEPTH) return `nested deeper than ${MAX_TRACKING_DEPTH} levels`
    for (const key of Object.keys(value)) {
      if (UNSAFE_KEYS.has(key)) return `the key ${key} is not allowed`
      const problem = walk((value as Record<string, unknown>)[key], depth + 1)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  return walk(data, 0) ?? (JSON.stringify(data).length > MAX_TRACKING_BYTES ? `larger than ${MAX_TRACKING_BYTES} bytes` : undefined)
}

/**
 * Free-form tracking data: JSON only, no prototype keys, at most 8 levels deep and 8 KiB. It is
 * checked as it arrives, before any object is built from it, so a `__proto__` key is refused
 * rather than silently turned into a prototype.
 */
export const TrackingData = Schema.compose(
  Schema.Unknown.pipe(Schema.filter((raw) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return "tracking data is a JSON object"
    const problem = trackingProblem(raw)
    return problem === undefined || `tracking data: ${problem}`
  })),
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  { strict: false }
).annotations({
  identifier: "TrackingData",
  arbitrary: () => (fc) =>
    fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })).filter((d) => trackingProblem(d) === undefined)
})

export const Tracking = Schema.Struct({
  data: Schema.optional(TrackingData),
  clientIp: Schema.optional(Schema.String.pipe(Schema.maxLength(256))),
  referer: Schema.optional(Schema.String.pipe(Schema.maxLength(2048)))
})
export type Tracking = typeof Tracking.Type

/** A basket. */
export const Basket = Schema.Struct({
  id: BasketId,
  subscriptionId: Schema.String,
  /** The subscription's human reference when the basket was last priced (absent on baskets stored before it was kept). */
  subscriptionName: Schema.optional(Schema.String),
  /** The subscription version the basket was last priced against; a commit needs it current. */
  subscriptionVersion: Schema.Int.pipe(Schema.nonNegative()),
  owner: PrincipalRef,
  createdAt: Instant.Instant,
  expiresAt: Instant.Instant,
  /** Starts at 1 and increments on every write. */
  version: Schema.Int.pipe(Schema.positive()),
  completed: Schema.Boolean,
  forSubscriptionOffer: CurrentOffer,
  items: Schema.Array(OrderItem),
  systemItems: Schema.Array(SystemItem),
  actions: Schema.Array(Action),
  nextActions: NextActions,
  quote: Quote,
  tracking: Tracking,
  amendmentId: Schema.optional(Schema.String)
})
export type Basket = typeof Basket.Type

/** When a basket created at `createdAt` expires. */
export const expiryOf = (createdAt: Instant.Instant): Instant.Instant =>
  Instant.fromEpochMillis(Instant.toEpochMillis(createdAt) + LIFETIME_DAYS * 86_400_000)

/** Whether the basket has expired at `now`. */
export const isExpired = (basket: Pick<Basket, "expiresAt">, now: Instant.Instant): boolean => now >= basket.expiresAt

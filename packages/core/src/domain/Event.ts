/**
 * The audit trail: every commit and every applied scheduled change writes an event in the same
 * transaction as the change itself (an outbox), so a reader never sees a change without its
 * event, nor an event for a change that did not happen.
 */
import * as Schema from "effect/Schema"
import { PendingChange } from "./Amendment.js"
import * as BillingPeriod from "./BillingPeriod.js"
import { Instant, toEpochMillis } from "./Instant.js"
import * as Money from "./Money.js"
import { PartnerOrgId } from "./Offer.js"
import * as Subscription from "./Subscription.js"

/** What happened. */
export const EventType = Schema.Literal(
  "amendment.committed",
  "subscription.changed",
  "subscription.price_migrated",
  "subscription.pending_change_withdrawn",
  "basket.expired",
  "subscription.imported",
  "catalog.published",
  "webhook.endpoint_disabled"
)
export type EventType = typeof EventType.Type

/**
 * Who made it happen: a customer, a partner organisation acting for a customer, an operator (an
 * API key: its id, and its name in `name`; never its secret), or the engine itself.
 */
export const Actor = Schema.Struct({
  kind: Schema.Literal("customer", "partner", "operator", "system"),
  id: Schema.String,
  name: Schema.optional(Schema.String)
})
export type Actor = typeof Actor.Type

/** What a subscription looked like before or after a change. */
export const SubscriptionState = Schema.Struct({
  status: Subscription.Status,
  offer: Subscription.Line,
  addOns: Schema.Array(Subscription.Line),
  currentPeriod: BillingPeriod.Period,
  pendingChange: Schema.optional(Schema.Struct({ amendmentId: Schema.String, effectiveDate: PendingChange.fields.effectiveDate })),
  version: Schema.Int
})
export type SubscriptionState = typeof SubscriptionState.Type

/** The amounts of a change. */
export const Amounts = Schema.Struct({
  dueNow: Money.Money,
  currentRecurring: Money.Money,
  nextRecurring: Money.Money
})
export type Amounts = typeof Amounts.Type

/**
 * An event, as written. Events about a subscription name it and its owner; the others
 * (`catalog.published`, `webhook.endpoint_disabled`) name what they are about instead.
 */
export const Event = Schema.Struct({
  id: Schema.String,
  type: EventType,
  occurredAt: Instant,
  subscriptionId: Schema.optional(Schema.String),
  /** The customer the change is for. */
  owner: Schema.optional(Schema.String),
  partnerOrg: Schema.optional(PartnerOrgId),
  actor: Actor,
  amendmentId: Schema.optional(Schema.String),
  basketId: Schema.optional(Schema.String),
  before: Schema.optional(SubscriptionState),
  after: Schema.optional(SubscriptionState),
  amounts: Schema.optional(Amounts),
  /** Why, in the actor's words, when they gave a reason; why the engine did it, for its own events. */
  reason: Schema.optional(Schema.String),
  /** The catalog version published (`catalog.published`). */
  catalogVersion: Schema.optional(Schema.Int),
  /** When the published catalog version takes effect (`catalog.published`). */
  effectiveFrom: Schema.optional(Instant),
  /** The webhook endpoint disabled (`webhook.endpoint_disabled`). */
  endpointId: Schema.optional(Schema.String)
})
export type Event = typeof Event.Type

/** An event as read back: with the position the store gave it, increasing in write order. */
export const StoredEvent = Schema.Struct({ ...Event.fields, sequence: Schema.Int.pipe(Schema.positive()) })
export type StoredEvent = typeof StoredEvent.Type

/** The state of a subscription an event records. */
export const stateOf = (subscription: Subscription.Subscription): SubscriptionState => ({
  status: subscription.status,
  offer: subscription.offer,
  addOns: subscription.addOns,
  currentPeriod: subscription.currentPeriod,
  ...(subscription.pendingChange === undefined
    ? {}
    : { pendingChange: { amendmentId: subscription.pendingChange.amendmentId, effectiveDate: subscription.pendingChange.effectiveDate } }),
  version: subscription.version
})

const about = (subscription: Subscription.Subscription) => ({
  subscriptionId: subscription.id,
  owner: subscription.owner,
  ...(subscription.partnerOrg === undefined ? {} : { partnerOrg: subscription.partnerOrg })
})

/** The event of a committed amendment. */
export const committed = (input: {
  readonly id: string
  readonly occurredAt: Instant
  readonly actor: Actor
  readonly before: Subscription.Subscription | undefined
  readonly after: Subscription.Subscription
  readonly amendmentId: string
  readonly basketId?: string | undefined
  readonly amounts: Amounts
}): Event => ({
  id: input.id,
  type: "amendment.committed",
  occurredAt: input.occurredAt,
  ...about(input.after),
  actor: input.actor,
  amendmentId: input.amendmentId,
  ...(input.basketId === undefined ? {} : { basketId: input.basketId }),
  ...(input.before === undefined ? {} : { before: stateOf(input.before) }),
  after: stateOf(input.after),
  amounts: input.amounts
})

/**
 * What an event about a subscription moving between two states without a charge says: the
 * pending change's amendment, both states, and the recurring amounts before and after.
 */
const transition = (before: Subscription.Subscription, after: Subscription.Subscription) => ({
  ...about(after),
  ...(before.pendingChange === undefined ? {} : { amendmentId: before.pendingChange.amendmentId }),
  before: stateOf(before),
  after: stateOf(after),
  amounts: {
    dueNow: Money.zero(after.currency),
    currentRecurring: Subscription.recurringAmount(before),
    nextRecurring: Subscription.recurringAmount(after)
  }
})

/** The event of a scheduled change (or a start) taking effect. */
export const changed = (input: {
  readonly id: string
  readonly occurredAt: Instant
  readonly before: Subscription.Subscription
  readonly after: Subscription.Subscription
}): Event => ({
  id: input.id,
  type: "subscription.changed",
  occurredAt: input.occurredAt,
  actor: { kind: "system", id: "scheduler" },
  ...transition(input.before, input.after)
})

/**
 * The event of a scheduled change taken back before its date: `before` holds the pending change,
 * `after` the subscription without it; nothing else differs between the two but the version.
 */
export const pendingChangeWithdrawn = (input: {
  readonly id: string
  readonly occurredAt: Instant
  readonly actor: Actor
  readonly before: Subscription.Subscription
  readonly after: Subscription.Subscription
  readonly reason?: string | undefined
}): Event => ({
  id: input.id,
  type: "subscription.pending_change_withdrawn",
  occurredAt: input.occurredAt,
  actor: input.actor,
  ...transition(input.before, input.after),
  ...(input.reason === undefined ? {} : { reason: input.reason })
})

/** The event of a catalog price migration moving a subscription's lines to the catalog's prices. */
export const priceMigrated = (input: {
  readonly id: string
  readonly occurredAt: Instant
  readonly before: Subscription.Subscription
  readonly after: Subscription.Subscription
}): Event => ({
  ...changed(input),
  type: "subscription.price_migrated",
  actor: { kind: "system", id: "price-migration" }
})

/** The event of a basket removed after its expiry; its id is derived from the basket's. */
export const basketExpired = (
  basket: { readonly id: string; readonly subscriptionId: string; readonly owner: { readonly kind: "customer" | "partner"; readonly id: string } },
  subscription: { readonly owner: string; readonly partnerOrg?: string | undefined } | undefined,
  occurredAt: Instant
): Event => ({
  id: `evt-expired-${basket.id}`,
  type: "basket.expired",
  occurredAt,
  subscriptionId: basket.subscriptionId,
  owner: subscription?.owner ?? (basket.owner.kind === "customer" ? basket.owner.id : ""),
  ...(subscription?.partnerOrg === undefined ? {} : { partnerOrg: subscription.partnerOrg }),
  actor: { kind: "system", id: "sweep" },
  basketId: basket.id
})

/** The event of a subscription created or replaced by an operator (a PUT or an import line). */
export const imported = (input: {
  readonly id: string
  readonly occurredAt: Instant
  readonly actor: Actor
  readonly reason?: string | undefined
  readonly before: Subscription.Subscription | undefined
  readonly after: Subscription.Subscription
}): Event => ({
  id: input.id,
  type: "subscription.imported",
  occurredAt: input.occurredAt,
  ...about(input.after),
  actor: input.actor,
  ...(input.before === undefined ? {} : { before: stateOf(input.before) }),
  after: stateOf(input.after),
  ...(input.reason === undefined ? {} : { reason: input.reason })
})

/** The event of a catalog version published; its id is derived from the version's number. */
export const catalogPublished = (input: {
  readonly version: number
  readonly effectiveFrom: Instant
  readonly occurredAt: Instant
  readonly actor: Actor
  readonly reason?: string | undefined
}): Event => ({
  id: `evt-catalog-published-${input.version}`,
  type: "catalog.published",
  occurredAt: input.occurredAt,
  actor: input.actor,
  catalogVersion: input.version,
  effectiveFrom: input.effectiveFrom,
  ...(input.reason === undefined ? {} : { reason: input.reason })
})

/**
 * The event of a webhook endpoint the delivery worker disabled (it answered 410 Gone, or failed
 * every delivery for days); its id is derived from the endpoint's and the instant.
 */
export const endpointDisabled = (input: { readonly endpointId: string; readonly reason: string; readonly occurredAt: Instant }): Event => ({
  id: `evt-endpoint-disabled-${input.endpointId}-${toEpochMillis(input.occurredAt)}`,
  type: "webhook.endpoint_disabled",
  occurredAt: input.occurredAt,
  actor: { kind: "system", id: "webhooks" },
  endpointId: input.endpointId,
  reason: input.reason
})

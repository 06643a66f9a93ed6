/**
 * The amend rules (the MonetizeNow-style amend API): given a bill group, its subscriptions and the
 * catalog entries a request names, all loaded up front, decide what the request does to each
 * subscription or which of the nine error codes refuses it. Pure: no services, no clock.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Action } from "../domain/Amendment.js"
import { lineAction, type When } from "./BasketRules.js"
import type { BillGroup } from "../domain/BillGroup.js"
import * as BillingPeriod from "../domain/BillingPeriod.js"
import * as CalendarDate from "../domain/CalendarDate.js"
import type { RateOfOffer } from "../ports/Catalog.js"
import { AmendRejected, SubscriptionLocked } from "../domain/Errors.js"
import { Id } from "../domain/Id.js"
import type { Instant } from "../domain/Instant.js"
import * as Offer from "../domain/Offer.js"
import type * as Principal from "../domain/Principal.js"
import * as Subscription from "../domain/Subscription.js"
import * as Quantities from "./Quantities.js"
import * as Timing from "./Timing.js"

/** A product (the subscription's offer or an add-on) and its quantity; 0 removes an add-on. */
export const ItemBody = Schema.Struct({
  productId: Id,
  quantity: Schema.optional(Schema.Int.pipe(Schema.between(0, 10_000)))
})

/** Timing is checked by the amend rules, so that a wrong constant gets its own error code. */
const TimingField = Schema.optional(Schema.Unknown)

/** The amend request. */
export const AmendRequest = Schema.Struct({
  billGroupId: Id,
  subscriptionUpdates: Schema.optional(
    Schema.Array(
      Schema.Struct({ subscriptionId: Id, timing: TimingField, rateId: Schema.optional(Id), items: Schema.optional(Schema.Array(ItemBody)) })
    ).pipe(Schema.maxItems(100))
  ),
  offerings: Schema.optional(
    Schema.Array(
      Schema.Struct({ offeringId: Id, rateId: Id, timing: TimingField, items: Schema.optional(Schema.Array(ItemBody)) })
    ).pipe(Schema.maxItems(100))
  ),
  subscriptionRemovals: Schema.optional(
    Schema.Array(Schema.Struct({ subscriptionId: Id, timing: TimingField })).pipe(Schema.maxItems(100))
  )
})
export type AmendRequest = typeof AmendRequest.Type

/** Everything the rules read, loaded before they run. */
export interface Context {
  readonly principal: Principal.Principal
  /** The bill group the request names, if it exists. */
  readonly billGroup: BillGroup | undefined
  /** The subscriptions on that bill group, as stored. */
  readonly members: ReadonlyArray<Subscription.Subscription>
  /** The held offers and add-ons of the members, the offerings and every product the items name. */
  readonly offers: ReadonlyMap<string, Offer.Offer>
  /** Every rate the request names, with the offer it belongs to. */
  readonly rates: ReadonlyMap<string, RateOfOffer>
  /** The instant a caught-up subscription is stamped with. */
  readonly now: Instant
}

/** A subscription the amendment changes or removes. */
export interface Change {
  readonly kind: "update" | "removal"
  /** As stored, before any scheduled change due by today was caught up. */
  readonly stored: Subscription.Subscription
  readonly before: Subscription.Subscription
  readonly actions: ReadonlyArray<Action>
  readonly effectiveDate: CalendarDate.CalendarDate
}

/** A subscription the amendment creates; the id and reference are given when it is written. */
export interface Creation {
  readonly kind: "creation"
  readonly draft: Omit<Subscription.Subscription, "id" | "name">
  readonly actions: ReadonlyArray<Action>
  readonly effectiveDate: CalendarDate.CalendarDate
}

/** What an accepted request does: updates, then removals, then creations. */
export interface Plan {
  readonly billGroup: BillGroup
  readonly steps: ReadonlyArray<Change | Creation>
}

/** Why the rules refuse a request. */
export type Refusal = AmendRejected | SubscriptionLocked

/** The ids of the subscriptions, offers, products and rates a request names: what to load. */
export const wanted = (request: AmendRequest) => {
  const updates = request.subscriptionUpdates ?? []
  const offerings = request.offerings ?? []
  const items = [...updates.flatMap((u) => u.items ?? []), ...offerings.flatMap((o) => o.items ?? [])]
  return {
    offerIds: new Set([...offerings.map((o) => o.offeringId), ...items.map((i) => i.productId)]),
    rateIds: new Set([...updates.flatMap((u) => u.rateId === undefined ? [] : [u.rateId]), ...offerings.map((o) => o.rateId)])
  }
}

const rejected = (errorCode: AmendRejected["errorCode"], details: string, context?: Record<string, unknown>) =>
  Either.left(new AmendRejected({ errorCode, details, ...(context === undefined ? {} : { context }) }))

/** The next date on the bill group's anchor day strictly after `today`. */
const nextAnchorDate = (billGroup: BillGroup, today: CalendarDate.CalendarDate): CalendarDate.CalendarDate => {
  const { month, year } = CalendarDate.toParts(today)
  const thisMonth = CalendarDate.fromParts(year, month, billGroup.anchorDay)
  return thisMonth > today ? thisMonth : CalendarDate.addMonths(thisMonth, 1, billGroup.anchorDay)
}

const rateChecked = (ctx: Context, billGroup: BillGroup, rateId: string, offerId: string, field: string) => {
  const found = ctx.rates.get(rateId)
  if (found === undefined) return rejected("INVALID_RATES", `${field}: no rate ${rateId}`, { field, rateId })
  const { offer, rate } = found
  if (offer.id !== offerId) {
    return rejected("INVALID_RATES", `${field}: rate ${rateId} belongs to offering ${offer.id}, not ${offerId}`, { field, rateId })
  }
  if (rate.accountId !== undefined && rate.accountId !== billGroup.accountId) {
    return rejected("ACCOUNT_RATE_MISMATCH", `${field}: rate ${rateId} belongs to another account`, { field, rateId })
  }
  if (rate.currency !== billGroup.currency) {
    return rejected("INVALID_RATES", `${field}: rate ${rateId} is in ${rate.currency}, the bill group bills in ${billGroup.currency}`, {
      field,
      rateId
    })
  }
  return Either.right(rate)
}

type Item = { readonly productId: string; readonly quantity?: number | undefined }

/** The add-on items of a request against an offer: each must be an add-on the offer accepts. */
const addOnItems = (ctx: Context, offer: Offer.Offer, items: ReadonlyArray<Item>, field: string) => {
  const wantedItems = items.filter((i) => i.productId !== offer.id)
  const products: Array<{ item: Item; product: Offer.Offer }> = []
  for (const [index, item] of wantedItems.entries()) {
    const product = ctx.offers.get(item.productId)
    if (product === undefined || product.kind !== "add_on" || !offer.addOns.includes(item.productId)) {
      return rejected("INVALID_OFFERINGS", `${field}[${index}]: ${item.productId} is not a product of offering ${offer.id}`, {
        field: `${field}[${index}].productId`,
        productId: item.productId
      })
    }
    products.push({ item, product })
  }
  return Either.right(products)
}

/**
 * Refuses the first action that leaves a line at a quantity its offer does not allow (the offer's
 * `minQuantity` / `maxQuantity`), naming the item that asked for it.
 */
const quantitiesChecked = (ctx: Context, actions: ReadonlyArray<Action>, items: ReadonlyArray<Item>, field: string) => {
  for (const action of actions) {
    const offer = action.kind === "add" || action.kind === "change_quantity" ? ctx.offers.get(action.offerId) : undefined
    const problem = offer === undefined ? undefined : Quantities.rangeProblem(offer, action.quantity)
    if (problem === undefined) continue
    const index = items.findIndex((i) => i.productId === action.offerId)
    const at = index < 0 ? `${field}.items` : `${field}.items[${index}].quantity`
    return rejected("INVALID_OFFERINGS", `${at}: ${problem}`, { field: at, productId: action.offerId, quantity: action.quantity })
  }
  return Either.void
}

const priceOf = (rate: Offer.Rate) => ({ amount: rate.amount, currency: rate.currency })
const nameOf = (ctx: Context, offerId: string) => ctx.offers.get(offerId)?.name ?? offerId

const planUpdate = (
  ctx: Context,
  billGroup: BillGroup,
  update: NonNullable<AmendRequest["subscriptionUpdates"]>[number],
  field: string,
  current: { stored: Subscription.Subscription; now: Subscription.Subscription },
  timing: Offer.Timing,
  today: CalendarDate.CalendarDate
): Either.Either<Change, AmendRejected> => {
  const subscription = current.now
  const offer = ctx.offers.get(subscription.offer.offerId)!
  const effectiveDate = Timing.effectiveDate(timing, today, Subscription.periodOn(subscription, today))
  const when: When = { timing, effectiveDate, prorate: timing === "TODAY" }
  const actions: Array<Action> = []
  let main: Subscription.Line = subscription.offer
  if (update.rateId !== undefined && update.rateId !== subscription.offer.rateId) {
    const rate = rateChecked(ctx, billGroup, update.rateId, offer.id, `${field}.rateId`)
    if (Either.isLeft(rate)) return Either.left(rate.left)
    if (!BillingPeriod.sameInterval(rate.right.interval, subscription.interval)) {
      return rejected("INVALID_RATES", `${field}.rateId: the billing frequency of a subscription cannot change`, {
        field: `${field}.rateId`,
        rateId: rate.right.id
      })
    }
    main = { ...main, rateId: rate.right.id, unitPrice: priceOf(rate.right) }
    actions.push(lineAction({ action: "change_rate", type: "offer", offerId: offer.id }, offer.name, main, when))
  }
  const items = update.items ?? []
  const mainItem = items.find((it) => it.productId === offer.id)
  if (mainItem !== undefined && mainItem.quantity !== undefined && mainItem.quantity !== main.quantity) {
    if (mainItem.quantity === 0) {
      return rejected("SUBSCRIPTION_UPDATE_FAILURE", `${field}: use subscriptionRemovals to end a subscription`, { field: `${field}.items` })
    }
    main = { ...main, quantity: mainItem.quantity }
    actions.push(lineAction({ action: "change_quantity", type: "offer", offerId: offer.id }, offer.name, main, when))
  }
  const products = addOnItems(ctx, offer, items, `${field}.items`)
  if (Either.isLeft(products)) return Either.left(products.left)
  for (const { item, product } of products.right) {
    const ref = (action: Action["kind"]) => ({ action, type: "add_on" as const, offerId: product.id })
    const owned = subscription.addOns.find((l) => l.offerId === item.productId)
    const quantity = item.quantity ?? (owned?.quantity ?? 1)
    if (owned === undefined) {
      if (quantity === 0) continue
      const rate = Offer.exactRate(product, subscription.currency, billGroup.accountId, subscription.interval)
      if (rate === undefined) {
        return rejected("INVALID_RATES", `${field}.items: ${product.id} has no rate for this subscription`, { productId: product.id })
      }
      actions.push(lineAction(ref("add"), product.name, { rateId: rate.id, quantity, unitPrice: priceOf(rate) }, when))
    } else if (quantity === 0) {
      actions.push(lineAction(ref("remove"), product.name, owned, when))
    } else if (quantity !== owned.quantity) {
      actions.push(lineAction(ref("change_quantity"), product.name, { ...owned, quantity }, when))
    }
  }
  const ranged = quantitiesChecked(ctx, actions, items, field)
  if (Either.isLeft(ranged)) return Either.left(ranged.left)
  return Either.right({ kind: "update", stored: current.stored, before: subscription, actions, effectiveDate })
}

const planRemoval = (
  ctx: Context,
  current: { stored: Subscription.Subscription; now: Subscription.Subscription },
  timing: Offer.Timing,
  today: CalendarDate.CalendarDate
): Change => {
  const subscription = current.now
  const effectiveDate = Timing.effectiveDate(timing, today, Subscription.periodOn(subscription, today))
  const when: When = { timing, effectiveDate, prorate: timing === "TODAY" }
  const remove = (type: Action["type"], line: Subscription.Line) =>
    lineAction({ action: "remove", type, offerId: line.offerId }, nameOf(ctx, line.offerId), line, when)
  const actions = [...subscription.addOns.map((l) => remove("add_on", l)), remove("offer", subscription.offer)]
  return { kind: "removal", stored: current.stored, before: subscription, actions, effectiveDate }
}

const planCreation = (
  ctx: Context,
  billGroup: BillGroup,
  creation: NonNullable<AmendRequest["offerings"]>[number],
  field: string,
  timing: Offer.Timing,
  today: CalendarDate.CalendarDate
): Either.Either<Creation, AmendRejected> => {
  const offer = ctx.offers.get(creation.offeringId)
  if (offer === undefined || offer.kind !== "subscription") {
    return rejected("INVALID_OFFERINGS", `${field}.offeringId: no offering ${creation.offeringId}`, {
      field: `${field}.offeringId`,
      offeringId: creation.offeringId
    })
  }
  const rate = rateChecked(ctx, billGroup, creation.rateId, offer.id, `${field}.rateId`)
  if (Either.isLeft(rate)) return Either.left(rate.left)
  const items = creation.items ?? []
  const start = timing === "TODAY" ? today : nextAnchorDate(billGroup, today)
  const anchorDay = timing === "TODAY" ? CalendarDate.toParts(today).day : billGroup.anchorDay
  const when: When = { timing, effectiveDate: start, prorate: false }
  const mainItem = items.find((it) => it.productId === offer.id)
  const main: Subscription.Line = {
    offerId: offer.id,
    rateId: rate.right.id,
    quantity: Math.max(1, mainItem?.quantity ?? 1),
    unitPrice: priceOf(rate.right)
  }
  const products = addOnItems(ctx, offer, items, `${field}.items`)
  if (Either.isLeft(products)) return Either.left(products.left)
  const actions = [lineAction({ action: "add", type: "offer", offerId: offer.id }, offer.name, main, when)]
  for (const { item, product } of products.right) {
    if (item.quantity === 0) continue
    const addOnRate = Offer.exactRate(product, rate.right.currency, billGroup.accountId, rate.right.interval)
    if (addOnRate === undefined) {
      return rejected("INVALID_RATES", `${field}.items: ${product.id} has no rate matching ${rate.right.id}`, { productId: product.id })
    }
    const line = { rateId: addOnRate.id, quantity: item.quantity ?? 1, unitPrice: priceOf(addOnRate) }
    actions.push(lineAction({ action: "add", type: "add_on", offerId: product.id }, product.name, line, when))
  }
  const ranged = quantitiesChecked(ctx, actions, items, field)
  if (Either.isLeft(ranged)) return Either.left(ranged.left)
  const draft: Creation["draft"] = {
    owner: billGroup.accountId,
    billGroupId: billGroup.id,
    status: "pending",
    currency: rate.right.currency,
    interval: rate.right.interval,
    anchorDay,
    offer: main,
    addOns: [],
    currentPeriod: BillingPeriod.startingOn(start, rate.right.interval, anchorDay),
    version: 0,
    updatedAt: ctx.now
  }
  return Either.right({ kind: "creation", draft, actions, effectiveDate: start })
}

/** Every timing first, so that a bad constant is reported before anything else of the actions. */
const timings = (request: AmendRequest) =>
  Either.all({
    updates: Either.all((request.subscriptionUpdates ?? []).map((u, i) =>
      Timing.validateAmendTiming("update", u.timing, `subscriptionUpdates[${i}].timing`)
    )),
    creations: Either.all((request.offerings ?? []).map((o, i) => Timing.validateAmendTiming("creation", o.timing, `offerings[${i}].timing`))),
    removals: Either.all((request.subscriptionRemovals ?? []).map((r, i) =>
      Timing.validateAmendTiming("removal", r.timing, `subscriptionRemovals[${i}].timing`)
    ))
  })

/** Decides what an amend request does, or why it is refused. */
export const plan = (ctx: Context, request: AmendRequest, today: CalendarDate.CalendarDate): Either.Either<Plan, Refusal> => {
  const { billGroup, principal } = ctx
  if (billGroup === undefined || principal._tag !== "Customer" || billGroup.accountId !== principal.customerId) {
    return rejected("INVALID_BILL_GROUP", `no bill group ${request.billGroupId}`, { billGroupId: request.billGroupId })
  }
  if (billGroup.contractStatus !== "ACTIVE") {
    return rejected("NO_ACTIVE_BILL_GROUP_CONTRACT", `bill group ${billGroup.id} has no active contract (${billGroup.contractStatus})`, {
      billGroupId: billGroup.id,
      contractStatus: billGroup.contractStatus
    })
  }
  const timed = timings(request)
  if (Either.isLeft(timed)) return Either.left(timed.left)

  const updates = request.subscriptionUpdates ?? []
  const removals = request.subscriptionRemovals ?? []
  const members = new Map(ctx.members.map((s) => [s.id, s] as const))
  const named = [...updates, ...removals].map((x) => x.subscriptionId)
  const strangers = named.filter((id) => !members.has(id))
  if (strangers.length > 0) {
    return rejected("INVALID_BILL_GROUP_SUBSCRIPTIONS", `not on bill group ${billGroup.id}: ${strangers.join(", ")}`, {
      subscriptionIds: strangers
    })
  }
  const twice = Array.from(new Set(named.filter((id, i) => named.indexOf(id) !== i)))
  if (twice.length > 0) {
    return rejected("INVALID_BILL_GROUP_SUBSCRIPTIONS", `each subscription may be named once per request: ${twice.join(", ")}`, {
      subscriptionIds: twice
    })
  }

  // Bring every named subscription up to today and refuse locked or inactive ones.
  const current = new Map<string, { stored: Subscription.Subscription; now: Subscription.Subscription }>()
  for (const id of named) {
    const stored = members.get(id)!
    const caughtUp = Subscription.catchUp(stored, today, ctx.now) ?? stored
    const lockedUntil = Subscription.lockedUntil(caughtUp, today)
    if (lockedUntil !== undefined) return Either.left(new SubscriptionLocked({ subscriptionId: id, pendingChangeDate: lockedUntil }))
    if (caughtUp.status !== "active") {
      return rejected("SUBSCRIPTION_UPDATE_FAILURE", `subscription ${id} is ${caughtUp.status}`, { subscriptionId: id, status: caughtUp.status })
    }
    current.set(id, { stored, now: caughtUp })
  }

  const steps: Array<Change | Creation> = []
  for (const [i, update] of updates.entries()) {
    const step = planUpdate(ctx, billGroup, update, `subscriptionUpdates[${i}]`, current.get(update.subscriptionId)!, timed.right.updates[i]!, today)
    if (Either.isLeft(step)) return Either.left(step.left)
    steps.push(step.right)
  }
  for (const [i, removal] of removals.entries()) {
    steps.push(planRemoval(ctx, current.get(removal.subscriptionId)!, timed.right.removals[i]!, today))
  }
  for (const [i, creation] of (request.offerings ?? []).entries()) {
    const step = planCreation(ctx, billGroup, creation, `offerings[${i}]`, timed.right.creations[i]!, today)
    if (Either.isLeft(step)) return Either.left(step.left)
    steps.push(step.right)
  }
  return Either.right({ billGroup, steps })
}

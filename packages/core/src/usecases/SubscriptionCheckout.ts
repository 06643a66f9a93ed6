/**
 * The subscription change checkout: initiate a basket on a subscription (by id or name), update
 * it, read it, and commit it as an amendment.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Amendment } from "../domain/Amendment.js"
import * as Basket from "../domain/Basket.js"
import { Baskets, type BasketWithSubscription } from "../ports/Baskets.js"
import * as BasketRules from "../rules/BasketRules.js"
import * as CalendarDate from "../domain/CalendarDate.js"
import { Catalog } from "../ports/Catalog.js"
import * as Eligibility from "../rules/Eligibility.js"
import {
  BasketCompleted,
  BasketExpired,
  BasketNotFound,
  BasketRejected,
  QuoteChanged,
  SubscriptionInactive,
  SubscriptionLocked,
  SubscriptionNotFound,
  VersionConflict
} from "../domain/Errors.js"
import * as Event from "../domain/Event.js"
import { Id } from "../domain/Id.js"
import { Ids } from "../ports/Ids.js"
import * as Input from "../domain/Input.js"
import type * as Instant from "../domain/Instant.js"
import { Pricing } from "../ports/Pricing.js"
import * as Principal from "../domain/Principal.js"
import * as Quote from "../domain/Quote.js"
import * as Subscription from "../domain/Subscription.js"
import { Subscriptions } from "../ports/Subscriptions.js"
import { catchUp } from "../internal/catchUp.js"
import * as Clock from "../internal/clock.js"

/** Which subscription a checkout is for: by id or by its human reference. */
export const SubscriptionRef = Schema.Union(
  Schema.Struct({ id: Id }),
  Schema.Struct({ name: Id })
)
export type SubscriptionRef = typeof SubscriptionRef.Type

/** What opening a basket takes. */
export const InitiateRequest = Schema.Struct({
  forSubscription: SubscriptionRef,
  tracking: Schema.optional(Basket.Tracking)
})
export type InitiateRequest = typeof InitiateRequest.Type

/** What a commit produced. */
export interface Committed {
  readonly basket: Basket.Basket
  readonly amendment: Amendment
  readonly subscription: Subscription.Subscription
}

/** Options of a write: the version the caller last saw (`If-Match`), if it sent one. */
export interface WriteOptions {
  readonly expectedVersion?: number | undefined
}

const decodeInitiate = Input.decode(InitiateRequest)
const decodeItems = Input.decode(Basket.OrderItems, "orderItems")

/** The subscription change checkout use cases. */
export class SubscriptionCheckout extends Effect.Service<SubscriptionCheckout>()("@subshift/core/SubscriptionCheckout", {
  effect: Effect.gen(function*() {
    const catalog = yield* Catalog
    const subscriptions = yield* Subscriptions
    const baskets = yield* Baskets
    const pricing = yield* Pricing
    const ids = yield* Ids
    const applyDue = catchUp(subscriptions, ids)

    const accessible = (principal: Principal.Principal, ref: SubscriptionRef) =>
    (found: Option.Option<Subscription.Subscription>) =>
      Option.isSome(found) && Principal.canAccess(principal, found.value)
        ? Effect.succeed(found.value)
        : Effect.fail(new SubscriptionNotFound({ subscription: "id" in ref ? ref.id : ref.name }))

    const findSubscription = (principal: Principal.Principal, ref: SubscriptionRef) =>
      Effect.flatMap(
        "id" in ref ? subscriptions.findById(ref.id) : subscriptions.findByName(ref.name),
        accessible(principal, ref)
      )

    /**
     * Reads a subscription brought up to today, and refuses one that is locked or not active.
     * `read` is the subscription as a read already made found it (with its basket), if one did.
     */
    const changeable = (
      principal: Principal.Principal,
      ref: SubscriptionRef,
      clock: { now: Instant.Instant; today: CalendarDate.CalendarDate },
      read?: Option.Option<Subscription.Subscription>
    ) =>
      Effect.gen(function*() {
        let subscription = yield* (read === undefined ? findSubscription(principal, ref) : accessible(principal, ref)(read))
        const caughtUp = yield* applyDue(subscription, clock).pipe(
          Effect.catchTag("VersionConflict", () => findSubscription(principal, ref))
        )
        if (caughtUp !== undefined) subscription = caughtUp
        const lockedUntil = Subscription.lockedUntil(subscription, clock.today)
        if (lockedUntil !== undefined) {
          return yield* new SubscriptionLocked({ subscriptionId: subscription.id, pendingChangeDate: lockedUntil })
        }
        if (subscription.status !== "active") {
          return yield* new SubscriptionInactive({ subscriptionId: subscription.id, status: subscription.status })
        }
        return subscription
      })

    /**
     * Loads every offer the rules may look at in one catalog read: the held offers and the ones the
     * items name, with their paths and add-ons (so the current offer's options and the add-ons of
     * any offer the items pick).
     */
    const rulesContext = (
      subscription: Subscription.Subscription,
      items: ReadonlyArray<{ readonly offerId: string }>,
      clock: { now: Instant.Instant; today: CalendarDate.CalendarDate }
    ) =>
      Effect.gen(function*() {
        const wanted = new Set<string>([subscription.offer.offerId])
        for (const line of subscription.addOns) wanted.add(line.offerId)
        for (const item of items) wanted.add(item.offerId)
        const offers = yield* catalog.getWithNeighbours(wanted)
        const current = offers.get(subscription.offer.offerId)
        if (current === undefined) {
          return yield* Effect.dieMessage(
            `subscription ${subscription.id} holds offer ${subscription.offer.offerId}, which is not in the catalog`
          )
        }
        const ctx: Eligibility.Context = {
          subscription,
          current,
          offers,
          now: clock.now,
          today: clock.today,
          period: Subscription.periodOn(subscription, clock.today),
          partner: subscription.partnerOrg
        }
        return ctx
      })

    const priced = (ctx: Eligibility.Context, items: ReadonlyArray<Basket.OrderItemRequest>) =>
      Effect.flatMap(BasketRules.update(ctx, items), (outcome) =>
        Effect.map(
          pricing.quote({ subscription: ctx.subscription, actions: outcome.actions, now: ctx.now, today: ctx.today }),
          (quote) => ({ outcome, quote })
        ))

    const currentOffer = (ctx: Eligibility.Context): Basket.CurrentOffer => ({
      offerId: ctx.current.id,
      name: ctx.current.name,
      rateId: ctx.subscription.offer.rateId,
      quantity: ctx.subscription.offer.quantity,
      unitPrice: ctx.subscription.offer.unitPrice,
      interval: ctx.subscription.interval
    })

    /** A basket of the caller's; someone else's is not found, an expired one is gone. */
    const ownedBasket = (principal: Principal.Principal, basketId: string, now: Instant.Instant) =>
    (found: Option.Option<Basket.Basket>): Effect.Effect<Basket.Basket, BasketNotFound | BasketExpired> =>
      Option.isNone(found) || !Principal.owns(principal, found.value.owner)
        ? Effect.fail(new BasketNotFound({ basketId }))
        : Basket.isExpired(found.value, now)
        ? Effect.fail(new BasketExpired({ basketId, expiredAt: found.value.expiresAt }))
        : Effect.succeed(found.value)

    const owned = (principal: Principal.Principal, basketId: string, now: Instant.Instant) =>
      Effect.flatMap(baskets.findById(basketId), ownedBasket(principal, basketId, now))

    /** A basket of the caller's that can still change, with its subscription, from what a read found. */
    const writableFrom = (principal: Principal.Principal, basketId: string, options: WriteOptions, now: Instant.Instant) =>
    (found: Option.Option<BasketWithSubscription>) =>
      Effect.flatMap(
        ownedBasket(principal, basketId, now)(Option.map(found, (f) => f.basket)),
        (basket): Effect.Effect<{ basket: Basket.Basket; subscription: Option.Option<Subscription.Subscription> }, BasketCompleted | VersionConflict> =>
          basket.completed
            ? Effect.fail(new BasketCompleted({ basketId }))
            : options.expectedVersion !== undefined && options.expectedVersion !== basket.version
            ? Effect.fail(
              new VersionConflict({ entity: "basket", id: basketId, expected: options.expectedVersion, actual: basket.version })
            )
            : Effect.succeed({ basket, subscription: Option.flatMap(found, (f) => f.subscription) })
      )

    /**
     * Reads a basket of the caller's that can still change, with its subscription in the same
     * read.
     */
    const writable = (principal: Principal.Principal, basketId: string, options: WriteOptions, now: Instant.Instant) =>
      Effect.flatMap(baskets.findWithSubscription(basketId), writableFrom(principal, basketId, options, now))

    // Bodies are untraced functions: `Effect.fn` would capture a call-site stack trace on every
    // call. `update` and `get` are the hot path and carry no span of their own (a host's request
    // span covers them); the rarer initiate and commit do.
    const initiate = Effect.fnUntraced(function*(request: InitiateRequest) {
      const { forSubscription, tracking } = yield* decodeInitiate(request)
      const principal = yield* Principal.CurrentPrincipal
      const clock = yield* Clock.now
      const subscription = yield* changeable(principal, forSubscription, clock)
      const ctx = yield* rulesContext(subscription, [], clock)
      const { outcome, quote } = yield* priced(ctx, [])
      const basket: Basket.Basket = {
        id: yield* ids.basketId,
        subscriptionId: subscription.id,
        subscriptionName: subscription.name,
        subscriptionVersion: subscription.version,
        owner: Principal.toRef(principal),
        createdAt: clock.now,
        expiresAt: Basket.expiryOf(clock.now),
        version: 1,
        completed: false,
        forSubscriptionOffer: currentOffer(ctx),
        items: [],
        systemItems: [],
        actions: [],
        nextActions: outcome.nextActions,
        quote,
        tracking: tracking ?? {}
      }
      yield* baskets.create(basket)
      return basket
    }, Effect.withSpan("SubscriptionCheckout.initiate"))

    /** Prices the items on a basket as `found` had it, and saves the result under its version. */
    const updateFrom = (
      principal: Principal.Principal,
      basketId: string,
      items: ReadonlyArray<Basket.OrderItemRequest>,
      options: WriteOptions,
      clock: { readonly now: Instant.Instant; readonly today: CalendarDate.CalendarDate },
      found: Option.Option<BasketWithSubscription>
    ) =>
      Effect.gen(function*() {
        const { basket, subscription: read } = yield* writableFrom(principal, basketId, options, clock.now)(found)
        const subscription = yield* changeable(principal, { id: basket.subscriptionId }, clock, read)
        const ctx = yield* rulesContext(subscription, items, clock)
        const { outcome, quote } = yield* priced(ctx, items)
        const next: Basket.Basket = {
          ...basket,
          version: basket.version + 1,
          subscriptionVersion: subscription.version,
          subscriptionName: subscription.name,
          forSubscriptionOffer: currentOffer(ctx),
          items: outcome.items,
          systemItems: outcome.systemItems,
          actions: outcome.actions,
          nextActions: outcome.nextActions,
          quote
        }
        yield* baskets.save(next, basket.version)
        return next
      })

    // The store may answer the basket as it last read or wrote it, with no round trip; the save
    // then confirms that nothing moved since. A refusal of such an attempt (a moved basket,
    // subscription or catalog, or any refusal that stale data could explain) is settled by doing
    // the update again from a fresh read; a store that is unavailable is not asked twice.
    const update = Effect.fnUntraced(
      function*(basketId: string, orderItems: ReadonlyArray<Basket.OrderItemRequest> | Basket.CheckedItems, options: WriteOptions = {}) {
        const items = orderItems instanceof Basket.CheckedItems ? orderItems.items : yield* decodeItems(orderItems)
        const principal = yield* Principal.CurrentPrincipal
        const clock = yield* Clock.now
        const recent = yield* baskets.findWithSubscription(basketId, { recent: true })
        const attempt = updateFrom(principal, basketId, items, options, clock, recent)
        if (!Option.exists(recent, (found) => found.unconfirmed === true)) return yield* attempt
        return yield* Effect.catchIf(
          attempt,
          (e) => e._tag !== "StoreUnavailable",
          () => Effect.flatMap(baskets.findWithSubscription(basketId), (fresh) => updateFrom(principal, basketId, items, options, clock, fresh))
        )
      }
    )

    const get = Effect.fnUntraced(function*(basketId: string) {
      const principal = yield* Principal.CurrentPrincipal
      const clock = yield* Clock.now
      const basket = yield* owned(principal, basketId, clock.now)
      if (basket.subscriptionName !== undefined) return basket
      // A basket stored before it kept the subscription's name: named from the subscription.
      const found = yield* subscriptions.findById(basket.subscriptionId)
      return Option.isSome(found) ? { ...basket, subscriptionName: found.value.name } : basket
    })

    const commit = Effect.fnUntraced(function*(basketId: string, options: WriteOptions = {}) {
      const principal = yield* Principal.CurrentPrincipal
      const clock = yield* Clock.now
      const { basket, subscription: read } = yield* writable(principal, basketId, options, clock.now)
      if (basket.items.length === 0) {
        return yield* new BasketRejected({ code: "nothing_to_commit", message: "the basket holds no change to commit" })
      }
      const subscription = yield* changeable(principal, { id: basket.subscriptionId }, clock, read)
      if (subscription.version !== basket.subscriptionVersion) {
        // The subscription changed since the basket was priced (another commit, a scheduled
        // change): charging now could differ from what the caller saw.
        return yield* new VersionConflict({
          entity: "subscription",
          id: subscription.id,
          expected: basket.subscriptionVersion,
          actual: subscription.version
        })
      }
      // Preview equals commit: the change is priced at the instant it was quoted, and must come
      // out exactly as quoted, or nothing is charged.
      const quoted = { now: basket.quote.pricedAt, today: CalendarDate.ofInstant(basket.quote.pricedAt) }
      const quotedPeriod = Subscription.periodOn(subscription, quoted.today)
      if (quotedPeriod.start !== Subscription.periodOn(subscription, clock.today).start) {
        return yield* new QuoteChanged({ basketId: basket.id, reason: "period_changed" })
      }
      const ctx = yield* rulesContext(subscription, basket.items, quoted)
      const { outcome, quote } = yield* priced(ctx, basket.items)
      if (!Quote.equivalent(quote, basket.quote)) {
        return yield* new QuoteChanged({ basketId: basket.id, reason: "catalog_changed" })
      }
      const amendment: Amendment = {
        id: yield* ids.amendmentId,
        subscriptionId: subscription.id,
        source: "checkout",
        basketId: basket.id,
        principal: Principal.toRef(principal),
        createdAt: clock.now,
        actions: outcome.actions,
        quote,
        interval: subscription.interval
      }
      const next = Subscription.commitActions(subscription, amendment.id, outcome.actions, clock.today, clock.now)
      const completed: Basket.Basket = {
        ...basket,
        version: basket.version + 1,
        completed: true,
        systemItems: outcome.systemItems,
        actions: outcome.actions,
        nextActions: outcome.nextActions,
        quote,
        amendmentId: amendment.id
      }
      const event = Event.committed({
        id: yield* ids.eventId,
        occurredAt: clock.now,
        actor: Principal.toRef(principal),
        before: subscription,
        after: next,
        amendmentId: amendment.id,
        basketId: basket.id,
        amounts: { dueNow: quote.dueNow, currentRecurring: quote.currentRecurring, nextRecurring: quote.nextRecurring }
      })
      yield* subscriptions.commit({
        amendments: [amendment],
        subscriptions: [{ next, expectedVersion: subscription.version }],
        basket: { next: completed, expectedVersion: basket.version },
        events: [event]
      })
      const committed: Committed = { basket: completed, amendment, subscription: next }
      return committed
    }, Effect.withSpan("SubscriptionCheckout.commit"))

    return { initiate, update, get, commit } as const
  })
}) {}

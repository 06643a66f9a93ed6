/**
 * Amendments across a bill group (the MonetizeNow-style amend API): update, create and remove
 * several subscriptions of one bill group at once, each action with its own timing, all or
 * nothing.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { Action, Amendment } from "./Amendment.js"
import type { BillGroup } from "./BillGroup.js"
import { BillGroups } from "./BillGroups.js"
import * as BillingPeriod from "./BillingPeriod.js"
import * as CalendarDate from "./CalendarDate.js"
import { Catalog } from "./Catalog.js"
import { AmendRejected, InvalidInput, SubscriptionLocked } from "./Errors.js"
import * as Event from "./Event.js"
import { Ids } from "./Ids.js"
import * as Input from "./Input.js"
import * as Money from "./Money.js"
import * as Offer from "./Offer.js"
import { Pricing } from "./Pricing.js"
import * as Principal from "./Principal.js"
import type { Quote } from "./Quote.js"
import * as Subscription from "./Subscription.js"
import { Subscriptions } from "./Subscriptions.js"
import * as Timing from "./Timing.js"
import * as Clock from "./internal/clock.js"

const Id = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))

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

/** A product line of a subscription after the amendment. */
export interface ItemResponse {
  readonly productId: string
  readonly quantity: number
  readonly amountPerPeriod: number
}

/** A subscription updated or created by the amendment. Amounts are integer minor units. */
export interface SubscriptionResponse {
  readonly subscriptionId: string
  readonly amendmentId: string
  readonly effectiveDate: string
  readonly amountPerPeriod: number
  readonly currency: string
  readonly rateId: string
  readonly billingFrequency: string
  readonly dueNow: number
  readonly items: ReadonlyArray<ItemResponse>
}

/** A subscription removed by the amendment. */
export interface RemovedSubscriptionResponse {
  readonly subscriptionId: string
  readonly amendmentId: string
  /** The first day without service. */
  readonly endDate: string
  readonly amountPerPeriod: number
  readonly currency: string
  readonly dueNow: number
}

/** What an amendment produced. */
export interface AmendResult {
  readonly billGroupId: string
  readonly subscriptionUpdates: ReadonlyArray<SubscriptionResponse>
  readonly subscriptionCreations: ReadonlyArray<SubscriptionResponse>
  readonly subscriptionRemovals: ReadonlyArray<RemovedSubscriptionResponse>
}

/** `MONTHLY`, `ANNUALLY`, `QUARTERLY`… for an interval. */
export const billingFrequency = (interval: BillingPeriod.Interval): string => {
  const { count, unit } = interval
  if (count === 1) return { day: "DAILY", week: "WEEKLY", month: "MONTHLY", year: "ANNUALLY" }[unit]
  if (unit === "month" && count === 3) return "QUARTERLY"
  if (unit === "month" && count === 6) return "SEMI_ANNUALLY"
  return `EVERY_${count}_${unit.toUpperCase()}S`
}

const decodeRequest = Input.decode(AmendRequest)

const rejected = (errorCode: AmendRejected["errorCode"], details: string, context?: Record<string, unknown>) =>
  new AmendRejected({ errorCode, details, ...(context === undefined ? {} : { context }) })

/** The next date on the bill group's anchor day strictly after `today`. */
const nextAnchorDate = (billGroup: BillGroup, today: string): string => {
  const { month, year } = CalendarDate.toParts(today)
  const thisMonth = CalendarDate.fromParts(year, month, billGroup.anchorDay)
  return thisMonth > today ? thisMonth : CalendarDate.addMonths(thisMonth, 1, billGroup.anchorDay)
}

/** The amend API use case. */
export class BillGroupAmendments extends Effect.Service<BillGroupAmendments>()("@subshift/core/BillGroupAmendments", {
  effect: Effect.gen(function*() {
    const billGroups = yield* BillGroups
    const subscriptions = yield* Subscriptions
    const catalog = yield* Catalog
    const pricing = yield* Pricing
    const ids = yield* Ids

    const rateChecked = (
      billGroup: BillGroup,
      rateId: string,
      offerId: string,
      field: string
    ) =>
      Effect.gen(function*() {
        const found = yield* catalog.findRate(rateId)
        if (Option.isNone(found)) return yield* rejected("INVALID_RATES", `${field}: no rate ${rateId}`, { field, rateId })
        const { offer, rate } = found.value
        if (offer.id !== offerId) {
          return yield* rejected("INVALID_RATES", `${field}: rate ${rateId} belongs to offering ${offer.id}, not ${offerId}`, {
            field,
            rateId
          })
        }
        if (rate.accountId !== undefined && rate.accountId !== billGroup.accountId) {
          return yield* rejected("ACCOUNT_RATE_MISMATCH", `${field}: rate ${rateId} belongs to another account`, {
            field,
            rateId
          })
        }
        if (rate.currency !== billGroup.currency) {
          return yield* rejected("INVALID_RATES", `${field}: rate ${rateId} is in ${rate.currency}, the bill group bills in ${billGroup.currency}`, {
            field,
            rateId
          })
        }
        return { offer, rate }
      })

    /** Resolves add-on items against an offer: quantities by product, 0 meaning removal. */
    const addOnItems = (
      offer: Offer.Offer,
      items: ReadonlyArray<{ readonly productId: string; readonly quantity?: number | undefined }>,
      field: string
    ) =>
      Effect.gen(function*() {
        const wanted = items.filter((i) => i.productId !== offer.id)
        const offers = yield* catalog.getMany(wanted.map((i) => i.productId))
        for (const [index, item] of wanted.entries()) {
          const product = offers.get(item.productId)
          if (product === undefined || product.kind !== "add_on" || !offer.addOns.includes(item.productId)) {
            return yield* rejected(
              "INVALID_OFFERINGS",
              `${field}[${index}]: ${item.productId} is not a product of offering ${offer.id}`,
              { field: `${field}[${index}].productId`, productId: item.productId }
            )
          }
        }
        return { offers, wanted }
      })

    const lineAction = (
      kind: Action["kind"],
      type: Action["type"],
      offer: Offer.Offer,
      line: { rateId: string; quantity: number; unitPrice: Money.Money },
      timing: Offer.Timing,
      effectiveDate: string,
      prorate: boolean
    ): Action => ({
      kind,
      type,
      offerId: offer.id,
      name: offer.name,
      rateId: line.rateId,
      quantity: line.quantity,
      unitPrice: line.unitPrice,
      timing,
      effectiveDate,
      prorate
    })

    const amend = Effect.fn("BillGroupAmendments.amend")(function*(input: AmendRequest) {
      const decoded = yield* decodeRequest(input)
      const request = {
        billGroupId: decoded.billGroupId,
        subscriptionUpdates: decoded.subscriptionUpdates ?? [],
        offerings: (decoded.offerings ?? []).map((o) => ({ ...o, items: o.items ?? [] })),
        subscriptionRemovals: decoded.subscriptionRemovals ?? []
      }
      const principal = yield* Principal.CurrentPrincipal
      const clock = yield* Clock.now
      const { today } = clock

      const total = request.subscriptionUpdates.length + request.offerings.length + request.subscriptionRemovals.length
      if (total === 0) {
        return yield* new InvalidInput({ field: "subscriptionUpdates", message: "the request changes nothing" })
      }

      const found = yield* billGroups.findById(request.billGroupId)
      if (
        Option.isNone(found) || principal._tag !== "Customer" || found.value.accountId !== principal.customerId
      ) {
        return yield* rejected("INVALID_BILL_GROUP", `no bill group ${request.billGroupId}`, {
          billGroupId: request.billGroupId
        })
      }
      const billGroup = found.value
      if (billGroup.contractStatus !== "ACTIVE") {
        return yield* rejected(
          "NO_ACTIVE_BILL_GROUP_CONTRACT",
          `bill group ${billGroup.id} has no active contract (${billGroup.contractStatus})`,
          { billGroupId: billGroup.id, contractStatus: billGroup.contractStatus }
        )
      }

      // Every timing first, so that a bad constant is reported before anything is looked up.
      const updateTimings = yield* Effect.all(
        request.subscriptionUpdates.map((u, i) => Timing.validateAmendTiming("update", u.timing, `subscriptionUpdates[${i}].timing`))
      )
      const creationTimings = yield* Effect.all(
        request.offerings.map((o, i) => Timing.validateAmendTiming("creation", o.timing, `offerings[${i}].timing`))
      )
      const removalTimings = yield* Effect.all(
        request.subscriptionRemovals.map((r, i) =>
          Timing.validateAmendTiming("removal", r.timing, `subscriptionRemovals[${i}].timing`)
        )
      )

      const members = new Map((yield* subscriptions.listByBillGroup(billGroup.id)).map((s) => [s.id, s] as const))
      const named = [...request.subscriptionUpdates, ...request.subscriptionRemovals].map((x) => x.subscriptionId)
      const strangers = named.filter((id) => !members.has(id))
      if (strangers.length > 0) {
        return yield* rejected(
          "INVALID_BILL_GROUP_SUBSCRIPTIONS",
          `not on bill group ${billGroup.id}: ${strangers.join(", ")}`,
          { subscriptionIds: strangers }
        )
      }
      const twice = named.filter((id, i) => named.indexOf(id) !== i)
      if (twice.length > 0) {
        return yield* rejected(
          "INVALID_BILL_GROUP_SUBSCRIPTIONS",
          `each subscription may be named once per request: ${Array.from(new Set(twice)).join(", ")}`,
          { subscriptionIds: Array.from(new Set(twice)) }
        )
      }

      // Bring every named subscription up to today and refuse locked or inactive ones.
      const current = new Map<string, { stored: Subscription.Subscription; now: Subscription.Subscription }>()
      for (const id of named) {
        const stored = members.get(id)!
        const caughtUp = Subscription.catchUp(stored, today, clock.now) ?? stored
        const lockedUntil = Subscription.lockedUntil(caughtUp, today)
        if (lockedUntil !== undefined) {
          return yield* new SubscriptionLocked({ subscriptionId: id, pendingChangeDate: lockedUntil })
        }
        if (caughtUp.status !== "active") {
          return yield* rejected("SUBSCRIPTION_UPDATE_FAILURE", `subscription ${id} is ${caughtUp.status}`, {
            subscriptionId: id,
            status: caughtUp.status
          })
        }
        current.set(id, { stored, now: caughtUp })
      }

      const offerIds = new Set<string>([
        ...Array.from(current.values(), (c) => c.now.offer.offerId),
        ...request.offerings.map((o) => o.offeringId)
      ])
      const offers = yield* catalog.getMany(offerIds)

      type Planned = {
        /** As stored, when a scheduled change was caught up before planning. */
        readonly stored?: Subscription.Subscription | undefined
        readonly before: Subscription.Subscription
        readonly expectedVersion: number | undefined
        readonly actions: ReadonlyArray<Action>
        readonly effectiveDate: string
        readonly kind: "update" | "creation" | "removal"
      }
      const planned: Array<Planned> = []

      for (const [i, update] of request.subscriptionUpdates.entries()) {
        const field = `subscriptionUpdates[${i}]`
        const { now: subscription, stored } = current.get(update.subscriptionId)!
        const offer = offers.get(subscription.offer.offerId)
        if (offer === undefined) {
          return yield* Effect.dieMessage(`subscription ${subscription.id} holds an offer missing from the catalog`)
        }
        const timing = updateTimings[i]!
        const period = Subscription.periodOn(subscription, today)
        const effectiveDate = Timing.effectiveDate(timing, today, period)
        const prorate = timing === "TODAY"
        const actions: Array<Action> = []
        let main = subscription.offer
        if (update.rateId !== undefined && update.rateId !== subscription.offer.rateId) {
          const { rate } = yield* rateChecked(billGroup, update.rateId, offer.id, `${field}.rateId`)
          if (!BillingPeriod.sameInterval(rate.interval, subscription.interval)) {
            return yield* rejected("INVALID_RATES", `${field}.rateId: the billing frequency of a subscription cannot change`, {
              field: `${field}.rateId`,
              rateId: rate.id
            })
          }
          main = { ...main, rateId: rate.id, unitPrice: { amount: rate.amount, currency: rate.currency } }
          actions.push(lineAction("change_rate", "offer", offer, main, timing, effectiveDate, prorate))
        }
        const items = update.items ?? []
        const mainItem = items.find((it) => it.productId === offer.id)
        if (mainItem !== undefined && mainItem.quantity !== undefined && mainItem.quantity !== main.quantity) {
          if (mainItem.quantity === 0) {
            return yield* rejected("SUBSCRIPTION_UPDATE_FAILURE", `${field}: use subscriptionRemovals to end a subscription`, {
              field: `${field}.items`
            })
          }
          main = { ...main, quantity: mainItem.quantity }
          actions.push(lineAction("change_quantity", "offer", offer, main, timing, effectiveDate, prorate))
        }
        const { offers: addOnOffers, wanted } = yield* addOnItems(offer, items, `${field}.items`)
        for (const item of wanted) {
          const product = addOnOffers.get(item.productId)!
          const owned = subscription.addOns.find((l) => l.offerId === item.productId)
          const quantity = item.quantity ?? (owned?.quantity ?? 1)
          if (owned === undefined) {
            if (quantity === 0) continue
            const rate = Offer.exactRate(product, subscription.currency, billGroup.accountId, subscription.interval)
            if (rate === undefined) {
              return yield* rejected("INVALID_RATES", `${field}.items: ${product.id} has no rate for this subscription`, {
                productId: product.id
              })
            }
            const line = { rateId: rate.id, quantity, unitPrice: { amount: rate.amount, currency: rate.currency } }
            actions.push(lineAction("add", "add_on", product, line, timing, effectiveDate, prorate))
          } else if (quantity === 0) {
            actions.push(lineAction("remove", "add_on", product, owned, timing, effectiveDate, prorate))
          } else if (quantity !== owned.quantity) {
            actions.push(lineAction("change_quantity", "add_on", product, { ...owned, quantity }, timing, effectiveDate, prorate))
          }
        }
        planned.push({ stored, before: subscription, expectedVersion: stored.version, actions, effectiveDate, kind: "update" })
      }

      for (const [i, removal] of request.subscriptionRemovals.entries()) {
        const { now: subscription, stored } = current.get(removal.subscriptionId)!
        const timing = removalTimings[i]!
        const period = Subscription.periodOn(subscription, today)
        const effectiveDate = Timing.effectiveDate(timing, today, period)
        const prorate = timing === "TODAY"
        const named = (offerId: string) => ({ id: offerId, name: offers.get(offerId)?.name ?? offerId }) as Offer.Offer
        const actions = [
          ...subscription.addOns.map((l) => lineAction("remove", "add_on", named(l.offerId), l, timing, effectiveDate, prorate)),
          lineAction("remove", "offer", named(subscription.offer.offerId), subscription.offer, timing, effectiveDate, prorate)
        ]
        planned.push({ stored, before: subscription, expectedVersion: stored.version, actions, effectiveDate, kind: "removal" })
      }

      for (const [i, creation] of request.offerings.entries()) {
        const field = `offerings[${i}]`
        const offer = offers.get(creation.offeringId)
        if (offer === undefined || offer.kind !== "subscription") {
          return yield* rejected("INVALID_OFFERINGS", `${field}.offeringId: no offering ${creation.offeringId}`, {
            field: `${field}.offeringId`,
            offeringId: creation.offeringId
          })
        }
        const { rate } = yield* rateChecked(billGroup, creation.rateId, offer.id, `${field}.rateId`)
        const timing = creationTimings[i]!
        const start = timing === "TODAY" ? today : nextAnchorDate(billGroup, today)
        const anchorDay = timing === "TODAY" ? CalendarDate.toParts(today).day : billGroup.anchorDay
        const mainItem = creation.items.find((it) => it.productId === offer.id)
        const main = {
          offerId: offer.id,
          rateId: rate.id,
          quantity: Math.max(1, mainItem?.quantity ?? 1),
          unitPrice: { amount: rate.amount, currency: rate.currency }
        }
        const { offers: addOnOffers, wanted } = yield* addOnItems(offer, creation.items, `${field}.items`)
        const addOns: Array<Subscription.Line> = []
        for (const item of wanted) {
          if (item.quantity === 0) continue
          const product = addOnOffers.get(item.productId)!
          const addOnRate = Offer.exactRate(product, rate.currency, billGroup.accountId, rate.interval)
          if (addOnRate === undefined) {
            return yield* rejected("INVALID_RATES", `${field}.items: ${product.id} has no rate matching ${rate.id}`, {
              productId: product.id
            })
          }
          addOns.push({
            offerId: product.id,
            rateId: addOnRate.id,
            quantity: item.quantity ?? 1,
            unitPrice: { amount: addOnRate.amount, currency: addOnRate.currency }
          })
        }
        const blank: Subscription.Subscription = {
          id: yield* ids.subscriptionId,
          name: yield* ids.reference,
          owner: billGroup.accountId,
          billGroupId: billGroup.id,
          status: "pending",
          currency: rate.currency,
          interval: rate.interval,
          anchorDay,
          offer: main,
          addOns: [],
          currentPeriod: BillingPeriod.startingOn(start, rate.interval, anchorDay),
          version: 0,
          updatedAt: clock.now
        }
        const actions = [
          lineAction("add", "offer", offer, main, timing, start, false),
          ...addOns.map((l) => lineAction("add", "add_on", addOnOffers.get(l.offerId)!, l, timing, start, false))
        ]
        planned.push({ before: blank, expectedVersion: undefined, actions, effectiveDate: start, kind: "creation" })
      }

      const results = yield* Effect.forEach(planned, (plan) =>
        Effect.gen(function*() {
          const quote: Quote = yield* pricing.quote({ subscription: plan.before, actions: plan.actions, now: clock.now, today })
          const amendment: Amendment = {
            id: yield* ids.amendmentId,
            subscriptionId: plan.before.id,
            source: "amend_api",
            billGroupId: billGroup.id,
            principal: Principal.toRef(principal),
            createdAt: clock.now,
            actions: plan.actions,
            quote,
            interval: plan.before.interval
          }
          const next = plan.kind === "creation"
            ? {
              ...Subscription.applyActions(plan.before, plan.actions),
              status: plan.effectiveDate <= today ? "active" as const : "pending" as const,
              version: 1
            }
            : Subscription.commitActions(plan.before, amendment.id, plan.actions, today, clock.now)
          const events: Array<Event.Event> = []
          if (plan.stored !== undefined && plan.stored !== plan.before) {
            events.push(Event.changed({ id: yield* ids.eventId, occurredAt: clock.now, before: plan.stored, after: plan.before }))
          }
          events.push(Event.committed({
            id: yield* ids.eventId,
            occurredAt: clock.now,
            actor: Principal.toRef(principal),
            before: plan.kind === "creation" ? undefined : plan.before,
            after: next,
            amendmentId: amendment.id,
            amounts: { dueNow: quote.dueNow, currentRecurring: quote.currentRecurring, nextRecurring: quote.nextRecurring }
          }))
          return { plan, quote, amendment, next, events }
        })
      )

      yield* subscriptions.commit({
        amendments: results.map((r) => r.amendment),
        subscriptions: results.map((r) => ({ next: r.next, expectedVersion: r.plan.expectedVersion })),
        events: results.flatMap((r) => r.events)
      }).pipe(
        Effect.catchTag("VersionConflict", (e) =>
          Effect.fail(
            rejected("AMENDMENT_FAILURE", "a subscription changed while the amendment was being made; nothing was applied, retry", {
              subscriptionId: e.id
            })
          ))
      )

      const response = (r: (typeof results)[number]): SubscriptionResponse => {
        const after = r.plan.kind === "creation" ? r.next : Subscription.applyActions(r.plan.before, r.plan.actions)
        return {
          subscriptionId: r.next.id,
          amendmentId: r.amendment.id,
          effectiveDate: r.plan.effectiveDate,
          amountPerPeriod: r.quote.nextRecurring.amount,
          currency: r.quote.currency,
          rateId: after.offer.rateId,
          billingFrequency: billingFrequency(after.interval),
          dueNow: r.quote.dueNow.amount,
          items: [after.offer, ...after.addOns].map((l) => ({
            productId: l.offerId,
            quantity: l.quantity,
            amountPerPeriod: Money.times(l.unitPrice, l.quantity).amount
          }))
        }
      }
      const result: AmendResult = {
        billGroupId: billGroup.id,
        subscriptionUpdates: results.filter((r) => r.plan.kind === "update").map(response),
        subscriptionCreations: results.filter((r) => r.plan.kind === "creation").map(response),
        subscriptionRemovals: results.filter((r) => r.plan.kind === "removal").map((r) => ({
          subscriptionId: r.next.id,
          amendmentId: r.amendment.id,
          endDate: r.plan.effectiveDate,
          amountPerPeriod: r.quote.currentRecurring.amount,
          currency: r.quote.currency,
          dueNow: r.quote.dueNow.amount
        }))
      }
      return result
    })

    return { amend } as const
  })
}) {}

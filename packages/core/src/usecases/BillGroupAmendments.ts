/**
 * Amendments across a bill group (the MonetizeNow-style amend API): update, create and remove
 * several subscriptions of one bill group at once, each action with its own timing, all or
 * nothing. The rules are `AmendRules.plan`; this service loads what they read, prices the plan,
 * writes the amendments and events, and commits them together.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Amendment } from "../domain/Amendment.js"
import * as AmendRules from "../rules/AmendRules.js"
import { BillGroups } from "../ports/BillGroups.js"
import type { CalendarDate } from "../domain/CalendarDate.js"
import { Catalog, type RateOfOffer } from "../ports/Catalog.js"
import { AmendRejected, InvalidInput } from "../domain/Errors.js"
import * as Event from "../domain/Event.js"
import { Ids } from "../ports/Ids.js"
import * as Input from "../domain/Input.js"
import type { Instant } from "../domain/Instant.js"
import { Pricing } from "../ports/Pricing.js"
import * as Principal from "../domain/Principal.js"
import * as Subscription from "../domain/Subscription.js"
import { Subscriptions } from "../ports/Subscriptions.js"
import * as Clock from "../internal/clock.js"

/** The amend request. */
export const AmendRequest = AmendRules.AmendRequest
export type AmendRequest = AmendRules.AmendRequest

/** One subscription the amendment touched. */
export interface Amended {
  /** The amendment, with its quote (`dueNow`, current and next recurring amounts). */
  readonly amendment: Amendment
  /** The subscription as it is once the amendment applies (for a removal: as it was). */
  readonly subscription: Subscription.Subscription
  /** When the change applies; for a removal, the first day without service. */
  readonly effectiveDate: CalendarDate
}

/** What an amendment produced, by kind, in request order. */
export interface AmendResult {
  readonly billGroupId: string
  readonly updates: ReadonlyArray<Amended>
  readonly creations: ReadonlyArray<Amended>
  readonly removals: ReadonlyArray<Amended>
}

const decodeRequest = Input.decode(AmendRequest)

/** The amend API use case. */
export class BillGroupAmendments extends Effect.Service<BillGroupAmendments>()("@subshift/core/BillGroupAmendments", {
  effect: Effect.gen(function*() {
    const billGroups = yield* BillGroups
    const subscriptions = yield* Subscriptions
    const catalog = yield* Catalog
    const pricing = yield* Pricing
    const ids = yield* Ids

    /** Reads, in one go, everything the rules may look at; nothing past the bill group when there is none. */
    const load = (request: AmendRequest, principal: Principal.Principal, now: Instant) =>
      Effect.gen(function*() {
        const billGroup = Option.getOrUndefined(yield* billGroups.findById(request.billGroupId))
        if (billGroup === undefined) {
          return { principal, billGroup, members: [], offers: new Map(), rates: new Map(), now } satisfies AmendRules.Context
        }
        const { offerIds, rateIds } = AmendRules.wanted(request)
        const [members, rates] = yield* Effect.all([
          subscriptions.listByBillGroup(billGroup.id),
          Effect.forEach(rateIds, (id) => Effect.map(catalog.findRate(id), (found) => [id, found] as const), { concurrency: "unbounded" })
        ], { concurrency: "unbounded" })
        for (const s of members) for (const line of [s.offer, ...s.addOns]) offerIds.add(line.offerId)
        const offers = yield* catalog.getMany(offerIds)
        const named = new Set([...request.subscriptionUpdates ?? [], ...request.subscriptionRemovals ?? []].map((x) => x.subscriptionId))
        const orphan = members.find((s) => named.has(s.id) && !offers.has(s.offer.offerId))
        if (orphan !== undefined) {
          return yield* Effect.dieMessage(`subscription ${orphan.id} holds an offer missing from the catalog`)
        }
        const found = new Map<string, RateOfOffer>()
        for (const [id, rate] of rates) if (Option.isSome(rate)) found.set(id, rate.value)
        return { principal, billGroup, members, offers, rates: found, now } satisfies AmendRules.Context
      })

    const amend = Effect.fn("BillGroupAmendments.amend")(function*(input: AmendRequest) {
      const request = yield* decodeRequest(input)
      const total = (request.subscriptionUpdates ?? []).length + (request.offerings ?? []).length +
        (request.subscriptionRemovals ?? []).length
      if (total === 0) {
        return yield* new InvalidInput({ field: "subscriptionUpdates", message: "the request changes nothing" })
      }
      const principal = yield* Principal.CurrentPrincipal
      const { now, today } = yield* Clock.now
      const context = yield* load(request, principal, now)
      const plan = yield* AmendRules.plan(context, request, today)
      const actor = Principal.toRef(principal)

      const written = yield* Effect.forEach(plan.steps, (step) =>
        Effect.gen(function*() {
          const before: Subscription.Subscription = step.kind === "creation"
            ? { ...step.draft, id: yield* ids.subscriptionId, name: yield* ids.reference }
            : step.before
          return { step, before }
        }))
      const results = yield* Effect.forEach(written, ({ before, step }) =>
        Effect.gen(function*() {
          const quote = yield* pricing.quote({ subscription: before, actions: step.actions, now, today })
          const amendment: Amendment = {
            id: yield* ids.amendmentId,
            subscriptionId: before.id,
            source: "amend_api",
            billGroupId: plan.billGroup.id,
            principal: actor,
            createdAt: now,
            actions: step.actions,
            quote,
            interval: before.interval
          }
          const next = step.kind === "creation"
            ? { ...Subscription.applyActions(before, step.actions), status: step.effectiveDate <= today ? "active" as const : "pending" as const, version: 1 }
            : Subscription.commitActions(before, amendment.id, step.actions, today, now)
          const events: Array<Event.Event> = []
          if (step.kind !== "creation" && step.stored !== step.before) {
            events.push(Event.changed({ id: yield* ids.eventId, occurredAt: now, before: step.stored, after: step.before }))
          }
          events.push(Event.committed({
            id: yield* ids.eventId,
            occurredAt: now,
            actor,
            before: step.kind === "creation" ? undefined : before,
            after: next,
            amendmentId: amendment.id,
            amounts: { dueNow: quote.dueNow, currentRecurring: quote.currentRecurring, nextRecurring: quote.nextRecurring }
          }))
          const amended: Amended = {
            amendment,
            subscription: step.kind === "update" ? Subscription.applyActions(before, step.actions) : step.kind === "creation" ? next : before,
            effectiveDate: step.effectiveDate
          }
          return { kind: step.kind, amended, next, expectedVersion: step.kind === "creation" ? undefined : step.stored.version, events }
        }))

      yield* subscriptions.commit({
        amendments: results.map((r) => r.amended.amendment),
        subscriptions: results.map((r) => ({ next: r.next, expectedVersion: r.expectedVersion })),
        events: results.flatMap((r) => r.events)
      }).pipe(
        Effect.catchTag("VersionConflict", (e) =>
          Effect.fail(
            new AmendRejected({
              errorCode: "AMENDMENT_FAILURE",
              details: "a subscription changed while the amendment was being made; nothing was applied, retry",
              context: { subscriptionId: e.id }
            })
          ))
      )

      const of = (kind: AmendRules.Change["kind"] | "creation") => results.filter((r) => r.kind === kind).map((r) => r.amended)
      const result: AmendResult = { billGroupId: plan.billGroup.id, updates: of("update"), creations: of("creation"), removals: of("removal") }
      return result
    })

    return { amend } as const
  })
}) {}

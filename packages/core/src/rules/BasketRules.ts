/**
 * Basket update semantics (DESIGN §3.2). An update replaces the caller's items entirely; the
 * engine then checks them, generates the removals they imply, resolves every action's rate,
 * timing and effective date, and recomputes the next actions. A refused update is a
 * `BasketRejected` and changes nothing.
 */
import * as Either from "effect/Either"
import type { Action, AutoReason } from "../domain/Amendment.js"
import type { OrderItem, OrderItemRequest, SystemItem } from "../domain/Basket.js"
import type { CalendarDate } from "../domain/CalendarDate.js"
import * as Eligibility from "./Eligibility.js"
import { BasketRejected } from "../domain/Errors.js"
import type * as Offer from "../domain/Offer.js"
import * as Quantities from "./Quantities.js"
import * as Timing from "./Timing.js"

/** The result of an accepted update. */
export interface Outcome {
  readonly items: ReadonlyArray<OrderItem>
  readonly systemItems: ReadonlyArray<SystemItem>
  /** Caller and system items resolved to actions, in the order they apply. */
  readonly actions: ReadonlyArray<Action>
  readonly nextActions: Eligibility.NextActions
  /** The offer the subscription ends on. */
  readonly resulting: Offer.Offer
}

const reject = (
  code: BasketRejected["code"],
  message: string,
  extra: { offerId?: string; reason?: Eligibility.Exclusion["reason"] } = {}
) => Either.left(new BasketRejected({ code, message, ...extra }))

/** When an action applies: its timing constant, its date, and whether the part-period is prorated. */
export interface When {
  readonly timing: Offer.Timing
  readonly effectiveDate: CalendarDate
  readonly prorate: boolean
}

/** One action on a line of a subscription, the shape shared by baskets and amendments. */
export const lineAction = (
  item: { action: Action["kind"]; type: Action["type"]; offerId: string },
  name: string,
  line: { rateId: string; quantity: number; unitPrice: { amount: number; currency: string } },
  when: When,
  auto?: AutoReason
): Action => ({
  kind: item.action,
  type: item.type,
  offerId: item.offerId,
  name,
  rateId: line.rateId,
  quantity: line.quantity,
  unitPrice: line.unitPrice,
  timing: when.timing,
  effectiveDate: when.effectiveDate,
  prorate: when.prorate,
  ...(auto === undefined ? {} : { auto })
})

const action = (
  item: { action: "add" | "remove"; type: "offer" | "add_on"; offerId: string },
  name: string,
  line: { rateId: string; quantity: number; unitPrice: { amount: number; currency: string } },
  policy: Offer.ChangePolicy,
  ctx: Eligibility.Context,
  auto?: AutoReason
): Action =>
  lineAction(item, name, line, {
    timing: policy.timing,
    effectiveDate: Timing.effectiveDate(policy.timing, ctx.today, ctx.period),
    prorate: Timing.isProrated(policy)
  }, auto)

const nameOf = (ctx: Eligibility.Context, offerId: string) => ctx.offers.get(offerId)?.name ?? offerId

/** The items with their type: one the caller left out is the catalog's kind of the offer (the context holds every offer named). */
export const typed = (ctx: Eligibility.Context, items: ReadonlyArray<OrderItemRequest>): ReadonlyArray<OrderItem> =>
  items.map((item) =>
    item.type !== undefined ? item as OrderItem : { ...item, type: ctx.offers.get(item.offerId)?.kind === "add_on" ? "add_on" : "offer" }
  )

/** Applies the caller's items to a basket on a subscription. */
export const update = (
  ctx: Eligibility.Context,
  requested: ReadonlyArray<OrderItemRequest>
): Either.Either<Outcome, BasketRejected> => {
  const { current, subscription } = ctx
  const items = typed(ctx, requested)
  const seen = new Set<string>()
  for (const item of items) {
    const key = `${item.type}:${item.offerId}`
    if (seen.has(key)) {
      return reject("duplicate_item", `${item.type} ${item.offerId} appears more than once`, { offerId: item.offerId })
    }
    seen.add(key)
  }

  const offerAdds = items.filter((i) => i.type === "offer" && i.action === "add")
  if (offerAdds.length > 1) {
    return reject("too_many_offer_adds", "a request may add at most one subscription offer")
  }
  const offerAdd = offerAdds[0]
  let resulting = current
  let newRate: Offer.Rate | undefined
  if (offerAdd !== undefined) {
    const reason = Eligibility.offerChangeRefusal(ctx, offerAdd.offerId, offerAdd.rateId)
    if (reason !== undefined) {
      return reject("offer_not_eligible", `offer ${offerAdd.offerId} is not available to this subscription (${reason})`, {
        offerId: offerAdd.offerId,
        reason
      })
    }
    resulting = ctx.offers.get(offerAdd.offerId)!
    newRate = Eligibility.rateOf(ctx, resulting, offerAdd.rateId) as Offer.Rate
    const outOfRange = Quantities.rangeRefusal(resulting, offerAdd.quantity ?? subscription.offer.quantity, items.indexOf(offerAdd))
    if (outOfRange !== undefined) return Either.left(outOfRange)
  }

  for (const [index, item] of items.entries()) {
    if (item.type === "offer" && item.action === "remove") {
      if (item.offerId !== current.id) {
        return reject("not_owned", `the subscription does not hold offer ${item.offerId}`, { offerId: item.offerId })
      }
      if (offerAdd === undefined) {
        return reject("offer_removal_needs_replacement", "removing the offer needs a new offer in the same request", {
          offerId: item.offerId
        })
      }
    }
    if (item.type === "add_on") {
      const known = ctx.offers.get(item.offerId)
      if (known !== undefined && known.kind !== "add_on") {
        return reject("wrong_item_type", `${item.offerId} is a subscription offer, not an add-on`, { offerId: item.offerId })
      }
      if (item.action === "remove" && !subscription.addOns.some((l) => l.offerId === item.offerId)) {
        return reject("not_owned", `the subscription does not hold add-on ${item.offerId}`, { offerId: item.offerId })
      }
      if (item.action === "add") {
        const reason = Eligibility.addOnRefusal(ctx, resulting, item.offerId, item.rateId)
        if (reason !== undefined) {
          return reject("add_on_not_eligible", `add-on ${item.offerId} cannot be added (${reason})`, {
            offerId: item.offerId,
            reason
          })
        }
        const outOfRange = Quantities.rangeRefusal(ctx.offers.get(item.offerId)!, item.quantity ?? 1, index)
        if (outOfRange !== undefined) return Either.left(outOfRange)
      }
    }
    if (item.action === "update") {
      const refusal = Quantities.updateRefusal(ctx, item, index, offerAdd !== undefined, resulting)
      if (refusal !== undefined) return Either.left(refusal)
    }
  }

  const actions: Array<Action> = []
  const systemItems: Array<SystemItem> = []
  const addSystem = (a: Action & { auto: AutoReason }) => {
    actions.push(a)
    systemItems.push({ action: a.kind as "add" | "remove", type: a.type, offerId: a.offerId, quantity: a.quantity, reason: a.auto })
  }

  let offerPolicy: Offer.ChangePolicy | undefined
  if (offerAdd !== undefined && newRate !== undefined) {
    offerPolicy = Timing.policyFor(current, resulting.id, Timing.directionOf(current, resulting.id)!)
    const held = subscription.offer
    const removal = { action: "remove" as const, type: "offer" as const, offerId: current.id }
    const callerRemoves = items.some((i) => i.type === "offer" && i.action === "remove")
    if (callerRemoves) {
      actions.push(action(removal, current.name, held, offerPolicy, ctx))
    } else {
      addSystem(
        action(removal, current.name, held, offerPolicy, ctx, {
          code: "replaced_by_new_offer",
          causedBy: resulting.id,
          message: `replaced by ${resulting.name}`
        }) as Action & { auto: AutoReason }
      )
    }
    actions.push(
      action(
        { action: "add", type: "offer", offerId: offerAdd.offerId },
        resulting.name,
        {
          rateId: newRate.id,
          quantity: offerAdd.quantity ?? held.quantity,
          unitPrice: { amount: newRate.amount, currency: newRate.currency }
        },
        offerPolicy,
        ctx
      )
    )
    for (const line of subscription.addOns) {
      if (resulting.addOns.includes(line.offerId)) continue
      if (items.some((i) => i.type === "add_on" && i.action === "remove" && i.offerId === line.offerId)) continue
      addSystem(
        action({ action: "remove", type: "add_on", offerId: line.offerId }, nameOf(ctx, line.offerId), line, offerPolicy, ctx, {
          code: "not_compatible_with_new_offer",
          causedBy: resulting.id,
          message: `not available on ${resulting.name}`
        }) as Action & { auto: AutoReason }
      )
    }
  }

  for (const item of items) {
    if (item.action === "update") {
      actions.push(Quantities.changeAction(ctx, item))
      continue
    }
    if (item.type !== "add_on") continue
    if (item.action === "remove") {
      const line = subscription.addOns.find((l) => l.offerId === item.offerId)!
      // An add-on the new offer does not accept goes when the old offer goes, as if generated.
      const policy = offerPolicy !== undefined && !resulting.addOns.includes(item.offerId) ? offerPolicy : Timing.addOnRemoveDefault
      actions.push(action({ action: "remove", type: "add_on", offerId: item.offerId }, nameOf(ctx, item.offerId), line, policy, ctx))
    } else {
      const offer = ctx.offers.get(item.offerId)!
      const rate = Eligibility.rateOf(ctx, offer, item.rateId) as Offer.Rate
      // An add-on only the new offer accepts starts when the new offer does.
      const policy = offerPolicy !== undefined && !current.addOns.includes(item.offerId) ? offerPolicy : Timing.addOnAddDefault
      actions.push(
        action(
          { action: "add", type: "add_on", offerId: item.offerId },
          offer.name,
          { rateId: rate.id, quantity: item.quantity ?? 1, unitPrice: { amount: rate.amount, currency: rate.currency } },
          policy,
          ctx
        )
      )
    }
  }

  const basketAddOns = new Set(items.filter((i) => i.type === "add_on" && i.action === "add").map((i) => i.offerId))
  return Either.right({
    items,
    systemItems,
    actions,
    nextActions: Eligibility.nextActions(ctx, resulting, basketAddOns),
    resulting
  })
}

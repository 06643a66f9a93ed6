import { describe, expect, it } from "@effect/vitest"
import * as BasketRules from "@subshift/core/rules/BasketRules"
import * as BillingPeriod from "@subshift/core/domain/BillingPeriod"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Eligibility from "@subshift/core/rules/Eligibility"
import * as Money from "@subshift/core/domain/Money"
import * as Pricing from "@subshift/core/ports/Pricing"
import * as Proration from "@subshift/core/rules/Proration"
import * as Subscription from "@subshift/core/domain/Subscription"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { Arbitraries } from "@subshift/testing"

const runs = { fastCheck: { numRuns: 400 } }

/** The rules' outcome for a scenario, when the update is accepted. */
const accepted = (s: Arbitraries.Scenario) => {
  const ctx = Arbitraries.contextOf(s)
  return { ctx, result: BasketRules.update(ctx, s.items) }
}

const quoteOf = (ctx: Eligibility.Context, outcome: BasketRules.Outcome) =>
  Pricing.price({ subscription: ctx.subscription, actions: outcome.actions, now: ctx.now, today: ctx.today })

describe("basket rule properties", () => {
  it.prop("an update applied twice gives the same basket", [Arbitraries.scenario], ([s]) => {
    const { ctx, result } = accepted(s)
    if (Either.isLeft(result)) return
    const again = BasketRules.update(ctx, result.right.items)
    expect(again).toEqual(result)
    expect(quoteOf(ctx, Either.getOrThrow(again))).toEqual(quoteOf(ctx, result.right))
  }, runs)

  it.prop("a rejected update names a rule and an offer, and is rejected again the same way", [Arbitraries.scenario], ([s]) => {
    const { ctx, result } = accepted(s)
    if (Either.isRight(result)) return
    expect(result.left._tag).toBe("BasketRejected")
    expect(BasketRules.update(ctx, s.items)).toEqual(result)
  }, runs)

  it.prop("the result never holds two offer adds", [Arbitraries.scenario], ([s]) => {
    const { result } = accepted(s)
    if (Either.isLeft(result)) return
    const adds = result.right.actions.filter((a) => a.type === "offer" && a.kind === "add")
    expect(adds.length).toBeLessThanOrEqual(1)
  }, runs)

  it.prop("after an offer change every remaining add-on is compatible with the new offer", [Arbitraries.scenario], ([s]) => {
    const { ctx, result } = accepted(s)
    if (Either.isLeft(result) || result.right.resulting.id === ctx.current.id) return
    const after = Subscription.applyActions(ctx.subscription, result.right.actions)
    expect(after.offer.offerId).toBe(result.right.resulting.id)
    for (const line of after.addOns) expect(result.right.resulting.addOns).toContain(line.offerId)
  }, runs)

  it.prop("crossSells never include an owned add-on nor one the basket already adds", [Arbitraries.scenario], ([s]) => {
    const { ctx, result } = accepted(s)
    if (Either.isLeft(result)) return
    const owned = new Set(ctx.subscription.addOns.map((l) => l.offerId))
    const added = new Set(result.right.items.filter((i) => i.type === "add_on" && i.action === "add").map((i) => i.offerId))
    for (const option of result.right.nextActions.crossSells) {
      expect(owned.has(option.offerId)).toBe(false)
      expect(added.has(option.offerId)).toBe(false)
    }
  }, runs)

  it.prop("the quote total equals the sum of its lines, and its charges plus its credits", [Arbitraries.scenario], ([s]) => {
    const { ctx, result } = accepted(s)
    if (Either.isLeft(result)) return
    const quote = quoteOf(ctx, result.right)
    expect(quote.dueNow).toEqual(Money.sum("USD", quote.lines.map((l) => l.amount)))
    expect(Money.add(quote.charges, quote.credits)).toEqual(quote.dueNow)
    expect(quote.credits.amount).toBeLessThanOrEqual(0)
    expect(quote.charges.amount).toBeGreaterThanOrEqual(0)
    expect(quote.nextRecurring).toEqual(Money.add(quote.currentRecurring, Money.sum("USD", quote.lines.map((l) => l.recurringDelta))))
  }, runs)

  it.prop("a credit never exceeds what was paid for the period", [Arbitraries.scenario], ([s]) => {
    const { ctx, result } = accepted(s)
    if (Either.isLeft(result)) return
    const quote = quoteOf(ctx, result.right)
    for (const line of quote.lines) {
      if (line.amount.amount >= 0) continue
      const held = line.type === "offer" ? ctx.subscription.offer : ctx.subscription.addOns.find((l) => l.offerId === line.offerId)!
      expect(-line.amount.amount).toBeLessThanOrEqual(held.unitPrice.amount * held.quantity)
    }
  }, runs)

  it.prop("no effective date precedes today", [Arbitraries.scenario], ([s]) => {
    const { ctx, result } = accepted(s)
    if (Either.isLeft(result)) return
    for (const action of result.right.actions) expect(action.effectiveDate >= ctx.today).toBe(true)
    for (const option of [...result.right.nextActions.upgrades, ...result.right.nextActions.downgrades, ...result.right.nextActions.crossSells]) {
      expect(option.effectiveDate >= ctx.today).toBe(true)
    }
  }, runs)

  it.prop("eligibility never offers the current offer, nor an offer it excludes", [Arbitraries.scenario], ([s]) => {
    const ctx = Arbitraries.contextOf(s)
    const next = Eligibility.nextActions(ctx, ctx.current, new Set())
    const offered = [...next.upgrades, ...next.downgrades].map((o) => o.offerId)
    expect(offered).not.toContain(ctx.current.id)
    const excluded = new Set(next.excluded.map((e) => e.offerId))
    for (const id of offered) expect(excluded.has(id)).toBe(false)
  }, runs)

  it.prop("every upgrade or downgrade offered is accepted when picked, with its advertised timing", [Arbitraries.scenario], ([s]) => {
    const ctx = Arbitraries.contextOf(s)
    const next = Eligibility.nextActions(ctx, ctx.current, new Set())
    for (const option of [...next.upgrades, ...next.downgrades]) {
      // The seats held carry over unless the option's range leaves them out; then one it allows is picked.
      const held = ctx.subscription.offer.quantity
      const quantity = Math.min(Math.max(held, option.minQuantity ?? 1), option.maxQuantity ?? Number.MAX_SAFE_INTEGER)
      const outcome = BasketRules.update(ctx, [{
        action: "add",
        type: "offer",
        offerId: option.offerId,
        ...(quantity === held ? {} : { quantity })
      }])
      expect(Either.isRight(outcome)).toBe(true)
      const add = Either.getOrThrow(outcome).actions.find((a) => a.kind === "add" && a.type === "offer")!
      expect([add.timing, add.effectiveDate, add.prorate]).toEqual([option.timing, option.effectiveDate, option.prorate])
    }
  }, runs)

  it.prop("an offer change removes the current offer, and every generated item carries its reason", [Arbitraries.scenario], ([s]) => {
    const { ctx, result } = accepted(s)
    if (Either.isLeft(result)) return
    const changes = result.right.resulting.id !== ctx.current.id
    const removesCurrent = result.right.actions.some((a) => a.type === "offer" && a.kind === "remove" && a.offerId === ctx.current.id)
    expect(removesCurrent).toBe(changes)
    for (const item of result.right.systemItems) expect(item.reason.message.length).toBeGreaterThan(0)
  }, runs)

  it.prop("pricing and applying the actions agree on the next recurring amount", [Arbitraries.scenario], ([s]) => {
    const { ctx, result } = accepted(s)
    if (Either.isLeft(result)) return
    const after = Subscription.applyActions(ctx.subscription, result.right.actions)
    expect(quoteOf(ctx, result.right).nextRecurring).toEqual(Subscription.recurringAmount(after))
  }, runs)

  it.prop(
    "a prorated share is never negative and never more than the whole",
    [
      Arbitraries.amount,
      Arbitraries.calendarDate,
      FastCheck.integer({ min: 1, max: 31 }),
      FastCheck.integer({ min: -40, max: 400 }),
      FastCheck.constantFrom("actual-days" as const, "30/360" as const)
    ],
    ([amount, start, anchorDay, offset, convention]) => {
      const period = BillingPeriod.startingOn(start, { count: 1, unit: "month" }, anchorDay)
      const share = Proration.apply(
        { amount, currency: "USD" },
        Proration.remaining(convention, period, CalendarDate.addDays(start, offset))
      )
      expect(share.amount).toBeGreaterThanOrEqual(0)
      expect(share.amount).toBeLessThanOrEqual(amount)
    },
    runs
  )
})

import { describe, expect, it } from "@effect/vitest"
import type { OrderItem } from "@subshift/core/domain/Basket"
import * as Money from "@subshift/core/domain/Money"
import * as Offer from "@subshift/core/domain/Offer"
import * as Subscription from "@subshift/core/domain/Subscription"
import * as Pricing from "@subshift/core/ports/Pricing"
import * as BasketRules from "@subshift/core/rules/BasketRules"
import type * as Eligibility from "@subshift/core/rules/Eligibility"
import * as Proration from "@subshift/core/rules/Proration"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { Arbitraries } from "@subshift/testing"

const runs = { fastCheck: { numRuns: 400 } }

const heldLines = (subscription: Subscription.Subscription) => [
  { type: "offer" as const, line: subscription.offer },
  ...subscription.addOns.map((line) => ({ type: "add_on" as const, line }))
]

/** A quantity the line's offer allows, other than the one held, picked from `seed`; none when the range holds only that one. */
const newQuantity = (ctx: Eligibility.Context, line: Subscription.Line, seed: number): number | undefined => {
  const { max, min } = Offer.quantityRange(ctx.offers.get(line.offerId)!)
  const top = Math.min(max, line.quantity + 40)
  const choices = top - min + 1 - (line.quantity >= min && line.quantity <= top ? 1 : 0)
  if (choices <= 0) return undefined
  let q = min + (seed % choices)
  if (line.quantity >= min && q >= line.quantity) q++
  return q
}

/** A scenario whose items are only quantity updates of some of its held lines, each within its offer's range. */
const seatChange = FastCheck.tuple(Arbitraries.scenario, FastCheck.array(FastCheck.nat(), { minLength: 1, maxLength: 6 })).map(([s, seeds]) => {
  const ctx = Arbitraries.contextOf(s)
  const items: Array<OrderItem> = []
  heldLines(s.subscription).forEach(({ line, type }, i) => {
    const seed = seeds[i % seeds.length]!
    if (seed % 3 === 0) return
    const quantity = newQuantity(ctx, line, seed)
    if (quantity !== undefined) items.push({ action: "update", type, offerId: line.offerId, quantity })
  })
  return { ctx, items }
})

const quoteOf = (ctx: Eligibility.Context, subscription: Subscription.Subscription, outcome: BasketRules.Outcome) =>
  Pricing.price({ subscription, actions: outcome.actions, now: ctx.now, today: ctx.today }, ctx.current.id.length % 2 === 0 ? "actual-days" : "30/360")

describe("seat change properties", () => {
  it.prop("a quantity change is accepted within the range and never alters another line", [seatChange], ([{ ctx, items }]) => {
    const result = BasketRules.update(ctx, items)
    expect(Either.isRight(result)).toBe(true)
    const outcome = Either.getOrThrow(result)
    expect(outcome.systemItems).toEqual([])
    expect(outcome.resulting).toBe(ctx.current)
    const after = Subscription.applyActions(ctx.subscription, outcome.actions)
    const changed = new Map(items.map((i) => [`${i.type}:${i.offerId}`, i.quantity!]))
    for (const [before, now] of [[ctx.subscription.offer, after.offer], ...ctx.subscription.addOns.map((l, i) => [l, after.addOns[i]!] as const)] as const) {
      const type = before === ctx.subscription.offer ? "offer" : "add_on"
      const wanted = changed.get(`${type}:${before.offerId}`)
      expect(now).toEqual(wanted === undefined ? before : { ...before, quantity: wanted })
    }
    expect(after.addOns.length).toBe(ctx.subscription.addOns.length)
    expect([after.status, after.currentPeriod, after.currency]).toEqual([ctx.subscription.status, ctx.subscription.currentPeriod, ctx.subscription.currency])
    const quote = quoteOf(ctx, ctx.subscription, outcome)
    expect(quote.lines.map((l) => `${l.type}:${l.offerId}`)).toEqual(items.map((i) => `${i.type}:${i.offerId}`))
    for (const line of quote.lines) expect(line.quantity?.after).toBe(changed.get(`${line.type}:${line.offerId}`))
  }, runs)

  it.prop(
    "+n seats then −n within one day nets to zero on the quotes, without rounding drift",
    [Arbitraries.scenario, FastCheck.nat(), FastCheck.integer({ min: 1, max: 60 }), FastCheck.constantFrom("actual-days" as const, "30/360" as const)],
    ([s, pick, n, convention]) => {
      // Both directions today and prorated, whatever the scenario's catalog says.
      const today = { timing: "TODAY", prorate: true } as const
      const offers = s.offers.map((o): Offer.Offer => ({
        ...o,
        minQuantity: undefined,
        maxQuantity: undefined,
        changePolicy: { ...o.changePolicy, quantityIncrease: today, quantityDecrease: today }
      }))
      const ctx = Arbitraries.contextOf({ ...s, offers })
      const lines = heldLines(ctx.subscription)
      const { line, type } = lines[pick % lines.length]!
      const price = (subscription: Subscription.Subscription, quantity: number) => {
        const c = { ...ctx, subscription }
        const outcome = Either.getOrThrow(BasketRules.update(c, [{ action: "update", type, offerId: line.offerId, quantity }]))
        return { outcome, quote: Pricing.price({ subscription, actions: outcome.actions, now: ctx.now, today: ctx.today }, convention) }
      }
      const up = price(ctx.subscription, line.quantity + n)
      const raised = Subscription.commitActions(ctx.subscription, "amendment-up", up.outcome.actions, ctx.today, ctx.now)
      const down = price(raised, line.quantity)
      expect(up.quote.dueNow.amount + down.quote.dueNow.amount).toBe(0)
      expect(down.quote.lines[0]!.amount).toEqual(Money.negate(up.quote.lines[0]!.amount))
      expect(down.quote.nextRecurring).toEqual(up.quote.currentRecurring)
      const back = Subscription.commitActions(raised, "amendment-down", down.outcome.actions, ctx.today, ctx.now)
      expect([back.offer, back.addOns]).toEqual([ctx.subscription.offer, ctx.subscription.addOns])
    },
    runs
  )

  it.prop("the credit for fewer seats never exceeds what was paid for the days left", [seatChange], ([{ ctx, items }]) => {
    const outcome = Either.getOrThrow(BasketRules.update(ctx, items))
    const quote = quoteOf(ctx, ctx.subscription, outcome)
    for (const line of quote.lines) {
      const held = heldLines(ctx.subscription).find((h) => h.type === line.type && h.line.offerId === line.offerId)!.line
      const paid = Money.times(held.unitPrice, held.quantity)
      if (line.quantity!.after < line.quantity!.before) {
        expect(line.amount.amount).toBeLessThanOrEqual(0)
        const paidForDaysLeft = line.proration === undefined ? 0 : Proration.apply(paid, line.proration).amount
        expect(-line.amount.amount).toBeLessThanOrEqual(paidForDaysLeft)
      } else {
        expect(line.amount.amount).toBeGreaterThanOrEqual(0)
      }
      expect(-line.amount.amount).toBeLessThanOrEqual(paid.amount)
    }
  }, runs)
})

import { describe, expect, it } from "@effect/vitest"
import * as BasketRules from "@subshift/core/rules/BasketRules"
import * as Money from "@subshift/core/domain/Money"
import * as Pricing from "@subshift/core/ports/Pricing"
import { Arbitraries } from "@subshift/testing"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { applyLoyaltyCredit, defaultPolicy } from "../src/LoyaltyCredit.js"

/** Quotes of real basket updates, generated from whole scenarios. */
const quotes = Arbitraries.scenario.map((s) => {
  const ctx = Arbitraries.contextOf(s)
  const outcome = BasketRules.update(ctx, s.items)
  return Either.isRight(outcome)
    ? Pricing.price({ subscription: ctx.subscription, actions: outcome.right.actions, now: ctx.now, today: ctx.today })
    : Pricing.price({ subscription: ctx.subscription, actions: [], now: ctx.now, today: ctx.today })
})

const months = FastCheck.integer({ min: 0, max: 120 })

describe("loyalty credit", () => {
  it.prop("the quote total still equals the sum of its lines", [quotes, months], ([quote, m]) => {
    const credited = applyLoyaltyCredit(quote, m)
    expect(credited.dueNow).toEqual(Money.sum(credited.currency, credited.lines.map((l) => l.amount)))
  })

  it.prop("the credit is never more than the cap nor more than what is charged", [quotes, months], ([quote, m]) => {
    const credited = applyLoyaltyCredit(quote, m)
    const credit = quote.dueNow.amount - credited.dueNow.amount
    const charged = quote.lines.filter((l) => l.amount.amount > 0).reduce((n, l) => n + l.amount.amount, 0)
    expect(credit).toBeGreaterThanOrEqual(0)
    expect(credit).toBeLessThanOrEqual(Math.min(defaultPolicy.cap, charged))
  })

  it.prop("the next recurring amount never changes", [quotes, months], ([quote, m]) => {
    expect(applyLoyaltyCredit(quote, m).nextRecurring).toEqual(quote.nextRecurring)
  })

  it.prop("new subscribers get nothing", [quotes, FastCheck.integer({ min: 0, max: 11 })], ([quote, m]) => {
    expect(applyLoyaltyCredit(quote, m)).toEqual(quote)
  })
})

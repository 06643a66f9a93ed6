import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { program, render } from "../src/program.js"

describe("examples/embed", () => {
  it.effect("upgrades Starter to Team with single sign-on mid-June and commits the priced change", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2025-06-16T09:00:00Z"))
      const { committed, picked } = yield* program
      // 15 of 30 June days left: credit 5.00 for Starter, charge 10.00 for Team and 4.00 for SSO.
      expect(picked.quote.lines.map((l) => l.amount.amount)).toEqual([-500, 1000, 400])
      expect(picked.quote.dueNow).toEqual({ amount: 900, currency: "EUR" })
      expect(picked.quote.nextRecurring).toEqual({ amount: 2800, currency: "EUR" })
      expect(render(picked.quote)).toContain("      EUR 9.00  due now")
      expect(committed.subscription.offer.offerId).toBe("team")
      expect(committed.subscription.addOns.map((l) => l.offerId)).toEqual(["sso"])
      expect(committed.basket.completed).toBe(true)
    }))
})

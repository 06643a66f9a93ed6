import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { render } from "../src/program.js"
import { seatProgram } from "../src/seats.js"

describe("examples/embed: a seat change", () => {
  it.effect("5 → 8 seats on Team mid-June charges 3 seats for 15 of 30 days and applies them today", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2025-06-16T09:00:00Z"))
      const { committed, priced, seats } = yield* seatProgram
      expect([seats.offerId, seats.quantity, seats.minQuantity, seats.maxQuantity, seats.increase.timing, seats.decrease.effectiveDate]).toEqual([
        "team", 5, 1, 10_000, "TODAY", "2025-07-01"
      ])
      // 3 seats × EUR 20.00 × 15/30 days.
      expect(priced.quote.lines.map((l) => [l.kind, l.amount.amount, l.quantity])).toEqual([["change_quantity", 3000, { before: 5, after: 8 }]])
      expect(render(priced.quote)).toEqual([
        "     EUR 30.00  Team quantity 5 → 8 from 2025-06-16 (15 of 30 days)",
        "     EUR 30.00  due now",
        "    EUR 160.00  from 2025-07-01, every month"
      ])
      expect([committed.subscription.offer.quantity, committed.subscription.pendingChange]).toEqual([8, undefined])
    }))
})

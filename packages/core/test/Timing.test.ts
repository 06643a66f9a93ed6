import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import { AmendRejected } from "@subshift/core/domain/Errors"
import type { Offer } from "@subshift/core/domain/Offer"
import * as Timing from "@subshift/core/rules/Timing"
import { Fixtures } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"

const period = { start: CalendarDate.make("2025-03-01"), end: CalendarDate.make("2025-04-01") }

describe("Timing.validateAmendTiming", () => {
  const matrix: ReadonlyArray<readonly [Timing.AmendActionKind, unknown, boolean]> = [
    ["update", "TODAY", true],
    ["update", "NEXT_PERIOD_START", true],
    ["update", "CURRENT_PERIOD_END", false],
    ["creation", "TODAY", true],
    ["creation", "NEXT_PERIOD_START", true],
    ["creation", "CURRENT_PERIOD_END", false],
    ["removal", "TODAY", true],
    ["removal", "CURRENT_PERIOD_END", true],
    ["removal", "NEXT_PERIOD_START", false]
  ]

  for (const [kind, timing, ok] of matrix) {
    it(`a ${kind} with ${String(timing)} is ${ok ? "accepted" : "INVALID_SUBSCRIPTION_TIMING"}`, () => {
      const result = Timing.validateAmendTiming(kind, timing, "x.timing")
      if (ok) expect(result).toEqual(Either.right(timing))
      else {
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) expect(result.left.errorCode).toBe("INVALID_SUBSCRIPTION_TIMING")
      }
    })
  }

  for (const kind of ["update", "creation", "removal"] as const) {
    for (const timing of [undefined, null, "today", "NEXT_WEEK", "", 1, { timing: "TODAY" }]) {
      it(`a ${kind} with ${JSON.stringify(timing) ?? "no timing"} is INVALID_SUBSCRIPTION_TIMING`, () => {
        const result = Timing.validateAmendTiming(kind, timing, "subscriptionUpdates[0].timing")
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) {
          expect(result.left.errorCode).toBe("INVALID_SUBSCRIPTION_TIMING")
          expect(result.left.context?.["field"]).toBe("subscriptionUpdates[0].timing")
        }
      })
    }
  }

  it("names the field, the timing asked for and the allowed values", () => {
    expect(Timing.validateAmendTiming("removal", "NEXT_PERIOD_START", "subscriptionRemovals[2].timing")).toEqual(
      Either.left(
        new AmendRejected({
          errorCode: "INVALID_SUBSCRIPTION_TIMING",
          details: "subscriptionRemovals[2].timing must be one of TODAY, CURRENT_PERIOD_END for a subscription removal",
          context: { field: "subscriptionRemovals[2].timing", timing: "NEXT_PERIOD_START" }
        })
      )
    )
  })
})

describe("Timing effective dates and policies", () => {
  it("TODAY lands on today", () => {
    expect(Timing.effectiveDate("TODAY", CalendarDate.make("2025-03-16"), period)).toBe("2025-03-16")
  })

  it("NEXT_PERIOD_START and CURRENT_PERIOD_END land on the period end (the next period's first day)", () => {
    expect(Timing.effectiveDate("NEXT_PERIOD_START", CalendarDate.make("2025-03-16"), period)).toBe("2025-04-01")
    expect(Timing.effectiveDate("CURRENT_PERIOD_END", CalendarDate.make("2025-03-16"), period)).toBe("2025-04-01")
  })

  it("the defaults: upgrade today prorated, downgrade next period not prorated, add-on add today prorated, add-on remove at period end", () => {
    expect(Timing.upgradeDefault).toEqual({ timing: "TODAY", prorate: true })
    expect(Timing.downgradeDefault).toEqual({ timing: "NEXT_PERIOD_START", prorate: false })
    expect(Timing.addOnAddDefault).toEqual({ timing: "TODAY", prorate: true })
    expect(Timing.addOnRemoveDefault).toEqual({ timing: "CURRENT_PERIOD_END", prorate: false })
  })

  it("only a change made today is prorated", () => {
    expect(Timing.isProrated({ timing: "TODAY", prorate: true })).toBe(true)
    expect(Timing.isProrated({ timing: "TODAY", prorate: false })).toBe(false)
    expect(Timing.isProrated({ timing: "NEXT_PERIOD_START", prorate: true })).toBe(false)
  })

  const from: Offer = Fixtures.offer({
    id: "mid",
    upgrades: ["top", "top2"],
    downgrades: ["low", "low2"],
    changePolicy: {
      upgrade: { timing: "NEXT_PERIOD_START", prorate: false },
      paths: { top2: { timing: "TODAY", prorate: false }, low2: { timing: "TODAY", prorate: true } }
    }
  })

  it("directionOf follows the configured paths only", () => {
    expect(Timing.directionOf(from, "top")).toBe("upgrade")
    expect(Timing.directionOf(from, "low")).toBe("downgrade")
    expect(Timing.directionOf(from, "elsewhere")).toBeUndefined()
  })

  it("policyFor prefers the per-path override, then the per-direction override, then the default", () => {
    expect(Timing.policyFor(from, "top2", "upgrade")).toEqual({ timing: "TODAY", prorate: false })
    expect(Timing.policyFor(from, "top", "upgrade")).toEqual({ timing: "NEXT_PERIOD_START", prorate: false })
    expect(Timing.policyFor(from, "low2", "downgrade")).toEqual({ timing: "TODAY", prorate: true })
    expect(Timing.policyFor(from, "low", "downgrade")).toEqual(Timing.downgradeDefault)
    expect(Timing.policyFor(Fixtures.offer({ upgrades: ["x"] }), "x", "upgrade")).toEqual(Timing.upgradeDefault)
  })
})

import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Instant from "@subshift/core/domain/Instant"
import * as Subscription from "@subshift/core/domain/Subscription"
import { Fixtures } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"

describe("CalendarDate and Instant brands", () => {
  const today = CalendarDate.make("2025-03-16")
  const now = Instant.make("2025-03-16T10:00:00.000Z")

  it("a date and an instant cannot be swapped, nor a plain string passed, where a rule takes both", () => {
    const sub = Fixtures.subscription({ status: "pending", currentPeriod: { start: today, end: CalendarDate.make("2025-04-16") } })
    expect(Subscription.catchUp(sub, today, now)?.status).toBe("active")
    // Compile-time checks: each line below is a type error, which tsc reports if it ever compiles.
    const swapped = () => {
      // @ts-expect-error an instant where the date belongs, and a date where the instant belongs
      Subscription.catchUp(sub, now, today)
      // @ts-expect-error a plain string is not a date
      Subscription.catchUp(sub, "2025-03-16", now)
      // @ts-expect-error a date is not an instant
      const instant: Instant.Instant = today
      return instant
    }
    expect(swapped).toBeTypeOf("function")
  })

  it("make rejects a malformed or impossible date literal", () => {
    expect(() => CalendarDate.make("2025-02-30")).toThrow(/expected a calendar date YYYY-MM-DD/)
    expect(() => CalendarDate.make("2025-3-1")).toThrow(/expected a calendar date YYYY-MM-DD/)
    expect(() => CalendarDate.make("2025-03-01T00:00:00Z")).toThrow(/expected a calendar date YYYY-MM-DD/)
    expect(CalendarDate.make("2024-02-29")).toBe("2024-02-29")
  })

  it("make rejects an instant without a time or offset, and answers the canonical UTC form", () => {
    expect(() => Instant.make("2025-03-01")).toThrow(/expected an ISO-8601 instant/)
    expect(() => Instant.make("2025-03-01T12:00:00")).toThrow(/expected an ISO-8601 instant/)
    expect(Instant.make("2025-03-01T12:00:00+01:00")).toBe("2025-03-01T11:00:00.000Z")
  })

  it("branded values encode as the same plain strings", () => {
    expect(Schema.encodeSync(CalendarDate.CalendarDate)(today)).toBe("2025-03-16")
    expect(Schema.encodeSync(Instant.Instant)(now)).toBe("2025-03-16T10:00:00.000Z")
    expect(JSON.stringify({ today, now })).toBe("{\"today\":\"2025-03-16\",\"now\":\"2025-03-16T10:00:00.000Z\"}")
  })

  it("the schema-derived arbitraries generate values their schemas accept", () => {
    const isDate = Schema.is(CalendarDate.CalendarDate)
    const isInstant = Schema.is(Instant.Instant)
    FastCheck.assert(FastCheck.property(Arbitrary.make(CalendarDate.CalendarDate), (d) => isDate(d) && CalendarDate.make(d) === d))
    FastCheck.assert(FastCheck.property(Arbitrary.make(Instant.Instant), (i) => isInstant(i) && Instant.make(i) === i))
  })

  it("ofInstant is the UTC date of an instant", () => {
    expect(CalendarDate.ofInstant(Instant.make("2025-03-16T23:30:00-01:00"))).toBe("2025-03-17")
  })
})

import * as BillingPeriod from "@subshift/core/domain/BillingPeriod"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import { describe, expect, it } from "@effect/vitest"

const d = CalendarDate.make

const monthly = { count: 1, unit: "month" } as const
const quarterly = { count: 3, unit: "month" } as const
const yearly = { count: 1, unit: "year" } as const
const weekly = { count: 1, unit: "week" } as const
const daily = { count: 1, unit: "day" } as const

/** The starts of `n` consecutive periods from `start`. */
const starts = (start: CalendarDate.CalendarDate, interval: BillingPeriod.Interval, anchor: number, n: number) => {
  const out: Array<string> = []
  let period = BillingPeriod.startingOn(start, interval, anchor)
  for (let i = 0; i < n; i++) {
    out.push(period.start)
    period = BillingPeriod.next(period, interval, anchor)
  }
  return out
}

describe("BillingPeriod anchored end-of-month clamping", () => {
  it("anchor 31 bills Jan 31 → Feb 28 → Mar 31 → Apr 30 → May 31 in a common year", () => {
    expect(starts(d("2025-01-31"), monthly, 31, 5)).toEqual(["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31"])
  })

  it("anchor 31 bills Feb 29 in a leap year and returns to the 31st after", () => {
    expect(starts(d("2024-01-31"), monthly, 31, 3)).toEqual(["2024-01-31", "2024-02-29", "2024-03-31"])
  })

  it("anchor 30 clamps to Feb 28 and goes back to the 30th, not the 28th", () => {
    expect(starts(d("2025-01-30"), monthly, 30, 4)).toEqual(["2025-01-30", "2025-02-28", "2025-03-30", "2025-04-30"])
  })

  it("a clamped period ends on the next anchor date: [Jan 31, Feb 28) then [Feb 28, Mar 31)", () => {
    const jan = BillingPeriod.startingOn(d("2025-01-31"), monthly, 31)
    expect(jan).toEqual({ start: "2025-01-31", end: "2025-02-28" })
    expect(BillingPeriod.next(jan, monthly, 31)).toEqual({ start: "2025-02-28", end: "2025-03-31" })
  })

  it("a yearly period from 2024-02-29 bills on Feb 28 in common years and Feb 29 again in 2028", () => {
    expect(starts(d("2024-02-29"), yearly, 29, 5)).toEqual(["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"])
  })

  it("a quarterly period anchored on the 31st clamps per quarter: Jan 31 → Apr 30 → Jul 31 → Oct 31", () => {
    expect(starts(d("2025-01-31"), quarterly, 31, 5)).toEqual(["2025-01-31", "2025-04-30", "2025-07-31", "2025-10-31", "2026-01-31"])
  })

  it("a quarterly period crosses the year end", () => {
    expect(BillingPeriod.startingOn(d("2025-11-15"), quarterly, 15)).toEqual({ start: "2025-11-15", end: "2026-02-15" })
  })

  it("weekly periods are 7 days, across a month end", () => {
    expect(BillingPeriod.startingOn(d("2025-02-25"), weekly, 25)).toEqual({ start: "2025-02-25", end: "2025-03-04" })
    expect(BillingPeriod.startingOn(d("2025-02-25"), { count: 2, unit: "week" }, 25)).toEqual({ start: "2025-02-25", end: "2025-03-11" })
  })

  it("daily periods are one day, across a leap day", () => {
    expect(starts(d("2024-02-28"), daily, 28, 3)).toEqual(["2024-02-28", "2024-02-29", "2024-03-01"])
  })
})

describe("BillingPeriod.containing", () => {
  const jan = BillingPeriod.startingOn(d("2025-01-31"), monthly, 31)

  it("gives the period itself for a date inside it", () => {
    expect(BillingPeriod.containing(jan, monthly, 31, d("2025-02-10"))).toEqual(jan)
  })

  it("rolls forward over several periods, keeping the anchor", () => {
    expect(BillingPeriod.containing(jan, monthly, 31, d("2025-05-05"))).toEqual({ start: "2025-04-30", end: "2025-05-31" })
  })

  it("treats the end as exclusive: the end date belongs to the next period", () => {
    expect(BillingPeriod.containing(jan, monthly, 31, d("2025-02-28"))).toEqual({ start: "2025-02-28", end: "2025-03-31" })
    expect(BillingPeriod.containing(jan, monthly, 31, d("2025-02-27"))).toEqual(jan)
  })

  it("never rolls backwards: a date before the period gives the period", () => {
    expect(BillingPeriod.containing(jan, monthly, 31, d("2024-12-01"))).toEqual(jan)
  })

  it("rolls an annual period over a leap year", () => {
    const y = BillingPeriod.startingOn(d("2023-03-01"), yearly, 1)
    expect(BillingPeriod.containing(y, yearly, 1, d("2024-02-29"))).toEqual({ start: "2023-03-01", end: "2024-03-01" })
    expect(BillingPeriod.containing(y, yearly, 1, d("2024-03-01"))).toEqual({ start: "2024-03-01", end: "2025-03-01" })
  })
})

describe("BillingPeriod.containing against a period-by-period walk", () => {
  const walk = (period: BillingPeriod.Period, interval: BillingPeriod.Interval, anchor: number, date: string) => {
    let current = period
    while (current.end <= date) current = BillingPeriod.next(current, interval, anchor)
    return current
  }
  const intervals: ReadonlyArray<BillingPeriod.Interval> = [
    daily,
    { count: 3, unit: "day" },
    weekly,
    { count: 2, unit: "week" },
    monthly,
    quarterly,
    { count: 5, unit: "month" },
    yearly,
    { count: 2, unit: "year" }
  ]

  it("lands on the same period as walking one period at a time, for every interval, anchor and distance", () => {
    let checked = 0
    const mismatches: Array<string> = []
    for (const interval of intervals) {
      for (const anchor of [1, 15, 28, 29, 30, 31]) {
        for (const startYearMonth of ["2023-01", "2023-11", "2024-02"]) {
          const [y, m] = startYearMonth.split("-").map(Number) as [number, number]
          const period = BillingPeriod.startingOn(CalendarDate.fromParts(y, m, anchor), interval, anchor)
          // Dates increase, so the walk resumes from where the previous one stopped.
          let walked = period
          for (let offset = -40; offset < 4000; offset += 37) {
            const date = CalendarDate.addDays(period.start, offset)
            const fast = BillingPeriod.containing(period, interval, anchor, date)
            const slow = (walked = walk(walked, interval, anchor, date))
            if (fast.start !== slow.start || fast.end !== slow.end) {
              mismatches.push(`${interval.count} ${interval.unit} anchor ${anchor} from ${period.start} on ${date}`)
            }
            checked++
          }
        }
      }
    }
    expect(mismatches).toEqual([])
    expect(checked).toBeGreaterThan(10_000)
  })

  it("the period it finds always contains the date (or is the stored one when the date is before it)", () => {
    const period = BillingPeriod.startingOn(d("2024-01-31"), monthly, 31)
    for (let offset = 0; offset < 3000; offset += 11) {
      const date = CalendarDate.addDays(d("2024-01-31"), offset)
      const found = BillingPeriod.containing(period, monthly, 31, date)
      expect(found.start <= date && date < found.end).toBe(true)
    }
  })
})

describe("BillingPeriod.days", () => {
  it("February 2024 has 29 days, February 2025 has 28", () => {
    expect(BillingPeriod.days(BillingPeriod.startingOn(d("2024-02-01"), monthly, 1))).toBe(29)
    expect(BillingPeriod.days(BillingPeriod.startingOn(d("2025-02-01"), monthly, 1))).toBe(28)
  })

  it("the year 2024 has 366 days, 2025 has 365", () => {
    expect(BillingPeriod.days(BillingPeriod.startingOn(d("2024-01-01"), yearly, 1))).toBe(366)
    expect(BillingPeriod.days(BillingPeriod.startingOn(d("2025-01-01"), yearly, 1))).toBe(365)
  })

  it("a year from 2024-02-29 to 2025-02-28 has 365 days; from 2023-03-01 over the leap day 366", () => {
    expect(BillingPeriod.days(BillingPeriod.startingOn(d("2024-02-29"), yearly, 29))).toBe(365)
    expect(BillingPeriod.days(BillingPeriod.startingOn(d("2023-03-01"), yearly, 1))).toBe(366)
  })

  it("the clamped period [2024-01-31, 2024-02-29) has 29 days and [2024-02-29, 2024-03-31) 31", () => {
    expect(BillingPeriod.days({ start: d("2024-01-31"), end: d("2024-02-29") })).toBe(29)
    expect(BillingPeriod.days({ start: d("2024-02-29"), end: d("2024-03-31") })).toBe(31)
  })
})

describe("CalendarDate", () => {
  it("knows the Gregorian leap years", () => {
    expect([1900, 2000, 2023, 2024, 2100].map(CalendarDate.isLeapYear)).toEqual([false, true, false, true, false])
  })

  it("addMonths clamps to the month end and keeps the anchor", () => {
    expect(CalendarDate.addMonths(d("2025-01-31"), 1)).toBe("2025-02-28")
    expect(CalendarDate.addMonths(d("2025-02-28"), 1, 31)).toBe("2025-03-31")
    expect(CalendarDate.addMonths(d("2025-12-15"), 2)).toBe("2026-02-15")
  })

  it("daysBetween counts whole days across a leap day", () => {
    expect(CalendarDate.daysBetween(d("2024-02-28"), d("2024-03-01"))).toBe(2)
    expect(CalendarDate.daysBetween(d("2024-03-01"), d("2024-02-28"))).toBe(-2)
  })
})

/**
 * Billing intervals (N × day/week/month/year) and billing periods anchored on a billing day.
 * A period is the half-open date interval `[start, end)`; `end` is the next period's start.
 * Monthly and yearly periods keep their anchor day and clamp it to the month's end: an anchor of
 * the 31st bills on Jan 31, Feb 28 (29 in leap years), Mar 31, Apr 30.
 */
import * as Schema from "effect/Schema"
import * as CalendarDate from "./CalendarDate.js"

/** The unit of a billing interval. */
export const IntervalUnit = Schema.Literal("day", "week", "month", "year")
export type IntervalUnit = typeof IntervalUnit.Type

/** A billing interval: `count` × `unit`, for example 3 × month for quarterly. */
export const Interval = Schema.Struct({
  count: Schema.Int.pipe(Schema.between(1, 120, { message: () => "an interval count is a whole number from 1 to 120" })),
  unit: IntervalUnit
})
export type Interval = typeof Interval.Type

/** Compares two intervals for equality. */
export const sameInterval = (a: Interval, b: Interval): boolean => a.count === b.count && a.unit === b.unit

/** A billing anchor: the day of the month periods start on (1-31, clamped to the month's end). */
export const AnchorDay = Schema.Int.pipe(Schema.between(1, 31, { message: () => "a billing anchor day is 1 to 31" }))

/** A billing period `[start, end)`. */
export const Period = Schema.Struct({
  start: CalendarDate.CalendarDate,
  end: CalendarDate.CalendarDate
}).pipe(Schema.filter((p) => p.start < p.end || { path: ["end"], message: "a period must end after it starts" }))
export type Period = typeof Period.Type

/** The date one interval after `date`, keeping the anchor day for months and years. */
export const advance = (date: CalendarDate.CalendarDate, interval: Interval, anchorDay: number): CalendarDate.CalendarDate => {
  switch (interval.unit) {
    case "day":
      return CalendarDate.addDays(date, interval.count)
    case "week":
      return CalendarDate.addDays(date, 7 * interval.count)
    case "month":
      return CalendarDate.addMonths(date, interval.count, anchorDay)
    case "year":
      return CalendarDate.addMonths(date, 12 * interval.count, anchorDay)
  }
}

/** The period that starts on `start`. */
export const startingOn = (start: CalendarDate.CalendarDate, interval: Interval, anchorDay: number): Period => ({
  start,
  end: advance(start, interval, anchorDay)
})

/** The period after `period`. */
export const next = (period: Period, interval: Interval, anchorDay: number): Period =>
  startingOn(period.end, interval, anchorDay)

/**
 * The period that contains `date`, rolling `period` forward as many times as needed. A date before
 * `period` gives `period` itself: billing never runs backwards.
 */
export const containing = (period: Period, interval: Interval, anchorDay: number, date: CalendarDate.CalendarDate): Period => {
  if (period.end > date) return period
  // Jump close to the target in one step (a stored period may be years old), then walk.
  const skip = Math.max(0, Math.floor(approximateIntervals(period.end, date, interval)) - 1)
  let current = skip > 0 ? startingOn(advanceBy(period.end, interval, anchorDay, skip), interval, anchorDay) : next(period, interval, anchorDay)
  while (current.end <= date) current = next(current, interval, anchorDay)
  return current
}

const approximateIntervals = (from: CalendarDate.CalendarDate, to: CalendarDate.CalendarDate, interval: Interval): number => {
  switch (interval.unit) {
    case "day":
      return CalendarDate.daysBetween(from, to) / interval.count
    case "week":
      return CalendarDate.daysBetween(from, to) / (7 * interval.count)
    case "month":
    case "year": {
      const a = CalendarDate.toParts(from)
      const b = CalendarDate.toParts(to)
      const months = (b.year - a.year) * 12 + (b.month - a.month) - 1
      return months / (interval.unit === "month" ? interval.count : 12 * interval.count)
    }
  }
}

const advanceBy = (date: CalendarDate.CalendarDate, interval: Interval, anchorDay: number, times: number): CalendarDate.CalendarDate =>
  advance(date, { count: interval.count * times, unit: interval.unit }, anchorDay)

/** Days in a period under the actual-days convention. */
export const days = (period: Period): number => CalendarDate.daysBetween(period.start, period.end)

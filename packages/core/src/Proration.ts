/**
 * Proration conventions. A convention counts the days of `[changeDate, periodEnd)` (the part of
 * the period that is left) and of `[periodStart, periodEnd)`; the prorated amount is
 * `price × left ÷ periodDays`, computed exactly and rounded half-up once per line.
 */
import * as Schema from "effect/Schema"
import * as BillingPeriod from "./BillingPeriod.js"
import * as CalendarDate from "./CalendarDate.js"
import * as Money from "./Money.js"

/** The conventions the default pricing knows. */
export const Convention = Schema.Literal("actual-days", "30/360")
export type Convention = typeof Convention.Type

/** How a priced line was prorated, so that it explains itself. */
export const Proration = Schema.Struct({
  convention: Convention,
  /** Days counted: `[from, periodEnd)`. */
  days: Schema.Int,
  /** Days in the whole period `[periodStart, periodEnd)`. */
  periodDays: Schema.Int,
  from: CalendarDate.CalendarDate,
  periodStart: CalendarDate.CalendarDate,
  periodEnd: CalendarDate.CalendarDate
})
export type Proration = typeof Proration.Type

/** Days from `start` to `end` under the 30/360 (US bond basis) convention. */
export const days360 = (start: CalendarDate.CalendarDate, end: CalendarDate.CalendarDate): number => {
  const a = CalendarDate.toParts(start)
  const b = CalendarDate.toParts(end)
  const d1 = a.day === 31 ? 30 : a.day
  const d2 = b.day === 31 && d1 >= 30 ? 30 : b.day
  return 360 * (b.year - a.year) + 30 * (b.month - a.month) + (d2 - d1)
}

const count = (convention: Convention, start: CalendarDate.CalendarDate, end: CalendarDate.CalendarDate): number =>
  convention === "actual-days" ? CalendarDate.daysBetween(start, end) : days360(start, end)

/**
 * The share of `period` left from `from`: the numerator is clamped to `[0, periodDays]`, so a
 * prorated amount never exceeds the full price.
 */
export const remaining = (
  convention: Convention,
  period: BillingPeriod.Period,
  from: CalendarDate.CalendarDate
): Proration => {
  const periodDays = Math.max(1, count(convention, period.start, period.end))
  const start = CalendarDate.max(from, period.start)
  const days = Math.min(periodDays, Math.max(0, count(convention, start, period.end)))
  return { convention, days, periodDays, from: start, periodStart: period.start, periodEnd: period.end }
}

/** The prorated share of an amount. */
export const apply = (amount: Money.Money, proration: Proration): Money.Money =>
  Money.scale(amount, proration.days, proration.periodDays)

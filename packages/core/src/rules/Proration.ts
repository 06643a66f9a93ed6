/**
 * Proration conventions. A convention counts the days of `[changeDate, periodEnd)` (the part of
 * the period that is left) and of `[periodStart, periodEnd)`; the prorated amount is
 * `price × left ÷ periodDays`, computed exactly and rounded half-up once per line.
 */
import * as BillingPeriod from "../domain/BillingPeriod.js"
import * as CalendarDate from "../domain/CalendarDate.js"
import * as Money from "../domain/Money.js"

export { Convention, Proration } from "../domain/Quote.js"
import type { Convention, Proration } from "../domain/Quote.js"

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

/**
 * UTC calendar dates as `YYYY-MM-DD` strings, with the integer day arithmetic the billing rules
 * need. Lexicographic order of the strings is chronological order.
 */
import type * as Brand from "effect/Brand"
import * as Schema from "effect/Schema"
import type { Instant } from "./Instant.js"

const pattern = /^(\d{4})-(\d{2})-(\d{2})$/

const isValid = (s: string): boolean => {
  const m = pattern.exec(s)
  if (m === null) return false
  const y = Number(m[1]), mo = Number(m[2]), d = Number(m[3])
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo)
}

/** A calendar date `YYYY-MM-DD` (UTC), branded so it cannot stand in for another string. */
export type CalendarDate = Brand.Branded<string, "CalendarDate">

/** A calendar date `YYYY-MM-DD` (UTC). */
export const CalendarDate = Schema.String.pipe(
  Schema.filter((s) => isValid(s) || "expected a calendar date YYYY-MM-DD"),
  Schema.brand("CalendarDate"),
  Schema.annotations({
    identifier: "CalendarDate",
    examples: [unsafe("2025-01-31")],
    // Random strings are almost never dates: generate days instead (1970 to 2100).
    arbitrary: () => (fc) => fc.integer({ min: 0, max: 47_482 }).map((day) => fromEpochDay(day))
  })
)

// The one place a string becomes a date without a check: callers have just produced a valid one.
function unsafe(s: string): CalendarDate {
  return s as CalendarDate
}

/** The date of a `YYYY-MM-DD` literal; throws when it is not a calendar date (input is decoded instead). */
export const make = (s: string): CalendarDate => Schema.decodeSync(CalendarDate)(s)

/** Whether a year is a leap year in the Gregorian calendar. */
export const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0

/** Days in a month (1-12) of a year. */
export const daysInMonth = (year: number, month: number): number =>
  month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31

/** The parts of a date. */
export interface Parts {
  readonly year: number
  readonly month: number
  readonly day: number
}

/** Splits a date into year, month and day. */
export const toParts = (date: CalendarDate): Parts => ({
  year: digits(date, 0, 4),
  month: digits(date, 5, 7),
  day: digits(date, 8, 10)
})

// Reads ASCII digits without allocating substrings: dates are parsed on every priced line.
const digits = (s: string, from: number, to: number): number => {
  let n = 0
  for (let i = from; i < to; i++) n = n * 10 + (s.charCodeAt(i) - 48)
  return n
}

const pad = (n: number, width: number) => String(n).padStart(width, "0")

/** Joins parts into a date; the day is clamped to the end of the month. */
export const fromParts = (year: number, month: number, day: number): CalendarDate =>
  unsafe(`${pad(year, 4)}-${pad(month, 2)}-${pad(Math.min(day, daysInMonth(year, month)), 2)}`)

const DAY_MS = 86_400_000

/** Days since 1970-01-01. */
export const toEpochDay = (date: CalendarDate): number => {
  const { day, month, year } = toParts(date)
  return Date.UTC(year, month - 1, day) / DAY_MS
}

/** The date a number of days after 1970-01-01. */
export const fromEpochDay = (epochDay: number): CalendarDate =>
  unsafe(new Date(epochDay * DAY_MS).toISOString().slice(0, 10))

/** The UTC date of an instant given in epoch milliseconds. */
export const fromEpochMillis = (millis: number): CalendarDate => unsafe(new Date(millis).toISOString().slice(0, 10))

/** The UTC date of an instant (its canonical form starts with that date). */
export const ofInstant = (instant: Instant): CalendarDate => unsafe(instant.slice(0, 10))

/** The date `days` later (or earlier when negative). */
export const addDays = (date: CalendarDate, days: number): CalendarDate => fromEpochDay(toEpochDay(date) + days)

/** Whole days from `start` to `end` (negative when `end` is before `start`). */
export const daysBetween = (start: CalendarDate, end: CalendarDate): number => toEpochDay(end) - toEpochDay(start)

/** The month `months` later, keeping the anchor day clamped to the month's end. */
export const addMonths = (date: CalendarDate, months: number, anchorDay: number = toParts(date).day): CalendarDate => {
  const { month, year } = toParts(date)
  const index = year * 12 + (month - 1) + months
  return fromParts(Math.floor(index / 12), (index % 12) + 1, anchorDay)
}

/** The earlier of two dates. */
export const min = (a: CalendarDate, b: CalendarDate): CalendarDate => (a <= b ? a : b)

/** The later of two dates. */
export const max = (a: CalendarDate, b: CalendarDate): CalendarDate => (a >= b ? a : b)

/**
 * Price quotes: one line per action, each explaining itself, with the totals due now and the
 * next recurring amount.
 */
import * as Schema from "effect/Schema"
import * as CalendarDate from "./CalendarDate.js"
import { Instant } from "./Instant.js"
import * as Money from "./Money.js"
import { OfferId } from "./Offer.js"

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

/** The units (seats) of a line before and after its action: 0 before an add, 0 after a remove. */
export const QuantityChange = Schema.Struct({ before: Schema.Int, after: Schema.Int })
export type QuantityChange = typeof QuantityChange.Type

/** One priced line. */
export const QuoteLine = Schema.Struct({
  kind: Schema.Literal("add", "remove", "change_quantity", "change_rate"),
  type: Schema.Literal("offer", "add_on"),
  offerId: OfferId,
  description: Schema.String,
  effectiveDate: CalendarDate.CalendarDate,
  /** Charged (positive) or credited (negative) on the effective date for the part-period. */
  amount: Money.Money,
  /** The change to the amount billed every period from the effective date on. */
  recurringDelta: Money.Money,
  /** How `amount` was prorated, when it was. */
  proration: Schema.optional(Proration),
  /** The units of the line before and after the action (absent on quotes stored before it was kept). */
  quantity: Schema.optional(QuantityChange)
})
export type QuoteLine = typeof QuoteLine.Type

/** A quote for a set of actions on a subscription. */
export const Quote = Schema.Struct({
  /** The instant the quote was priced for. */
  pricedAt: Instant,
  currency: Money.Currency,
  convention: Convention,
  lines: Schema.Array(QuoteLine),
  /** The sum of all line amounts: what the change costs (or credits) now; always `charges + credits`. */
  dueNow: Money.Money,
  /** The sum of the positive line amounts: what is charged now (zero or more). */
  charges: Money.Money,
  /** The sum of the negative line amounts, negative as on the lines: what is credited now (zero or less). */
  credits: Money.Money,
  /** The amount billed per period today, before the change. */
  currentRecurring: Money.Money,
  /** The amount billed at the next period start, after every change in the quote. */
  nextRecurring: Money.Money,
  nextBillingDate: CalendarDate.CalendarDate,
  /** The distinct effective dates of the lines, in order. */
  effectiveDates: Schema.Array(CalendarDate.CalendarDate)
})
export type Quote = typeof Quote.Type

const sameMoney = (a: Money.Money, b: Money.Money) => a.amount === b.amount && a.currency === b.currency

/**
 * Whether two quotes charge the same: the same lines (what, when, how much now and per period)
 * and the same totals. How a line is worded or when it was priced does not matter.
 */
export const equivalent = (a: Quote, b: Quote): boolean =>
  a.currency === b.currency && sameMoney(a.dueNow, b.dueNow) && sameMoney(a.nextRecurring, b.nextRecurring) &&
  a.nextBillingDate === b.nextBillingDate && a.lines.length === b.lines.length &&
  a.lines.every((line, i) => {
    const other = b.lines[i]!
    return line.kind === other.kind && line.type === other.type && line.offerId === other.offerId &&
      line.effectiveDate === other.effectiveDate && sameMoney(line.amount, other.amount) &&
      sameMoney(line.recurringDelta, other.recurringDelta)
  })

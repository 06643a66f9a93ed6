/**
 * Money as an integer count of minor units plus an ISO-4217 currency. No float ever touches an
 * amount: arithmetic is on safe integers, and the one division (proration) is exact on bigints.
 */
import * as Schema from "effect/Schema"

/** An ISO-4217 currency code, such as `USD`. */
export const Currency = Schema.String.pipe(
  Schema.pattern(/^[A-Z]{3}$/, { message: () => "a currency is three upper-case letters (ISO-4217)" })
)
export type Currency = typeof Currency.Type

/** A whole number of minor units (cents, pence); negative for credits. */
export const MinorUnits = Schema.Number.pipe(
  Schema.int({ message: () => "an amount is a whole number of minor units" }),
  Schema.filter((n) => Number.isSafeInteger(n) || "an amount must be a safe integer")
)

/** An amount of money. */
export const Money = Schema.Struct({ amount: MinorUnits, currency: Currency })
export type Money = typeof Money.Type

/** A price is money that is never negative. */
export const Price = Schema.Struct({
  amount: MinorUnits.pipe(Schema.nonNegative({ message: () => "a price cannot be negative" })),
  currency: Currency
})

/** Builds a money value. */
export const make = (amount: number, currency: Currency): Money => ({ amount, currency })

/** Zero in a currency. */
export const zero = (currency: Currency): Money => ({ amount: 0, currency })

const checked = (n: number): number => {
  if (!Number.isSafeInteger(n)) throw new RangeError(`amount out of the safe integer range: ${n}`)
  return n
}

/** Adds two amounts of the same currency. */
export const add = (a: Money, b: Money): Money => {
  if (a.currency !== b.currency) throw new TypeError(`cannot add ${a.currency} to ${b.currency}`)
  return { amount: checked(a.amount + b.amount), currency: a.currency }
}

/** Sums amounts of one currency; the empty sum is zero. */
export const sum = (currency: Currency, amounts: Iterable<Money>): Money => {
  let total = zero(currency)
  for (const m of amounts) total = add(total, m)
  return total
}

/** Multiplies an amount by a whole quantity. */
export const times = (m: Money, quantity: number): Money => ({
  amount: checked(m.amount * quantity),
  currency: m.currency
})

/** The same amount with the opposite sign. */
export const negate = (m: Money): Money => ({ amount: m.amount === 0 ? 0 : -m.amount, currency: m.currency })

/**
 * `amount × numerator ÷ denominator`, rounded half-up (away from zero on .5) to a whole minor
 * unit, computed exactly on bigints.
 */
export const scale = (m: Money, numerator: number, denominator: number): Money => {
  if (denominator <= 0) throw new RangeError("denominator must be positive")
  const negative = m.amount < 0
  const product = BigInt(Math.abs(m.amount)) * BigInt(numerator)
  const d = BigInt(denominator)
  const rounded = (product * 2n + d) / (2n * d)
  const value = Number(rounded)
  return { amount: negative && value !== 0 ? -value : value, currency: m.currency }
}

/** Renders an amount for people, e.g. `USD 32.26` (assumes two decimal places). */
export const format = (m: Money): string => {
  const abs = Math.abs(m.amount)
  const major = Math.trunc(abs / 100)
  const minor = String(abs % 100).padStart(2, "0")
  return `${m.amount < 0 ? "-" : ""}${m.currency} ${major}.${minor}`
}

/**
 * A custom rule an embedder might add on top of Subshift's pricing: long-standing subscribers get
 * a loyalty credit of 10% of what an upgrade charges now, capped at a fixed amount. It takes a
 * quote and answers a quote, so it composes with any `Pricing` implementation.
 */
import * as Money from "@subshift/core/domain/Money"
import type { Quote, QuoteLine } from "@subshift/core/domain/Quote"

/** Who qualifies, and how much they get. */
export interface Policy {
  readonly minimumMonths: number
  /** In percent of the charges due now. */
  readonly percent: number
  /** The most one quote can be credited, in minor units. */
  readonly cap: number
}

/** The default policy: a year of loyalty earns 10%, at most 20.00. */
export const defaultPolicy: Policy = { minimumMonths: 12, percent: 10, cap: 2000 }

/** Adds a loyalty credit line to a quote when the subscriber qualifies and something is charged. */
export const applyLoyaltyCredit = (quote: Quote, monthsSubscribed: number, policy: Policy = defaultPolicy): Quote => {
  if (monthsSubscribed < policy.minimumMonths) return quote
  const charged = Money.sum(quote.currency, quote.lines.filter((l) => l.amount.amount > 0).map((l) => l.amount))
  const credit = Math.min(Money.scale(charged, policy.percent, 100).amount, policy.cap)
  if (credit === 0) return quote
  const line: QuoteLine = {
    kind: "change_rate",
    type: "offer",
    offerId: quote.lines[0]?.offerId ?? "loyalty",
    description: `Loyalty credit (${policy.percent}% after ${policy.minimumMonths} months)`,
    effectiveDate: quote.lines[0]?.effectiveDate ?? quote.nextBillingDate,
    amount: Money.make(-credit, quote.currency),
    recurringDelta: Money.zero(quote.currency)
  }
  const lines = [...quote.lines, line]
  return { ...quote, lines, dueNow: Money.sum(quote.currency, lines.map((l) => l.amount)) }
}

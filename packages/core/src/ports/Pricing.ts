/**
 * The `Pricing` port prices a set of actions on a subscription. The default implementation prices
 * from the unit prices on the actions and the subscription with a proration convention; an
 * embedder can swap in its billing system's preview.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Action } from "../domain/Amendment.js"
import type * as CalendarDate from "../domain/CalendarDate.js"
import type { PricingFailed } from "../domain/Errors.js"
import type { Instant } from "../domain/Instant.js"
import * as Money from "../domain/Money.js"
import * as Proration from "../rules/Proration.js"
import type { Quote, QuoteLine } from "../domain/Quote.js"
import * as Subscription from "../domain/Subscription.js"

/** What to price. */
export interface QuoteRequest {
  readonly subscription: Subscription.Subscription
  readonly actions: ReadonlyArray<Action>
  /** The instant the quote is for; its UTC date is "today". */
  readonly now: Instant
  readonly today: CalendarDate.CalendarDate
}

/** The pricing port. */
export class Pricing extends Context.Tag("@subshift/core/Pricing")<
  Pricing,
  { readonly quote: (request: QuoteRequest) => Effect.Effect<Quote, PricingFailed> }
>() {}

const heldLine = (subscription: Subscription.Subscription, action: Action): Subscription.Line | undefined =>
  action.type === "offer"
    ? subscription.offer.offerId === action.offerId ? subscription.offer : undefined
    : subscription.addOns.find((l) => l.offerId === action.offerId)

const daysNote = (p: Proration.Proration) => `${p.days} of ${p.periodDays} days`

const priceAction = (
  convention: Proration.Convention,
  subscription: Subscription.Subscription,
  period: { readonly start: CalendarDate.CalendarDate; readonly end: CalendarDate.CalendarDate },
  action: Action
): QuoteLine => {
  const held = heldLine(subscription, action)
  const unitsBefore = action.kind === "add" || held === undefined ? 0 : held.quantity
  const unitsAfter = action.kind === "remove" ? 0 : action.quantity
  const before = unitsBefore === 0 ? Money.zero(subscription.currency) : Money.times(held!.unitPrice, unitsBefore)
  const after = unitsAfter === 0 ? Money.zero(subscription.currency) : Money.times(action.unitPrice, unitsAfter)
  const recurringDelta = Money.add(after, Money.negate(before))
  const proration = action.prorate ? Proration.remaining(convention, period, action.effectiveDate) : undefined
  const amount = proration === undefined ? Money.zero(subscription.currency) : Proration.apply(recurringDelta, proration)
  const what = action.type === "offer" ? action.name : `add-on ${action.name}`
  const description = {
    add: proration ? `${what} from ${action.effectiveDate} (${daysNote(proration)})` : `${what} from ${action.effectiveDate}`,
    remove: proration
      ? `Credit for unused ${what} (${daysNote(proration)})`
      : `${what} ends on ${action.effectiveDate}`,
    change_quantity: `${what} quantity ${unitsBefore} → ${unitsAfter} from ${action.effectiveDate}${
      proration ? ` (${daysNote(proration)})` : ""
    }`,
    change_rate: `${what} new rate ${action.rateId} from ${action.effectiveDate}${proration ? ` (${daysNote(proration)})` : ""}`
  }[action.kind]
  return {
    kind: action.kind,
    type: action.type,
    offerId: action.offerId,
    description,
    effectiveDate: action.effectiveDate,
    amount,
    recurringDelta,
    ...(proration === undefined ? {} : { proration }),
    quantity: { before: unitsBefore, after: unitsAfter }
  }
}

/** Prices actions with a convention: the pure heart of the default `Pricing`. */
export const price = (request: QuoteRequest, convention: Proration.Convention = "actual-days"): Quote => {
  const { actions, subscription, today } = request
  const period = Subscription.periodOn(subscription, today)
  // Each action is priced against the lines as the earlier actions left them (a rate change then a
  // quantity change of one line must not count the old price twice), as they are applied on commit.
  let state = subscription
  const lines = actions.map((action, i) => {
    const line = priceAction(convention, state, period, action)
    if (i < actions.length - 1) state = Subscription.applyActions(state, [action])
    return line
  })
  const currentRecurring = Subscription.recurringAmount(subscription)
  const currency = subscription.currency
  return {
    pricedAt: request.now,
    currency,
    convention,
    lines,
    dueNow: Money.sum(currency, lines.map((l) => l.amount)),
    charges: Money.sum(currency, lines.filter((l) => l.amount.amount > 0).map((l) => l.amount)),
    credits: Money.sum(currency, lines.filter((l) => l.amount.amount < 0).map((l) => l.amount)),
    currentRecurring,
    nextRecurring: Money.add(currentRecurring, Money.sum(currency, lines.map((l) => l.recurringDelta))),
    nextBillingDate: period.end,
    effectiveDates: Array.from(new Set(lines.map((l) => l.effectiveDate))).sort()
  }
}

/** The default pricing, with the actual-days convention unless told otherwise. */
export const layer = (options: { readonly convention?: Proration.Convention } = {}): Layer.Layer<Pricing> =>
  Layer.succeed(Pricing, {
    quote: (request) => Effect.sync(() => price(request, options.convention ?? "actual-days"))
  })

/**
 * Subscriptions, and the pure operations on them: the period in force on a date, the lock of a
 * pending change, and applying actions.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Action, PendingChange } from "./Amendment.js"
import * as BillingPeriod from "./BillingPeriod.js"
import * as Dates from "./CalendarDate.js"
import { CalendarDate } from "./CalendarDate.js"
import { InvalidInput } from "./Errors.js"
import { Instant } from "./Instant.js"
import { Id } from "./Id.js"
import * as Money from "./Money.js"
import { type Offer, OfferId, PartnerOrgId, RateId } from "./Offer.js"

/** A subscription id, `sub-…`. */
export const SubscriptionId = Schema.String.pipe(
  Schema.pattern(/^sub-[A-Za-z0-9._-]{1,60}$/, { message: () => "a subscription id looks like sub-…, at most 64 characters" })
)

/** The lifecycle status of a subscription. */
export const Status = Schema.Literal("active", "cancelled", "expired", "pending")
export type Status = typeof Status.Type

/** An offer held by a subscription, at the unit price agreed when it was bought. */
export const Line = Schema.Struct({
  offerId: OfferId,
  rateId: RateId,
  quantity: Schema.Int.pipe(Schema.between(1, 10_000)),
  unitPrice: Money.Money
})
export type Line = typeof Line.Type

/** A subscription. */
export const Subscription = Schema.Struct({
  id: SubscriptionId,
  /** The human reference, e.g. `3V053CN9SFIG`. */
  name: Id,
  owner: Schema.String.pipe(Schema.minLength(1)),
  partnerOrg: Schema.optional(PartnerOrgId),
  billGroupId: Schema.optional(Schema.String),
  status: Status,
  currency: Money.Currency,
  interval: BillingPeriod.Interval,
  anchorDay: BillingPeriod.AnchorDay,
  offer: Line,
  addOns: Schema.Array(Line),
  currentPeriod: BillingPeriod.Period,
  pendingChange: Schema.optional(PendingChange),
  /** Set when the subscription ends (removal at period end, or today). */
  endDate: Schema.optional(CalendarDate),
  version: Schema.Int.pipe(Schema.nonNegative()),
  updatedAt: Instant
})
export type Subscription = typeof Subscription.Type

/** The billing period in force on `today`. */
export const periodOn = (subscription: Subscription, today: CalendarDate): BillingPeriod.Period =>
  BillingPeriod.containing(subscription.currentPeriod, subscription.interval, subscription.anchorDay, today)

/** The amount billed per period for all lines (nothing unless the subscription is active). */
export const recurringAmount = (subscription: Pick<Subscription, "offer" | "addOns" | "currency" | "status">): Money.Money =>
  subscription.status !== "active"
    ? Money.zero(subscription.currency)
    : Money.sum(
        subscription.currency,
        [subscription.offer, ...subscription.addOns].map((l) => Money.times(l.unitPrice, l.quantity))
      )

/** The date until which the subscription is locked by a pending change, if it is. */
export const lockedUntil = (subscription: Subscription, today: CalendarDate): CalendarDate | undefined =>
  subscription.pendingChange !== undefined && subscription.pendingChange.effectiveDate > today
    ? subscription.pendingChange.effectiveDate
    : undefined

const lineOf = (action: Action): Line => ({
  offerId: action.offerId,
  rateId: action.rateId,
  quantity: action.quantity,
  unitPrice: action.unitPrice
})

/**
 * Applies actions, in order, as they take effect on their effective date. Removing the offer
 * without a replacement ends the subscription on that date.
 */
export const applyActions = (subscription: Subscription, actions: ReadonlyArray<Action>): Subscription => {
  let offer = subscription.offer
  let addOns = subscription.addOns
  let status = subscription.status
  let endDate = subscription.endDate
  const replaced = actions.some((a) => a.type === "offer" && a.kind === "add")
  for (const action of actions) {
    if (action.type === "offer") {
      switch (action.kind) {
        case "add":
          offer = lineOf(action)
          break
        case "remove":
          if (!replaced) {
            status = "cancelled"
            endDate = action.effectiveDate
          }
          break
        case "change_quantity":
        case "change_rate":
          offer = lineOf(action)
          break
      }
    } else {
      switch (action.kind) {
        case "add":
          addOns = [...addOns.filter((l) => l.offerId !== action.offerId), lineOf(action)]
          break
        case "remove":
          addOns = addOns.filter((l) => l.offerId !== action.offerId)
          break
        case "change_quantity":
        case "change_rate":
          addOns = addOns.map((l) => (l.offerId === action.offerId ? lineOf(action) : l))
          break
      }
    }
  }
  return { ...subscription, offer, addOns, status, ...(endDate === undefined ? {} : { endDate }) }
}

/**
 * The subscription after committing an amendment on `today`: the actions due by today apply now,
 * the later ones become the pending change (and the lock) until their date.
 */
export const commitActions = (
  subscription: Subscription,
  amendmentId: string,
  actions: ReadonlyArray<Action>,
  today: CalendarDate,
  now: Instant
): Subscription => {
  const period = periodOn(subscription, today)
  const due = actions.filter((a) => a.effectiveDate <= today)
  const later = actions.filter((a) => a.effectiveDate > today)
  const applied = applyActions({ ...subscription, currentPeriod: period }, due)
  const { pendingChange: _, ...rest } = applied
  const effectiveDate = later.reduce<CalendarDate | undefined>(
    (d, a) => (d === undefined || a.effectiveDate < d ? a.effectiveDate : d),
    undefined
  )
  return {
    ...rest,
    ...(effectiveDate === undefined ? {} : { pendingChange: { amendmentId, effectiveDate, actions: later } }),
    version: subscription.version + 1,
    updatedAt: now
  }
}

/**
 * Applies a pending change whose date has come (`effectiveDate <= today`), rolling the period
 * forward; `undefined` when there is nothing due.
 */
export const applyDuePendingChange = (
  subscription: Subscription,
  today: CalendarDate,
  now: Instant
): Subscription | undefined => {
  const pending = subscription.pendingChange
  if (pending === undefined || pending.effectiveDate > today) return undefined
  const { pendingChange: _, ...rest } = applyActions(subscription, pending.actions)
  return {
    ...rest,
    currentPeriod: periodOn(subscription, today),
    version: subscription.version + 1,
    updatedAt: now
  }
}

/**
 * Brings a stored subscription up to `today`: a pending subscription whose first period has begun
 * becomes active, and a pending change whose date has come is applied. `undefined` when nothing
 * was due.
 */
export const catchUp = (subscription: Subscription, today: CalendarDate, now: Instant): Subscription | undefined => {
  let current = subscription
  let changed = false
  if (current.status === "pending" && current.currentPeriod.start <= today) {
    current = { ...current, status: "active" }
    changed = true
  }
  const applied = applyDuePendingChange(current, today, now)
  if (applied !== undefined) return { ...applied, version: subscription.version + 1 }
  return changed ? { ...current, version: subscription.version + 1, updatedAt: now } : undefined
}

/** One upcoming billing period and what it bills. */
export interface ScheduledPeriod {
  readonly periodStart: CalendarDate
  readonly periodEnd: CalendarDate
  readonly amount: Money.Money
  readonly lines: ReadonlyArray<Line>
}

/**
 * The next `count` billing periods from the one in force today, each with the lines and amount it
 * bills once any pending change has taken effect; it stops where the subscription ends.
 */
export const schedule = (subscription: Subscription, today: CalendarDate, count: number): ReadonlyArray<ScheduledPeriod> => {
  const periods: Array<ScheduledPeriod> = []
  let period = periodOn(subscription, today)
  for (let i = 0; i < count; i++) {
    const pending = subscription.pendingChange
    const state = pending !== undefined && pending.effectiveDate <= period.start
      ? applyActions(subscription, pending.actions)
      : subscription
    if (state.status === "cancelled" || state.status === "expired") break
    if (state.endDate !== undefined && state.endDate <= period.start) break
    periods.push({
      periodStart: period.start,
      periodEnd: period.end,
      amount: recurringAmount({ ...state, status: "active" }),
      lines: [state.offer, ...state.addOns]
    })
    period = BillingPeriod.next(period, subscription.interval, subscription.anchorDay)
  }
  return periods
}

const invalid = (field: string, message: string) => Either.left(new InvalidInput({ field, message }))

/** Whether one line is in the subscription's currency and, when its offer is known, on a rate of it billed at the subscription's interval. */
const checkLine = (
  subscription: Subscription,
  line: Line,
  field: string,
  offers: ReadonlyMap<string, Offer>,
  onlyKnownOffers: boolean
): Either.Either<void, InvalidInput> => {
  if (line.unitPrice.currency !== subscription.currency) {
    return invalid(`${field}.unitPrice.currency`, `the line is priced in ${line.unitPrice.currency}, the subscription bills in ${subscription.currency}`)
  }
  const offer = offers.get(line.offerId)
  if (offer === undefined) return onlyKnownOffers ? Either.void : invalid(`${field}.offerId`, `no offer ${line.offerId} in the catalog`)
  const rate = offer.rates.find((r) => r.id === line.rateId)
  if (rate === undefined) return invalid(`${field}.rateId`, `offer ${line.offerId} has no rate ${line.rateId}`)
  // The rate's currency is not compared: the line keeps the price agreed when it was bought, in the
  // subscription's currency, even after the catalog moved the rate to another one.
  if (!BillingPeriod.sameInterval(rate.interval, subscription.interval)) {
    return invalid(`${field}.rateId`, `rate ${rate.id} bills every ${rate.interval.count} ${rate.interval.unit}, not as the subscription does`)
  }
  return Either.void
}

/**
 * Every way a subscription is inconsistent with itself and the catalog, each with its field: a
 * line not in the subscription's currency, a current period that is not one interval long from a
 * start on the anchor day, a line whose rate is not on its offer at the subscription's interval.
 * With `onlyKnownOffers`, lines whose offer the catalog does not hold are not checked against it.
 */
export const problems = (
  subscription: Subscription,
  offers: Iterable<Offer>,
  options: { readonly onlyKnownOffers?: boolean } = {}
): ReadonlyArray<InvalidInput> => {
  const found: Array<InvalidInput> = []
  const { start, end } = subscription.currentPeriod
  const unit = subscription.interval.unit
  let anchoredStart = true
  if (unit === "month" || unit === "year") {
    const { day, month, year } = Dates.toParts(start)
    const anchored = Math.min(subscription.anchorDay, Dates.daysInMonth(year, month))
    if (day !== anchored) {
      anchoredStart = false
      found.push(new InvalidInput({ field: "currentPeriod.start", message: `the period starts on day ${day}, the anchor day is ${subscription.anchorDay}` }))
    }
  }
  const expectedEnd = BillingPeriod.advance(start, subscription.interval, subscription.anchorDay)
  if (anchoredStart && end !== expectedEnd) {
    found.push(new InvalidInput({
      field: "currentPeriod.end",
      message: `a period starting ${start} every ${subscription.interval.count} ${unit} ends ${expectedEnd}, not ${end}`
    }))
  }
  const byId = new Map(Array.from(offers, (o) => [o.id, o] as const))
  const onlyKnown = options.onlyKnownOffers ?? false
  const lines: ReadonlyArray<readonly [Line, string]> = [
    [subscription.offer, "offer"],
    ...subscription.addOns.map((line, i) => [line, `addOns[${i}]`] as const)
  ]
  for (const [line, field] of lines) {
    const checked = checkLine(subscription, line, field, byId, onlyKnown)
    if (Either.isLeft(checked)) found.push(checked.left)
  }
  return found
}

/**
 * Whether a subscription is consistent with itself and the catalog, as a store must check before
 * keeping one: the first of its `problems`, if any.
 */
export const check = (
  subscription: Subscription,
  offers: Iterable<Offer>,
  options: { readonly onlyKnownOffers?: boolean } = {}
): Either.Either<Subscription, InvalidInput> => {
  const first = problems(subscription, offers, options)[0]
  return first === undefined ? Either.right(subscription) : Either.left(first)
}

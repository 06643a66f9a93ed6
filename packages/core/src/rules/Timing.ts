/**
 * When changes take effect: the defaults, the catalog's per-path overrides, effective dates, and
 * the validation of the timing an amend request asks for.
 */
import * as Either from "effect/Either"
import type * as BillingPeriod from "../domain/BillingPeriod.js"
import type { CalendarDate } from "../domain/CalendarDate.js"
import { AmendRejected } from "../domain/Errors.js"
import type { ChangePolicy, Offer, Timing } from "../domain/Offer.js"

/** Upgrades apply today, prorated. */
export const upgradeDefault: ChangePolicy = { timing: "TODAY", prorate: true }
/** Downgrades apply at the next period start, not prorated. */
export const downgradeDefault: ChangePolicy = { timing: "NEXT_PERIOD_START", prorate: false }
/** An add-on added applies today, prorated to the end of the period (co-termed). */
export const addOnAddDefault: ChangePolicy = { timing: "TODAY", prorate: true }
/** An add-on removed runs to the end of the current period. */
export const addOnRemoveDefault: ChangePolicy = { timing: "CURRENT_PERIOD_END", prorate: false }

/** More units (seats) of a held offer apply today, prorated like an upgrade. */
export const quantityIncreaseDefault: ChangePolicy = { timing: "TODAY", prorate: true }
/** Fewer units (seats) of a held offer apply at the next period start, not prorated, like a downgrade. */
export const quantityDecreaseDefault: ChangePolicy = { timing: "NEXT_PERIOD_START", prorate: false }

/** Whether a quantity change adds units or takes them away. */
export type QuantityDirection = "increase" | "decrease"

/**
 * The policy of a quantity change of a held line: the line's own offer (the one kept) overrides
 * the default with `changePolicy.quantityIncrease` / `changePolicy.quantityDecrease`.
 */
export const quantityPolicyFor = (offer: Offer, direction: QuantityDirection): ChangePolicy =>
  direction === "increase"
    ? offer.changePolicy?.quantityIncrease ?? quantityIncreaseDefault
    : offer.changePolicy?.quantityDecrease ?? quantityDecreaseDefault

/** The direction of an offer change along a configured path. */
export type Direction = "upgrade" | "downgrade"

/** The direction of a move from `from` to `toId`, if it is a configured path. */
export const directionOf = (from: Offer, toId: string): Direction | undefined =>
  from.upgrades.includes(toId) ? "upgrade" : from.downgrades.includes(toId) ? "downgrade" : undefined

/** The policy for a move: the per-path override, else the per-direction override, else the default. */
export const policyFor = (from: Offer, toId: string, direction: Direction): ChangePolicy =>
  from.changePolicy?.paths?.[toId] ??
    from.changePolicy?.[direction] ??
    (direction === "upgrade" ? upgradeDefault : downgradeDefault)

/** The date a timing lands on, for a period in force today. */
export const effectiveDate = (timing: Timing, today: CalendarDate, period: BillingPeriod.Period): CalendarDate =>
  timing === "TODAY" ? today : period.end

/** Whether a policy results in a prorated part-period line (only changes made today are). */
export const isProrated = (policy: ChangePolicy): boolean => policy.timing === "TODAY" && policy.prorate

/** What an amend action is. */
export type AmendActionKind = "update" | "creation" | "removal"

const allowed: Record<AmendActionKind, ReadonlyArray<Timing>> = {
  update: ["TODAY", "NEXT_PERIOD_START"],
  creation: ["TODAY", "NEXT_PERIOD_START"],
  removal: ["TODAY", "CURRENT_PERIOD_END"]
}

/**
 * Validates the timing an amend action asks for: updates and creations take `TODAY` or
 * `NEXT_PERIOD_START`, removals `TODAY` or `CURRENT_PERIOD_END`.
 */
export const validateAmendTiming = (
  kind: AmendActionKind,
  timing: unknown,
  field: string
): Either.Either<Timing, AmendRejected> =>
  typeof timing === "string" && (allowed[kind] as ReadonlyArray<string>).includes(timing)
    ? Either.right(timing as Timing)
    : Either.left(
        new AmendRejected({
          errorCode: "INVALID_SUBSCRIPTION_TIMING",
          details: `${field} must be one of ${allowed[kind].join(", ")} for a subscription ${kind}`,
          context: { field, timing: typeof timing === "string" ? timing : String(timing) }
        })
      )

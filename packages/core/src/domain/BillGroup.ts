/**
 * Bill groups (the amend API): an account's container of billing configuration, with the status
 * of its contract.
 */
import * as Schema from "effect/Schema"
import * as BillingPeriod from "./BillingPeriod.js"
import { Id } from "./Id.js"
import * as Money from "./Money.js"

/** The status of the contract behind a bill group. */
export const ContractStatus = Schema.Literal("ACTIVE", "PENDING", "FINISHED", "CANCELED")
export type ContractStatus = typeof ContractStatus.Type

/** A bill group. */
export const BillGroup = Schema.Struct({
  id: Id,
  accountId: Schema.String.pipe(Schema.minLength(1)),
  currency: Money.Currency,
  contractStatus: ContractStatus,
  /** The day of the month new subscriptions of the group start their periods on. */
  anchorDay: BillingPeriod.AnchorDay,
  version: Schema.Int.pipe(Schema.nonNegative())
})
export type BillGroup = typeof BillGroup.Type

/**
 * The operator plane: who an operator is (an API key, by its name and id, never its secret), the
 * scopes a key may carry, the audit entry every operator write leaves, and the failures of
 * operator writes that report every problem at once.
 */
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import { Instant } from "./Instant.js"

/** The scopes an operator API key may carry. */
export const AdminScope = Schema.Literal("catalog:write", "subscriptions:write", "webhooks:write", "admin:read")
export type AdminScope = typeof AdminScope.Type

/** Every admin scope, in the order the documentation lists them. */
export const ADMIN_SCOPES: ReadonlyArray<AdminScope> = AdminScope.literals

/**
 * An operator: the API key a request was made with, by its name and id (never its secret), and
 * the scopes it carries. Not a checkout caller: it is not a `Principal`, and only operator
 * operations accept it (the withdrawal of a scheduled change tells it apart by its class).
 */
export class Operator extends Schema.Class<Operator>("Operator")({
  keyId: Schema.String,
  name: Schema.String,
  scopes: Schema.Array(AdminScope)
}) {}

/** The operator of the current admin request, provided by the admin authentication. */
export class CurrentOperator extends Context.Tag("@subshift/core/CurrentOperator")<CurrentOperator, Operator>() {}

/** One problem of a rejected record: where (`offer.rateId`, `addOns[1].quantity`) and what. */
export const Problem = Schema.Struct({ path: Schema.String, message: Schema.String })
export type Problem = typeof Problem.Type

/** A record sent by an operator is invalid; `problems` lists every one, each with its path. */
export class InvalidRecord extends Schema.TaggedError<InvalidRecord>()("InvalidRecord", {
  entity: Schema.String,
  problems: Schema.Array(Problem)
}) {
  override get message() {
    const first = this.problems[0]
    const rest = this.problems.length > 1 ? ` (and ${this.problems.length - 1} more)` : ""
    return first === undefined ? `the ${this.entity} is invalid` : `the ${this.entity} is invalid: ${first.path}: ${first.message}${rest}`
  }
}

/** A replace of something that exists was sent without `If-Match`. */
export class PreconditionRequired extends Schema.TaggedError<PreconditionRequired>()("PreconditionRequired", {
  entity: Schema.String,
  id: Schema.String,
  version: Schema.Int
}) {
  override get message() {
    return `${this.entity} ${this.id} exists: replacing it needs If-Match with its version (${this.version})`
  }
}

/** A write would drop a subscription's pending change without saying `pendingChange: "discard"`. */
export class PendingChangeConflict extends Schema.TaggedError<PendingChangeConflict>()("PendingChangeConflict", {
  subscriptionId: Schema.String,
  amendmentId: Schema.String,
  effectiveDate: Schema.String
}) {
  override get message() {
    return `subscription ${this.subscriptionId} has a change pending for ${this.effectiveDate} (amendment ${this.amendmentId}) that this write would drop; send pendingChange: "discard" to drop it`
  }
}

/** An operator write, as the audit log keeps it. */
export const AuditEntry = Schema.Struct({
  id: Schema.String,
  occurredAt: Instant,
  /** The key that made the write: its id and name, never its secret. */
  key: Schema.Struct({ id: Schema.String, name: Schema.String }),
  /** What was done, e.g. `subscription.put`, `bill_group.put`, `catalog.publish`. */
  action: Schema.String,
  /** What it was done to, e.g. a subscription id. */
  target: Schema.String,
  /** The reason given in `X-Subshift-Reason`, if any. */
  reason: Schema.optional(Schema.String),
  /** A short outcome, e.g. `created`, `updated`. */
  outcome: Schema.optional(Schema.String)
})
export type AuditEntry = typeof AuditEntry.Type

/** An audit entry as read back: with the position the store gave it. */
export const StoredAuditEntry = Schema.Struct({ ...AuditEntry.fields, sequence: Schema.Int.pipe(Schema.positive()) })
export type StoredAuditEntry = typeof StoredAuditEntry.Type

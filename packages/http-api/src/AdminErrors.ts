/** The errors of the operator plane, as they travel (see `HttpErrors` for the envelope). */
import * as CoreOperator from "@subshift/core/domain/Operator"
import * as HttpErrors from "./HttpErrors.js"

/** 400: a record sent by an operator is invalid; `details.problems` lists every problem with its path. */
export const InvalidRecord = HttpErrors.envelope(CoreOperator.InvalidRecord, 400, "The record is invalid; every problem is listed with its path.")
/** 428: a replace of an existing record was sent without `If-Match`. */
export const PreconditionRequired = HttpErrors.envelope(
  CoreOperator.PreconditionRequired,
  428,
  "The record exists: replacing it needs If-Match with its version."
)
/** 409: the write would drop a pending change; send `pendingChange: "discard"` to drop it. */
export const PendingChangeConflict = HttpErrors.envelope(
  CoreOperator.PendingChangeConflict,
  409,
  "The write would drop the subscription's pending change; send pendingChange: \"discard\" to drop it."
)

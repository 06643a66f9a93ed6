/**
 * The `AuditLog` port: every operator write, naming the API key that made it and the reason it
 * gave, read back in write order from a cursor.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { StoreUnavailable } from "../domain/Errors.js"
import type { AuditEntry, StoredAuditEntry } from "../domain/Operator.js"

/** A page query: entries after a sequence number. */
export interface AuditQuery {
  readonly after?: number | undefined
  readonly limit: number
}

/** The audit log port. */
export class AuditLog extends Context.Tag("@subshift/core/AuditLog")<
  AuditLog,
  {
    readonly record: (entry: AuditEntry) => Effect.Effect<void, StoreUnavailable>
    readonly list: (query: AuditQuery) => Effect.Effect<ReadonlyArray<StoredAuditEntry>, StoreUnavailable>
  }
>() {}

/** The `AuditLog` port: operator writes in write order, keyset pages on `sequence`. */
import { AuditEntry, StoredAuditEntry } from "@subshift/core/domain/Operator"
import { AuditLog } from "@subshift/core/ports/AuditLog"
import * as Effect from "effect/Effect"
import type { PortContext } from "./Edge.js"
import { count, decodeRows, decoder, encodeJson, type TextRow } from "./Rows.js"

const encodeEntry = encodeJson(AuditEntry)
const decodeEntry = decoder(StoredAuditEntry)

/** Builds the `AuditLog` port. */
export const make = ({ edge, read, sql }: PortContext) =>
  AuditLog.of({
    record: (entry) =>
      encodeEntry(entry).pipe(
        Effect.flatMap((json) =>
          sql`INSERT INTO subshift_audit (id, data) VALUES (${entry.id}, ${json}::jsonb)`.withoutTransform
        ),
        Effect.asVoid,
        edge("AuditLog.record")
      ),
    list: ({ after, limit }) => {
      const rows = count(limit)
      if (rows === 0) return Effect.succeed([])
      return sql<TextRow>`SELECT (data || jsonb_build_object('sequence', sequence))::text AS data FROM subshift_audit
        WHERE sequence > ${count(after)} ORDER BY sequence LIMIT ${rows}`.withoutTransform.pipe(
        Effect.flatMap(decodeRows(decodeEntry)),
        read("AuditLog.list")
      )
    }
  })

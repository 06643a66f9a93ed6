/** The `Amendments` port, and the amendments insert a subscription commit runs in its transaction. */
import { Amendment } from "@subshift/core/domain/Amendment"
import { Amendments } from "@subshift/core/ports/Amendments"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { PortContext } from "./Edge.js"
import { decodeFirst, decodeRows, decoder, encodeJson, type TextRow } from "./Rows.js"

const encodeAmendments = encodeJson(Schema.Array(Amendment))
const decodeAmendment = decoder(Amendment)

/**
 * Inserts amendments in one statement; `WITH ORDINALITY … ORDER BY` keeps the commit's order in
 * the identity column that `listBySubscription` sorts on.
 */
export const insertAmendments = ({ sql }: PortContext) => (amendments: ReadonlyArray<Amendment>) =>
  Effect.flatMap(encodeAmendments(amendments), (json) =>
    sql`INSERT INTO subshift_amendments (id, subscription_id, created_at, data)
      SELECT a->>'id', a->>'subscriptionId', (a->>'createdAt')::timestamptz, a
      FROM jsonb_array_elements(${json}::jsonb) WITH ORDINALITY AS x(a, n)
      ORDER BY n`.withoutTransform)

/** Inserts amendments inside the caller's transaction. */
export type InsertAmendments = ReturnType<typeof insertAmendments>

/** Builds the `Amendments` port. */
export const make = ({ edge, read, sql }: PortContext) =>
  Amendments.of({
    findById: (id) =>
      sql<TextRow>`SELECT data::text AS data FROM subshift_amendments WHERE id = ${id}`.withoutTransform.pipe(
        Effect.flatMap(decodeFirst(decodeAmendment)),
        read("Amendments.findById")
      ),
    listBySubscription: (subscriptionId) =>
      sql<TextRow>`SELECT data::text AS data FROM subshift_amendments WHERE subscription_id = ${subscriptionId}
        ORDER BY seq`.withoutTransform.pipe(Effect.flatMap(decodeRows(decodeAmendment)), read("Amendments.listBySubscription"))
  })

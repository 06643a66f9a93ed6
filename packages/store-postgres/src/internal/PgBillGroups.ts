/** The `BillGroups` port. */
import { BillGroup } from "@subshift/core/domain/BillGroup"
import { BillGroups } from "@subshift/core/ports/BillGroups"
import * as Effect from "effect/Effect"
import { conflict, type PortContext } from "./Edge.js"
import { decodeFirst, decoder, encodeJson, type TextRow } from "./Rows.js"

const encodeBillGroup = encodeJson(BillGroup)
const decodeBillGroup = decoder(BillGroup)

/** Builds the `BillGroups` port. */
export const make = ({ edge, read, sql }: PortContext) =>
  BillGroups.of({
    findById: (id) =>
      sql<TextRow>`SELECT data::text AS data FROM subshift_bill_groups WHERE id = ${id}`.withoutTransform.pipe(
        Effect.flatMap(decodeFirst(decodeBillGroup)),
        read("BillGroups.findById")
      ),
    put: (billGroup) =>
      encodeBillGroup(billGroup).pipe(
        Effect.flatMap((json) =>
          sql`INSERT INTO subshift_bill_groups (id, version, data)
            VALUES (${billGroup.id}, ${billGroup.version}, ${json}::jsonb)
            ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data`.withoutTransform
        ),
        Effect.asVoid,
        edge("BillGroups.put")
      ),
    write: (billGroup, expectedVersion) =>
      encodeBillGroup(billGroup).pipe(
        Effect.flatMap((json) =>
          expectedVersion === undefined
            ? sql<{ readonly id: string }>`INSERT INTO subshift_bill_groups (id, version, data)
                VALUES (${billGroup.id}, ${billGroup.version}, ${json}::jsonb)
                ON CONFLICT DO NOTHING RETURNING id`.withoutTransform
            : sql<{ readonly id: string }>`UPDATE subshift_bill_groups SET version = ${billGroup.version}, data = ${json}::jsonb
                WHERE id = ${billGroup.id} AND version = ${expectedVersion} RETURNING id`.withoutTransform
        ),
        Effect.flatMap((rows) =>
          rows.length === 1 ? Effect.void : Effect.flatMap(
            sql<{ readonly version: number }>`SELECT version FROM subshift_bill_groups WHERE id = ${billGroup.id}`.withoutTransform,
            (found) => Effect.fail(conflict("bill_group", billGroup.id, expectedVersion, found[0]?.version ?? null))
          )
        ),
        edge("BillGroups.write")
      )
  })

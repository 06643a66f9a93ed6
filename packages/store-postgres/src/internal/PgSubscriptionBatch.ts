/**
 * Writing many subscriptions of one commit in two statements rather than one per subscription:
 * the new ones in one multi-row `INSERT`, the replaced ones in one `UPDATE` that checks every
 * version. The rows travel as one JSON array parameter, each row's stored JSON spliced in as the
 * text it was encoded to.
 */
import * as Effect from "effect/Effect"
import { conflict, type PortContext } from "./Edge.js"

/** A subscription's columns, its stored JSON as text. */
export interface Columns {
  readonly id: string
  readonly name: string
  readonly owner: string
  readonly partnerOrg: string | null
  readonly billGroupId: string | null
  readonly dueDate: string | null
  readonly version: number
  readonly json: string
}

/** One JSON array of the rows, `expected` being the version each must still be at. */
const rowsJson = (rows: ReadonlyArray<{ readonly columns: Columns; readonly expected: number | undefined }>) => {
  let text = "["
  for (const [i, { columns: c, expected }] of rows.entries()) {
    text += `${i === 0 ? "" : ","}{"id":${JSON.stringify(c.id)},"name":${JSON.stringify(c.name)},"owner":${JSON.stringify(c.owner)},"partnerOrg":${
      JSON.stringify(c.partnerOrg)
    },"billGroupId":${JSON.stringify(c.billGroupId)},"dueDate":${JSON.stringify(c.dueDate)},"version":${c.version},"expected":${expected ?? null},"data":${c.json}}`
  }
  return `${text}]`
}

/**
 * Writes the subscriptions (already sorted by id) all or none: a new one must not exist yet by
 * id or by name, a replaced one must still be at its expected version; otherwise the
 * `VersionConflict` of the first that failed. Runs inside the caller's transaction.
 */
export const writeMany = ({ sql }: PortContext) =>
  Effect.fnUntraced(function*(writes: ReadonlyArray<{ readonly columns: Columns; readonly expected: number | undefined }>) {
    const inserts = writes.filter((w) => w.expected === undefined)
    const updates = writes.filter((w) => w.expected !== undefined)
    const done = new Set<string>()
    if (updates.length > 0) {
      // Locked in id order first, so that two commits over the same subscriptions wait for each other.
      const ids = updates.map((w) => w.columns.id)
      yield* sql`SELECT id FROM subshift_subscriptions WHERE id = ANY(${ids}::text[]) ORDER BY id FOR UPDATE`.withoutTransform
      const rows = yield* sql<{ readonly id: string }>`UPDATE subshift_subscriptions AS s SET name = r.name, owner = r.owner,
          partner_org = r.partner_org, bill_group_id = r.bill_group_id, due_date = r.due_date, version = r.version, data = r.data
        FROM (SELECT e->>'id' AS id, e->>'name' AS name, e->>'owner' AS owner, e->>'partnerOrg' AS partner_org,
            e->>'billGroupId' AS bill_group_id, (e->>'dueDate')::date AS due_date, (e->>'version')::integer AS version,
            (e->>'expected')::integer AS expected, e->'data' AS data
          FROM jsonb_array_elements(${rowsJson(updates)}::jsonb) AS x(e)) AS r
        WHERE s.id = r.id AND s.version = r.expected
        RETURNING s.id`.withoutTransform
      for (const row of rows) done.add(row.id)
    }
    if (inserts.length > 0) {
      const rows = yield* sql<{ readonly id: string }>`INSERT INTO subshift_subscriptions (id, name, owner, partner_org, bill_group_id, due_date, version, data)
        SELECT e->>'id', e->>'name', e->>'owner', e->>'partnerOrg', e->>'billGroupId', (e->>'dueDate')::date, (e->>'version')::integer, e->'data'
        FROM jsonb_array_elements(${rowsJson(inserts)}::jsonb) WITH ORDINALITY AS x(e, n)
        ORDER BY n
        ON CONFLICT DO NOTHING
        RETURNING id`.withoutTransform
      for (const row of rows) done.add(row.id)
    }
    // Two writes of one id in a commit: the second finds the first.
    const missed = writes.find((w) => !done.has(w.columns.id)) ??
      (done.size < writes.length ? writes.find((w, i) => writes.findIndex((x) => x.columns.id === w.columns.id) !== i) : undefined)
    if (missed !== undefined) {
      const found = yield* sql<{ readonly version: number }>`SELECT version FROM subshift_subscriptions WHERE id = ${missed.columns.id}`
        .withoutTransform
      return yield* Effect.fail(conflict("subscription", missed.columns.id, missed.expected, found[0]?.version ?? null))
    }
  })

/** The subscriptions a commit writes, for `writeMany`. */
export type WriteMany = ReturnType<typeof writeMany>

/** The `Events` port, and the events insert every write that records events runs in its transaction. */
import * as Event from "@subshift/core/domain/Event"
import { Events } from "@subshift/core/ports/Events"
import * as Effect from "effect/Effect"
import { type PortContext, transaction } from "./Edge.js"
import { eventsJson } from "./json.js"
import { count, decodeRows, decoder, type TextRow } from "./Rows.js"

const decodeStoredEvent = decoder(Event.StoredEvent)

/** The key of the events' ordering lock: one per schema. */
export const orderingLock = "hashtext(current_schema() || '.subshift_events')"

/**
 * Inserts events in order, inside the caller's transaction. Sequences come from an identity, so
 * two transactions writing at once can commit in the opposite order of their sequences, and a
 * reader between the two commits would move its cursor past the one not yet visible. So writers
 * take the ordering lock *shared* (held to commit, and always the last lock a writer takes, so it
 * cannot close a deadlock): writers never wait for each other, and a reader that takes it
 * exclusively (`list`) waits until every writer holding a sequence has committed or rolled back.
 */
export const insertEvents = ({ sql }: PortContext) => (events: ReadonlyArray<Event.Event>) =>
  events.length === 0 ? Effect.void : Effect.suspend(() => {
    const json = eventsJson(events)
    return Effect.all([
      sql`SELECT pg_advisory_xact_lock_shared(${sql.literal(orderingLock)})`.withoutTransform,
      sql`INSERT INTO subshift_events (id, subscription_id, partner_org, data)
        SELECT e->>'id', e->>'subscriptionId', e->>'partnerOrg', e
        FROM jsonb_array_elements(${json}::jsonb) WITH ORDINALITY AS x(e, n)
        ORDER BY n`.withoutTransform
    ], { discard: true })
  })

/** Inserts events inside the caller's transaction. */
export type InsertEvents = ReturnType<typeof insertEvents>

/** The `Events` port: keyset pages on `sequence`, which is added to the stored JSON when read. */
export const make = ({ edge, read, sql }: PortContext) => {
  const eventsAfter = (query: {
    readonly after: number
    readonly limit: number
    readonly partnerOrg: string | undefined
    readonly subscriptionId: string | undefined
  }) =>
    sql<TextRow>`SELECT (data || jsonb_build_object('sequence', sequence))::text AS data FROM subshift_events
      WHERE sequence > ${query.after}
      ${query.partnerOrg === undefined ? sql`` : sql`AND partner_org = ${query.partnerOrg}`}
      ${query.subscriptionId === undefined ? sql`` : sql`AND subscription_id = ${query.subscriptionId}`}
      ORDER BY sequence LIMIT ${query.limit}`.withoutTransform

  return Events.of({
    list: ({ after, limit, partnerOrg, subscriptionId }) => {
      const rows = count(limit)
      if (rows === 0) return Effect.succeed([])
      // The lock taken exclusively waits for the writers in flight; the read after it (a statement
      // of its own, so a snapshot taken once they are done) sees every sequence below the last one
      // it reads. Writers arriving meanwhile wait for this short transaction.
      return transaction(sql)(Effect.zipRight(
        sql`SELECT pg_advisory_xact_lock(${sql.literal(orderingLock)})`.withoutTransform,
        eventsAfter({ after: count(after), limit: rows, partnerOrg, subscriptionId })
      )).pipe(
        Effect.flatMap(decodeRows(decodeStoredEvent)),
        read("Events.list")
      )
    }
  })
}

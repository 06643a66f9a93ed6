/**
 * The data of `npm run scale`: subscriptions and bill groups copied from the demo's (through the
 * store's own ports, so they pass its checks), and the checks made on the database afterwards.
 */
import { BillGroups } from "@subshift/core/ports/BillGroups"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { PgStore } from "@subshift/store-postgres"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type pg from "pg"
import { query } from "./topology.js"

export const CUSTOMER = "cus-load"
export const AMEND_ACCOUNT = "cus-amend"
export const subscriptionId = (i: number) => `sub-load-${i}`
export const billGroupId = (i: number) => `bg-load-${i}`
export const amendSubscriptionId = (i: number) => `sub-amend-${i}`

/**
 * `subscriptions` copies of the partner's sub-carol, owned by one customer, and `billGroups`
 * bill groups of that customer's account with one copy of sub-acme-2 each.
 */
export const seed = (primaryUrl: string, counts: { readonly subscriptions: number; readonly billGroups: number }) =>
  Effect.runPromise(Effect.gen(function*() {
    const subscriptions = yield* Subscriptions
    const billGroups = yield* BillGroups
    const carol = Option.getOrThrow(yield* subscriptions.findById("sub-carol"))
    const acme = Option.getOrThrow(yield* subscriptions.findById("sub-acme-2"))
    const group = Option.getOrThrow(yield* billGroups.findById("bg-acme"))
    for (let i = 0; i < counts.subscriptions; i++) {
      yield* subscriptions.put({ ...carol, id: subscriptionId(i), name: `LOAD${String(i).padStart(8, "0")}`, owner: CUSTOMER })
    }
    for (let i = 0; i < counts.billGroups; i++) {
      yield* billGroups.put({ ...group, id: billGroupId(i), accountId: AMEND_ACCOUNT })
      yield* subscriptions.put({
        ...acme,
        id: amendSubscriptionId(i),
        name: `AMND${String(i).padStart(8, "0")}`,
        owner: AMEND_ACCOUNT,
        billGroupId: billGroupId(i)
      })
    }
  }).pipe(Effect.provide(PgStore.layerUrl(primaryUrl, { maxConnections: 2 }))))

/** What the database says about the answers the load got. */
export interface Verdict {
  readonly answeredAmendments: number
  readonly lostAmendments: ReadonlyArray<string>
  readonly basketsCommittedTwice: number
  readonly scheduledChangesApplied: number
  readonly scheduledChangesAppliedTwice: number
  readonly storedAmendments: number
}

/** Every amendment answered 200 is stored, no basket is committed twice, no change applied twice. */
export const verify = async (primaryUrl: string, answered: ReadonlyArray<string>): Promise<Verdict> => {
  const found = await query<{ id: string }>(primaryUrl, "SELECT id FROM subshift_amendments WHERE id = ANY($1::text[])", [answered])
  const stored = new Set(found.map((r) => r.id))
  const [twice] = await query<{ n: number }>(primaryUrl, `SELECT count(*)::int AS n FROM (
      SELECT data->>'basketId' FROM subshift_events WHERE data->>'type' = 'amendment.committed' AND data ? 'basketId'
      GROUP BY 1 HAVING count(*) > 1) AS x`)
  // A change applied twice would show as two `subscription.changed` events from one version.
  const [changes] = await query<{ applied: number; twice: number }>(primaryUrl, `SELECT count(*)::int AS applied,
      (count(*) - count(DISTINCT (subscription_id, data->'before'->>'version')))::int AS twice
      FROM subshift_events WHERE data->>'type' = 'subscription.changed'`)
  const [amendments] = await query<{ n: number }>(primaryUrl, "SELECT count(*)::int AS n FROM subshift_amendments")
  return {
    answeredAmendments: answered.length,
    lostAmendments: answered.filter((id) => !stored.has(id)),
    basketsCommittedTwice: twice!.n,
    scheduledChangesApplied: changes!.applied,
    scheduledChangesAppliedTwice: changes!.twice,
    storedAmendments: amendments!.n
  }
}

/**
 * How long a write on the primary takes to be replayed on the replica, sampled once over two open
 * connections: the primary's WAL position now, then the replica polled until it has replayed it.
 */
export const replicationLagMs = async (primary: pg.Client, replica: pg.Client): Promise<number> => {
  const { rows: [at] } = await primary.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")
  const started = performance.now()
  for (;;) {
    const { rows: [replayed] } = await replica.query<{ caught: boolean }>("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught", [at!.lsn])
    if (replayed!.caught) return performance.now() - started
    if (performance.now() - started > 30_000) return Infinity
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

/**
 * The `Subscriptions` port. A commit writes its subscriptions, basket, amendments and events in
 * one transaction, and so does a save that records events.
 */
import * as Subscription from "@subshift/core/domain/Subscription"
import { type Commit, Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as History from "@subshift/core/rules/CatalogHistory"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import type * as ParseResult from "effect/ParseResult"
import { type PortContext, transaction } from "./Edge.js"
import type { InsertAmendments } from "./PgAmendments.js"
import type { SaveBasket } from "./PgBaskets.js"
import type { InsertEvents } from "./PgEvents.js"
import * as Generation from "./Generation.js"
import { type Columns, writeMany } from "./PgSubscriptionBatch.js"
import { subscriptionJson } from "./json.js"
import type { GenerationRow } from "./Generation.js"
import { type CachedDecode, count, decodeFirst, decodeRows, encodeJson, type TextRow } from "./Rows.js"
import { written } from "./Versioned.js"

const encodeSubscription = encodeJson(Subscription.Subscription)

// The earliest day something is due on a subscription: its pending change, or its start while it
// is pending. Migration 0002 computes the same from the stored JSON.
const dueDateOf = (s: Subscription.Subscription): string | null => {
  const change = s.pendingChange?.effectiveDate
  if (s.status !== "pending") return change ?? null
  const start = s.currentPeriod.start
  return change !== undefined && change < start ? change : start
}

const byId = (a: { readonly next: { readonly id: string } }, b: { readonly next: { readonly id: string } }) =>
  a.next.id < b.next.id ? -1 : a.next.id > b.next.id ? 1 : 0

/** The writes of the other ports that a commit runs in its transaction. */
export interface CommitWrites {
  readonly saveBasket: SaveBasket
  readonly insertAmendments: InsertAmendments
  readonly insertEvents: InsertEvents
  /** The view of the latest catalog version (every offer any version had). */
  readonly catalogView: Effect.Effect<History.View, SqlError | ParseResult.ParseError>
}

/** Builds the `Subscriptions` port. */
export const make = (
  context: PortContext,
  decodeSubscription: CachedDecode<Subscription.Subscription>,
  deps: CommitWrites
) => {
  const { insertAmendments, insertEvents, saveBasket } = deps
  const { edge, observed, read, sql } = context
  const finish = written(context)
  const writeAll = writeMany(context)

  // A subscription is read before the catalog in every change, so its read carries the catalog's generation.
  const subscriptionById = (id: string) =>
    sql<TextRow & GenerationRow>`SELECT data::text AS data, ${sql.literal(Generation.column)}
      FROM subshift_subscriptions WHERE id = ${id}`.withoutTransform.pipe(Effect.tap(observed.note))
  const subscriptionByName = (name: string) =>
    sql<TextRow & GenerationRow>`SELECT data::text AS data, ${sql.literal(Generation.column)}
      FROM subshift_subscriptions WHERE name = ${name}`.withoutTransform.pipe(Effect.tap(observed.note))
  const subscriptionsByIdsOrNames = (ids: ReadonlyArray<string>, names: ReadonlyArray<string>) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_subscriptions
      WHERE id = ANY(${ids}::text[]) OR name = ANY(${names}::text[])`.withoutTransform
  const subscriptionsByOwner = (owner: string) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_subscriptions WHERE owner = ${owner} ORDER BY id`.withoutTransform
  const subscriptionsByBillGroup = (billGroupId: string) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_subscriptions WHERE bill_group_id = ${billGroupId} ORDER BY id`
      .withoutTransform
  const subscriptionsByPartner = (
    { after, limit, ownerId, partnerOrg }: {
      readonly partnerOrg: string
      readonly ownerId: string | undefined
      readonly after: string | undefined
      readonly limit: number
    }
  ) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_subscriptions
      WHERE partner_org = ${partnerOrg}
      ${ownerId === undefined ? sql`` : sql`AND owner = ${ownerId}`}
      ${after === undefined ? sql`` : sql`AND id > ${after}`}
      ORDER BY id LIMIT ${limit}`.withoutTransform
  const subscriptionsDue = (today: string, limit: number) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_subscriptions
      WHERE due_date <= ${today}::date
      ORDER BY id LIMIT ${limit}`.withoutTransform

  const subscriptionsPending = ({ after, dueBefore, limit }: {
    readonly dueBefore: string | undefined
    readonly after: string | undefined
    readonly limit: number
  }) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_subscriptions
      WHERE due_date IS NOT NULL AND data ? 'pendingChange'
      ${dueBefore === undefined ? sql`` : sql`AND (data->'pendingChange'->>'effectiveDate')::date < ${dueBefore}::date`}
      ${after === undefined ? sql`` : sql`AND id > ${after}`}
      ORDER BY id LIMIT ${limit}`.withoutTransform

  const columnsOf = (s: Subscription.Subscription, json: string): Columns => ({
    id: s.id,
    name: s.name,
    owner: s.owner,
    partnerOrg: s.partnerOrg ?? null,
    billGroupId: s.billGroupId ?? null,
    dueDate: dueDateOf(s),
    version: s.version,
    json
  })
  const columns = (s: Subscription.Subscription) => Effect.map(encodeSubscription(s), (json) => columnsOf(s, json))

  const putSubscription = (s: Subscription.Subscription) =>
    Effect.flatMap(columns(s), (c) =>
      sql`INSERT INTO subshift_subscriptions (id, name, owner, partner_org, bill_group_id, due_date, version, data)
        VALUES (${c.id}, ${c.name}, ${c.owner}, ${c.partnerOrg}, ${c.billGroupId}, ${c.dueDate}::date, ${c.version}, ${c.json}::jsonb)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, owner = excluded.owner,
          partner_org = excluded.partner_org, bill_group_id = excluded.bill_group_id, due_date = excluded.due_date,
          version = excluded.version, data = excluded.data`.withoutTransform)

  // One statement per write: the version check and the write are atomic. A concurrent writer of
  // the same row makes the `UPDATE` wait for its commit and then re-check the version, so of two
  // writers at one version exactly one matches.
  const updateSubscription = (s: Subscription.Subscription, expectedVersion: number) =>
    Effect.flatMap(columns(s), (c) =>
      sql<TextRow>`UPDATE subshift_subscriptions SET name = ${c.name}, owner = ${c.owner}, partner_org = ${c.partnerOrg},
          bill_group_id = ${c.billGroupId}, due_date = ${c.dueDate}::date, version = ${c.version}, data = ${c.json}::jsonb
        WHERE id = ${c.id} AND version = ${expectedVersion}
        RETURNING data::text AS data`.withoutTransform)

  // A new subscription must not exist yet, by id or by name.
  const insertSubscription = (s: Subscription.Subscription) =>
    Effect.flatMap(columns(s), (c) =>
      sql<TextRow>`INSERT INTO subshift_subscriptions (id, name, owner, partner_org, bill_group_id, due_date, version, data)
        VALUES (${c.id}, ${c.name}, ${c.owner}, ${c.partnerOrg}, ${c.billGroupId}, ${c.dueDate}::date, ${c.version}, ${c.json}::jsonb)
        ON CONFLICT DO NOTHING
        RETURNING data::text AS data`.withoutTransform)

  // The offers a subscription's lines name, in any catalog version, to check it against before it is put.
  const offersOf = (s: Subscription.Subscription) =>
    Effect.map(deps.catalogView, (view) => History.getMany(view, [s.offer.offerId, ...s.addOns.map((l) => l.offerId)]).values())
  const subscriptionsPage = (after: string | undefined, limit: number) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_subscriptions
      WHERE ${after === undefined ? sql`true` : sql`id > ${after}`} ORDER BY id LIMIT ${limit}`.withoutTransform

  const one = decodeFirst(decodeSubscription)
  const all = decodeRows(decodeSubscription)

  // Defined once, the commit taken as an argument: a generator whose function closes over a
  // call's data keeps that data alive past the young generation (see docs/MEMORY.md).
  const writeCommit = Effect.fnUntraced(function*(commit: Commit) {
    // Subscriptions are locked in id order so that two commits over the same subscriptions
    // wait for each other instead of deadlocking.
    const sorted = [...commit.subscriptions].sort(byId)
    if (sorted.length > 1) {
      yield* writeAll(sorted.map(({ expectedVersion, next }) => ({ columns: columnsOf(next, subscriptionJson(next)), expected: expectedVersion })))
    } else {
      for (const { expectedVersion, next } of sorted) {
        yield* (expectedVersion === undefined ? insertSubscription(next) : updateSubscription(next, expectedVersion))
          .pipe(finish("subscription", next, expectedVersion, decodeSubscription.remember))
      }
    }
    if (commit.basket !== undefined) yield* saveBasket(commit.basket.next, commit.basket.expectedVersion)
    if (commit.amendments.length > 0) yield* insertAmendments(commit.amendments)
    yield* insertEvents(commit.events)
  })

  return Subscriptions.of({
    findById: (id) => subscriptionById(id).pipe(Effect.flatMap(one), read("Subscriptions.findById")),
    findByName: (name) => subscriptionByName(name).pipe(Effect.flatMap(one), read("Subscriptions.findByName")),
    findMany: ({ ids, names }) =>
      ids.length === 0 && names.length === 0
        ? Effect.succeed([])
        : subscriptionsByIdsOrNames(ids, names).pipe(Effect.flatMap(all), read("Subscriptions.findMany")),
    listByOwner: (owner) =>
      subscriptionsByOwner(owner).pipe(Effect.flatMap(all), read("Subscriptions.listByOwner")),
    listByPartner: ({ after, limit, ownerId, partnerOrg }) => {
      const rows = Math.max(0, Math.floor(limit))
      if (rows === 0) return Effect.succeed([])
      return subscriptionsByPartner({ partnerOrg, ownerId, after, limit: rows }).pipe(
        Effect.flatMap(all),
        read("Subscriptions.listByPartner")
      )
    },
    listByBillGroup: (billGroupId) =>
      subscriptionsByBillGroup(billGroupId).pipe(
        Effect.flatMap(all),
        read("Subscriptions.listByBillGroup")
      ),
    listPage: ({ after, limit }) => {
      const rows = count(limit)
      if (rows === 0) return Effect.succeed([])
      return subscriptionsPage(after, rows).pipe(Effect.flatMap(all), read("Subscriptions.listPage"))
    },
    listDue: (today, limit) => {
      const rows = count(limit)
      if (rows === 0) return Effect.succeed([])
      return subscriptionsDue(today, rows).pipe(
        Effect.flatMap(all),
        read("Subscriptions.listDue")
      )
    },
    listPending: ({ after, dueBefore, limit }) => {
      const rows = count(limit)
      if (rows === 0) return Effect.succeed([])
      return subscriptionsPending({ after, dueBefore, limit: rows }).pipe(
        Effect.flatMap(all),
        read("Subscriptions.listPending")
      )
    },
    put: (subscription) =>
      offersOf(subscription).pipe(
        Effect.flatMap((offers) => Subscription.check(subscription, offers, { onlyKnownOffers: true })),
        Effect.zipRight(putSubscription(subscription)),
        Effect.asVoid,
        edge("Subscriptions.put")
      ),
    save: (subscription, expectedVersion, events = []) => {
      const update = updateSubscription(subscription, expectedVersion).pipe(
        finish("subscription", subscription, expectedVersion, decodeSubscription.remember)
      )
      return (events.length === 0 ? update : transaction(sql)(Effect.zipRight(update, insertEvents(events)))).pipe(
        edge("Subscriptions.save")
      )
    },
    commit: (commit) => transaction(sql)(writeCommit(commit)).pipe(edge("Subscriptions.commit"))
  })
}

/**
 * Postgres adapters for every repository port of the core, on `@effect/sql-pg`. Each row keeps the
 * full domain object as `jsonb` next to the columns the queries filter, order and check versions
 * on. Versioned writes are single `UPDATE … WHERE version = expected` statements; a commit writes
 * its subscriptions, basket, amendments and events in one transaction, and so does every other
 * write that records events (an outbox). Driver failures are mapped at this
 * edge: a lost or refused connection is `StoreUnavailable`, anything else (a constraint the core
 * should never break, a row that no longer decodes) is a defect. With a `queryTimeout`, a
 * connection on which the database stops answering is closed and discarded rather than waited on.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Amendment } from "@subshift/core/Amendment"
import { Amendments } from "@subshift/core/Amendments"
import { Basket } from "@subshift/core/Basket"
import { Baskets } from "@subshift/core/Baskets"
import { BillGroup } from "@subshift/core/BillGroup"
import { BillGroups } from "@subshift/core/BillGroups"
import * as Catalog from "@subshift/core/Catalog"
import { StoreUnavailable, VersionConflict } from "@subshift/core/Errors"
import * as Event from "@subshift/core/Event"
import { Events } from "@subshift/core/Events"
import * as Idempotency from "@subshift/core/Idempotency"
import { Offer } from "@subshift/core/Offer"
import { Subscription } from "@subshift/core/Subscription"
import { Subscriptions } from "@subshift/core/Subscriptions"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Embedded from "./Embedded.js"
import { basketJson } from "./internal/json.js"
import * as Watchdog from "./internal/watchdog.js"
import * as Migrations from "./Migrations.js"

/** Every port this adapter provides. */
export type Ports = Catalog.Catalog | Subscriptions | Baskets | BillGroups | Amendments | Events | Idempotency.Idempotency

// SQLSTATE classes that mean "the database cannot serve this now; try again": connection
// exceptions (08), insufficient resources (53), operator intervention such as
// `pg_terminate_backend` or a shutdown (57P), and the retryable transaction outcomes.
const retryableStates = new Set(["40001", "40P01", "55P03", "57014"])

const sqlStateOf = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "severity" in cause && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

/**
 * Whether a driver error means the store is unreachable. Errors that carry no SQLSTATE come from
 * the socket or the pool (refused, reset, terminated, timed out), never from a statement.
 */
export const isUnavailable = (error: SqlError): boolean => {
  const state = sqlStateOf(error.cause)
  if (state === undefined) return true
  return state.startsWith("08") || state.startsWith("53") || state.startsWith("57P") || retryableStates.has(state)
}

const describe = (error: SqlError): string => {
  const cause = error.cause
  const detail = cause instanceof Error ? cause.message : cause === undefined ? "" : String(cause)
  return detail === "" ? error.message : `${error.message}: ${detail}`
}

const isSqlError = (u: unknown): u is SqlError =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "SqlError"

// A statement the database refused for a reason other than reachability: a bug or broken data,
// reported with the database's own words so that the defect explains itself.
const refused = (what: string, error: SqlError) => {
  const state = sqlStateOf(error.cause)
  return new Error(`store-postgres ${what}: ${describe(error)}${state === undefined ? "" : ` (SQLSTATE ${state})`}`, {
    cause: error
  })
}

const unavailable = (error: SqlError) => new StoreUnavailable({ message: `the database is unavailable (${describe(error)})` })

/**
 * Maps driver failures at the edge of a port call. A failed `COMMIT` or `ROLLBACK` surfaces from
 * `withTransaction` as a defect carrying the `SqlError`, so defects are inspected too: when the
 * connection died mid-transaction that is the only trace left of it.
 */
const mapFailures = (what: string) => <A, E>(self: Effect.Effect<A, E | SqlError | ParseResult.ParseError>) =>
  Effect.catchAllCause(self, (cause): Effect.Effect<A, Exclude<E, SqlError | ParseResult.ParseError> | StoreUnavailable> => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      if (isSqlError(error)) return isUnavailable(error) ? Effect.fail(unavailable(error)) : Effect.die(refused(what, error))
      if (ParseResult.isParseError(error)) {
        return Effect.dieMessage(`store-postgres ${what}: stored data does not match the schema: ${error.message}`)
      }
      return Effect.fail(error as Exclude<E, SqlError | ParseResult.ParseError>)
    }
    const defect = Cause.dieOption(cause)
    if (Option.isSome(defect) && isSqlError(defect.value) && isUnavailable(defect.value)) {
      return Effect.fail(unavailable(defect.value))
    }
    return Effect.failCause(cause as Cause.Cause<never>)
  })

const conflict = (entity: VersionConflict["entity"], id: string, expected: number | undefined, actual: number | null) =>
  new VersionConflict({ entity, id, expected: expected ?? 0, ...(actual === null ? {} : { actual }) })

const Data = <A, I>(schema: Schema.Schema<A, I>) => Schema.Struct({ data: schema })

/**
 * Rows whose `data` is read as text, for the decoders below. Those reads skip `SqlSchema`: a row
 * of one text column gains nothing from a Schema decode, and its request encode and row decode
 * were fiber work on every statement of the hottest path.
 */
interface TextRow {
  readonly data: string
}

/**
 * A decoder that remembers values by their stored JSON text, so it can never answer stale data: a
 * changed row has a different text. Writes teach it too (`remember`, with the text Postgres
 * returns for the row just written), so reading back what this process wrote costs neither a
 * `JSON.parse` nor a decode. Offers are read several times per basket update and the basket is
 * read right after its last write; decoding them again each time was most of the adapter's CPU
 * cost. The values are shared, which is safe because the core never mutates what it reads.
 */
const cachedDecoder = <A, I>(schema: Schema.Schema<A, I>, capacity: number) => {
  const decodeJson = Schema.decodeUnknown(Schema.parseJson(schema))
  const cache = new Map<string, A>()
  const remember = (text: string, value: A) => {
    cache.delete(text)
    cache.set(text, value)
    if (cache.size > capacity) cache.delete(cache.keys().next().value!)
  }
  const decode = (text: string): Effect.Effect<A, ParseResult.ParseError> => {
    const hit = cache.get(text)
    if (hit !== undefined) {
      remember(text, hit)
      return Effect.succeed(hit)
    }
    return Effect.tap(decodeJson(text), (value) => remember(text, value))
  }
  return Object.assign(decode, { remember })
}

const decodeRows = <A>(decode: (text: string) => Effect.Effect<A, ParseResult.ParseError>) =>
(rows: ReadonlyArray<{ readonly data: string }>) => Effect.forEach(rows, (row) => decode(row.data))

const decodeFirst = <A>(decode: (text: string) => Effect.Effect<A, ParseResult.ParseError>) =>
(rows: ReadonlyArray<{ readonly data: string }>) =>
  rows.length === 0 ? Effect.succeedNone : Effect.asSome(decode(rows[0]!.data))

const encodeJson = <A, I>(schema: Schema.Schema<A, I>) => Schema.encode(Schema.parseJson(schema))
const encodeOffers = encodeJson(Schema.Array(Offer))
const encodeSubscription = encodeJson(Subscription)
const encodeBillGroup = encodeJson(BillGroup)
const encodeAmendments = encodeJson(Schema.Array(Amendment))
const encodeEvents = encodeJson(Schema.Array(Event.Event))
const decodeStoredEvent = Schema.decodeUnknown(Schema.parseJson(Event.StoredEvent))

const StoredResult = Schema.Struct({
  status: Schema.Int,
  body: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.String })
})
const encodeStoredResult = encodeJson(StoredResult)
const decodeStoredResult = Schema.decodeUnknown(Schema.parseJson(StoredResult))

/** A page size or cursor as a whole number of at least zero. */
const count = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? 0 : Math.max(0, Math.floor(n)))

// The earliest day something is due on a subscription: its pending change, or its start while it
// is pending. Migration 0002 computes the same from the stored JSON.
const dueDateOf = (s: Subscription): string | null => {
  const change = s.pendingChange?.effectiveDate
  if (s.status !== "pending") return change ?? null
  const start = s.currentPeriod.start
  return change !== undefined && change < start ? change : start
}

const byId = (a: { readonly next: { readonly id: string } }, b: { readonly next: { readonly id: string } }) =>
  a.next.id < b.next.id ? -1 : a.next.id > b.next.id ? 1 : 0

/**
 * How long one store call may wait on the database, for a connection and for every statement it
 * sends, before it fails with `StoreUnavailable`; no limit unless provided. The call is abandoned
 * rather than interrupted: what it sent finishes or fails on its own, and a transaction still
 * commits or rolls back as a whole. `layerUrl` provides its `queryTimeout` here when its
 * connections use TLS, which its watchdog cannot read; a host that owns its `PgClient` can
 * provide it to `layerWithoutClient`.
 */
export class CallTimeout extends Context.Reference<CallTimeout>()("@subshift/store-postgres/PgStore/CallTimeout", {
  defaultValue: (): Option.Option<Duration.Duration> => Option.none()
}) {}

const abandonAfter = (timeout: Duration.Duration) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.disconnect,
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () =>
        new StoreUnavailable({ message: `the database did not answer within ${Duration.format(timeout)}` })
    })
  )

/** Builds the ports over a SQL client whose schema is already migrated. */
export const make: Effect.Effect<Context.Context<Ports>, never, PgClient.PgClient> = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  const callTimeout = yield* CallTimeout
  // Where every port call ends: driver failures mapped, and the wait bounded when asked to.
  const edge = Option.match(callTimeout, {
    onNone: () => mapFailures,
    onSome: (timeout) => (what: string) => <A, E>(self: Effect.Effect<A, E | SqlError | ParseResult.ParseError>) =>
      mapFailures(what)(abandonAfter(timeout)(self))
  })

  // Every statement runs `withoutTransform`: a host's client may carry name transforms, which
  // would otherwise also rewrite keys inside the stored JSON.

  // Catalog

  const decodeOffer = cachedDecoder(Offer, 4096)
  const offersById = (ids: ReadonlyArray<string>) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_offers WHERE id = ANY(${ids}::text[])`.withoutTransform
  const offerOfRate = (rateId: string) =>
    sql<TextRow>`SELECT o.data::text AS data FROM subshift_rates r JOIN subshift_offers o ON o.id = r.offer_id
      WHERE r.id = ${rateId}`.withoutTransform
  const allOffers = sql<TextRow>`SELECT data::text AS data FROM subshift_offers ORDER BY id`.withoutTransform
  // The offers and, in the same statement, those their paths and add-ons name.
  const offersWithNeighbours = (ids: ReadonlyArray<string>) =>
    sql<TextRow>`WITH named AS (SELECT id, data FROM subshift_offers WHERE id = ANY(${ids}::text[]))
      SELECT data::text AS data FROM named
      UNION ALL
      SELECT o.data::text AS data FROM subshift_offers o
        WHERE o.id IN (
          SELECT jsonb_array_elements_text(n.data->'upgrades') FROM named n
          UNION SELECT jsonb_array_elements_text(n.data->'downgrades') FROM named n
          UNION SELECT jsonb_array_elements_text(n.data->'addOns') FROM named n
        ) AND NOT (o.id = ANY(${ids}::text[]))`.withoutTransform

  const putOffers = (offers: ReadonlyArray<Offer>) =>
    Effect.gen(function*() {
      // Later duplicates win, as they would applied one by one; `ON CONFLICT DO UPDATE` refuses
      // to touch one row twice in a statement.
      const latest = Array.from(new Map(offers.map((o) => [o.id, o])).values())
      const rates = new Map<string, string>()
      for (const offer of latest) for (const rate of offer.rates) rates.set(rate.id, offer.id)
      const offersJson = yield* encodeOffers(latest)
      const ratesJson = JSON.stringify(Array.from(rates, ([id, offerId]) => ({ id, offer_id: offerId })))
      yield* sql.withTransaction(Effect.all([
        sql`INSERT INTO subshift_offers (id, data)
          SELECT o->>'id', o FROM jsonb_array_elements(${offersJson}::jsonb) AS o
          ON CONFLICT (id) DO UPDATE SET data = excluded.data`.withoutTransform,
        sql`DELETE FROM subshift_rates WHERE offer_id = ANY(${latest.map((o) => o.id)}::text[])`.withoutTransform,
        sql`INSERT INTO subshift_rates (id, offer_id)
          SELECT id, offer_id FROM jsonb_to_recordset(${ratesJson}::jsonb) AS r(id text, offer_id text)
          ON CONFLICT (id) DO UPDATE SET offer_id = excluded.offer_id`.withoutTransform
      ], { discard: true }))
    })

  const catalog = Catalog.Catalog.of({
    getMany: (ids) => {
      const wanted = Array.from(new Set(ids))
      if (wanted.length === 0) return Effect.succeed(new Map<string, Offer>())
      return offersById(wanted).pipe(
        Effect.flatMap(decodeRows(decodeOffer)),
        Effect.map((offers) => new Map(offers.map((offer) => [offer.id, offer]))),
        edge("Catalog.getMany")
      )
    },
    getWithNeighbours: (ids) => {
      const wanted = Array.from(new Set(ids))
      if (wanted.length === 0) return Effect.succeed(new Map<string, Offer>())
      return offersWithNeighbours(wanted).pipe(
        Effect.flatMap(decodeRows(decodeOffer)),
        Effect.map((offers) => new Map(offers.map((offer) => [offer.id, offer]))),
        edge("Catalog.getWithNeighbours")
      )
    },
    findRate: (rateId) =>
      offerOfRate(rateId).pipe(
        Effect.flatMap(decodeFirst(decodeOffer)),
        Effect.map(Option.flatMap((offer) =>
          Option.map(Option.fromNullable(offer.rates.find((r) => r.id === rateId)), (rate) => ({ offer, rate }))
        )),
        edge("Catalog.findRate")
      ),
    list: allOffers.pipe(Effect.flatMap(decodeRows(decodeOffer)), edge("Catalog.list")),
    put: (offers) => (offers.length === 0 ? Effect.void : putOffers(offers).pipe(edge("Catalog.put")))
  })

  // Events, written inside the caller's transaction

  // Sequences come from an identity, so two transactions writing at once could commit in the
  // opposite order of their sequences, and a reader between the two commits would move its cursor
  // past the one not yet visible. The lock (per schema, held to commit, and always the last one a
  // writer takes, so it cannot close a deadlock) makes sequence order commit order.
  const insertEvents = (events: ReadonlyArray<Event.Event>) =>
    events.length === 0 ? Effect.void : Effect.flatMap(encodeEvents(events), (json) =>
      Effect.all([
        sql`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.subshift_events'))`.withoutTransform,
        sql`INSERT INTO subshift_events (id, subscription_id, partner_org, data)
          SELECT e->>'id', e->>'subscriptionId', e->>'partnerOrg', e
          FROM jsonb_array_elements(${json}::jsonb) WITH ORDINALITY AS x(e, n)
          ORDER BY n`.withoutTransform
      ], { discard: true }))

  // Subscriptions

  const decodeSubscription = cachedDecoder(Subscription, 4096)
  // Baskets are large and mostly read once after their last write, so fewer are kept.
  const decodeBasket = cachedDecoder(Basket, 1024)
  const subscriptionById = (id: string) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_subscriptions WHERE id = ${id}`.withoutTransform
  const subscriptionByName = (name: string) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_subscriptions WHERE name = ${name}`.withoutTransform
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

  const subscriptionColumns = (s: Subscription) =>
    Effect.map(encodeSubscription(s), (json) => ({
      id: s.id,
      name: s.name,
      owner: s.owner,
      partnerOrg: s.partnerOrg ?? null,
      billGroupId: s.billGroupId ?? null,
      dueDate: dueDateOf(s),
      version: s.version,
      json
    }))

  const putSubscription = (s: Subscription) =>
    Effect.flatMap(subscriptionColumns(s), (c) =>
      sql`INSERT INTO subshift_subscriptions (id, name, owner, partner_org, bill_group_id, due_date, version, data)
        VALUES (${c.id}, ${c.name}, ${c.owner}, ${c.partnerOrg}, ${c.billGroupId}, ${c.dueDate}::date, ${c.version}, ${c.json}::jsonb)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, owner = excluded.owner,
          partner_org = excluded.partner_org, bill_group_id = excluded.bill_group_id, due_date = excluded.due_date,
          version = excluded.version, data = excluded.data`.withoutTransform)

  // One statement per write: the version check and the write are atomic. A concurrent writer of
  // the same row makes the `UPDATE` wait for its commit and then re-check the version, so of two
  // writers at one version exactly one matches.
  const updateSubscription = (s: Subscription, expectedVersion: number) =>
    Effect.flatMap(subscriptionColumns(s), (c) =>
      sql<TextRow>`UPDATE subshift_subscriptions SET name = ${c.name}, owner = ${c.owner}, partner_org = ${c.partnerOrg},
          bill_group_id = ${c.billGroupId}, due_date = ${c.dueDate}::date, version = ${c.version}, data = ${c.json}::jsonb
        WHERE id = ${c.id} AND version = ${expectedVersion}
        RETURNING data::text AS data`.withoutTransform)

  // A new subscription must not exist yet, by id or by name.
  const insertSubscription = (s: Subscription) =>
    Effect.flatMap(subscriptionColumns(s), (c) =>
      sql<TextRow>`INSERT INTO subshift_subscriptions (id, name, owner, partner_org, bill_group_id, due_date, version, data)
        VALUES (${c.id}, ${c.name}, ${c.owner}, ${c.partnerOrg}, ${c.billGroupId}, ${c.dueDate}::date, ${c.version}, ${c.json}::jsonb)
        ON CONFLICT DO NOTHING
        RETURNING data::text AS data`.withoutTransform)

  const updateBasket = (b: Basket, expectedVersion: number) =>
    Effect.flatMap(basketJson(b), (json) =>
      sql<TextRow>`UPDATE subshift_baskets SET version = ${b.version}, expires_at = ${b.expiresAt}::timestamptz,
          subscription_id = ${b.subscriptionId}, data = ${json}::jsonb
        WHERE id = ${b.id} AND version = ${expectedVersion}
        RETURNING data::text AS data`.withoutTransform)

  // Only on the conflict path: the version that won, read in a fresh snapshot so that it is the
  // committed one rather than the one the failed statement started from.
  const versionOf = (table: "subshift_subscriptions" | "subshift_baskets", id: string) =>
    Effect.map(
      sql<{ readonly version: number }>`SELECT version FROM ${sql(table)} WHERE id = ${id}`.withoutTransform,
      (rows) => rows[0]?.version ?? null
    )

  const written = <A>(
    entity: "subscription" | "basket",
    value: A & { readonly id: string },
    expectedVersion: number | undefined,
    remember: (text: string, value: A) => void
  ) =>
  <E, R>(self: Effect.Effect<ReadonlyArray<{ readonly data: string }>, E, R>) =>
    Effect.flatMap(self, (rows) =>
      rows.length === 1
        ? Effect.sync(() => remember(rows[0]!.data, value))
        : Effect.flatMap(
          versionOf(entity === "basket" ? "subshift_baskets" : "subshift_subscriptions", value.id),
          (actual) => Effect.fail(conflict(entity, value.id, expectedVersion, actual))
        ))

  const insertAmendments = (amendments: ReadonlyArray<Amendment>) =>
    Effect.flatMap(encodeAmendments(amendments), (json) =>
      // `WITH ORDINALITY … ORDER BY` keeps the commit's order in the identity column that
      // `listBySubscription` sorts on.
      sql`INSERT INTO subshift_amendments (id, subscription_id, created_at, data)
        SELECT a->>'id', a->>'subscriptionId', (a->>'createdAt')::timestamptz, a
        FROM jsonb_array_elements(${json}::jsonb) WITH ORDINALITY AS x(a, n)
        ORDER BY n`.withoutTransform)

  const subscriptions = Subscriptions.of({
    findById: (id) =>
      subscriptionById(id).pipe(Effect.flatMap(decodeFirst(decodeSubscription)), edge("Subscriptions.findById")),
    findByName: (name) =>
      subscriptionByName(name).pipe(Effect.flatMap(decodeFirst(decodeSubscription)), edge("Subscriptions.findByName")),
    listByOwner: (owner) =>
      subscriptionsByOwner(owner).pipe(Effect.flatMap(decodeRows(decodeSubscription)), edge("Subscriptions.listByOwner")),
    listByPartner: ({ after, limit, ownerId, partnerOrg }) => {
      const rows = Math.max(0, Math.floor(limit))
      if (rows === 0) return Effect.succeed([])
      return subscriptionsByPartner({ partnerOrg, ownerId, after, limit: rows }).pipe(
        Effect.flatMap(decodeRows(decodeSubscription)),
        edge("Subscriptions.listByPartner")
      )
    },
    listByBillGroup: (billGroupId) =>
      subscriptionsByBillGroup(billGroupId).pipe(
        Effect.flatMap(decodeRows(decodeSubscription)),
        edge("Subscriptions.listByBillGroup")
      ),
    listDue: (today, limit) => {
      const rows = count(limit)
      if (rows === 0) return Effect.succeed([])
      return subscriptionsDue(today, rows).pipe(Effect.flatMap(decodeRows(decodeSubscription)), edge("Subscriptions.listDue"))
    },
    put: (subscription) => putSubscription(subscription).pipe(Effect.asVoid, edge("Subscriptions.put")),
    save: (subscription, expectedVersion, events = []) => {
      const update = updateSubscription(subscription, expectedVersion).pipe(
        written("subscription", subscription, expectedVersion, decodeSubscription.remember)
      )
      return (events.length === 0 ? update : sql.withTransaction(Effect.zipRight(update, insertEvents(events)))).pipe(
        edge("Subscriptions.save")
      )
    },
    commit: (commit) =>
      sql.withTransaction(Effect.gen(function*() {
        // Subscriptions are locked in id order so that two commits over the same subscriptions
        // wait for each other instead of deadlocking.
        for (const { expectedVersion, next } of [...commit.subscriptions].sort(byId)) {
          yield* (expectedVersion === undefined ? insertSubscription(next) : updateSubscription(next, expectedVersion))
            .pipe(written("subscription", next, expectedVersion, decodeSubscription.remember))
        }
        if (commit.basket !== undefined) {
          const { expectedVersion, next } = commit.basket
          yield* updateBasket(next, expectedVersion).pipe(written("basket", next, expectedVersion, decodeBasket.remember))
        }
        if (commit.amendments.length > 0) yield* insertAmendments(commit.amendments)
        yield* insertEvents(commit.events)
      })).pipe(edge("Subscriptions.commit"))
  })

  // Baskets

  const basketById = (id: string) => sql<TextRow>`SELECT data::text AS data FROM subshift_baskets WHERE id = ${id}`.withoutTransform

  const insertBasket = (b: Basket) =>
    Effect.flatMap(basketJson(b), (json) =>
      sql<TextRow>`INSERT INTO subshift_baskets (id, subscription_id, version, expires_at, data)
        VALUES (${b.id}, ${b.subscriptionId}, ${b.version}, ${b.expiresAt}::timestamptz, ${json}::jsonb)
        ON CONFLICT (id) DO NOTHING
        RETURNING data::text AS data`.withoutTransform)

  // What a `basket.expired` event needs: the basket's owner and its subscription's, if it exists.
  const expiredBaskets = (now: string) =>
    sql<{
      readonly id: string
      readonly subscription_id: string
      readonly owner_kind: "customer" | "partner"
      readonly owner_id: string
      readonly owner: string | null
      readonly partner_org: string | null
    }>`WITH d AS (
        DELETE FROM subshift_baskets WHERE expires_at <= ${now}::timestamptz
        RETURNING id, subscription_id, data->'owner'->>'kind' AS owner_kind, data->'owner'->>'id' AS owner_id
      )
      SELECT d.id, d.subscription_id, d.owner_kind, d.owner_id, s.owner, s.partner_org
      FROM d LEFT JOIN subshift_subscriptions s ON s.id = d.subscription_id
      ORDER BY d.id`.withoutTransform

  const baskets = Baskets.of({
    create: (basket) =>
      insertBasket(basket).pipe(
        Effect.flatMap((rows) =>
          rows.length === 1
            ? Effect.sync(() => decodeBasket.remember(rows[0]!.data, basket))
            : Effect.fail(conflict("basket", basket.id, 0, null))
        ),
        edge("Baskets.create")
      ),
    findById: (id) => basketById(id).pipe(Effect.flatMap(decodeFirst(decodeBasket)), edge("Baskets.findById")),
    save: (basket, expectedVersion) =>
      updateBasket(basket, expectedVersion).pipe(
        written("basket", basket, expectedVersion, decodeBasket.remember),
        edge("Baskets.save")
      ),
    deleteExpired: (now) =>
      sql.withTransaction(Effect.gen(function*() {
        const deleted = yield* expiredBaskets(now)
        yield* insertEvents(deleted.map((row) =>
          Event.basketExpired(
            { id: row.id, subscriptionId: row.subscription_id, owner: { kind: row.owner_kind, id: row.owner_id } },
            row.owner === null ? undefined : { owner: row.owner, partnerOrg: row.partner_org ?? undefined },
            now
          )
        ))
        return deleted.length
      })).pipe(edge("Baskets.deleteExpired"))
  })

  // Bill groups

  const billGroupById = SqlSchema.findOne({
    Request: Schema.String,
    Result: Data(BillGroup),
    execute: (id) => sql`SELECT data FROM subshift_bill_groups WHERE id = ${id}`.withoutTransform
  })

  const billGroups = BillGroups.of({
    findById: (id) => billGroupById(id).pipe(Effect.map(Option.map((r) => r.data)), edge("BillGroups.findById")),
    put: (billGroup) =>
      encodeBillGroup(billGroup).pipe(
        Effect.flatMap((json) =>
          sql`INSERT INTO subshift_bill_groups (id, version, data)
            VALUES (${billGroup.id}, ${billGroup.version}, ${json}::jsonb)
            ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data`.withoutTransform
        ),
        Effect.asVoid,
        edge("BillGroups.put")
      )
  })

  // Amendments

  const amendmentById = SqlSchema.findOne({
    Request: Schema.String,
    Result: Data(Amendment),
    execute: (id) => sql`SELECT data FROM subshift_amendments WHERE id = ${id}`.withoutTransform
  })
  const amendmentsBySubscription = SqlSchema.findAll({
    Request: Schema.String,
    Result: Data(Amendment),
    execute: (subscriptionId) =>
      sql`SELECT data FROM subshift_amendments WHERE subscription_id = ${subscriptionId} ORDER BY seq`.withoutTransform
  })

  const amendments = Amendments.of({
    findById: (id) => amendmentById(id).pipe(Effect.map(Option.map((r) => r.data)), edge("Amendments.findById")),
    listBySubscription: (subscriptionId) =>
      amendmentsBySubscription(subscriptionId).pipe(
        Effect.map((rows) => rows.map((r) => r.data)),
        edge("Amendments.listBySubscription")
      )
  })

  // Events

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

  const events = Events.of({
    list: ({ after, limit, partnerOrg, subscriptionId }) => {
      const rows = count(limit)
      if (rows === 0) return Effect.succeed([])
      return eventsAfter({ after: count(after), limit: rows, partnerOrg, subscriptionId }).pipe(
        Effect.flatMap(decodeRows(decodeStoredEvent)),
        edge("Events.list")
      )
    }
  })

  // Idempotency

  // Inserts a new record, or takes over one that expired or whose request was abandoned; answers
  // a row only when the caller now holds the key. Concurrent claimers of one key queue on its
  // index entry and re-check the condition on the row the winner left, so exactly one gets a row.
  const takeKey = (key: Idempotency.Key, request: Idempotency.ClaimRequest) =>
    sql`INSERT INTO subshift_idempotency (scope, owner, key, request_hash, started_at, expires_at)
      VALUES (${key.scope}, ${key.owner}, ${key.key}, ${request.requestHash},
        ${request.now}::timestamptz, ${request.expiresAt}::timestamptz)
      ON CONFLICT (scope, owner, key) DO UPDATE SET request_hash = excluded.request_hash,
        started_at = excluded.started_at, expires_at = excluded.expires_at, result = NULL
      WHERE subshift_idempotency.expires_at <= ${request.now}::timestamptz
        OR (subshift_idempotency.result IS NULL AND subshift_idempotency.started_at < ${request.staleBefore}::timestamptz)
      RETURNING 1 AS claimed`.withoutTransform

  const keyRecord = (key: Idempotency.Key) =>
    sql<{ readonly request_hash: string; readonly result: string | null }>`SELECT request_hash, result::text AS result
      FROM subshift_idempotency WHERE scope = ${key.scope} AND owner = ${key.owner} AND key = ${key.key}`.withoutTransform

  // The record is read in a statement of its own, whose snapshot includes the claim that beat
  // this one; when it was released or swept in between, the key is free and claimed again.
  const claim = (
    key: Idempotency.Key,
    request: Idempotency.ClaimRequest
  ): Effect.Effect<Idempotency.Claim, SqlError | ParseResult.ParseError> =>
    Effect.flatMap(takeKey(key, request), (taken) => {
      if (taken.length > 0) return Effect.succeed<Idempotency.Claim>({ _tag: "Claimed" })
      return Effect.flatMap(keyRecord(key), (rows): Effect.Effect<Idempotency.Claim, SqlError | ParseResult.ParseError> => {
        const record = rows[0]
        if (record === undefined) return claim(key, request)
        if (record.request_hash !== request.requestHash) return Effect.succeed({ _tag: "Mismatch" })
        if (record.result === null) return Effect.succeed({ _tag: "Running" })
        return Effect.map(decodeStoredResult(record.result), (result) => ({ _tag: "Replay", result }))
      })
    })

  const idempotency = Idempotency.Idempotency.of({
    claim: (key, request) => claim(key, request).pipe(edge("Idempotency.claim")),
    complete: (key, result) =>
      encodeStoredResult(result).pipe(
        Effect.flatMap((json) =>
          sql`UPDATE subshift_idempotency SET result = ${json}::jsonb
            WHERE scope = ${key.scope} AND owner = ${key.owner} AND key = ${key.key}`.withoutTransform
        ),
        Effect.asVoid,
        edge("Idempotency.complete")
      ),
    release: (key) =>
      sql`DELETE FROM subshift_idempotency
        WHERE scope = ${key.scope} AND owner = ${key.owner} AND key = ${key.key} AND result IS NULL`.withoutTransform.pipe(
        Effect.asVoid,
        edge("Idempotency.release")
      ),
    sweep: (now) =>
      sql<{ readonly deleted: number }>`WITH d AS (
          DELETE FROM subshift_idempotency WHERE expires_at <= ${now}::timestamptz RETURNING 1
        )
        SELECT count(*)::int AS deleted FROM d`.withoutTransform.pipe(
        Effect.map((rows) => rows[0]?.deleted ?? 0),
        edge("Idempotency.sweep")
      )
  })

  return Context.make(Catalog.Catalog, catalog).pipe(
    Context.add(Subscriptions, subscriptions),
    Context.add(Baskets, baskets),
    Context.add(BillGroups, billGroups),
    Context.add(Amendments, amendments),
    Context.add(Events, events),
    Context.add(Idempotency.Idempotency, idempotency)
  )
})

/** Runs the migrations, mapping a lost connection to `StoreUnavailable` and anything else to a defect. */
export const migrate: Effect.Effect<void, StoreUnavailable, SqlClient.SqlClient> = Migrations.run.pipe(
  Effect.asVoid,
  Effect.catchTags({
    SqlError: (error) => (isUnavailable(error) ? Effect.fail(unavailable(error)) : Effect.die(refused("migrate", error))),
    MigrationError: (error) => Effect.die(error)
  })
)

/**
 * Every port over a `PgClient` the host already owns; the schema is migrated when the layer is
 * built.
 */
export const layerWithoutClient: Layer.Layer<Ports, StoreUnavailable, PgClient.PgClient> = Layer.effectContext(
  Effect.flatMap(PgClient.PgClient, (client) =>
    migrate.pipe(Effect.provideService(SqlClient.SqlClient, client), Effect.zipRight(make)))
)

/** Connection options of the store's own pool. */
export interface ClientOptions {
  /** Connections in the pool; 10 unless set. */
  readonly maxConnections?: number | undefined
  /** How long to wait for a connection before the call fails with `StoreUnavailable`; 5 seconds unless set. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Shown in `pg_stat_activity`; `subshift` unless set. */
  readonly applicationName?: string | undefined
  /**
   * The server cancels a statement running longer than this (`statement_timeout`, SQLSTATE
   * 57014, so the call fails with `StoreUnavailable`); no limit unless set.
   */
  readonly statementTimeout?: Duration.DurationInput | undefined
  /**
   * How long the database may leave a message unanswered on an open connection. Past it the
   * connection is closed, never reused, and the call fails with `StoreUnavailable`: this covers
   * what `statementTimeout` cannot, a network or server that stops answering while the
   * connection stays open. Keep it above `statementTimeout`, so that a merely slow statement is
   * cancelled by the server first and stores nothing. Over TLS, whose messages the socket cannot
   * read, each call is bounded by it instead (`CallTimeout`). No limit unless set.
   */
  readonly queryTimeout?: Duration.DurationInput | undefined
}

const clientDefaults = (options: ClientOptions) => ({
  maxConnections: options.maxConnections ?? 10,
  connectTimeout: options.connectTimeout ?? Duration.seconds(5),
  applicationName: options.applicationName ?? "subshift"
})

// Opening the pool fails only when the server cannot be reached or refuses the login.
const clientUnavailable = <A, E, R>(
  self: Layer.Layer<A, E, R>
): Layer.Layer<A, Exclude<E, SqlError> | StoreUnavailable, R> =>
  Layer.mapError(self, (error) => (isSqlError(error) ? unavailable(error) : (error as Exclude<E, SqlError>)))

/** Every port over a pool opened from `PgClient` configuration. */
export const layerConfig = (
  config: Config.Config.Wrap<PgClient.PgClientConfig>
): Layer.Layer<Ports, StoreUnavailable | ConfigError.ConfigError> =>
  layerWithoutClient.pipe(Layer.provide(clientUnavailable(PgClient.layerConfig(config))))

/** Every port over the database at `DATABASE_URL`. */
export const layer: Layer.Layer<Ports, StoreUnavailable | ConfigError.ConfigError> = layerConfig({
  url: Config.redacted("DATABASE_URL"),
  maxConnections: Config.succeed(10),
  connectTimeout: Config.succeed(Duration.seconds(5)),
  applicationName: Config.succeed("subshift")
})

/** Every port over the database at a connection URL. */
export const layerUrl = (
  url: string | Redacted.Redacted,
  options: ClientOptions = {}
): Layer.Layer<Ports, StoreUnavailable> =>
  Layer.unwrapEffect(Effect.sync(() => {
    const config: PgClient.PgClientConfig = {
      url: withStatementTimeout(typeof url === "string" ? Redacted.make(url) : url, options.statementTimeout),
      ...clientDefaults(options)
    }
    if (options.queryTimeout === undefined) return layerWithoutClient.pipe(Layer.provide(clientUnavailable(PgClient.layer(config))))
    const timeout = Duration.millis(millisOf(options.queryTimeout))
    const watchdog = Watchdog.make(Duration.toMillis(timeout))
    const client = clientUnavailable(PgClient.layer({ ...config, stream: watchdog.socket }))
    // Built after the client, whose first connection has told the watchdog whether it is TLS.
    const callTimeout = Layer.sync(CallTimeout, () => (watchdog.blind() ? Option.some(timeout) : Option.none()))
    return layerWithoutClient.pipe(Layer.provide(callTimeout.pipe(Layer.provideMerge(client))))
  }))

const millisOf = (duration: Duration.DurationInput) => Math.max(1, Math.round(Duration.toMillis(duration)))

// node-postgres sends a `statement_timeout` URL parameter as a startup parameter of every connection.
const withStatementTimeout = (url: Redacted.Redacted, timeout: Duration.DurationInput | undefined): Redacted.Redacted => {
  if (timeout === undefined) return url
  const parsed = new URL(Redacted.value(url))
  parsed.searchParams.set("statement_timeout", String(millisOf(timeout)))
  return Redacted.make(parsed.toString())
}

/** Options of the embedded store. */
export interface EmbeddedOptions {
  /** The data directory; `./.subshift-data` unless set. */
  readonly dataDir?: string | undefined
  /** The loopback port; any free port unless set. */
  readonly port?: number | undefined
  /** Connections in the pool to the embedded server; 4 unless set. */
  readonly poolSize?: number | undefined
}

/**
 * Every port over an embedded Postgres keeping its data in a directory, started with the layer
 * and stopped when it is released.
 */
export const layerEmbedded = (options: EmbeddedOptions = {}): Layer.Layer<Ports, StoreUnavailable> => {
  const poolSize = options.poolSize ?? 4
  return Layer.unwrapScoped(
    Effect.map(
      // Room for the pool and the client's listen connection, plus one to spare.
      Embedded.start({ dataDir: options.dataDir, port: options.port, maxConnections: poolSize + 2 }),
      (server) =>
        layerWithoutClient.pipe(
          Layer.provide(clientUnavailable(PgClient.layer({
            host: server.host,
            port: server.port,
            username: "postgres",
            database: "postgres",
            maxConnections: poolSize,
            connectTimeout: Duration.seconds(30),
            applicationName: "subshift"
          })))
        )
    )
  )
}

/**
 * The schema of the Postgres store, shipped inside the package and applied with `@effect/sql`'s
 * `Migrator` under its own history table, so it never collides with a host's migrations. Every
 * table is prefixed `subshift_` for the same reason: an embedder may share its database.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import { transaction } from "./internal/Edge.js"
import * as Lease from "./internal/Lease.js"
import * as PgCatalogVersions from "./internal/PgCatalogVersions.js"

/** The table that records which migrations ran. */
export const table = "subshift_migrations"

// Ids are compared with `COLLATE "C"` so that Postgres orders them exactly as the in-memory store
// does (JavaScript string order); the default collation of most databases does not.
const m0001 = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all([
    sql`CREATE TABLE subshift_offers (
      id text COLLATE "C" PRIMARY KEY,
      data jsonb NOT NULL
    )`,
    sql`CREATE TABLE subshift_rates (
      id text COLLATE "C" PRIMARY KEY,
      offer_id text COLLATE "C" NOT NULL REFERENCES subshift_offers (id) ON DELETE CASCADE
    )`,
    sql`CREATE INDEX subshift_rates_offer ON subshift_rates (offer_id)`,
    sql`CREATE TABLE subshift_bill_groups (
      id text COLLATE "C" PRIMARY KEY,
      version integer NOT NULL,
      data jsonb NOT NULL
    )`,
    sql`CREATE TABLE subshift_subscriptions (
      id text COLLATE "C" PRIMARY KEY,
      name text NOT NULL UNIQUE,
      owner text NOT NULL,
      partner_org text,
      bill_group_id text,
      version integer NOT NULL,
      data jsonb NOT NULL
    )`,
    sql`CREATE INDEX subshift_subscriptions_owner ON subshift_subscriptions (owner, id)`,
    sql`CREATE INDEX subshift_subscriptions_partner ON subshift_subscriptions (partner_org, id)
      WHERE partner_org IS NOT NULL`,
    sql`CREATE INDEX subshift_subscriptions_partner_owner ON subshift_subscriptions (partner_org, owner, id)
      WHERE partner_org IS NOT NULL`,
    sql`CREATE INDEX subshift_subscriptions_bill_group ON subshift_subscriptions (bill_group_id, id)
      WHERE bill_group_id IS NOT NULL`,
    sql`CREATE TABLE subshift_baskets (
      id text COLLATE "C" PRIMARY KEY,
      subscription_id text NOT NULL,
      version integer NOT NULL,
      expires_at timestamptz NOT NULL,
      data jsonb NOT NULL
    )`,
    sql`CREATE INDEX subshift_baskets_expires_at ON subshift_baskets (expires_at)`,
    sql`CREATE TABLE subshift_amendments (
      seq bigint GENERATED ALWAYS AS IDENTITY,
      id text COLLATE "C" PRIMARY KEY,
      subscription_id text NOT NULL,
      created_at timestamptz NOT NULL,
      data jsonb NOT NULL
    )`,
    sql`CREATE INDEX subshift_amendments_subscription ON subshift_amendments (subscription_id, seq)`
  ], { discard: true }))

// `due_date` is the earliest day something is due on a subscription (its pending change, or the
// start of a pending subscription), kept by every write so that `listDue` reads an index rather
// than every row's JSON. Events take their `sequence` from an identity; `PgStore` writes them
// under a lock held to commit, so sequence order is commit order and a cursor never skips one.
const m0002 = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all([
    sql`ALTER TABLE subshift_subscriptions ADD COLUMN due_date date`,
    sql`UPDATE subshift_subscriptions SET due_date = LEAST(
      (data->'pendingChange'->>'effectiveDate')::date,
      CASE WHEN data->>'status' = 'pending' THEN (data->'currentPeriod'->>'start')::date END
    )`,
    sql`CREATE INDEX subshift_subscriptions_due ON subshift_subscriptions (due_date, id)
      WHERE due_date IS NOT NULL`,
    sql`CREATE TABLE subshift_events (
      sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id text COLLATE "C" NOT NULL UNIQUE,
      subscription_id text NOT NULL,
      partner_org text,
      data jsonb NOT NULL
    )`,
    sql`CREATE INDEX subshift_events_partner ON subshift_events (partner_org, sequence)
      WHERE partner_org IS NOT NULL`,
    sql`CREATE INDEX subshift_events_subscription ON subshift_events (subscription_id, sequence)`,
    sql`CREATE TABLE subshift_idempotency (
      scope text NOT NULL,
      owner text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      started_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      result jsonb,
      PRIMARY KEY (scope, owner, key)
    )`,
    sql`CREATE INDEX subshift_idempotency_expires_at ON subshift_idempotency (expires_at)`
  ], { discard: true }))

// The sum of a stored quote's line amounts of one sign, as stored money.
const lineTotal = (sign: ">" | "<") =>
  `jsonb_build_object('amount', (SELECT COALESCE(sum((l->'amount'->>'amount')::bigint), 0)
      FROM jsonb_array_elements(data->'quote'->'lines') AS l WHERE (l->'amount'->>'amount')::bigint ${sign} 0),
    'currency', data->'quote'->>'currency')`

/**
 * Quotes carry `charges` and `credits` beside `dueNow`. Baskets and amendments stored before that
 * get them from their lines, so they read back under the current schema.
 */
export const fillQuoteTotals = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all(["subshift_baskets", "subshift_amendments"].map((table) =>
    sql.unsafe(`UPDATE ${table} SET data = jsonb_set(data, '{quote}', (data->'quote') || jsonb_build_object(
        'charges', ${lineTotal(">")}, 'credits', ${lineTotal("<")}))
      WHERE data ? 'quote' AND NOT (data->'quote' ? 'charges')`)
  ), { discard: true }))

// The catalog's generation: one row, bumped by every catalog write in the same transaction. A
// process keeps the catalog of the generation in force in memory and compares the number on the
// reads it makes anyway, so another process's publish is seen on the next read.
const m0004 = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all([
    sql`CREATE TABLE subshift_catalog_generation (
      id integer PRIMARY KEY CHECK (id = 1),
      generation bigint NOT NULL
    )`,
    sql`INSERT INTO subshift_catalog_generation (id, generation) VALUES (1, 1)`
  ], { discard: true }))

// The audit log of operator writes (API key, action, target, reason), in write order.
const m0005 = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql`CREATE TABLE subshift_audit (
    sequence bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    data jsonb NOT NULL
  )`)

// Webhook endpoints and their deliveries. Instants are canonical ISO strings compared as text
// (`COLLATE "C"`), exactly as the in-memory store compares them. A delivery's id is its identity
// padded, so id order is insertion order in both stores. Claims read the first pending delivery
// of each (endpoint, order key), which the partial index serves.
const m0007 = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all([
    sql`CREATE TABLE subshift_webhook_endpoints (
      id text COLLATE "C" PRIMARY KEY,
      data jsonb NOT NULL
    )`,
    sql`CREATE TABLE subshift_webhook_cursor (
      id integer PRIMARY KEY CHECK (id = 1),
      position bigint NOT NULL
    )`,
    sql`INSERT INTO subshift_webhook_cursor (id, position) VALUES (1, 0)`,
    sql`CREATE TABLE subshift_webhook_sequences (
      order_key text COLLATE "C" PRIMARY KEY,
      last bigint NOT NULL
    )`,
    sql`CREATE TABLE subshift_webhook_deliveries (
      n bigint GENERATED ALWAYS AS IDENTITY,
      id text COLLATE "C" GENERATED ALWAYS AS ('dlv_' || lpad(n::text, 12, '0')) STORED PRIMARY KEY,
      endpoint_id text COLLATE "C" NOT NULL REFERENCES subshift_webhook_endpoints (id) ON DELETE CASCADE,
      event_id text COLLATE "C" NOT NULL,
      event_type text NOT NULL,
      order_key text COLLATE "C" NOT NULL,
      sequence bigint NOT NULL,
      status text NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at text COLLATE "C",
      lease_owner text,
      lease_until text COLLATE "C",
      created_at text COLLATE "C" NOT NULL,
      payload jsonb NOT NULL,
      log jsonb NOT NULL DEFAULT '[]'::jsonb,
      UNIQUE (endpoint_id, event_id)
    )`,
    sql`CREATE INDEX subshift_webhook_deliveries_order ON subshift_webhook_deliveries (endpoint_id, order_key, sequence)
      WHERE status = 'pending'`,
    sql`CREATE INDEX subshift_webhook_deliveries_due ON subshift_webhook_deliveries (next_attempt_at)
      WHERE status = 'pending'`,
    sql`CREATE INDEX subshift_webhook_deliveries_endpoint ON subshift_webhook_deliveries (endpoint_id, id)`
  ], { discard: true }))

// Events not about a subscription (a catalog published, a webhook endpoint disabled) name none.
const m0008 = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql`ALTER TABLE subshift_events ALTER COLUMN subscription_id DROP NOT NULL`)

// A claim only leases a delivery (its lease columns, in no index): with room left on each page,
// Postgres updates the row in place (a heap-only tuple), writing none of the table's five indexes,
// where a full page made it write a new version into every index. Pages filled before this keep
// their layout until rewritten; the setting governs the pages written from now on.
const m0009 = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql`ALTER TABLE subshift_webhook_deliveries SET (fillfactor = 50)`)

// A delivery's payload is written once and read at its claims, while the row around it is
// rewritten by every lease and every attempt logged: kept out of line (uncompressed, as the claim
// reads it whole), a row version copies a pointer to it, not its bytes. Applies to rows written
// from now on.
const m0010 = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all([
    sql`ALTER TABLE subshift_webhook_deliveries ALTER COLUMN payload SET STORAGE EXTERNAL`,
    sql`ALTER TABLE subshift_webhook_deliveries SET (toast_tuple_target = 128)`
  ], { discard: true }))

// A delivery of an outbox event keeps no copy of its payload: a claim builds it from the event,
// which is never deleted. Only a delivery of an event that is not in the outbox (an endpoint's test
// event) stores one. Fanning out then writes a narrow row per delivery, without a TOAST row and
// its index entry.
const m0011 = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql`ALTER TABLE subshift_webhook_deliveries ALTER COLUMN payload DROP NOT NULL`)

const migrations = {
  "0001_create_store": m0001,
  "0002_lifecycle": m0002,
  "0003_quote_totals": fillQuoteTotals,
  "0004_catalog_generation": m0004,
  "0005_audit": m0005,
  "0006_catalog_versions": PgCatalogVersions.migration,
  "0007_webhooks": m0007,
  "0008_events_without_subscription": m0008,
  "0009_webhook_deliveries_fillfactor": m0009,
  "0010_webhook_payload_out_of_line": m0010,
  "0011_webhook_payload_from_event": m0011
}

/** Every migration of the store, in order. */
export const loader = Migrator.fromRecord(migrations)

/** The id of the last migration this release knows. */
export const latestId: number = Math.max(...Object.keys(migrations).map((key) => Number.parseInt(key, 10)))

/**
 * Whether the schema already holds every migration this release knows (or later ones), read with
 * plain statements that take no lock: the history table's presence, then its highest id.
 */
export const upToDate: Effect.Effect<boolean, SqlError, SqlClient.SqlClient> = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.flatMap(
    sql<{ readonly present: boolean }>`SELECT to_regclass(${table}) IS NOT NULL AS present`.withoutTransform,
    (rows) =>
      rows[0]?.present !== true
        ? Effect.succeed(false)
        : Effect.map(
          sql<{ readonly latest: number | null }>`SELECT max(migration_id) AS latest FROM ${sql(table)}`.withoutTransform,
          (latest) => (latest[0]?.latest ?? 0) >= latestId
        )
  ))

const migrate = Migrator.make({})

const runUnderLease = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.flatMap(
    sql<{ readonly schema: string }>`SELECT current_schema() AS schema`,
    (rows) =>
      transaction(sql)(
        Effect.gen(function*() {
          yield* sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
            migration_id integer PRIMARY KEY,
            created_at timestamptz NOT NULL DEFAULT now(),
            name text NOT NULL
          )`
          return yield* migrate({ loader, table })
        })
      ).pipe(Lease.withLease(`${rows[0]?.schema ?? "public"}.${table}`))
  ))

/**
 * Brings the schema up to date. A schema that already holds every migration is left alone
 * without taking the lease (the common start: a server restarted beside others, or after one
 * killed while it held the lease, which would otherwise hold the start back until the lease
 * expired). Otherwise several processes may start at once: a lease row (keyed by the
 * schema, so separate schemas do not wait on each other) serialises them, and the history table
 * is created under it, because the `Migrator`'s own "create if missing" check races when two
 * processes run it together. The migrations themselves run in one transaction: if a lease ever
 * expired under a live migrator, the second one's history insert would conflict and roll back.
 */
export const run: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError,
  SqlClient.SqlClient
> = Effect.flatMap(upToDate, (done) => done ? Effect.succeed([]) : runUnderLease)

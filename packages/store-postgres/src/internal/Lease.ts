/**
 * The migration lease: one row per schema that a migrator claims before it runs the migrations
 * and gives back afterwards. The claim is a short transaction that locks the row with
 * `FOR UPDATE` and takes it when it is free or its holder's time has run out; the holder extends
 * it while it works. Unlike a session-scoped advisory lock it needs no session of its own (so it
 * works through a pooler in transaction mode), and unlike a lock that only a live connection
 * holds, a migrator killed mid-way blocks the others only until its lease expires. Some
 * Postgres-compatible engines accept advisory locks as no-ops; a row lock they honour.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { isSqlError, sqlStateOf, transaction, wallClock } from "./Edge.js"

/** The table of leases. */
export const table = "subshift_migration_lease"

/** How long a claim lasts unless extended. */
export const TTL = Duration.seconds(30)

// Two processes creating the same table at once: one may fail on the catalog's unique index,
// find the table (42P07) or its row type (42710) created under it; the next attempt sees the table.
const raceStates = new Set(["23505", "42P07", "42710"])

const createTable = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
    name text PRIMARY KEY,
    holder text,
    expires_at timestamptz NOT NULL
  )`.pipe(
    Effect.retry({ times: 3, while: (e) => isSqlError(e) && raceStates.has(sqlStateOf(e.cause) ?? "") })
  ))

/**
 * Claims the lease named `name` for `holder` once: answers whether it is now held by `holder`.
 * The row is created on first use; it is locked for the length of one short transaction.
 */
export const tryClaim = (name: string, holder: string, ttl: Duration.Duration = TTL) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    transaction(sql)(Effect.gen(function*() {
      yield* sql`INSERT INTO ${sql(table)} (name, holder, expires_at) VALUES (${name}, NULL, now())
        ON CONFLICT (name) DO NOTHING`
      const rows = yield* sql<{ readonly holder: string | null; readonly free: boolean }>`
        SELECT holder, (holder IS NULL OR expires_at <= clock_timestamp()) AS free
        FROM ${sql(table)} WHERE name = ${name} FOR UPDATE`
      const row = rows[0]
      if (row === undefined || (!row.free && row.holder !== holder)) return false
      yield* sql`UPDATE ${sql(table)} SET holder = ${holder},
        expires_at = clock_timestamp() + ${Duration.toMillis(ttl)} * interval '1 millisecond'
        WHERE name = ${name}`
      return true
    })))

/** Gives the lease back if `holder` still has it. */
export const release = (name: string, holder: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`UPDATE ${sql(table)} SET holder = NULL, expires_at = clock_timestamp()
      WHERE name = ${name} AND holder = ${holder}`.pipe(Effect.asVoid))

/**
 * Runs `self` while holding the lease `name`: waits (polling) until it is free or expired, claims
 * it, extends it every third of its time while `self` runs, and gives it back afterwards, whether
 * `self` succeeded or not.
 */
export const withLease = (name: string, ttl: Duration.Duration = TTL) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R | SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const holder = globalThis.crypto.randomUUID()
    yield* createTable
    yield* tryClaim(name, holder, ttl).pipe(
      Effect.repeat({
        until: (claimed) => claimed,
        schedule: Schedule.jittered(Schedule.spaced(Duration.millis(100)))
      })
    )
    const extend = tryClaim(name, holder, ttl).pipe(
      Effect.catchAll(() => Effect.succeed(false)),
      Effect.repeat(Schedule.spaced(Duration.millis(Duration.toMillis(ttl) / 3))),
      Effect.delay(Duration.millis(Duration.toMillis(ttl) / 3))
    )
    return yield* Effect.raceFirst(self, Effect.zipRight(extend, Effect.never)).pipe(
      Effect.ensuring(release(name, holder).pipe(Effect.ignore))
    )
  }).pipe(Effect.withClock(wallClock))

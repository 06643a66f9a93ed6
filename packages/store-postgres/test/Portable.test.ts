/**
 * The choices that keep the store portable: the migration lease, which a killed migrator holds
 * only until it expires and which a start with nothing to migrate does not take; the retry of a
 * transaction the database could not serialise (SQLSTATE 40001); and the check of the server the
 * store opens.
 */
import { describe, expect, it } from "@effect/vitest"
import { Catalog } from "@subshift/core/ports/Catalog"
import { Migrations, PgStore } from "@subshift/store-postgres"
import { Fixtures } from "@subshift/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import pg from "pg"
import * as TestDatabase from "./TestDatabase.js"

const database = TestDatabase.register()

const admin = <R extends pg.QueryResultRow>(text: string, values: ReadonlyArray<unknown> = []) =>
  Effect.promise(() => TestDatabase.admin<R>(database.url(), text, values))

describe(`portable choices (${database.kind})`, () => {
  it.scoped("a migration lease left by a killed migrator holds back a start that has migrations to run, only until it expires", () =>
    Effect.gen(function*() {
      // A schema nothing has migrated yet, whose lease a migrator claimed and was killed holding: held, for two more seconds.
      const fresh = yield* Effect.acquireRelease(Effect.promise(() => TestDatabase.freshSchema(database.url())), (s) => Effect.promise(s.drop))
      yield* Effect.promise(() =>
        TestDatabase.admin(
          fresh.url,
          `CREATE TABLE subshift_migration_lease (name text PRIMARY KEY, holder text, expires_at timestamptz NOT NULL);
           INSERT INTO subshift_migration_lease SELECT current_schema() || '.subshift_migrations', 'killed-migrator',
             clock_timestamp() + interval '2 seconds'`
        )
      )
      const started = Date.now()
      yield* Layer.build(PgStore.layerUrl(fresh.url, { maxConnections: 2 }))
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_500)
      const after = yield* Effect.promise(() =>
        TestDatabase.admin<{ readonly holder: string | null }>(fresh.url, "SELECT holder FROM subshift_migration_lease")
      )
      expect(after).toEqual([{ holder: null }])
      const ran = yield* Effect.promise(() =>
        TestDatabase.admin<{ readonly n: number }>(fresh.url, "SELECT count(*)::int AS n FROM subshift_migrations")
      )
      expect(ran).toEqual([{ n: Migrations.latestId }])
    }), 60_000)

  it.scoped("a start that finds every migration applied does not wait for a lease a killed migrator left", () =>
    Effect.gen(function*() {
      yield* Layer.build(database.layerWith({ maxConnections: 2 }))
      // Held for a minute, twice the lease's whole time: a start that waited for it would take that long.
      const held = yield* admin<{ readonly name: string }>(
        `UPDATE subshift_migration_lease SET holder = 'killed-migrator', expires_at = clock_timestamp() + interval '60 seconds'
         RETURNING name`
      )
      expect(held).toHaveLength(1)
      const started = Date.now()
      yield* Layer.build(database.layerWith({ maxConnections: 2 }))
      expect(Date.now() - started).toBeLessThan(20_000)
      const after = yield* admin<{ readonly holder: string | null }>("SELECT holder FROM subshift_migration_lease")
      expect(after).toEqual([{ holder: "killed-migrator" }])
      yield* admin("UPDATE subshift_migration_lease SET holder = NULL, expires_at = clock_timestamp()")
    }), 60_000)

  it.effect("the server the tests run on is supported; older releases and look-alike engines are refused, saying why", () =>
    Effect.gen(function*() {
      const [row] = yield* admin<{ readonly num: string; readonly version: string }>(
        "SELECT current_setting('server_version_num') AS num, version() AS version"
      )
      expect(Either.isRight(PgStore.checkServer({ versionNum: Number(row!.num), version: row!.version }))).toBe(true)
      const refusal = (versionNum: number, version: string) => Either.getLeft(PgStore.checkServer({ versionNum, version }))
      expect(refusal(130014, "PostgreSQL 13.14 on x86_64-pc-linux-gnu")).toEqual(
        expect.objectContaining({ value: expect.stringMatching(/PostgreSQL 13\.14.*not supported.*PostgreSQL 14 or later/) })
      )
      expect(refusal(130000, "CockroachDB CCL v24.1.0 (x86_64-pc-linux-gnu, built 2024/05/15)")).toEqual(
        expect.objectContaining({ value: expect.stringMatching(/^the database is CockroachDB .*not supported/) })
      )
      expect(refusal(110002, "PostgreSQL 11.2-YB-2.20.0.0-b0 on x86_64-pc-linux-gnu")).toEqual(
        expect.objectContaining({ value: expect.stringMatching(/^the database is YugabyteDB/) })
      )
    }))

  describe.runIf(TestDatabase.serverUrl !== undefined)("serialization failures", () => {
    it.scoped("a transaction the database could not serialise is run again, and commits", () =>
      Effect.gen(function*() {
        const application = `subshift-retry-${Fixtures.unique()}`
        // Every transaction of this store is SERIALIZABLE, as on engines that allow nothing else.
        const url = new URL(database.url())
        url.searchParams.set("options", `${url.searchParams.get("options") ?? ""} -c default_transaction_isolation=serializable`)
        const store = yield* Layer.build(PgStore.layerUrl(url.toString(), { maxConnections: 2, applicationName: application }))
        const catalog = Catalog.pipe(Effect.provide(store))
        yield* Effect.flatMap(catalog, (c) => c.put([Fixtures.offer({ addOns: [] })]))
        const before = Number((yield* admin<{ readonly g: string }>("SELECT generation::text AS g FROM subshift_catalog_generation"))[0]!.g)

        // Another session holds the generation row, changed but not committed yet.
        const other = new pg.Client({ connectionString: database.url() })
        yield* Effect.acquireRelease(Effect.promise(() => other.connect()), () => Effect.promise(() => other.end()))
        yield* Effect.promise(() => other.query("BEGIN"))
        yield* Effect.promise(() => other.query("UPDATE subshift_catalog_generation SET generation = generation + 1"))

        // The store's publish reads its snapshot, then waits on that row.
        const offer = Fixtures.offer({ addOns: [] })
        const publish = yield* Effect.fork(Effect.flatMap(catalog, (c) => c.put([offer])))
        yield* admin<{ readonly n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [application]
        ).pipe(Effect.repeat({ until: (rows) => rows[0]!.n === "1" }))
        // Its update now meets a row changed after its snapshot: SQLSTATE 40001, then a second run.
        yield* Effect.promise(() => other.query("COMMIT"))
        yield* Fiber.join(publish)

        const after = Number((yield* admin<{ readonly g: string }>("SELECT generation::text AS g FROM subshift_catalog_generation"))[0]!.g)
        expect(after).toBe(before + 2)
        const found = yield* Effect.flatMap(catalog, (c) => c.getMany([offer.id]))
        expect(found.get(offer.id)).toEqual(offer)
      }), 60_000)
  })
})

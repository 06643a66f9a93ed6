/**
 * The store through PgBouncer in transaction pooling mode, where consecutive statements of one
 * client connection may run on different server connections: the store contract suites, the
 * migrations of several stores starting at once, and the statement timeout, which such a pooler
 * will not take as a session parameter. It needs a PostgreSQL server (TEST_DATABASE_URL) and
 * PgBouncer installed (CI installs it); each store gets a fresh database of its own.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { Migrations, PgStore } from "@subshift/store-postgres"
import { StoreContract } from "@subshift/testing"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Bouncer from "./Bouncer.js"
import * as Pooled from "../src/internal/Pooled.js"
import * as TestDatabase from "./TestDatabase.js"

const server = TestDatabase.serverUrl
const runs = server !== undefined && Bouncer.binary !== undefined

// CI installs PgBouncer; there, a missing one is a failure rather than a suite that does not apply.
describe.runIf(server !== undefined && process.env["CI"] === "true")("PgBouncer in CI", () => {
  it("is installed", () => {
    expect(Bouncer.binary).toBeDefined()
  })
})

describe.runIf(runs)("postgres through PgBouncer (transaction pooling)", () => {
  let bouncer: Bouncer.Bouncer | undefined
  const databases: Array<string> = []

  /** A fresh database on the server, and its URL through the bouncer. */
  const freshDatabase = async () => {
    const name = `subshift_bouncer_${process.pid}_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`
    await TestDatabase.admin(server!, `CREATE DATABASE ${name}`)
    databases.push(name)
    const url = new URL(server!)
    url.pathname = `/${name}`
    return bouncer!.through(url.toString())
  }

  let contractUrl = ""
  beforeAll(async () => {
    bouncer = await Bouncer.start(server!, { poolSize: 6 })
    contractUrl = await freshDatabase()
  }, 60_000)

  afterAll(async () => {
    await bouncer?.stop()
    for (const name of databases) await TestDatabase.admin(server!, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  }, 60_000)

  const options: PgStore.ClientOptions = {
    maxConnections: 8,
    pooler: "transaction",
    statementTimeout: Duration.seconds(5),
    queryTimeout: Duration.seconds(10)
  }

  StoreContract.suite("postgres (PgBouncer, transaction pooling)", Layer.unwrapEffect(Effect.sync(() => PgStore.layerUrl(contractUrl, options))))

  it.scoped("five stores starting at once on an empty database all come up, and the migrations run once", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(freshDatabase)
      const stores = yield* Effect.all(
        Array.from({ length: 5 }, () =>
          Layer.build(PgStore.layerUrl(url, { ...options, maxConnections: 2 })).pipe(
            Effect.flatMap((context) => Effect.map(Subscriptions.pipe(Effect.provide(context)), () => "up"))
          )),
        { concurrency: "unbounded" }
      )
      expect(stores).toEqual(["up", "up", "up", "up", "up"])
      const history = yield* Effect.promise(() =>
        TestDatabase.admin<{ readonly migration_id: number }>(url, "SELECT migration_id FROM subshift_migrations ORDER BY migration_id")
      )
      // Each migration the package ships, once.
      const shipped = (yield* Migrations.loader).map(([id]) => id)
      expect(history.map((r) => r.migration_id)).toEqual(shipped)
    }), 120_000)

  it.scoped("a statement timeout sent as a session parameter is refused by the pooler, and the reason is given", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(freshDatabase)
      const exit = yield* Effect.exit(Layer.build(PgStore.layerUrl(url, { statementTimeout: Duration.seconds(5) })))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(JSON.stringify(exit)).toContain("unsupported startup parameter: statement_timeout")
    }), 60_000)

  it.scoped("a transaction's SET LOCAL timeout cancels its slow statement and ends with it", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(freshDatabase)
      // Statements outside a transaction afterwards, on whichever server connections the bouncer
      // hands out, see the database's default: the setting did not outlive its transaction.
      const client = yield* PgClient.make({ url: Redacted.make(url), maxConnections: 4 })
      const sql = Pooled.withLocalTimeout(client, 200)
      const slow = yield* Effect.flip(sql.withTransaction(sql`SELECT pg_sleep(2)`))
      expect(JSON.stringify(slow.cause)).toContain("57014")
      const after = yield* Effect.all(Array.from({ length: 4 }, () => Pooled.defaultStatementTimeout(client)), { concurrency: 4 })
      expect(after).toEqual([0, 0, 0, 0])
    }).pipe(Effect.provide(Reactivity.layer)), 60_000)

  it.scopedLive("with a direct URL, the ports' client LISTENs on a connection of its own and hears a NOTIFY sent through the pooler", () =>
    Effect.gen(function*() {
      const url = yield* Effect.promise(freshDatabase)
      const direct = new URL(url)
      direct.host = new URL(server!).host
      const client = yield* Layer.build(PgStore.clientLayer(url, { ...options, directUrl: direct.toString() }))
      const sql = yield* PgStore.portClient.pipe(Effect.provide(client))
      const heard = yield* Stream.runHead(sql.listen("subshift_probe")).pipe(Effect.fork)
      // The listener is registered once the first notification can reach it; send until one does.
      // (`pg_notify`, as the client's own `notify` sends its payload as a parameter of `NOTIFY`,
      // which PostgreSQL refuses.)
      const notify = sql`SELECT pg_notify('subshift_probe', 'hello')`.withoutTransform
      const sent = yield* Effect.fork(Effect.repeat(Effect.zipRight(notify, Effect.sleep("50 millis")), { times: 100 }))
      const payload = yield* heard.await.pipe(Effect.flatten)
      yield* sent.interruptAsFork(sent.id())
      expect(payload).toEqual(Option.some("hello"))
    }), 60_000)
})

/**
 * The database going away under a call: the call fails with `StoreUnavailable` (typed, never a
 * defect, never a hang), nothing partial is stored, and the next call succeeds.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Amendments } from "@subshift/core/ports/Amendments"
import { Baskets } from "@subshift/core/ports/Baskets"
import { Events } from "@subshift/core/ports/Events"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { PgStore } from "@subshift/store-postgres"
import { Fixtures } from "@subshift/testing"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Net from "node:net"
import pg from "pg"
import * as TestDatabase from "./TestDatabase.js"

/** The failure of an exit that failed, by tag: `StoreUnavailable`, `VersionConflict`, or `defect`. */
const failureTag = (exit: Exit.Exit<unknown, { readonly _tag: string }>): string =>
  Exit.isSuccess(exit)
    ? "success"
    : Option.match(Cause.failureOption(exit.cause), { onNone: () => "defect", onSome: (e) => e._tag })

describe("an unreachable database", () => {
  it.effect("building the store fails with StoreUnavailable", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Layer.build(PgStore.layerUrl("postgres://postgres@127.0.0.1:1/none", { connectTimeout: "2 seconds" })).pipe(
          Effect.scoped
        )
      )
      expect(failureTag(exit)).toBe("StoreUnavailable")
    }))
})

// One test drops every connection of the store: the tests of this suite must not overlap.
describe.runIf(TestDatabase.serverUrl !== undefined).sequential("postgres faults", () => {
  const database = TestDatabase.register()
  const applicationName = `subshift-fault-${Fixtures.unique()}`

  const admin = (text: string, values: ReadonlyArray<unknown> = []) =>
    Effect.promise(() => TestDatabase.admin(database.url(), text, values))

  /** Holds a row lock from a connection of its own until the scope closes. */
  const lockRow = (table: string, id: string) =>
    Effect.acquireRelease(
      Effect.promise(async () => {
        const client = new pg.Client({ connectionString: database.url() })
        await client.connect()
        await client.query("BEGIN")
        await client.query(`SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE`, [id])
        return client
      }),
      (client) => Effect.promise(() => client.query("ROLLBACK").then(() => client.end()))
    )

  /** Waits until one of the store's connections is blocked on a lock, then terminates it. */
  const terminateBlockedBackend = admin(
    `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
      WHERE application_name = $1 AND wait_event_type = 'Lock'`,
    [applicationName]
  ).pipe(
    Effect.filterOrFail((rows) => rows.length > 0, () => "no blocked backend yet"),
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("10 seconds"))),
    Effect.orDie,
    // The tests run on the test clock; this wait is on real time, or its first sleep never ends.
    Effect.withClock(Clock.make())
  )

  layer(database.layerWith({ maxConnections: 4, applicationName }), { timeout: "60 seconds" })("with the store", (it) => {
    it.scoped("a save whose backend is terminated mid-statement fails with StoreUnavailable, and the next save succeeds", () =>
      Effect.gen(function*() {
        const baskets = yield* Baskets
        const basket = Fixtures.basket()
        yield* baskets.create(basket)
        const next = { ...basket, version: 2, completed: true }
        const locker = yield* Effect.scoped(Effect.gen(function*() {
          yield* lockRow("subshift_baskets", basket.id)
          const save = yield* Effect.fork(Effect.exit(baskets.save(next, 1)))
          yield* terminateBlockedBackend
          return yield* Fiber.join(save).pipe(Effect.timeout(Duration.seconds(10)))
        }))
        expect(failureTag(locker)).toBe("StoreUnavailable")
        expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(basket)
        yield* baskets.save(next, 1)
        expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(next)
      }))

    it.scoped("a commit whose backend is terminated after the subscription update stores nothing, and a retry applies once", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const baskets = yield* Baskets
        const amendments = yield* Amendments
        const sub = Fixtures.subscription()
        const basket = Fixtures.basket({ subscriptionId: sub.id })
        yield* subscriptions.put(sub)
        yield* baskets.create(basket)
        const order = Fixtures.checkoutCommit(basket, { ...sub, version: 2, status: "cancelled" }, 1)
        const { amendment, event } = order
        const commit = subscriptions.commit(order.commit)
        const events = yield* Events
        // The basket row is locked elsewhere, so the commit's transaction has already updated the
        // subscription when it blocks on the basket and is cut off.
        const exit = yield* Effect.scoped(Effect.gen(function*() {
          yield* lockRow("subshift_baskets", basket.id)
          const running = yield* Effect.fork(Effect.exit(commit))
          yield* terminateBlockedBackend
          return yield* Fiber.join(running).pipe(Effect.timeout(Duration.seconds(10)))
        }))
        expect(failureTag(exit)).toBe("StoreUnavailable")
        expect(Option.getOrThrow(yield* subscriptions.findById(sub.id))).toEqual(sub)
        expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(basket)
        expect(yield* amendments.listBySubscription(sub.id)).toEqual([])
        expect(yield* events.list({ subscriptionId: sub.id, limit: 10 })).toEqual([])
        yield* commit
        expect(Option.getOrThrow(yield* subscriptions.findById(sub.id)).version).toBe(2)
        expect(yield* amendments.listBySubscription(sub.id)).toEqual([amendment])
        expect((yield* events.list({ subscriptionId: sub.id, limit: 10 })).map((e) => e.id)).toEqual([event.id])
      }))

    it.effect("after the server drops every connection of the pool, the next calls reconnect and succeed", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const sub = Fixtures.subscription()
        yield* subscriptions.put(sub)
        const terminated = yield* admin(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
          [applicationName]
        )
        expect(terminated.length).toBeGreaterThan(0)
        // A call racing the termination notice may see its connection die (StoreUnavailable);
        // never a defect, and the ones after it succeed.
        const first = yield* Effect.exit(subscriptions.findById(sub.id))
        expect(["success", "StoreUnavailable"]).toContain(failureTag(first))
        const found = yield* Effect.all(Array.from({ length: 8 }, () => subscriptions.findById(sub.id)), {
          concurrency: "unbounded"
        })
        for (const f of found) expect(Option.getOrThrow(f)).toEqual(sub)
      }))

    it.effect("reads sent right after the pool's backends are terminated succeed on fresh connections", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const sub = Fixtures.subscription()
        yield* subscriptions.put(sub)
        for (let round = 0; round < 5; round++) {
          // Every pooled connection in use, so that the pool holds four to hand out again.
          yield* Effect.all(Array.from({ length: 4 }, () => subscriptions.findById(sub.id)), { concurrency: "unbounded" })
          yield* admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [applicationName])
          const reads = yield* Effect.all(Array.from({ length: 4 }, () => Effect.exit(subscriptions.findById(sub.id))), {
            concurrency: "unbounded"
          })
          expect(reads.map(failureTag)).toEqual(["success", "success", "success", "success"])
        }
      }))
  })
})

// A TCP proxy in front of the test database that can turn silent: it then closes the connections
// it carries and accepts new ones without ever answering them, counting those.
const silentable = async (url: string) => {
  const target = new URL(url)
  const [port, host] = [Number(target.port || 5432), target.hostname]
  let silent = false
  let acceptedWhileSilent = 0
  const sockets = new Set<Net.Socket>()
  const server = Net.createServer((client) => {
    sockets.add(client)
    client.on("error", () => {}).on("close", () => sockets.delete(client))
    if (silent) {
      acceptedWhileSilent++
      return
    }
    const upstream = Net.connect(port, host)
    sockets.add(upstream)
    upstream.on("error", () => client.destroy()).on("close", () => sockets.delete(upstream))
    client.on("close", () => upstream.destroy())
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  target.port = String((server.address() as Net.AddressInfo).port)
  target.hostname = "127.0.0.1"
  return {
    url: target.toString(),
    silence: () => {
      silent = true
      for (const socket of sockets) socket.destroy()
    },
    acceptedWhileSilent: () => acceptedWhileSilent,
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

describe("a database that stops answering new connections", () => {
  const database = TestDatabase.register()

  it("a read whose new connection is not answered in time fails with StoreUnavailable after one attempt, not one per retry", async () => {
    const proxy = await silentable(database.url())
    try {
      const exit = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(PgStore.layerUrl(proxy.url, { maxConnections: 1, connectTimeout: "2 seconds" }))
        const subscriptions = Context.get(context, Subscriptions)
        yield* subscriptions.findById("sub-none")
        proxy.silence()
        return yield* Effect.exit(subscriptions.findById("sub-none"))
      })))
      expect(failureTag(exit)).toBe("StoreUnavailable")
      // The pooled connection was closed under the read, which may try once more on a new one;
      // that connection's timeout ends the read, rather than another attempt.
      expect(proxy.acceptedWhileSilent()).toBe(1)
    } finally {
      await proxy.close()
    }
  }, 30_000)
})

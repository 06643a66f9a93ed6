/**
 * The embedded store keeps its data across a restart, guards its data directory, and serves the
 * expired-basket sweep.
 */
import { describe, expect, it } from "@effect/vitest"
import { Amendments } from "@subshift/core/ports/Amendments"
import { Baskets } from "@subshift/core/ports/Baskets"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import { Events } from "@subshift/core/ports/Events"
import * as Instant from "@subshift/core/domain/Instant"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { Embedded, PgStore, Sweep } from "@subshift/store-postgres"
import { Fixtures } from "@subshift/testing"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import * as TestDatabase from "./TestDatabase.js"

describe("embedded store", () => {
  it.scoped("a store reopened on the same data directory reads back the basket, the commit, the amendment and its event", () =>
    Effect.gen(function*() {
      const data = TestDatabase.tempDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(data.remove))
      const sub = Fixtures.subscription()
      const committed = Fixtures.basket({ subscriptionId: sub.id })
      const open = Fixtures.basket({ subscriptionId: sub.id })
      const amendment = Fixtures.amendment(sub.id, { basketId: committed.id })
      const next = { ...sub, version: 2, pendingChange: { amendmentId: amendment.id, effectiveDate: CalendarDate.make("2025-04-01"), actions: amendment.actions } }
      const completed = { ...committed, version: 2, completed: true, amendmentId: amendment.id }
      const event = Fixtures.event(next, { amendmentId: amendment.id, basketId: committed.id })

      yield* Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const baskets = yield* Baskets
        yield* subscriptions.put(sub)
        yield* Effect.forEach([committed, open], baskets.create)
        yield* subscriptions.commit({
          events: [event],
          amendments: [amendment],
          subscriptions: [{ next, expectedVersion: 1 }],
          basket: { next: completed, expectedVersion: 1 }
        })
      }).pipe(Effect.provide(PgStore.layerEmbedded({ dataDir: data.dir })))

      const after = yield* Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const baskets = yield* Baskets
        const amendments = yield* Amendments
        return {
          subscription: yield* subscriptions.findById(sub.id),
          committed: yield* baskets.findById(committed.id),
          open: yield* baskets.findById(open.id),
          history: yield* amendments.listBySubscription(sub.id),
          events: yield* (yield* Events).list({ subscriptionId: sub.id, limit: 10 })
        }
      }).pipe(Effect.provide(PgStore.layerEmbedded({ dataDir: data.dir })))

      expect(Option.getOrThrow(after.subscription)).toEqual(next)
      expect(Option.getOrThrow(after.committed)).toEqual(completed)
      expect(Option.getOrThrow(after.open)).toEqual(open)
      expect(after.history).toEqual([amendment])
      expect(after.events.map(({ sequence: _, ...e }) => e)).toEqual([event])
    }), 120_000)

  it.scoped("a second store on a data directory in use is refused with StoreUnavailable, and the first keeps serving", () =>
    Effect.gen(function*() {
      const data = TestDatabase.tempDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(data.remove))
      const first = yield* Layer.build(PgStore.layerEmbedded({ dataDir: data.dir }))
      const second = yield* Effect.exit(Effect.scoped(Layer.build(PgStore.layerEmbedded({ dataDir: data.dir }))))
      expect(Exit.isFailure(second) && Option.getOrThrow(Cause.failureOption(second.cause)).message).toContain(
        `in use by process ${process.pid}`
      )
      const basket = Fixtures.basket()
      const baskets = yield* Effect.provide(Baskets, first)
      yield* baskets.create(basket)
      expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(basket)
    }), 120_000)

  it.scoped("a lock left by a process that is gone is taken over", () =>
    Effect.gen(function*() {
      const data = TestDatabase.tempDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(data.remove))
      // Pid 2^22 + 1 is above Linux's pid_max ceiling, so no process holds it.
      Fs.writeFileSync(Path.join(data.dir, "subshift.lock"), String(4_194_305))
      const server = yield* Embedded.start({ dataDir: data.dir })
      expect(server.dataDir).toBe(data.dir)
      expect(Fs.readFileSync(Path.join(data.dir, "subshift.lock"), "utf8")).toBe(String(process.pid))
    }), 120_000)

  it.scoped("the sweep deletes the baskets expired by the clock's now and keeps the live ones", () =>
    Effect.gen(function*() {
      const data = TestDatabase.tempDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(data.remove))
      const context = yield* Layer.build(PgStore.layerEmbedded({ dataDir: data.dir }))
      const baskets = yield* Effect.provide(Baskets, context)
      const expired = Fixtures.basket({ expiresAt: Instant.make("2030-01-01T00:00:00.000Z") })
      const live = Fixtures.basket({ expiresAt: Instant.make("2030-01-01T00:00:00.001Z") })
      yield* Effect.forEach([expired, live], baskets.create)
      yield* TestClock.setTime(Date.parse("2030-01-01T00:00:00.000Z"))
      expect(yield* Sweep.sweepOnce.pipe(Effect.provide(context))).toBe(1)
      expect(Option.isNone(yield* baskets.findById(expired.id))).toBe(true)
      expect(Option.isSome(yield* baskets.findById(live.id))).toBe(true)
    }), 120_000)
})

describe("embedded store start-up", () => {
  const systemId = (server: Embedded.Server) =>
    TestDatabase.admin<{ id: string }>(
      `postgres://postgres@${server.host}:${server.port}/postgres`,
      "SELECT system_identifier::text AS id FROM pg_control_system()"
    ).then((rows) => rows[0]!.id)

  it.scoped("new data directories start as copies of one cluster prepared in the cache, under the installed PGlite's version", () =>
    Effect.gen(function*() {
      const cache = TestDatabase.tempDataDir()
      const first = TestDatabase.tempDataDir()
      const second = TestDatabase.tempDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(() => [cache, first, second].forEach((d) => d.remove())))
      const a = yield* Embedded.start({ dataDir: first.dir, cacheDir: cache.dir })
      const b = yield* Embedded.start({ dataDir: second.dir, cacheDir: cache.dir })
      const pglite = Path.join(Path.dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite")), "..", "package.json")
      expect(Fs.readdirSync(cache.dir)).toEqual([`pglite-${JSON.parse(Fs.readFileSync(pglite, "utf8")).version}`])
      const prepared = yield* Effect.promise(() => Promise.all([systemId(a), systemId(b)]))
      expect(prepared[0]).toBe(prepared[1])
    }), 120_000)

  it.scoped("a data directory PGlite cannot open is refused with StoreUnavailable naming it", () =>
    Effect.gen(function*() {
      const data = TestDatabase.tempDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(data.remove))
      Fs.writeFileSync(Path.join(data.dir, "PG_VERSION"), "not a cluster\n")
      const exit = yield* Effect.exit(Effect.scoped(Embedded.start({ dataDir: data.dir })))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause)).message).toContain(
        `embedded Postgres in ${data.dir}: could not open the database`
      )
      expect(Fs.existsSync(Path.join(data.dir, "subshift.lock"))).toBe(false)
    }), 120_000)
})

/**
 * Races on one basket, subscription, due change or idempotency key. They run on a real Postgres
 * server when `TEST_DATABASE_URL` is set, where transactions truly interleave, and otherwise on
 * the embedded engine, which serialises them (so a lost update could not show there, but every
 * outcome is still checked). Concurrent migrations need a fresh empty schema per store, which
 * only a server gives: that test runs on a server only.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import type { Basket } from "@subshift/core/domain/Basket"
import { Amendments } from "@subshift/core/ports/Amendments"
import { Baskets } from "@subshift/core/ports/Baskets"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Event from "@subshift/core/domain/Event"
import { Events } from "@subshift/core/ports/Events"
import * as Idempotency from "@subshift/core/ports/Idempotency"
import * as Instant from "@subshift/core/domain/Instant"
import * as Subscription from "@subshift/core/domain/Subscription"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { PgStore } from "@subshift/store-postgres"
import * as Migrations from "../src/Migrations.js"
import { Fixtures } from "@subshift/testing"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import pg from "pg"
import * as TestDatabase from "./TestDatabase.js"

describe("postgres concurrency", () => {
  const database = TestDatabase.register()

  layer(database.layerWith({ maxConnections: 25 }), { timeout: "120 seconds" })("with a pool of 25", (it) => {
    it.effect("50 concurrent saves at one version: exactly one wins, the other 49 conflict and name the version", () =>
      Effect.gen(function*() {
        const baskets = yield* Baskets
        const basket = Fixtures.basket()
        yield* baskets.create(basket)
        const exits = yield* Effect.all(
          Array.from({ length: 50 }, (_, i) =>
            Effect.exit(baskets.save({ ...basket, version: 2, tracking: { referer: `https://example.com/${i}` } }, 1))),
          { concurrency: "unbounded" }
        )
        const winners = exits.flatMap((exit, i) => (Exit.isSuccess(exit) ? [i] : []))
        expect(winners.length).toBe(1)
        const conflicts = exits.flatMap((exit) =>
          Exit.isFailure(exit) ? Option.toArray(Cause.failureOption(exit.cause)) : []
        )
        expect(conflicts.length).toBe(49)
        expect(conflicts.map((c) => (c._tag === "VersionConflict" ? [c._tag, c.expected, c.actual] : [c._tag]))).toEqual(
          Array.from({ length: 49 }, () => ["VersionConflict", 1, 2])
        )
        const stored = Option.getOrThrow(yield* baskets.findById(basket.id))
        expect(stored.tracking.referer).toBe(`https://example.com/${winners[0]}`)
      }))

    it.effect("50 concurrent read-modify-write loops on one basket: one winner per version, no update lost", () =>
      Effect.gen(function*() {
        const baskets = yield* Baskets
        const basket = Fixtures.basket({ tracking: { data: { writers: [] } } })
        yield* baskets.create(basket)
        const writersOf = (b: Basket) => (b.tracking.data?.["writers"] ?? []) as ReadonlyArray<number>
        // Each writer appends its number to the basket, retrying on conflict until its write lands,
        // and answers the version it wrote over.
        const writer = (n: number): Effect.Effect<number, unknown> =>
          Effect.gen(function*() {
            const current = Option.getOrThrow(yield* baskets.findById(basket.id))
            const next: Basket = {
              ...current,
              version: current.version + 1,
              tracking: { ...current.tracking, data: { writers: [...writersOf(current), n] } }
            }
            const written = yield* Effect.either(baskets.save(next, current.version))
            if (Either.isLeft(written)) {
              expect(written.left._tag).toBe("VersionConflict")
              return yield* writer(n)
            }
            return current.version
          })
        const wonOver = yield* Effect.all(Array.from({ length: 50 }, (_, n) => writer(n)), { concurrency: "unbounded" })
        expect([...wonOver].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
        const stored = Option.getOrThrow(yield* baskets.findById(basket.id))
        expect(stored.version).toBe(51)
        expect([...writersOf(stored)].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, n) => n))
      }))

    it.effect("20 concurrent commits of different baskets on one subscription: exactly one applies, with its event only", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const baskets = yield* Baskets
        const amendments = yield* Amendments
        const sub = Fixtures.subscription({ version: 7 })
        yield* subscriptions.put(sub)
        const opened = Array.from({ length: 20 }, () => Fixtures.basket({ subscriptionId: sub.id }))
        yield* Effect.forEach(opened, baskets.create)
        const exits = yield* Effect.all(
          opened.map((basket, i) => {
            const next = { ...sub, version: 8, owner: `${sub.owner}-${i}` }
            return Effect.exit(subscriptions.commit(Fixtures.checkoutCommit(basket, next, 7, { id: `evt-${basket.id}` }).commit))
          }),
          { concurrency: "unbounded" }
        )
        const winner = exits.findIndex(Exit.isSuccess)
        expect(exits.filter(Exit.isSuccess).length).toBe(1)
        const refused = exits.flatMap((exit) => (Exit.isFailure(exit) ? Option.toArray(Cause.failureOption(exit.cause)) : []))
        expect(refused.map((e) => (e._tag === "VersionConflict" ? [e._tag, e.entity, e.id, e.actual] : [e._tag]))).toEqual(
          Array.from({ length: 19 }, () => ["VersionConflict", "subscription", sub.id, 8])
        )
        const stored = Option.getOrThrow(yield* subscriptions.findById(sub.id))
        expect(stored.version).toBe(8)
        expect(stored.owner).toBe(`${sub.owner}-${winner}`)
        const history = yield* amendments.listBySubscription(sub.id)
        expect(history.map((a) => a.basketId)).toEqual([opened[winner]!.id])
        const completed = yield* Effect.forEach(opened, (b) => Effect.map(baskets.findById(b.id), Option.getOrThrow))
        expect(completed.filter((b) => b.completed).map((b) => b.id)).toEqual([opened[winner]!.id])
        const written = yield* (yield* Events).list({ subscriptionId: sub.id, limit: 100 })
        expect(written.map((e) => e.id)).toEqual([`evt-${opened[winner]!.id}`])
      }))

    it.effect("a commit whose transaction fails after the subscription and basket updates leaves no trace", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const baskets = yield* Baskets
        const amendments = yield* Amendments
        const sub = Fixtures.subscription()
        const first = Fixtures.basket({ subscriptionId: sub.id })
        const second = Fixtures.basket({ subscriptionId: sub.id })
        yield* subscriptions.put(sub)
        yield* Effect.forEach([first, second], baskets.create)
        const applied = Fixtures.amendment(sub.id, { basketId: first.id })
        const appliedEvent = Fixtures.event({ ...sub, version: 2 }, { amendmentId: applied.id, basketId: first.id })
        yield* subscriptions.commit({
          events: [appliedEvent],
          amendments: [applied],
          subscriptions: [{ next: { ...sub, version: 2 }, expectedVersion: 1 }],
          basket: { next: { ...first, version: 2, completed: true }, expectedVersion: 1 }
        })
        // The amendments are written last; reusing a committed amendment's id breaks the primary
        // key only after the subscription and the basket rows were already updated.
        const exit = yield* Effect.exit(subscriptions.commit({
          events: [Fixtures.event({ ...sub, version: 3, status: "cancelled" }, { basketId: second.id })],
          amendments: [Fixtures.amendment(sub.id, { basketId: second.id }), { ...applied, basketId: second.id }],
          subscriptions: [{ next: { ...sub, version: 3, status: "cancelled" }, expectedVersion: 2 }],
          basket: { next: { ...second, version: 2, completed: true }, expectedVersion: 1 }
        }))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        expect(String(Exit.isFailure(exit) ? Cause.squash(exit.cause) : "")).toMatch(/Subscriptions.commit: .*duplicate key.*SQLSTATE 23505/)
        const stored = Option.getOrThrow(yield* subscriptions.findById(sub.id))
        expect(stored).toEqual({ ...sub, version: 2 })
        expect(Option.getOrThrow(yield* baskets.findById(second.id))).toEqual(second)
        expect(yield* amendments.listBySubscription(sub.id)).toEqual([applied])
        const written = yield* (yield* Events).list({ subscriptionId: sub.id, limit: 10 })
        expect(written.map(({ sequence: _, ...e }) => e)).toEqual([appliedEvent])
      }))

    it.effect("two scheduler runs applying the same due changes at once: each change applies once, with one event", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const events = yield* Events
        const today = CalendarDate.make("2025-04-01")
        const now = Instant.make("2025-04-01T00:05:00.000Z")
        const due = Array.from({ length: 20 }, () =>
          Fixtures.subscription({
            version: 3,
            pendingChange: {
              amendmentId: `amd-${Fixtures.unique()}`,
              effectiveDate: today,
              actions: [Fixtures.action({ timing: "NEXT_PERIOD_START", effectiveDate: today, prorate: false })]
            }
          }))
        yield* Effect.forEach(due, subscriptions.put)
        // What each run does with a due subscription it listed: apply it and save at the version read.
        const run = (name: string) =>
          Effect.forEach(due, (before) => {
            const after = Subscription.catchUp(before, today, now)!
            const changed = Event.changed({ id: `evt-${name}-${before.id}`, occurredAt: now, before, after })
            return Effect.exit(subscriptions.save(after, before.version, [changed]))
          }, { concurrency: "unbounded" })
        const [first, second] = yield* Effect.all([run("a"), run("b")], { concurrency: "unbounded" })
        for (const [i, before] of due.entries()) {
          const outcomes = [first![i]!, second![i]!]
          expect(outcomes.filter(Exit.isSuccess).length).toBe(1)
          const refused = outcomes.flatMap((exit) => (Exit.isFailure(exit) ? Option.toArray(Cause.failureOption(exit.cause)) : []))
          expect(refused.map((e) => e._tag)).toEqual(["VersionConflict"])
          const stored = Option.getOrThrow(yield* subscriptions.findById(before.id))
          expect(stored.version).toBe(4)
          expect(stored.pendingChange).toBeUndefined()
          const written = yield* events.list({ subscriptionId: before.id, limit: 10 })
          expect(written.map((e) => [e.type, e.amendmentId, e.after?.version])).toEqual([
            ["subscription.changed", before.pendingChange!.amendmentId, 4]
          ])
        }
        const stillDue = yield* subscriptions.listDue(today, 10_000)
        expect(stillDue.filter((s) => due.some((d) => d.id === s.id))).toEqual([])
      }))

    it.effect("20 concurrent claims of one new idempotency key: exactly one runs, the others see it running", () =>
      Effect.gen(function*() {
        const store = yield* Idempotency.Idempotency
        const key: Idempotency.Key = { scope: "order", owner: `customer:cus-${Fixtures.unique()}`, key: Fixtures.unique() }
        const request = {
          requestHash: "hash-a",
          now: Instant.make("2030-01-01T00:00:00.000Z"),
          expiresAt: Instant.make("2030-01-02T00:00:00.000Z"),
          staleBefore: Instant.make("2029-12-31T23:58:00.000Z")
        }
        const claims = yield* Effect.all(Array.from({ length: 20 }, () => store.claim(key, request)), { concurrency: "unbounded" })
        expect(claims.filter((c) => c._tag === "Claimed").length).toBe(1)
        expect(claims.filter((c) => c._tag === "Running").length).toBe(19)
      }))
  })

  describe.runIf(TestDatabase.serverUrl !== undefined)("events", () => {
    it.scopedLive("an event writer does not wait for another in flight, and a cursor read waits for it, so no sequence is read past", () =>
      Effect.gen(function*() {
        const context = yield* Layer.build(database.layerWith({ maxConnections: 4 }))
        const subscriptions = yield* Effect.provide(Subscriptions, context)
        const events = yield* Effect.provide(Events, context)
        const now = Instant.make("2025-04-01T00:05:00.000Z")
        const [early, late] = [Fixtures.subscription(), Fixtures.subscription()]
        yield* Effect.forEach([early, late], subscriptions.put)
        const before = yield* events.list({ after: 0, limit: 100_000 })
        const cursor = before.at(-1)?.sequence ?? 0
        // A writer of another process as the store writes: the ordering lock, then its event, not committed yet.
        const writer = new pg.Client({ connectionString: database.url() })
        yield* Effect.acquireRelease(Effect.promise(() => writer.connect()), () => Effect.promise(() => writer.end()))
        const earlyEvent = Event.changed({ id: `evt-early-${early.id}`, occurredAt: now, before: early, after: { ...early, version: 2 } })
        yield* Effect.promise(async () => {
          await writer.query("BEGIN")
          await writer.query("SELECT pg_advisory_xact_lock_shared(hashtext(current_schema() || '.subshift_events'))")
          await writer.query("INSERT INTO subshift_events (id, subscription_id, data) VALUES ($1, $2, $3::jsonb)", [
            earlyEvent.id,
            early.id,
            JSON.stringify(Schema.encodeSync(Event.Event)(earlyEvent))
          ])
        })
        // A later sequence commits first, without waiting for the writer in flight.
        const lateEvent = Event.changed({ id: `evt-late-${late.id}`, occurredAt: now, before: late, after: { ...late, version: 2 } })
        yield* subscriptions.save({ ...late, version: 2 }, late.version, [lateEvent]).pipe(
          Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the save waited for the other writer") })
        )
        const reading = yield* Effect.fork(events.list({ after: cursor, limit: 10 }))
        yield* Effect.sleep("500 millis")
        expect(Option.isNone(yield* Fiber.poll(reading))).toBe(true)
        yield* Effect.promise(() => writer.query("COMMIT"))
        const read = yield* Fiber.join(reading)
        expect(read.map((e) => e.id)).toEqual([earlyEvent.id, lateEvent.id])
        expect(read[0]!.sequence).toBeLessThan(read[1]!.sequence)
      }), 60_000)
  })

  describe.runIf(TestDatabase.serverUrl !== undefined)("migrations", () => {
    it.scoped("five stores starting at once on an empty schema all come up, and the migrations run once", () =>
      Effect.gen(function*() {
        const schema = yield* Effect.promise(() => TestDatabase.freshSchema(TestDatabase.serverUrl!))
        yield* Effect.addFinalizer(() => Effect.promise(schema.drop))
        const stores = yield* Effect.all(
          Array.from({ length: 5 }, () =>
            Layer.build(PgStore.layerUrl(schema.url, { maxConnections: 2 })).pipe(
              Effect.flatMap((context) => Effect.map(Subscriptions.pipe(Effect.provide(context)), () => "up"))
            )),
          { concurrency: "unbounded" }
        )
        expect(stores).toEqual(["up", "up", "up", "up", "up"])
        const history = yield* Effect.promise(() =>
          TestDatabase.admin<{ readonly migration_id: number }>(schema.url, "SELECT migration_id FROM subshift_migrations ORDER BY migration_id")
        )
        expect(history.map((r) => r.migration_id)).toEqual(Array.from({ length: Migrations.latestId }, (_, i) => i + 1))
      }), 120_000)
  })
})

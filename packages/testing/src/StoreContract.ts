/**
 * The contract every store adapter honours: one suite per repository port, registered against a
 * layer that provides them all. The in-memory and Postgres adapters both run it; so should yours.
 * Tests in a suite share one store and may run concurrently, so every test uses its own ids.
 */
import { describe, expect, it } from "@effect/vitest"
import { Amendments } from "@subshift/core/ports/Amendments"
import { Baskets } from "@subshift/core/ports/Baskets"
import { BillGroups } from "@subshift/core/ports/BillGroups"
import { Catalog } from "@subshift/core/ports/Catalog"
import { Events } from "@subshift/core/ports/Events"
import * as Idempotency from "@subshift/core/ports/Idempotency"
import * as Instant from "@subshift/core/domain/Instant"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as AdminContract from "./AdminContract.js"
import * as Fixtures from "./Fixtures.js"
import * as SubscriptionChecks from "./SubscriptionChecks.js"
import { pendingChangesSuite } from "./PendingChangesContract.js"
import { conflictOf, subscriptionsSuite } from "./SubscriptionsContract.js"

export { pendingChangesSuite, subscriptionsSuite }

/** Registers the catalog contract. */
export const catalogSuite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`Catalog contract: ${name}`, (it) => {
    it.effect("getMany answers the stored offers by id and leaves unknown ids out", () =>
      Effect.gen(function*() {
        const catalog = yield* Catalog
        const a = Fixtures.offer({ addOns: [] })
        const b = Fixtures.offer({ kind: "add_on" })
        yield* catalog.put([a, b])
        const found = yield* catalog.getMany([a.id, b.id, "offer-unknown-x"])
        expect(found.size).toBe(2)
        expect(found.get(a.id)).toEqual(a)
        expect(found.get(b.id)).toEqual(b)
      }))

    it.effect("getWithNeighbours adds the offers that the named offers' paths and add-ons name, once each", () =>
      Effect.gen(function*() {
        const catalog = yield* Catalog
        const addOn = Fixtures.offer({ kind: "add_on" })
        const up = Fixtures.offer()
        const down = Fixtures.offer()
        const far = Fixtures.offer()
        const current = Fixtures.offer({ upgrades: [up.id], downgrades: [down.id], addOns: [addOn.id] })
        yield* catalog.put([addOn, far, { ...up, upgrades: [far.id] }, down, current])
        const found = yield* catalog.getWithNeighbours([current.id, down.id, "offer-unknown-x"])
        expect(Array.from(found.keys()).sort()).toEqual([addOn.id, current.id, down.id, up.id].sort())
        expect(found.get(current.id)).toEqual(current)
        expect((yield* catalog.getWithNeighbours([])).size).toBe(0)
      }))

    it.effect("findRate answers the offer of a rate, and nothing for an unknown rate", () =>
      Effect.gen(function*() {
        const catalog = yield* Catalog
        const a = Fixtures.offer()
        yield* catalog.put([a])
        const found = yield* catalog.findRate(a.rates[0]!.id)
        expect(Option.getOrThrow(found).offer.id).toBe(a.id)
        expect(Option.getOrThrow(found).rate).toEqual(a.rates[0])
        expect(Option.isNone(yield* catalog.findRate(`rate-${Fixtures.unique()}`))).toBe(true)
      }))

    it.effect("put replaces an offer, and its old rates no longer resolve", () =>
      Effect.gen(function*() {
        const catalog = yield* Catalog
        const a = Fixtures.offer()
        yield* catalog.put([a])
        const renamed = { ...a, name: "Renamed", rates: [{ ...a.rates[0]!, id: `${a.id}-v2`, amount: 1500 }] }
        yield* catalog.put([renamed])
        expect((yield* catalog.getMany([a.id])).get(a.id)).toEqual(renamed)
        expect(Option.isNone(yield* catalog.findRate(a.rates[0]!.id))).toBe(true)
        expect(Option.getOrThrow(yield* catalog.findRate(`${a.id}-v2`)).rate.amount).toBe(1500)
      }))

    it.effect("list holds every offer in id order", () =>
      Effect.gen(function*() {
        const catalog = yield* Catalog
        const a = Fixtures.offer()
        yield* catalog.put([a])
        const all = yield* catalog.list
        expect(all.some((o) => o.id === a.id)).toBe(true)
        expect(all.map((o) => o.id)).toEqual([...all.map((o) => o.id)].sort())
      }))
  })

/** Registers the baskets contract. */
export const basketsSuite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`Baskets contract: ${name}`, (it) => {
    // A stored subscription, and a stored basket priced on it.
    const storedBasket = Effect.gen(function*() {
      const subscription = Fixtures.subscription()
      yield* (yield* Subscriptions).put(subscription)
      const basket = Fixtures.basket({ subscriptionId: subscription.id, subscriptionVersion: subscription.version })
      yield* (yield* Baskets).create(basket)
      return { basket, subscription }
    })

    it.effect("create then findById round-trips the basket, tracking data included", () =>
      Effect.gen(function*() {
        const baskets = yield* Baskets
        const basket = Fixtures.basket()
        yield* baskets.create(basket)
        expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(basket)
        expect(Option.isNone(yield* baskets.findById(Fixtures.basketId()))).toBe(true)
      }))

    it.effect("findWithSubscription answers the basket with its subscription as stored, and none once that is gone", () =>
      Effect.gen(function*() {
        const baskets = yield* Baskets
        const { basket, subscription } = yield* storedBasket
        const found = Option.getOrThrow(yield* baskets.findWithSubscription(basket.id))
        expect(found.basket).toEqual(basket)
        expect(Option.getOrThrow(found.subscription)).toEqual(subscription)
        const orphan = Fixtures.basket()
        yield* baskets.create(orphan)
        const alone = Option.getOrThrow(yield* baskets.findWithSubscription(orphan.id))
        expect(alone.basket).toEqual(orphan)
        expect(Option.isNone(alone.subscription)).toBe(true)
        expect(Option.isNone(yield* baskets.findWithSubscription(Fixtures.basketId()))).toBe(true)
      }))

    it.effect("a basket read for an update may be a kept copy, which a save confirms only while its subscription is unmoved", () =>
      Effect.gen(function*() {
        const baskets = yield* Baskets
        const subscriptions = yield* Subscriptions
        const { basket, subscription } = yield* storedBasket
        yield* baskets.findWithSubscription(basket.id)
        const recent = Option.getOrThrow(yield* baskets.findWithSubscription(basket.id, { recent: true }))
        expect(recent.basket).toEqual(basket)
        expect(Option.getOrThrow(recent.subscription)).toEqual(subscription)
        // Another writer moves the subscription: a kept copy cannot be confirmed by the save.
        yield* subscriptions.save({ ...subscription, version: subscription.version + 1 }, subscription.version)
        const next = { ...basket, version: basket.version + 1 }
        if (recent.unconfirmed === true) {
          expect(yield* conflictOf(baskets.save(next, basket.version))).toBe("VersionConflict")
          expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(basket)
        }
        // From a fresh read, the same save is the plain versioned write.
        const fresh = Option.getOrThrow(yield* baskets.findWithSubscription(basket.id))
        expect(fresh.unconfirmed).not.toBe(true)
        yield* baskets.save(next, basket.version)
        expect(Option.getOrThrow(yield* baskets.findById(basket.id)).version).toBe(next.version)
      }))

    it.effect("create of an id that exists is a conflict and keeps the first basket", () =>
      Effect.gen(function*() {
        const baskets = yield* Baskets
        const basket = Fixtures.basket()
        yield* baskets.create(basket)
        expect(yield* conflictOf(baskets.create({ ...basket, completed: true }))).toBe("VersionConflict")
        expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(basket)
      }))

    it.effect("save replaces at the expected version; a stale one conflicts and changes nothing", () =>
      Effect.gen(function*() {
        const baskets = yield* Baskets
        const basket = Fixtures.basket()
        yield* baskets.create(basket)
        const next = { ...basket, version: 2, items: [] }
        yield* baskets.save(next, 1)
        expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(next)
        expect(yield* conflictOf(baskets.save({ ...basket, version: 2 }, 1))).toBe("VersionConflict")
        expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(next)
        expect(yield* conflictOf(baskets.save(Fixtures.basket(), 1))).toBe("VersionConflict")
      }))

    it.effect("of concurrent saves at one version, exactly one wins", () =>
      Effect.gen(function*() {
        const baskets = yield* Baskets
        const basket = Fixtures.basket()
        yield* baskets.create(basket)
        const exits = yield* Effect.all(
          Array.from({ length: 10 }, (_, i) =>
            Effect.exit(baskets.save({ ...basket, version: 2, tracking: { referer: `https://example.com/${i}` } }, 1))),
          { concurrency: "unbounded" }
        )
        expect(exits.filter(Exit.isSuccess).length).toBe(1)
        expect(Option.getOrThrow(yield* baskets.findById(basket.id)).version).toBe(2)
      }))

    it.effect("deleteExpired removes the baskets expired at now and keeps the others", () =>
      Effect.gen(function*() {
        const baskets = yield* Baskets
        const expired = [Fixtures.basket({ expiresAt: Instant.make("2001-01-01T00:00:00.000Z") }), Fixtures.basket({ expiresAt: Instant.make("2001-01-02T00:00:00.000Z") })]
        const live = Fixtures.basket({ expiresAt: Instant.make("2099-01-01T00:00:00.000Z") })
        yield* Effect.forEach([...expired, live], baskets.create)
        const deleted = yield* baskets.deleteExpired(Instant.make("2001-01-02T00:00:00.000Z"))
        expect(deleted).toBeGreaterThanOrEqual(2)
        for (const b of expired) expect(Option.isNone(yield* baskets.findById(b.id))).toBe(true)
        expect(Option.isSome(yield* baskets.findById(live.id))).toBe(true)
      }))
  })

/** Registers the bill groups contract. */
export const billGroupsSuite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`BillGroups contract: ${name}`, (it) => {
    it.effect("put then findById round-trips; put replaces", () =>
      Effect.gen(function*() {
        const billGroups = yield* BillGroups
        const group = Fixtures.billGroup()
        yield* billGroups.put(group)
        expect(Option.getOrThrow(yield* billGroups.findById(group.id))).toEqual(group)
        const finished = { ...group, contractStatus: "FINISHED" as const, version: 2 }
        yield* billGroups.put(finished)
        expect(Option.getOrThrow(yield* billGroups.findById(group.id))).toEqual(finished)
        expect(Option.isNone(yield* billGroups.findById(`bg-${Fixtures.unique()}`))).toBe(true)
      }))
  })

/** Registers the amendments contract. */
export const amendmentsSuite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`Amendments contract: ${name}`, (it) => {
    it.effect("listBySubscription answers a subscription's amendments in commit order", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const amendments = yield* Amendments
        const sub = Fixtures.subscription()
        yield* subscriptions.put(sub)
        const first = Fixtures.amendment(sub.id, { createdAt: Instant.make("2025-03-16T10:00:00.000Z") })
        const second = Fixtures.amendment(sub.id, { createdAt: Instant.make("2025-03-17T10:00:00.000Z") })
        yield* subscriptions.commit({ events: [], amendments: [first], subscriptions: [{ next: { ...sub, version: 2 }, expectedVersion: 1 }] })
        yield* subscriptions.commit({ events: [], amendments: [second], subscriptions: [{ next: { ...sub, version: 3 }, expectedVersion: 2 }] })
        expect(yield* amendments.listBySubscription(sub.id)).toEqual([first, second])
        expect(yield* amendments.listBySubscription(`sub-${Fixtures.unique()}`)).toEqual([])
      }))
  })

/** Registers the events contract. */
export const eventsSuite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`Events contract: ${name}`, (it) => {
    it.effect("events read back in write order from a cursor, filtered by partner or subscription", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const events = yield* Events
        const partnerOrg = `partner-${Fixtures.unique()}`
        const mine = Fixtures.subscription({ partnerOrg })
        const theirs = Fixtures.subscription({ partnerOrg: `partner-${Fixtures.unique()}` })
        yield* Effect.forEach([mine, theirs], subscriptions.put)
        const written = [Fixtures.event(mine), Fixtures.event(theirs), Fixtures.event(mine)]
        for (const event of written) {
          const stored = Option.getOrThrow(yield* subscriptions.findById(event.subscriptionId!))
          yield* subscriptions.save({ ...stored, version: stored.version + 1 }, stored.version, [event])
        }
        const forPartner = yield* events.list({ partnerOrg, limit: 10 })
        expect(forPartner.map((e) => e.id)).toEqual([written[0]!.id, written[2]!.id])
        expect(forPartner[1]!.sequence).toBeGreaterThan(forPartner[0]!.sequence)
        const afterFirst = yield* events.list({ partnerOrg, after: forPartner[0]!.sequence, limit: 10 })
        expect(afterFirst.map((e) => e.id)).toEqual([written[2]!.id])
        expect(yield* events.list({ partnerOrg, after: forPartner[1]!.sequence, limit: 10 })).toEqual([])
        expect((yield* events.list({ partnerOrg, limit: 1 })).map((e) => e.id)).toEqual([written[0]!.id])
        const ofTheirs = yield* events.list({ subscriptionId: theirs.id, after: forPartner[0]!.sequence, limit: 10 })
        expect(ofTheirs.map((e) => e.id)).toEqual([written[1]!.id])
        const { sequence: _, ...first } = forPartner[0]!
        expect(first).toEqual(written[0])
      }))

    it.effect("deleting an expired basket writes its basket.expired event", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const baskets = yield* Baskets
        const events = yield* Events
        const sub = Fixtures.subscription({ partnerOrg: `partner-${Fixtures.unique()}` })
        yield* subscriptions.put(sub)
        const basket = Fixtures.basket({ subscriptionId: sub.id, expiresAt: Instant.make("2002-01-01T00:00:00.000Z") })
        yield* baskets.create(basket)
        yield* baskets.deleteExpired(Instant.make("2002-01-01T00:00:00.000Z"))
        const written = yield* events.list({ subscriptionId: sub.id, limit: 10 })
        expect(written.map((e) => [e.type, e.basketId, e.partnerOrg, e.owner])).toEqual([["basket.expired", basket.id, sub.partnerOrg, sub.owner]])
      }))
  })

/** Registers the idempotency contract. */
export const idempotencySuite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`Idempotency contract: ${name}`, (it) => {
    const keyOf = (): Idempotency.Key => ({ scope: "order", owner: `customer:cus-${Fixtures.unique()}`, key: Fixtures.unique() })
    const at = (now: string) => ({
      requestHash: "hash-a",
      now: Instant.make(now),
      expiresAt: Instant.make("2030-01-02T00:00:00.000Z"),
      staleBefore: Instant.make("2000-01-01T00:00:00.000Z")
    })
    const result: Idempotency.StoredResult = { status: 200, body: "{\"id\":\"amd-1\"}", headers: { etag: "\"2\"" } }

    it.effect("the first claim runs; while it runs the key is Running; once complete it replays the result", () =>
      Effect.gen(function*() {
        const store = yield* Idempotency.Idempotency
        const key = keyOf()
        expect(yield* store.claim(key, at("2030-01-01T00:00:00.000Z"))).toEqual({ _tag: "Claimed" })
        expect(yield* store.claim(key, at("2030-01-01T00:00:01.000Z"))).toEqual({ _tag: "Running" })
        yield* store.complete(key, result)
        expect(yield* store.claim(key, at("2030-01-01T00:00:02.000Z"))).toEqual({ _tag: "Replay", result })
      }))

    it.effect("the same key with another request is a Mismatch; another caller's key is its own", () =>
      Effect.gen(function*() {
        const store = yield* Idempotency.Idempotency
        const key = keyOf()
        yield* store.claim(key, at("2030-01-01T00:00:00.000Z"))
        yield* store.complete(key, result)
        expect(yield* store.claim(key, { ...at("2030-01-01T00:00:01.000Z"), requestHash: "hash-b" })).toEqual({ _tag: "Mismatch" })
        expect(yield* store.claim({ ...key, owner: "customer:cus-someone-else" }, at("2030-01-01T00:00:01.000Z"))).toEqual({ _tag: "Claimed" })
        expect(yield* store.claim({ ...key, scope: "amend" }, at("2030-01-01T00:00:01.000Z"))).toEqual({ _tag: "Claimed" })
      }))

    it.effect("an abandoned claim is taken over, a released one can run again, an expired one is forgotten", () =>
      Effect.gen(function*() {
        const store = yield* Idempotency.Idempotency
        const abandoned = keyOf()
        yield* store.claim(abandoned, at("2030-01-01T00:00:00.000Z"))
        expect(yield* store.claim(abandoned, { ...at("2030-01-01T00:10:00.000Z"), staleBefore: Instant.make("2030-01-01T00:05:00.000Z") }))
          .toEqual({ _tag: "Claimed" })
        const released = keyOf()
        yield* store.claim(released, at("2030-01-01T00:00:00.000Z"))
        yield* store.release(released)
        expect(yield* store.claim(released, at("2030-01-01T00:00:01.000Z"))).toEqual({ _tag: "Claimed" })
        const expiring = keyOf()
        yield* store.claim(expiring, { ...at("2001-01-01T00:00:00.000Z"), expiresAt: Instant.make("2001-01-02T00:00:00.000Z") })
        yield* store.complete(expiring, result)
        expect(yield* store.sweep(Instant.make("2001-01-02T00:00:00.000Z"))).toBeGreaterThanOrEqual(1)
        expect(yield* store.claim(expiring, { ...at("2001-01-02T00:00:01.000Z"), requestHash: "hash-b" })).toEqual({ _tag: "Claimed" })
      }))

    it.effect("of concurrent claims of one new key, exactly one runs", () =>
      Effect.gen(function*() {
        const store = yield* Idempotency.Idempotency
        const key = keyOf()
        const claims = yield* Effect.all(Array.from({ length: 10 }, () => store.claim(key, at("2030-01-01T00:00:00.000Z"))), {
          concurrency: "unbounded"
        })
        expect(claims.filter((c) => c._tag === "Claimed").length).toBe(1)
        expect(claims.filter((c) => c._tag === "Running").length).toBe(9)
      }))
  })

/** Registers every port's contract against one layer. */
export const suite = <E>(name: string, layer: Layer.Layer<StorePorts, E>): void => {
  describe(`store contract: ${name}`, () => {
    catalogSuite(name, layer)
    subscriptionsSuite(name, layer)
    basketsSuite(name, layer)
    billGroupsSuite(name, layer)
    amendmentsSuite(name, layer)
    eventsSuite(name, layer)
    idempotencySuite(name, layer)
    SubscriptionChecks.suite(name, layer)
    pendingChangesSuite(name, layer)
    AdminContract.auditSuite(name, layer)
    AdminContract.recordsSuite(name, layer)
  })
}

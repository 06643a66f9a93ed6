/**
 * The statements each checkout step sends, counted on the wire by a proxy in front of the test
 * database: with the catalog of the generation in force kept in memory and the basket read with
 * its subscription, a basket update is one read and one versioned write, and an update of a
 * basket this process last read or wrote is that write alone, conditional on the basket, its
 * subscription and the catalog being as it had them. A basket, subscription or catalog changed
 * by another process is seen on the very next update.
 */
import type { OrderItem } from "@subshift/core/domain/Basket"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import { CurrentPrincipal, Customer } from "@subshift/core/domain/Principal"
import { Catalog } from "@subshift/core/ports/Catalog"
import * as Ids from "@subshift/core/ports/Ids"
import * as Pricing from "@subshift/core/ports/Pricing"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { PgStore } from "@subshift/store-postgres"
import * as Demo from "@subshift/testing/Demo"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as StatementCounter from "./StatementCounter.js"
import * as TestDatabase from "./TestDatabase.js"

const database = TestDatabase.register()

const today = CalendarDate.fromEpochMillis(Date.now())
const alice = new Customer({ customerId: Demo.customers.alice })
const alicesSubscription = Demo.subscriptions(today).find((s) => s.owner === Demo.customers.alice)!
const upgrade: ReadonlyArray<OrderItem> = [{ action: "add", type: "offer", offerId: "ledger-standard" }]

const runtimeOn = (url: string) =>
  ManagedRuntime.make(
    SubscriptionCheckout.Default.pipe(
      Layer.provide(Pricing.layer()),
      Layer.provide(Ids.layerRandom),
      Layer.provideMerge(PgStore.layerUrl(url, { maxConnections: 4 }))
    )
  )
type Runtime = ReturnType<typeof runtimeOn>

let counter: StatementCounter.Counter
let counted: Runtime
let other: Runtime

const asAlice = <A>(runtime: Runtime, f: (c: SubscriptionCheckout) => Effect.Effect<A, unknown, CurrentPrincipal>) =>
  runtime.runPromise(Effect.flatMap(SubscriptionCheckout, f).pipe(Effect.provideService(CurrentPrincipal, alice)))

/** The statements `f` sends through the counting proxy. */
const statementsOf = async (f: () => Promise<unknown>) => {
  counter.reset()
  await f()
  return counter.statements()
}

const joinedRead = /^SELECT b\.data::text AS data, s\.data::text AS subscription, .* FROM subshift_baskets b LEFT JOIN subshift_subscriptions s/
const versionedWrite = /^UPDATE subshift_baskets SET .* WHERE id = \$\d+ AND version = \$\d+ RETURNING/
const conditionalWrite =
  /^UPDATE subshift_baskets SET .* WHERE id = \$\d+ AND version = \$\d+ AND EXISTS \(SELECT 1 FROM subshift_subscriptions WHERE id = \$\d+ AND version = \$\d+\) AND \(SELECT generation FROM subshift_catalog_generation WHERE id = 1\) = \$\d+ RETURNING/

beforeAll(async () => {
  other = runtimeOn(database.url())
  await other.runPromise(Effect.gen(function*() {
    yield* (yield* Catalog).put(Demo.offers)
    const subscriptions = yield* Subscriptions
    for (const s of Demo.subscriptions(today)) yield* subscriptions.put(s)
  }))
  counter = await StatementCounter.start(database.url())
  counted = runtimeOn(counter.url)
}, 120_000)

afterAll(async () => {
  await counted?.dispose()
  await other?.dispose()
  await counter?.close()
})

const openBasket = () => asAlice(counted, (c) => c.initiate({ forSubscription: { id: alicesSubscription.id } }))

describe(`statements per checkout step (${database.kind})`, () => {
  it("a basket update with the catalog in memory is one joined read and one versioned write", async () => {
    const basket = await openBasket()
    const statements = await statementsOf(() => asAlice(counted, (c) => c.update(basket.id, upgrade)))
    expect(statements).toHaveLength(2)
    expect(statements[0]).toMatch(joinedRead)
    expect(statements[1]).toMatch(versionedWrite)
  }, 60_000)

  it("the next update of that basket is one write, conditional on the basket, its subscription and the catalog", async () => {
    const basket = await openBasket()
    await asAlice(counted, (c) => c.update(basket.id, upgrade))
    const statements = await statementsOf(() => asAlice(counted, (c) => c.update(basket.id, upgrade)))
    expect(statements).toHaveLength(1)
    expect(statements[0]).toMatch(conditionalWrite)
  }, 60_000)

  it("a basket updated by another process is read again, and the update lands on its version", async () => {
    const basket = await openBasket()
    await asAlice(counted, (c) => c.update(basket.id, upgrade))
    const theirs = await asAlice(other, (c) => c.update(basket.id, [{ action: "add", type: "offer", offerId: "ledger-premium" }]))
    let ours: { readonly version: number; readonly items: ReadonlyArray<{ readonly offerId: string }> } | undefined
    const statements = await statementsOf(async () => {
      ours = await asAlice(counted, (c) => c.update(basket.id, upgrade))
    })
    expect(ours?.version).toBe(theirs.version + 1)
    expect(ours?.items.map((i) => i.offerId)).toEqual(["ledger-standard"])
    // The conditional write matches nothing, and the update is done again from a read.
    expect(statements).toHaveLength(3)
    expect(statements[0]).toMatch(conditionalWrite)
    expect(statements[1]).toMatch(joinedRead)
    expect(statements[2]).toMatch(versionedWrite)
    expect(await statementsOf(() => asAlice(counted, (c) => c.update(basket.id, upgrade)))).toHaveLength(1)
  }, 60_000)

  it("an If-Match naming the version another process wrote is decided on a fresh read, not on the kept copy", async () => {
    const basket = await openBasket()
    await asAlice(counted, (c) => c.update(basket.id, upgrade))
    const theirs = await asAlice(other, (c) => c.update(basket.id, upgrade))
    const ours = await asAlice(counted, (c) => c.update(basket.id, upgrade, { expectedVersion: theirs.version }))
    expect(ours.version).toBe(theirs.version + 1)
    const stale = await counted.runPromise(
      Effect.flatMap(SubscriptionCheckout, (c) => Effect.flip(c.update(basket.id, upgrade, { expectedVersion: theirs.version }))).pipe(
        Effect.provideService(CurrentPrincipal, alice)
      )
    )
    expect(stale).toMatchObject({ _tag: "VersionConflict", expected: theirs.version, actual: ours.version })
  }, 60_000)

  it("a subscription changed by another process is read again before the basket is priced on it", async () => {
    const basket = await openBasket()
    await asAlice(counted, (c) => c.update(basket.id, upgrade))
    const renamed = await other.runPromise(Effect.gen(function*() {
      const subscriptions = yield* Subscriptions
      const stored = (yield* subscriptions.findById(alicesSubscription.id)).pipe((o) => (o._tag === "Some" ? o.value : undefined))!
      const next = { ...stored, name: `${alicesSubscription.name}-${Date.now()}`, version: stored.version + 1 }
      yield* subscriptions.save(next, stored.version)
      return next
    }))
    try {
      const updated = await asAlice(counted, (c) => c.update(basket.id, upgrade))
      expect(updated.subscriptionName).toBe(renamed.name)
      expect(updated.subscriptionVersion).toBe(renamed.version)
    } finally {
      await other.runPromise(Effect.flatMap(Subscriptions, (subscriptions) =>
        subscriptions.save({ ...renamed, name: alicesSubscription.name, version: renamed.version + 1 }, renamed.version)))
    }
  }, 60_000)

  it("opening a basket is one subscription read and one insert", async () => {
    await openBasket()
    const statements = await statementsOf(openBasket)
    expect(statements).toHaveLength(2)
    expect(statements[0]).toMatch(/^SELECT data::text AS data, .*catalog_generation FROM subshift_subscriptions WHERE id = \$1/)
    expect(statements[1]).toMatch(/^INSERT INTO subshift_baskets/)
  }, 60_000)

  it("a catalog published by another process is used on the next update, fetched once, then kept again", async () => {
    const basket = await openBasket()
    await asAlice(counted, (c) => c.update(basket.id, upgrade))
    const current = Demo.offers.find((o) => o.id === alicesSubscription.offer.offerId)!
    const renamed = { ...current, name: `${current.name} (renamed ${Date.now()})` }
    await other.runPromise(Effect.flatMap(Catalog, (catalog) => catalog.put([renamed])))

    let updated: { readonly forSubscriptionOffer: { readonly name: string } } | undefined
    const statements = await statementsOf(async () => {
      updated = await asAlice(counted, (c) => c.update(basket.id, upgrade))
    })
    expect(updated?.forSubscriptionOffer.name).toBe(renamed.name)
    // The conditional write finds the generation moved; the update is done again from a read,
    // which fetches the new catalog once.
    expect(statements).toHaveLength(4)
    expect(statements[0]).toMatch(conditionalWrite)
    expect(statements[1]).toMatch(joinedRead)
    expect(statements[2]).toMatch(/^SELECT g\.generation::text AS generation/)
    expect(statements[3]).toMatch(versionedWrite)
    expect(await statementsOf(() => asAlice(counted, (c) => c.update(basket.id, upgrade)))).toHaveLength(1)

    // A catalog read that follows no basket or subscription read checks the generation itself.
    const again = { ...renamed, name: `${current.name} (again ${Date.now()})` }
    await other.runPromise(Effect.flatMap(Catalog, (catalog) => catalog.put([again])))
    const listed = await counted.runPromise(Effect.flatMap(Catalog, (catalog) => catalog.list))
    expect(listed.find((o) => o.id === current.id)?.name).toBe(again.name)
    await other.runPromise(Effect.flatMap(Catalog, (catalog) => catalog.put([current])))
  }, 60_000)

  // Last: the order changes Alice's subscription, which the other cases upgrade.
  it("an order reads once, then writes in one transaction", async () => {
    const basket = await openBasket()
    await asAlice(counted, (c) => c.update(basket.id, upgrade))
    const statements = await statementsOf(() => asAlice(counted, (c) => c.commit(basket.id)))
    expect(statements[0]).toMatch(joinedRead)
    expect(statements[1]).toBe("BEGIN")
    expect(statements.at(-1)).toBe("COMMIT")
    expect(statements.slice(2, -1).every((s) => /^(UPDATE|INSERT|SELECT pg_advisory_xact_lock|LOCK)/.test(s))).toBe(true)
    expect(statements.slice(2, -1)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^UPDATE subshift_subscriptions/),
      expect.stringMatching(versionedWrite),
      expect.stringMatching(/^INSERT INTO subshift_amendments/)
    ]))
    // The write inside the order's transaction is not kept for the next update (the transaction
    // could have rolled back): an update of the committed basket starts from a read.
    let refusal: unknown
    const after = await statementsOf(async () => {
      refusal = await counted.runPromise(
        Effect.flatMap(SubscriptionCheckout, (c) => Effect.flip(c.update(basket.id, upgrade))).pipe(Effect.provideService(CurrentPrincipal, alice))
      )
    })
    expect(refusal).toMatchObject({ _tag: "BasketCompleted" })
    expect(after).toHaveLength(1)
    expect(after[0]).toMatch(joinedRead)
  }, 60_000)
})

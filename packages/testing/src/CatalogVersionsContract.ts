/**
 * The catalog versions contract: immutable versions that take effect at their instant, the
 * catalog read through the version in force at the reader's clock, offers a later version removed
 * still readable (not sellable), and a full scan of subscriptions page by page. Register it on a
 * store of its own: it moves the test clock and publishes versions in the future.
 */
import { describe, expect, it } from "@effect/vitest"
import type { CatalogDocument } from "@subshift/core/domain/CatalogDocument"
import * as Instant from "@subshift/core/domain/Instant"
import * as Offer from "@subshift/core/domain/Offer"
import { Catalog } from "@subshift/core/ports/Catalog"
import { CatalogVersions } from "@subshift/core/ports/CatalogVersions"
import { Events } from "@subshift/core/ports/Events"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as CatalogValidation from "@subshift/core/rules/CatalogValidation"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Fixtures from "./Fixtures.js"

const at = (iso: string) => Instant.make(iso)
const document = (offers: ReadonlyArray<Offer.Offer>): CatalogDocument => ({ offers, priceMigrations: [] })
const publication = (offers: ReadonlyArray<Offer.Offer>, effectiveFrom: string, publishedAt = effectiveFrom) => ({
  document: document(offers),
  effectiveFrom: at(effectiveFrom),
  publishedAt: at(publishedAt),
  digest: CatalogValidation.digest(document(offers)),
  actor: { kind: "operator" as const, id: "key-cv", name: "catalog-bot" },
  reason: `publish ${effectiveFrom}`
})

// The catalog.published events written so far.
const publishedEvents = Effect.map(
  Effect.flatMap(Events, (events) => events.list({ limit: 1000 })),
  (list) => list.filter((e) => e.type === "catalog.published").map((e) => [e.catalogVersion, e.effectiveFrom, e.actor.id, e.reason])
)
const priced = (offer: Offer.Offer, amount: number): Offer.Offer => ({
  ...offer,
  rates: offer.rates.map((r) => ({ ...r, amount }))
})

/** Registers the catalog versions contract. */
export const catalogVersionsSuite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`CatalogVersions contract: ${name}`, (it) => {
    const basic = Fixtures.offer({ id: "cv-basic" })
    const gone = Fixtures.offer({ id: "cv-gone" })
    const plus = Fixtures.offer({ id: "cv-plus", downgrades: [basic.id] })

    it.effect("publishes numbered versions, lists them and reads one back, and the version in force at an instant", () =>
      Effect.gen(function*() {
        const versions = yield* CatalogVersions
        yield* TestClock.setTime(Date.parse("2025-01-01T00:00:00Z"))
        const first = yield* versions.publish(publication([basic, { ...gone, upgrades: [plus.id] }, plus], "2025-01-01T00:00:00Z"))
        expect(first.version).toBe(1)
        const second = yield* versions.publish(publication([priced(basic, 1500), plus], "2025-03-01T00:00:00Z", "2025-01-01T00:00:00Z"))
        expect(second.version).toBe(2)
        // Each publish wrote its catalog.published event in the same write.
        expect(yield* publishedEvents).toEqual([
          [1, "2025-01-01T00:00:00.000Z", "key-cv", "publish 2025-01-01T00:00:00Z"],
          [2, "2025-03-01T00:00:00.000Z", "key-cv", "publish 2025-03-01T00:00:00Z"]
        ])
        expect((yield* versions.list).map((v) => [v.version, v.effectiveFrom, v.offers])).toEqual([
          [1, "2025-01-01T00:00:00.000Z", 3],
          [2, "2025-03-01T00:00:00.000Z", 2]
        ])
        expect(yield* versions.get(2)).toEqual(Option.some(second))
        expect(yield* versions.get(3)).toEqual(Option.none())
        expect(Option.map(yield* versions.inForce(at("2025-02-28T23:59:59Z")), (v) => v.version)).toEqual(Option.some(1))
        expect(Option.map(yield* versions.inForce(at("2025-03-01T00:00:00Z")), (v) => v.version)).toEqual(Option.some(2))
        expect(yield* versions.inForce(at("2024-12-31T00:00:00Z"))).toEqual(Option.none())
      }))

    it.effect("the catalog reads the version in force at the clock: a future version takes effect by itself at its instant", () =>
      Effect.gen(function*() {
        const catalog = yield* Catalog
        yield* TestClock.setTime(Date.parse("2025-02-28T23:59:59Z"))
        expect((yield* catalog.getMany([basic.id])).get(basic.id)?.rates[0]?.amount).toBe(1000)
        expect(Option.map(yield* catalog.findRate(`${basic.id}-usd`), (r) => r.rate.amount)).toEqual(Option.some(1000))
        yield* TestClock.setTime(Date.parse("2025-03-01T00:00:00Z"))
        expect((yield* catalog.getMany([basic.id])).get(basic.id)?.rates[0]?.amount).toBe(1500)
        expect(Option.map(yield* catalog.findRate(`${basic.id}-usd`), (r) => r.rate.amount)).toEqual(Option.some(1500))
        expect((yield* catalog.list).map((o) => o.id)).toEqual([basic.id, plus.id])
      }))

    it.effect("an offer a later version removed still reads, with its paths and rates, and is no longer sellable", () =>
      Effect.gen(function*() {
        const catalog = yield* Catalog
        yield* TestClock.setTime(Date.parse("2025-02-01T00:00:00Z"))
        expect(Offer.isSellable((yield* catalog.getMany([gone.id])).get(gone.id)!, at("2025-02-01T00:00:00Z"))).toBe(true)
        yield* TestClock.setTime(Date.parse("2025-04-01T00:00:00Z"))
        const retired = (yield* catalog.getWithNeighbours([gone.id])).get(gone.id)!
        expect(retired.upgrades).toEqual([plus.id])
        expect(Offer.isSellable(retired, at("2025-04-01T00:00:00Z"))).toBe(false)
        expect(retired.sellable.until).toBe("2025-03-01T00:00:00.000Z")
        expect(Option.map(yield* catalog.findRate(`${gone.id}-usd`), (r) => r.offer.id)).toEqual(Option.some(gone.id))
        expect((yield* catalog.list).some((o) => o.id === gone.id)).toBe(false)
      }))

    it.effect("refuses a version that would take effect before the latest one, and stores nothing", () =>
      Effect.gen(function*() {
        const versions = yield* CatalogVersions
        const exit = yield* Effect.exit(versions.publish(publication([basic], "2025-02-15T00:00:00Z")))
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : "no failure").toBe("InvalidEffectiveFrom")
        expect((yield* versions.list).length).toBe(2)
        expect((yield* publishedEvents).length).toBe(2)
      }))

    it.effect("put publishes the latest version with the offers inserted or replaced, effective when the latest is", () =>
      Effect.gen(function*() {
        const versions = yield* CatalogVersions
        const catalog = yield* Catalog
        const extra = Fixtures.offer({ id: "cv-extra" })
        yield* catalog.put([extra, priced(plus, 4200)])
        const latest = (yield* versions.list).at(-1)!
        expect([latest.version, latest.effectiveFrom, latest.offers]).toEqual([3, "2025-03-01T00:00:00.000Z", 3])
        const found = yield* catalog.getMany([extra.id, plus.id, basic.id])
        expect(found.get(plus.id)?.rates[0]?.amount).toBe(4200)
        expect(found.get(basic.id)?.rates[0]?.amount).toBe(1500)
      }))

    it.effect("listPage scans every subscription in id order, page by page", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const puts = ["sub-cv-03", "sub-cv-01", "sub-cv-02", "sub-cv-05", "sub-cv-04"].map((id) =>
          Fixtures.subscription({ id, offer: { offerId: basic.id, rateId: `${basic.id}-usd`, quantity: 1, unitPrice: { amount: 1000, currency: "USD" as never } } })
        )
        yield* Effect.forEach(puts, subscriptions.put, { discard: true })
        const seen: Array<string> = []
        let after: string | undefined
        for (;;) {
          const page = yield* subscriptions.listPage({ after, limit: 2 })
          if (page.length === 0) break
          expect(page.length).toBeLessThanOrEqual(2)
          seen.push(...page.map((s) => s.id))
          after = page.at(-1)!.id
        }
        expect(seen.filter((id) => id.startsWith("sub-cv-"))).toEqual(["sub-cv-01", "sub-cv-02", "sub-cv-03", "sub-cv-04", "sub-cv-05"])
        expect(yield* subscriptions.listPage({ limit: 0 })).toEqual([])
      }))
  })

/** Registers the contract under a describe block. */
export const suite = <E>(name: string, layer: Layer.Layer<StorePorts, E>): void => {
  describe(`catalog versions: ${name}`, () => catalogVersionsSuite(name, layer))
}

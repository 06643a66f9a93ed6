import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import type { OrderItem } from "@subshift/core/domain/Basket"
import { CurrentPrincipal, Customer } from "@subshift/core/domain/Principal"
import { CatalogVersions } from "@subshift/core/ports/CatalogVersions"
import * as Ids from "@subshift/core/ports/Ids"
import * as Pricing from "@subshift/core/ports/Pricing"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { CatalogAdmin } from "@subshift/core/usecases/CatalogAdmin"
import { PriceMigrations } from "@subshift/core/usecases/PriceMigrations"
import { Events } from "@subshift/core/ports/Events"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { MemoryStore } from "@subshift/store-memory"
import { Demo } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Instant from "@subshift/core/domain/Instant"
import { at, TODAY } from "./support.js"

const NOW = `${TODAY}T10:00:00.000Z`
const TOMORROW = "2025-03-17T00:00:00.000Z"

const layer = () =>
  Layer.mergeAll(SubscriptionCheckout.Default, CatalogAdmin.Default, PriceMigrations.Default).pipe(
    Layer.provideMerge(Layer.mergeAll(MemoryStore.layer(Demo.seed(TODAY)), Pricing.layer(), Ids.layerSequential))
  )

const asAlice = Effect.provideService(CurrentPrincipal, new Customer({ customerId: "cus-alice" }))
const add = (type: "offer" | "add_on", offerId: string): OrderItem => ({ action: "add", type, offerId })

/** The demo catalog as a document, with `edit` applied to a copy. */
const demoDocument = (edit: (offers: Array<any>) => void = () => {}) => {
  const offers = JSON.parse(JSON.stringify(Demo.offers))
  edit(offers)
  return { offers }
}
const offer = (offers: Array<any>, id: string) => offers.find((o) => o.id === id)
const repricePremium = (amount: number) => (offers: Array<any>) => {
  offer(offers, "ledger-premium").rates[0].amount = amount
}
/** The demo without Basic: the paths that named it no longer do. */
const withoutBasic = (offers: Array<any>) => {
  offers.splice(offers.findIndex((o) => o.id === "ledger-basic"), 1)
  for (const o of offers) o.downgrades = (o.downgrades ?? []).filter((id: string) => id !== "ledger-basic")
  delete offer(offers, "ledger-premium").changePolicy
}

describe("catalog versions in the checkout", () => {
  it.effect("prices with the version in force: a version effective tomorrow changes prices at its instant, by itself", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const admin = yield* CatalogAdmin
      const checkout = yield* SubscriptionCheckout
      const published = yield* admin.publish(demoDocument(repricePremium(3499)), Instant.make(TOMORROW))
      expect(published).toMatchObject({ version: 2, effectiveFrom: TOMORROW })
      expect(published.diff.changed).toEqual([expect.objectContaining({
        offerId: "ledger-premium",
        prices: [{ rateId: "ledger-premium-usd-monthly", before: { amount: 2999, currency: "USD" }, after: { amount: 3499, currency: "USD" } }]
      })])
      const today = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      expect(today.nextActions.upgrades.find((o) => o.offerId === "ledger-premium")?.price.amount).toBe(2999)
      const quotedToday = yield* checkout.update(today.id, [add("offer", "ledger-premium")])

      yield* TestClock.setTime(at("2025-03-17T00:00:01.000Z"))
      const later = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      expect(later.nextActions.upgrades.find((o) => o.offerId === "ledger-premium")?.price.amount).toBe(3499)
      // The basket priced under version 1 no longer matches what version 2 charges.
      const failure = yield* Effect.flip(checkout.commit(quotedToday.id))
      expect(failure).toMatchObject({ _tag: "QuoteChanged", reason: "catalog_changed" })
      expect((yield* admin.current).pipe(Option.map((v) => v.version))).toEqual(Option.some(2))
    }).pipe(asAlice, Effect.provide(layer())))

  it.effect("grandfathers: a subscriber keeps the unit price on their subscription, and the credit is of what they pay", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const admin = yield* CatalogAdmin
      const checkout = yield* SubscriptionCheckout
      yield* admin.publish(demoDocument((offers) => {
        offer(offers, "ledger-basic").rates[0].amount = 1299
      }))
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      expect(basket.forSubscriptionOffer.unitPrice).toEqual({ amount: 999, currency: "USD" })
      expect(basket.quote.currentRecurring.amount).toBe(999 + 299 + 399)
      const upgraded = yield* checkout.update(basket.id, [add("offer", "ledger-standard")])
      const removal = upgraded.quote.lines.find((l) => l.offerId === "ledger-basic")!
      // 16 of 31 days left of the 999 paid, not of the new 1299.
      expect(removal.amount).toEqual({ amount: -Math.round((999 * 16) / 31), currency: "USD" })
      const stored = yield* Effect.flatMap(Subscriptions, (s) => s.findById("sub-acme-2"))
      expect(Option.map(stored, (s) => s.offer.unitPrice.amount)).toEqual(Option.some(999))
    }).pipe(asAlice, Effect.provide(layer())))

  it.effect("an offer removed from the catalog stays on its subscriptions, is not sellable, and they can change away", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const admin = yield* CatalogAdmin
      const checkout = yield* SubscriptionCheckout
      const published = yield* admin.publish(demoDocument(withoutBasic))
      expect(published.diff.removed).toEqual(["ledger-basic"])
      expect(published.held).toContainEqual({ offerId: "ledger-basic", change: "removed", subscriptions: 3 })
      const basket = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      expect(basket.forSubscriptionOffer.offerId).toBe("ledger-basic")
      expect(basket.nextActions.upgrades.map((o) => o.offerId)).toEqual(["ledger-standard", "ledger-premium"])
      const upgraded = yield* checkout.update(basket.id, [add("offer", "ledger-standard")])
      const committed = yield* checkout.commit(upgraded.id)
      expect(committed.subscription.offer.offerId).toBe("ledger-standard")
      const again = yield* checkout.initiate({ forSubscription: { id: "sub-alice" } })
      expect(again.nextActions.downgrades.map((o) => o.offerId)).toEqual([])
    }).pipe(asAlice, Effect.provide(layer())))
})

describe("CatalogAdmin", () => {
  it.effect("validate answers the diff and the impact on live subscriptions, and stores nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const admin = yield* CatalogAdmin
      const result = yield* admin.validate(demoDocument(withoutBasic))
      expect(result.valid).toBe(true)
      expect(result.diff.removed).toEqual(["ledger-basic"])
      expect(result.impact.offerNotSellable).toEqual({ count: 3, sample: ["sub-acme-2", "sub-acme-old", "sub-alice"] })
      expect(result.impact.loseDowngrade.sample).toEqual(expect.arrayContaining(["sub-erin", "sub-acme-1"]))
      expect(result.impact.gainUpgrade.count).toBe(0)
      expect((yield* Effect.flatMap(CatalogVersions, (v) => v.list)).length).toBe(1)
    }).pipe(Effect.provide(layer())))

  it.effect("validate previews a price migration: each subscription's price before and after, from its first period start on or after the date", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const admin = yield* CatalogAdmin
      const document = { ...demoDocument(repricePremium(3499)), priceMigrations: [{ offerId: "ledger-premium", from: "2025-04-10" }] }
      const result = yield* admin.validate(document)
      // Dave pays Premium in USD monthly, anchored on the 31st: his first period start from 10 April is 30 April.
      expect(result.impact.priceMigrations).toEqual({
        count: 1,
        preview: [{
          subscriptionId: "sub-dave",
          offerId: "ledger-premium",
          rateId: "ledger-premium-usd-monthly",
          before: { amount: 2999, currency: "USD" },
          after: { amount: 3499, currency: "USD" },
          effectiveDate: CalendarDate.make("2025-04-30")
        }]
      })
      expect(result.impact.held).toEqual([{ offerId: "ledger-premium", change: "repriced", subscriptions: 2 }])
    }).pipe(Effect.provide(layer())))

  it.effect("refuses an effectiveFrom in the past and an invalid document, with every problem, storing nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const admin = yield* CatalogAdmin
      const past = yield* Effect.flip(admin.publish(demoDocument(), Instant.make("2025-03-16T09:59:59.000Z")))
      expect(past).toMatchObject({ _tag: "InvalidEffectiveFrom", notBefore: NOW })
      const invalid = yield* Effect.flip(admin.publish(demoDocument((offers) => {
        offers[0].rates[0].currency = "usd"
        offers[1].upgrades = ["ledger-nope"]
      })))
      expect(invalid).toMatchObject({ _tag: "InvalidCatalog", problems: [{ path: "offers[0].rates[0].currency" }] })
      const references = yield* Effect.flip(admin.validate(demoDocument((offers) => {
        offers[1].upgrades = ["ledger-nope"]
        offers[2].addOns = ["ledger-basic"]
      })))
      expect(references).toMatchObject({ _tag: "InvalidCatalog", problems: [{ path: "offers[1].upgrades[0]" }, { path: "offers[2].addOns[0]" }] })
      expect((yield* admin.list).length).toBe(1)
    }).pipe(Effect.provide(layer())))

  it.effect("publishIfChanged publishes a changed document once and leaves the same document alone", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const admin = yield* CatalogAdmin
      expect(yield* admin.publishIfChanged(demoDocument())).toEqual(Option.none())
      const changed = yield* admin.publishIfChanged(demoDocument(repricePremium(3100)))
      expect(Option.map(changed, (p) => p.version)).toEqual(Option.some(2))
      expect(yield* admin.publishIfChanged(demoDocument(repricePremium(3100)))).toEqual(Option.none())
      expect(Option.map(yield* admin.get(2).pipe(Effect.option), (v) => v.effectiveFrom)).toEqual(Option.some(NOW))
      expect(yield* Effect.flip(admin.get(9))).toMatchObject({ _tag: "CatalogVersionNotFound", version: 9 })
    }).pipe(Effect.provide(layer())))
})

describe("PriceMigrations", () => {
  it.effect("moves each holder to the new price at its first period start on or after the date, once, with an event", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const admin = yield* CatalogAdmin
      const migrations = yield* PriceMigrations
      const subscriptions = yield* Subscriptions
      const price = (id: string) => Effect.map(subscriptions.findById(id), (s) => Option.getOrThrow(s).offer.unitPrice.amount)
      yield* admin.publish({ ...demoDocument(repricePremium(3499)), priceMigrations: [{ offerId: "ledger-premium", from: "2025-04-10" }] })

      yield* TestClock.setTime(at("2025-04-29T12:00:00.000Z"))
      expect((yield* migrations.applyDue()).migrated).toBe(0)
      expect(yield* price("sub-dave")).toBe(2999)

      yield* TestClock.setTime(at("2025-04-30T00:00:01.000Z"))
      expect(yield* migrations.applyDue()).toMatchObject({ version: 2, migrated: 1 })
      expect(yield* price("sub-dave")).toBe(3499)
      // Bob pays Premium in GBP yearly, a price this version did not change.
      expect(yield* price("sub-bob")).toBe(24900)
      const events = yield* Effect.flatMap(Events, (e) => e.list({ limit: 100, subscriptionId: "sub-dave" }))
      const migrated = events.filter((e) => e.type === "subscription.price_migrated")
      expect(migrated).toEqual([expect.objectContaining({ actor: { kind: "system", id: "price-migration" } })])
      expect(migrated[0]!.before?.offer.unitPrice.amount).toBe(2999)
      expect(migrated[0]!.after?.offer.unitPrice.amount).toBe(3499)
      expect(migrated[0]!.amounts!.nextRecurring.amount - migrated[0]!.amounts!.currentRecurring.amount).toBe(500)

      expect((yield* migrations.applyDue()).migrated).toBe(0)
      yield* TestClock.setTime(at("2025-05-30T00:00:01.000Z"))
      expect((yield* migrations.applyDue()).migrated).toBe(0)
      const after = yield* Effect.flatMap(Events, (e) => e.list({ limit: 100, subscriptionId: "sub-dave" }))
      expect(after.filter((e) => e.type === "subscription.price_migrated").length).toBe(1)
    }).pipe(Effect.provide(layer())))
})

import type { PendingChange } from "@subshift/core/domain/Amendment"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import { Forbidden, InvalidInput, SubscriptionNotFound } from "@subshift/core/domain/Errors"
import { PartnerSubscriptions } from "@subshift/core/usecases/PartnerSubscriptions"
import * as PartnerSubscriptionsModule from "@subshift/core/usecases/PartnerSubscriptions"
import { CurrentPrincipal, Customer, Partner } from "@subshift/core/domain/Principal"
import type { Subscription } from "@subshift/core/domain/Subscription"
import { MemoryStore } from "@subshift/store-memory"
import { Demo, Fixtures } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { at, TODAY } from "./support.js"

const NOW = `${TODAY}T10:00:00.000Z`
const telco = Demo.partnerOrg

/** Seven more subscriptions sold by the demo partner, two owners, and one sold by another partner. */
const extra: ReadonlyArray<Subscription> = [
  ...Array.from({ length: 7 }, (_, i) =>
    Fixtures.subscription({ id: `sub-p0${i + 1}`, name: `PARTNER0000${i + 1}`, owner: i % 2 === 0 ? "cus-p1" : "cus-p2", partnerOrg: telco })),
  Fixtures.subscription({ id: "sub-other", name: "OTHERPARTNER", owner: "cus-p1", partnerOrg: "partner-other" })
]

/** Dave's downgrade to Standard on 2025-03-31, dropping the print edition Standard does not accept. */
const davePending: PendingChange = {
  amendmentId: "amd-dave",
  effectiveDate: CalendarDate.make("2025-03-31"),
  actions: [
    Fixtures.action({ kind: "remove", offerId: "ledger-premium", name: "Premium", rateId: "ledger-premium-usd-monthly", unitPrice: { amount: 2999, currency: "USD" }, timing: "NEXT_PERIOD_START", effectiveDate: CalendarDate.make("2025-03-31"), prorate: false }),
    Fixtures.action({ kind: "add", offerId: "ledger-standard", name: "Standard", rateId: "ledger-standard-usd-monthly", unitPrice: { amount: 1999, currency: "USD" }, timing: "NEXT_PERIOD_START", effectiveDate: CalendarDate.make("2025-03-31"), prorate: false }),
    Fixtures.action({ kind: "remove", type: "add_on", offerId: "addon-print-weekend", name: "Weekend print edition", rateId: "addon-print-weekend-usd-monthly", unitPrice: { amount: 1299, currency: "USD" }, timing: "NEXT_PERIOD_START", effectiveDate: CalendarDate.make("2025-03-31"), prorate: false })
  ]
}

const seed = () => {
  const base = Demo.seed(TODAY)
  return {
    ...base,
    subscriptions: [
      ...base.subscriptions.map((s) => (s.id === "sub-dave" ? { ...s, pendingChange: davePending } : s)),
      ...extra
    ]
  }
}

const layer = () => PartnerSubscriptions.Default.pipe(Layer.provideMerge(MemoryStore.layer(seed())))
const asPartner = (partnerOrg: string) => Effect.provideService(CurrentPrincipal, new Partner({ partnerOrg, scopes: ["partner", "mma"] }))

const ALL_TELCO = ["sub-carol", "sub-dave", "sub-p01", "sub-p02", "sub-p03", "sub-p04", "sub-p05", "sub-p06", "sub-p07"]

/** Every page of a listing, following the cursor. */
const allPages = (request: PartnerSubscriptionsModule.ListRequest) =>
  Effect.gen(function*() {
    const service = yield* PartnerSubscriptions
    const pages: Array<PartnerSubscriptionsModule.Page> = []
    let queryMore: string | undefined
    do {
      const page = yield* service.list({ ...request, queryMore })
      pages.push(page)
      queryMore = page.queryMore
    } while (queryMore !== undefined && pages.length < 20)
    return pages
  })

describe("PartnerSubscriptions.list", () => {
  it.effect("pages through every subscription of the partner with an opaque cursor, in id order, without repeats", () =>
    Effect.gen(function*() {
      const pages = yield* allPages({ limit: 4 })
      expect(pages.map((p) => p.items.length)).toEqual([4, 4, 1])
      expect(pages.flatMap((p) => p.items.map((s) => s.id))).toEqual(ALL_TELCO)
      expect(pages[0]!.queryMore).toMatch(/^[A-Za-z0-9_-]+$/)
      expect(pages[2]!.queryMore).toBeUndefined()
    }).pipe(asPartner(telco), Effect.provide(layer())))

  it.effect("a page that ends exactly on the last item has no cursor", () =>
    Effect.gen(function*() {
      const pages = yield* allPages({ limit: 3 })
      expect(pages.map((p) => p.items.length)).toEqual([3, 3, 3])
      expect(pages.flatMap((p) => p.items.map((s) => s.id))).toEqual(ALL_TELCO)
    }).pipe(asPartner(telco), Effect.provide(layer())))

  it.effect("the default limit returns everything when it fits on one page", () =>
    Effect.gen(function*() {
      const page = yield* (yield* PartnerSubscriptions).list({})
      expect(page.items.map((s) => s.id)).toEqual(ALL_TELCO)
      expect(page.queryMore).toBeUndefined()
    }).pipe(asPartner(telco), Effect.provide(layer())))

  it.effect("ownerId filters to one customer's subscriptions, page by page", () =>
    Effect.gen(function*() {
      const pages = yield* allPages({ ownerId: "cus-p1", limit: 2 })
      expect(pages.flatMap((p) => p.items.map((s) => s.id))).toEqual(["sub-p01", "sub-p03", "sub-p05", "sub-p07"])
      expect(pages.flatMap((p) => p.items).every((s) => s.owner === "cus-p1" && s.partnerOrg === telco)).toBe(true)
      const carol = yield* (yield* PartnerSubscriptions).list({ ownerId: "cus-carol" })
      expect(carol.items.map((s) => s.id)).toEqual(["sub-carol"])
    }).pipe(asPartner(telco), Effect.provide(layer())))

  it.effect("another partner sees only its own subscriptions", () =>
    Effect.gen(function*() {
      const page = yield* (yield* PartnerSubscriptions).list({})
      expect(page.items.map((s) => s.id)).toEqual(["sub-other"])
    }).pipe(asPartner("partner-other"), Effect.provide(layer())))

  it.effect("a tampered cursor is InvalidInput on queryMore", () =>
    Effect.gen(function*() {
      const service = yield* PartnerSubscriptions
      const first = yield* service.list({ limit: 2 })
      const cursor = first.queryMore!
      const invalid = new InvalidInput({ field: "queryMore", message: "queryMore is not a cursor this server returned" })
      const tampered = [
        `x${cursor.slice(1)}`,
        cursor.split("").reverse().join(""),
        "not a cursor!",
        Encoding.encodeBase64Url(JSON.stringify(["v2", "sub-carol", null])),
        Encoding.encodeBase64Url(JSON.stringify({ after: "sub-carol" })),
        "A".repeat(600)
      ]
      for (const queryMore of tampered) {
        expect(yield* Effect.flip(service.list({ limit: 2, queryMore }))).toEqual(invalid)
      }
      // A cursor made for one owner filter is refused under another.
      expect(yield* Effect.flip(service.list({ limit: 2, queryMore: cursor, ownerId: "cus-p1" }))).toEqual(invalid)
    }).pipe(asPartner(telco), Effect.provide(layer())))

  it.effect("a limit out of range is InvalidInput on limit", () =>
    Effect.gen(function*() {
      const service = yield* PartnerSubscriptions
      for (const limit of [0, -1, 101, 2.5, Number.NaN]) {
        expect(yield* Effect.flip(service.list({ limit }))).toEqual(
          new InvalidInput({ field: "limit", message: "limit is a whole number from 1 to 100" })
        )
      }
      expect((yield* service.list({ limit: 100 })).items).toHaveLength(9)
      expect((yield* service.list({ limit: 1 })).items).toHaveLength(1)
    }).pipe(asPartner(telco), Effect.provide(layer())))

  it.effect("a customer principal is Forbidden", () =>
    Effect.gen(function*() {
      const service = yield* PartnerSubscriptions
      const forbidden = new Forbidden({ message: "only a partner organisation may list partner subscriptions" })
      expect(yield* Effect.flip(service.list({}))).toEqual(forbidden)
      expect(yield* Effect.flip(service.detail("sub-carol"))).toEqual(forbidden)
    }).pipe(Effect.provideService(CurrentPrincipal, new Customer({ customerId: "cus-carol" })), Effect.provide(layer())))
})

describe("PartnerSubscriptions cursors", () => {
  it("a cursor round-trips for the same owner filter only", () => {
    const cursor = PartnerSubscriptionsModule.encodeCursor("sub-p03", "cus-p1")
    expect(PartnerSubscriptionsModule.decodeCursor(cursor, "cus-p1")).toEqual(Either.right("sub-p03"))
    expect(Either.isLeft(PartnerSubscriptionsModule.decodeCursor(cursor, undefined))).toBe(true)
  })
})

describe("PartnerSubscriptions.detail", () => {
  it.effect("gives the subscription, three scheduled periods with the pending change from its date, offers and add-ons", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const detail = yield* (yield* PartnerSubscriptions).detail("sub-dave")
      expect(detail.subscription.id).toBe("sub-dave")
      expect(detail.subscription.pendingChange).toEqual(davePending)
      expect(detail.schedule.map((p) => [p.periodStart, p.periodEnd, p.amount.amount])).toEqual([
        ["2025-02-28", "2025-03-31", 2999 + 1299],
        ["2025-03-31", "2025-04-30", 1999],
        ["2025-04-30", "2025-05-31", 1999]
      ])
      expect(detail.schedule[0]!.lines.map((l) => l.offerId)).toEqual(["ledger-premium", "addon-print-weekend"])
      expect(detail.schedule[1]!.lines.map((l) => l.offerId)).toEqual(["ledger-standard"])
      expect(detail.offers.map((o) => o.id)).toEqual(["ledger-premium", "ledger-standard"])
      expect(detail.addOns.map((o) => o.id)).toEqual(["addon-print-weekend"])
    }).pipe(asPartner(telco), Effect.provide(layer())))

  it.effect("a subscription without a pending change bills the same every period (anchor 15)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const detail = yield* (yield* PartnerSubscriptions).detail("sub-carol")
      expect(detail.schedule.map((p) => [p.periodStart, p.periodEnd, p.amount.amount])).toEqual([
        ["2025-03-15", "2025-04-15", 2398],
        ["2025-04-15", "2025-05-15", 2398],
        ["2025-05-15", "2025-06-15", 2398]
      ])
      expect(detail.offers.map((o) => o.id)).toEqual(["ledger-standard"])
      expect(detail.addOns.map((o) => o.id)).toEqual(["addon-podcasts"])
    }).pipe(asPartner(telco), Effect.provide(layer())))

  it.effect("the schedule starts from the period in force today, however old the stored one", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at("2026-07-20T12:00:00.000Z"))
      const detail = yield* (yield* PartnerSubscriptions).detail("sub-carol")
      expect(detail.schedule.map((p) => p.periodStart)).toEqual(["2026-07-15", "2026-08-15", "2026-09-15"])
    }).pipe(asPartner(telco), Effect.provide(layer())))

  it.effect("another partner's subscription, or a direct one, is SubscriptionNotFound", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const service = yield* PartnerSubscriptions
      expect(yield* Effect.flip(service.detail("sub-other"))).toEqual(new SubscriptionNotFound({ subscription: "sub-other" }))
      expect(yield* Effect.flip(service.detail("sub-alice"))).toEqual(new SubscriptionNotFound({ subscription: "sub-alice" }))
      expect(yield* Effect.flip(service.detail("sub-nobody"))).toEqual(new SubscriptionNotFound({ subscription: "sub-nobody" }))
    }).pipe(asPartner(telco), Effect.provide(layer())))

  it.effect("an id over 64 characters is InvalidInput on id; 64 is fine", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const service = yield* PartnerSubscriptions
      expect(yield* Effect.flip(service.detail(`sub-${"x".repeat(61)}`))).toEqual(
        new InvalidInput({ field: "id", message: "a subscription id is 1 to 64 characters" })
      )
      expect(yield* Effect.flip(service.detail(""))).toMatchObject({ _tag: "InvalidInput", field: "id" })
      expect(yield* Effect.flip(service.detail(`sub-${"x".repeat(60)}`))).toEqual(
        new SubscriptionNotFound({ subscription: `sub-${"x".repeat(60)}` })
      )
    }).pipe(asPartner(telco), Effect.provide(layer())))

  it.effect("offers and add-ons show only the rates the owner may be billed at: another account's rate is left out", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(NOW))
      const reserve = (offerId: string, accountId: string) => (o: (typeof base.offers)[number]) =>
        o.id === offerId
          ? { ...o, rates: [...o.rates, { ...o.rates[0]!, id: `${offerId}-${accountId}`, amount: 1, accountId }] }
          : o
      const base = seed()
      const offers = base.offers.map(reserve("ledger-standard", "cus-someone-else")).map(reserve("addon-podcasts", "cus-carol"))
      const detail = yield* PartnerSubscriptions.pipe(
        Effect.flatMap((service) => service.detail("sub-carol")),
        Effect.provide(PartnerSubscriptions.Default.pipe(Layer.provideMerge(MemoryStore.layer({ ...base, offers }))))
      )
      const rateIds = (list: ReadonlyArray<{ readonly rates: ReadonlyArray<{ readonly id: string }> }>) =>
        list.flatMap((o) => o.rates.map((r) => r.id))
      expect(rateIds(detail.offers)).not.toContain("ledger-standard-cus-someone-else")
      expect(rateIds(detail.offers).length).toBeGreaterThan(0)
      expect(rateIds(detail.addOns)).toContain("addon-podcasts-cus-carol")
    }).pipe(asPartner(telco)))
})

import type { Action } from "@subshift/core/domain/Amendment"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Instant from "@subshift/core/domain/Instant"
import * as Money from "@subshift/core/domain/Money"
import * as Pricing from "@subshift/core/ports/Pricing"
import type { Quote } from "@subshift/core/domain/Quote"
import * as Subscription from "@subshift/core/domain/Subscription"
import { Fixtures } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

const d = CalendarDate.make

const usd = (amount: number) => Money.make(amount, "USD")
const yearly = { count: 1, unit: "year" } as const

/** A subscription holding `basic` at `price` a period, in `period`. */
const subscriptionAt = (
  price: number,
  currentPeriod: { start: CalendarDate.CalendarDate; end: CalendarDate.CalendarDate },
  overrides: Partial<Subscription.Subscription> = {}
): Subscription.Subscription =>
  Fixtures.subscription({
    id: "sub-pricing",
    offer: { offerId: "basic", rateId: "basic-usd", quantity: 1, unitPrice: usd(price) },
    currentPeriod,
    anchorDay: Number(currentPeriod.start.slice(8, 10)),
    ...overrides
  })

/** An upgrade from the held `basic` to `plus` at `price`, today, prorated (as the basket rules make it). */
const upgrade = (subscription: Subscription.Subscription, price: number, today: CalendarDate.CalendarDate): ReadonlyArray<Action> => [
  Fixtures.action({
    kind: "remove",
    offerId: "basic",
    name: "Basic",
    rateId: subscription.offer.rateId,
    unitPrice: subscription.offer.unitPrice,
    quantity: subscription.offer.quantity,
    effectiveDate: today
  }),
  Fixtures.action({ kind: "add", offerId: "plus", name: "Plus", rateId: "plus-usd", unitPrice: usd(price), effectiveDate: today })
]

const quote = (subscription: Subscription.Subscription, actions: ReadonlyArray<Action>, today: CalendarDate.CalendarDate, convention?: "actual-days" | "30/360") =>
  Pricing.price({ subscription, actions, today, now: Instant.make(`${today}T09:30:00.000Z`) }, convention)

/** The invariant of every quote: dueNow = charges + credits, credits ≤ 0 ≤ charges. */
const expectTotalsAdd = (q: Quote) => {
  expect(Money.add(q.charges, q.credits)).toEqual(q.dueNow)
  expect(q.credits.amount).toBeLessThanOrEqual(0)
  expect(q.charges.amount).toBeGreaterThanOrEqual(0)
}

describe("DESIGN §3.4 worked checks", () => {
  it("$10 → $20 with 15 of 30 days left: credit -5.00, charge +10.00", () => {
    const sub = subscriptionAt(1000, { start: d("2025-04-01"), end: d("2025-05-01") })
    const q = quote(sub, upgrade(sub, 2000, d("2025-04-16")), d("2025-04-16"))
    expect(q.lines.map((l) => l.amount)).toEqual([usd(-500), usd(1000)])
    expect(q.lines.map((l) => [l.proration?.days, l.proration?.periodDays])).toEqual([[15, 30], [15, 30]])
    expect(q.dueNow).toEqual(usd(500))
    expect([q.credits, q.charges]).toEqual([usd(-500), usd(1000)])
    expectTotalsAdd(q)
  })

  it("$100 → $300 with 5 of 31 days left: credit -16.13, charge +48.39, due 32.26", () => {
    const sub = subscriptionAt(10000, { start: d("2025-03-01"), end: d("2025-04-01") })
    const q = quote(sub, upgrade(sub, 30000, d("2025-03-27")), d("2025-03-27"))
    expect(q.lines.map((l) => l.amount)).toEqual([usd(-1613), usd(4839)])
    expect(q.lines.map((l) => [l.proration?.days, l.proration?.periodDays])).toEqual([[5, 31], [5, 31]])
    expect(q.dueNow).toEqual(usd(3226))
    expect([q.credits, q.charges]).toEqual([usd(-1613), usd(4839)])
    expectTotalsAdd(q)
  })

  it("annual $100 → $160 on 2025-02-16 for a 2025-01-01 year: credit -87.40, charge +139.84", () => {
    const sub = subscriptionAt(10000, { start: d("2025-01-01"), end: d("2026-01-01") }, { interval: yearly })
    const q = quote(sub, upgrade(sub, 16000, d("2025-02-16")), d("2025-02-16"))
    expect(q.lines.map((l) => l.amount)).toEqual([usd(-8740), usd(13984)])
    // 2025-02-16 .. 2026-01-01 is 319 of 365 days
    expect(q.lines.map((l) => [l.proration?.days, l.proration?.periodDays])).toEqual([[319, 365], [319, 365]])
    expect(q.dueNow).toEqual(usd(5244))
    expect([q.credits, q.charges]).toEqual([usd(-8740), usd(13984)])
    expectTotalsAdd(q)
  })
})

describe("Pricing periods", () => {
  it("an end-of-month period (anchor 31) prices a February change over the clamped 28 days", () => {
    // Stored period is December's; on 2025-02-21 the period in force is [2025-01-31, 2025-02-28).
    const sub = subscriptionAt(3000, { start: d("2024-12-31"), end: d("2025-01-31") })
    const q = quote(sub, upgrade(sub, 6000, d("2025-02-21")), d("2025-02-21"))
    expect(q.lines[0]!.proration).toEqual({
      convention: "actual-days",
      days: 7,
      periodDays: 28,
      from: "2025-02-21",
      periodStart: "2025-01-31",
      periodEnd: "2025-02-28"
    })
    expect(q.lines.map((l) => l.amount)).toEqual([usd(-750), usd(1500)])
    expect(q.nextBillingDate).toBe("2025-02-28")
  })

  it("an end-of-month period after February runs [Feb 28, Mar 31): 31 days", () => {
    const sub = subscriptionAt(3100, { start: d("2025-01-31"), end: d("2025-02-28") }, { anchorDay: 31 })
    const q = quote(sub, upgrade(sub, 6200, d("2025-03-21")), d("2025-03-21"))
    expect(q.lines[0]!.proration).toMatchObject({ days: 10, periodDays: 31, periodStart: "2025-02-28", periodEnd: "2025-03-31" })
    expect(q.lines.map((l) => l.amount)).toEqual([usd(-1000), usd(2000)])
  })

  it("February 2024 is a 29-day period: $29 → $58 with 10 days left = -10.00 / +20.00", () => {
    const sub = subscriptionAt(2900, { start: d("2024-02-01"), end: d("2024-03-01") })
    const q = quote(sub, upgrade(sub, 5800, d("2024-02-20")), d("2024-02-20"))
    expect(q.lines[0]!.proration).toMatchObject({ days: 10, periodDays: 29 })
    expect(q.lines.map((l) => l.amount)).toEqual([usd(-1000), usd(2000)])
  })

  it("the year 2024 is a 366-day period: $366 → $732 on 2024-03-01 = -306.00 / +612.00", () => {
    const sub = subscriptionAt(36600, { start: d("2024-01-01"), end: d("2025-01-01") }, { interval: yearly })
    const q = quote(sub, upgrade(sub, 73200, d("2024-03-01")), d("2024-03-01"))
    expect(q.lines[0]!.proration).toMatchObject({ days: 306, periodDays: 366 })
    expect(q.lines.map((l) => l.amount)).toEqual([usd(-30600), usd(61200)])
  })
})

describe("Pricing conventions", () => {
  it("30/360 counts March as 30 days: $100 → $300 on 2025-03-27 is 4 of 30 days = -13.33 / +40.00", () => {
    // days360(2025-03-27, 2025-04-01) = 30 × 1 + (1 − 27) = 4; days360(2025-03-01, 2025-04-01) = 30
    const sub = subscriptionAt(10000, { start: d("2025-03-01"), end: d("2025-04-01") })
    const q = quote(sub, upgrade(sub, 30000, d("2025-03-27")), d("2025-03-27"), "30/360")
    expect(q.convention).toBe("30/360")
    expect(q.lines[0]!.proration).toMatchObject({ convention: "30/360", days: 4, periodDays: 30 })
    expect(q.lines.map((l) => l.amount)).toEqual([usd(-1333), usd(4000)])
    expect(q.dueNow).toEqual(usd(2667))
  })

  it("30/360 and actual days differ on a mid-March change: 15/30 against 16/31", () => {
    const sub = subscriptionAt(1000, { start: d("2025-03-01"), end: d("2025-04-01") })
    const actions = upgrade(sub, 2000, d("2025-03-16"))
    expect(quote(sub, actions, d("2025-03-16"), "30/360").lines.map((l) => l.amount)).toEqual([usd(-500), usd(1000)])
    // 1000 × 16/31 = 516.13 → 516; 2000 × 16/31 = 1032.26 → 1032
    expect(quote(sub, actions, d("2025-03-16")).lines.map((l) => l.amount)).toEqual([usd(-516), usd(1032)])
  })

  it("30/360 treats the 31st as the 30th: a year from 2025-01-31 is 360 days", () => {
    const sub = subscriptionAt(36000, { start: d("2025-01-31"), end: d("2026-01-31") }, { interval: yearly })
    const q = quote(sub, upgrade(sub, 72000, d("2025-07-31")), d("2025-07-31"), "30/360")
    expect(q.lines[0]!.proration).toMatchObject({ days: 180, periodDays: 360 })
    expect(q.lines.map((l) => l.amount)).toEqual([usd(-18000), usd(36000)])
  })

  it("the layer prices with the convention it was given", () =>
    Effect.gen(function*() {
      const pricing = yield* Pricing.Pricing
      const sub = subscriptionAt(10000, { start: d("2025-03-01"), end: d("2025-04-01") })
      const q = yield* pricing.quote({ subscription: sub, actions: upgrade(sub, 30000, d("2025-03-27")), today: d("2025-03-27"), now: Instant.make("2025-03-27T00:00:00.000Z") })
      expect(q.dueNow).toEqual(usd(2667))
    }).pipe(Effect.provide(Pricing.layer({ convention: "30/360" })), Effect.runPromise))
})

describe("Pricing lines and totals", () => {
  const sub = subscriptionAt(1000, { start: d("2025-04-01"), end: d("2025-05-01") }, {
    addOns: [{ offerId: "crossword", rateId: "crossword-usd", quantity: 2, unitPrice: usd(300) }]
  })

  it("each prorated line explains itself: days, period days, convention, period bounds and a description", () => {
    const q = quote(sub, upgrade(sub, 2000, d("2025-04-16")), d("2025-04-16"))
    for (const line of q.lines) {
      expect(line.proration).toEqual({
        convention: "actual-days",
        days: 15,
        periodDays: 30,
        from: "2025-04-16",
        periodStart: "2025-04-01",
        periodEnd: "2025-05-01"
      })
      expect(line.description).toContain("15 of 30 days")
    }
    expect(q.lines[0]!.description).toBe("Credit for unused Basic (15 of 30 days)")
    expect(q.lines[1]!.description).toBe("Plus from 2025-04-16 (15 of 30 days)")
  })

  it("dueNow is the sum of the line amounts, and nextRecurring the current amount plus every delta", () => {
    const actions = [
      ...upgrade(sub, 2000, d("2025-04-16")),
      Fixtures.action({ kind: "add", type: "add_on", offerId: "podcasts", name: "Podcasts", rateId: "podcasts-usd", unitPrice: usd(399), quantity: 1, effectiveDate: d("2025-04-16") }),
      Fixtures.action({ kind: "remove", type: "add_on", offerId: "crossword", name: "Crossword", rateId: "crossword-usd", unitPrice: usd(300), quantity: 2, timing: "CURRENT_PERIOD_END", effectiveDate: d("2025-05-01"), prorate: false })
    ]
    const q = quote(sub, actions, d("2025-04-16"))
    expect(q.lines.map((l) => l.amount.amount)).toEqual([-500, 1000, 200, 0]) // 399 × 15/30 = 199.5 → 200
    expect(q.dueNow).toEqual(Money.sum("USD", q.lines.map((l) => l.amount)))
    expect(q.dueNow).toEqual(usd(700))
    expect(q.currentRecurring).toEqual(usd(1600))
    expect(q.lines.map((l) => l.recurringDelta.amount)).toEqual([-1000, 2000, 399, -600])
    expect(q.nextRecurring).toEqual(usd(1600 - 1000 + 2000 + 399 - 600))
    expect(q.effectiveDates).toEqual(["2025-04-16", "2025-05-01"])
    expect(q.nextBillingDate).toBe("2025-05-01")
  })

  it("a non-prorated downgrade has amount 0 and carries the recurring change", () => {
    const today = d("2025-04-16")
    const actions = [
      Fixtures.action({ kind: "remove", offerId: "basic", name: "Basic", rateId: "basic-usd", unitPrice: usd(1000), timing: "NEXT_PERIOD_START", effectiveDate: d("2025-05-01"), prorate: false }),
      Fixtures.action({ kind: "add", offerId: "lite", name: "Lite", rateId: "lite-usd", unitPrice: usd(600), timing: "NEXT_PERIOD_START", effectiveDate: d("2025-05-01"), prorate: false })
    ]
    const q = quote(sub, actions, today)
    expect(q.lines.map((l) => l.amount)).toEqual([usd(0), usd(0)])
    expect(q.lines.map((l) => l.recurringDelta)).toEqual([usd(-1000), usd(600)])
    expect(q.lines.every((l) => l.proration === undefined)).toBe(true)
    expect(q.lines[1]!.description).toBe("Lite from 2025-05-01")
    expect(q.dueNow).toEqual(usd(0))
    expect(q.nextRecurring).toEqual(usd(1600 - 400))
  })

  it("a quantity change prices the difference: offer 1 → 3 at $10 with 15 of 30 days = +10.00, +20.00 a period", () => {
    const action = Fixtures.action({ kind: "change_quantity", offerId: "basic", name: "Basic", rateId: "basic-usd", unitPrice: usd(1000), quantity: 3, effectiveDate: d("2025-04-16") })
    const q = quote(sub, [action], d("2025-04-16"))
    expect(q.lines[0]).toMatchObject({ amount: usd(1000), recurringDelta: usd(2000), description: "Basic quantity 1 → 3 from 2025-04-16 (15 of 30 days)" })
    expect(q.nextRecurring).toEqual(usd(3600))
  })

  it("an add-on quantity decrease today is a credit: 2 → 1 at $3 with 15 of 30 days = -1.50", () => {
    const action = Fixtures.action({ kind: "change_quantity", type: "add_on", offerId: "crossword", name: "Crossword", rateId: "crossword-usd", unitPrice: usd(300), quantity: 1, effectiveDate: d("2025-04-16") })
    const q = quote(sub, [action], d("2025-04-16"))
    expect(q.lines[0]).toMatchObject({ amount: usd(-150), recurringDelta: usd(-300) })
    expect(q.dueNow).toEqual(usd(-150))
    expect([q.credits, q.charges]).toEqual([usd(-150), usd(0)])
  })

  it("a rate change prices the new unit price against the held one: $10 → $12.50 with 15 of 30 days = +1.25", () => {
    const action = Fixtures.action({ kind: "change_rate", offerId: "basic", name: "Basic", rateId: "basic-usd-2", unitPrice: usd(1250), quantity: 1, effectiveDate: d("2025-04-16") })
    const q = quote(sub, [action], d("2025-04-16"))
    expect(q.lines[0]).toMatchObject({ amount: usd(125), recurringDelta: usd(250) })
    expect(q.lines[0]!.description).toBe("Basic new rate basic-usd-2 from 2025-04-16 (15 of 30 days)")
  })

  it("actions on the same line price one after the other: a rate change then a quantity change", () => {
    // $10 × 1 → rate $12 → quantity 2: the period amount goes from $10 to $24 (+$14), not +$2 + ($24 − $10).
    const actions = [
      Fixtures.action({ kind: "change_rate", offerId: "basic", name: "Basic", rateId: "basic-usd-2", unitPrice: usd(1200), quantity: 1, effectiveDate: d("2025-04-16") }),
      Fixtures.action({ kind: "change_quantity", offerId: "basic", name: "Basic", rateId: "basic-usd-2", unitPrice: usd(1200), quantity: 2, effectiveDate: d("2025-04-16") })
    ]
    const q = quote(sub, actions, d("2025-04-16"))
    expect(q.lines.map((l) => l.recurringDelta.amount)).toEqual([200, 1200])
    expect(q.lines.map((l) => l.amount.amount)).toEqual([100, 600])
    expect(q.lines[1]!.description).toBe("Basic quantity 1 → 2 from 2025-04-16 (15 of 30 days)")
    expect(q.nextRecurring).toEqual(Subscription.recurringAmount(Subscription.applyActions(sub, actions)))
  })

  it("nextRecurring is what the subscription bills once every action has applied", () => {
    const lists: ReadonlyArray<ReadonlyArray<Action>> = [
      upgrade(sub, 2000, d("2025-04-16")),
      [
        Fixtures.action({ kind: "change_quantity", type: "add_on", offerId: "crossword", name: "Crossword", rateId: "crossword-usd", unitPrice: usd(300), quantity: 5 }),
        Fixtures.action({ kind: "change_rate", type: "add_on", offerId: "crossword", name: "Crossword", rateId: "crossword-usd-2", unitPrice: usd(250), quantity: 5 })
      ],
      [
        Fixtures.action({ kind: "change_quantity", type: "add_on", offerId: "crossword", name: "Crossword", rateId: "crossword-usd", unitPrice: usd(300), quantity: 4 }),
        Fixtures.action({ kind: "remove", type: "add_on", offerId: "crossword", name: "Crossword", rateId: "crossword-usd", unitPrice: usd(300), quantity: 4 })
      ]
    ]
    for (const actions of lists) {
      const q = quote(sub, actions, d("2025-04-16"))
      expect(q.nextRecurring).toEqual(Subscription.recurringAmount(Subscription.applyActions(sub, actions)))
    }
  })

  it("a net negative change is a credit and is not dropped: $20 → $10 today prorated", () => {
    const pricey = subscriptionAt(2000, { start: d("2025-04-01"), end: d("2025-05-01") })
    const q = quote(pricey, upgrade(pricey, 1000, d("2025-04-16")), d("2025-04-16"))
    expect(q.dueNow).toEqual(usd(-500))
    expect([q.credits, q.charges]).toEqual([usd(-1000), usd(500)])
    expectTotalsAdd(q)
  })

  it("a credit never exceeds what was paid: a change dated before the period credits at most the full price", () => {
    const q = quote(sub, upgrade(sub, 2000, d("2025-03-20")), d("2025-04-01"))
    expect(q.lines[0]!.amount).toEqual(usd(-1000))
    expect(q.lines[0]!.proration).toMatchObject({ days: 30, periodDays: 30, from: "2025-04-01" })
  })

  it("an inactive subscription has no current recurring amount", () => {
    const q = quote({ ...sub, status: "pending" }, [], d("2025-04-16"))
    expect(q.currentRecurring).toEqual(usd(0))
    expect(q.lines).toEqual([])
    expect(q.dueNow).toEqual(usd(0))
  })

  it("prices in the subscription's currency", () => {
    const gbp = subscriptionAt(1000, { start: d("2025-04-01"), end: d("2025-05-01") }, {
      currency: "GBP",
      offer: { offerId: "basic", rateId: "basic-gbp", quantity: 1, unitPrice: Money.make(1000, "GBP") }
    })
    const actions = upgrade(gbp, 0, d("2025-04-16")).map((a) => ({ ...a, unitPrice: Money.make(a.kind === "add" ? 2000 : 1000, "GBP") }))
    const q = quote(gbp, actions, d("2025-04-16"))
    expect(q.currency).toBe("GBP")
    expect(q.dueNow).toEqual(Money.make(500, "GBP"))
  })
})

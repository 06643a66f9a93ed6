import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Eligibility from "@subshift/core/rules/Eligibility"
import * as Instant from "@subshift/core/domain/Instant"
import type { Offer } from "@subshift/core/domain/Offer"
import { Demo, Fixtures } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import { contextFor, demoOffer, demoSubscription, TODAY } from "./support.js"

const ids = (options: ReadonlyArray<{ readonly offerId: string }>) => options.map((o) => o.offerId)
const reasonOf = (actions: Eligibility.NextActions, offerId: string) =>
  actions.excluded.filter((e) => e.offerId === offerId).map((e) => e.reason)

describe("Eligibility on the demo catalog", () => {
  const alice = contextFor(demoSubscription("sub-alice"))
  const bob = contextFor(demoSubscription("sub-bob"))
  const dave = contextFor(demoSubscription("sub-dave"))

  it("offers Basic's configured upgrades, priced in the subscription's currency and interval, effective today", () => {
    const next = Eligibility.nextActions(alice, alice.current, new Set())
    expect(ids(next.upgrades)).toEqual(["ledger-standard", "ledger-premium"])
    expect(next.downgrades).toEqual([])
    expect(next.upgrades[0]).toEqual({
      offerId: "ledger-standard",
      name: "Standard",
      kind: "subscription",
      rateId: "ledger-standard-usd-monthly",
      price: { amount: 1999, currency: "USD" },
      interval: { count: 1, unit: "month" },
      timing: "TODAY",
      effectiveDate: TODAY,
      prorate: true
    })
  })

  it("downgrades default to the next period start, not prorated", () => {
    const next = Eligibility.nextActions(bob, bob.current, new Set())
    expect(ids(next.downgrades)).toEqual(["ledger-standard", "ledger-basic"])
    for (const option of next.downgrades) {
      expect(option).toMatchObject({ timing: "NEXT_PERIOD_START", effectiveDate: "2026-03-01", prorate: false })
    }
    expect(next.downgrades[1]).toMatchObject({ rateId: "ledger-basic-gbp-annual", price: { amount: 7900, currency: "GBP" } })
  })

  it("not_sellable: Family is sellable only from 2030", () => {
    expect(Eligibility.offerChangeRefusal(bob, "ledger-family")).toBe("not_sellable")
    expect(reasonOf(Eligibility.nextActions(bob, bob.current, new Set()), "ledger-family")).toEqual(["not_sellable"])
  })

  it("Family becomes eligible once its sellable window opens", () => {
    const later = { ...bob, now: Instant.make("2030-01-01T00:00:00.000Z") }
    expect(Eligibility.offerChangeRefusal(later, "ledger-family")).toBeUndefined()
  })

  it("partner_not_eligible: Business is left out for a direct customer", () => {
    expect(Eligibility.offerChangeRefusal(bob, "ledger-business")).toBe("partner_not_eligible")
    const next = Eligibility.nextActions(bob, bob.current, new Set())
    expect(ids(next.upgrades)).toEqual([])
    expect(reasonOf(next, "ledger-business")).toEqual(["partner_not_eligible"])
  })

  it("a partner-telco subscription sees Business", () => {
    expect(Eligibility.offerChangeRefusal(dave, "ledger-business")).toBeUndefined()
    const next = Eligibility.nextActions(dave, dave.current, new Set())
    expect(ids(next.upgrades)).toEqual(["ledger-business"])
    expect(reasonOf(next, "ledger-family")).toEqual(["not_sellable"])
  })

  it("another partner does not see Business", () => {
    const other = { ...dave, partner: "partner-other" }
    expect(Eligibility.offerChangeRefusal(other, "ledger-business")).toBe("partner_not_eligible")
  })

  it("already_owned: the current offer, and an owned add-on", () => {
    expect(Eligibility.offerChangeRefusal(alice, "ledger-basic")).toBe("already_owned")
    expect(Eligibility.addOnRefusal(alice, alice.current, "addon-crossword")).toBe("already_owned")
  })

  it("not_compatible: an add-on the resulting offer does not accept, and a subscription offer as an add-on", () => {
    expect(Eligibility.addOnRefusal(alice, alice.current, "addon-archive")).toBe("not_compatible")
    expect(Eligibility.addOnRefusal(alice, alice.current, "ledger-standard")).toBe("not_compatible")
    // On Standard (the offer the basket would end on) the archive is compatible.
    expect(Eligibility.addOnRefusal(alice, demoOffer("ledger-standard"), "addon-archive")).toBeUndefined()
  })

  it("not_a_configured_path: an offer that is not an upgrade or downgrade of the current one, and an add-on as an offer", () => {
    expect(Eligibility.offerChangeRefusal(alice, "ledger-family")).toBe("not_a_configured_path")
    expect(Eligibility.offerChangeRefusal(alice, "ledger-business")).toBe("not_a_configured_path")
    expect(Eligibility.offerChangeRefusal(alice, "addon-archive")).toBe("not_a_configured_path")
  })

  it("unknown_offer: an id the catalog does not have, for offers and add-ons", () => {
    expect(Eligibility.offerChangeRefusal(alice, "ledger-platinum")).toBe("unknown_offer")
    expect(Eligibility.addOnRefusal(alice, alice.current, "addon-horoscope")).toBe("unknown_offer")
  })

  it("a configured path to an offer missing from the catalog is excluded as unknown_offer", () => {
    const ctx = contextFor(demoSubscription("sub-alice"), {
      offers: Demo.offers.filter((o) => o.id !== "ledger-premium")
    })
    const next = Eligibility.nextActions(ctx, ctx.current, new Set())
    expect(ids(next.upgrades)).toEqual(["ledger-standard"])
    expect(reasonOf(next, "ledger-premium")).toEqual(["unknown_offer"])
  })

  it("subscriptionAddOns lists the add-ons owned now, with names and prices", () => {
    const next = Eligibility.nextActions(bob, bob.current, new Set())
    expect(next.subscriptionAddOns).toEqual([
      { offerId: "addon-archive", name: "Archive since 1850", rateId: "addon-archive-gbp-annual", quantity: 1, unitPrice: { amount: 3900, currency: "GBP" } },
      { offerId: "addon-print-weekend", name: "Weekend print edition", rateId: "addon-print-weekend-gbp-annual", quantity: 1, unitPrice: { amount: 10900, currency: "GBP" } }
    ])
  })
})

describe("Eligibility never offers the current offer", () => {
  it("an offer listed among its own upgrades and downgrades is excluded as already_owned", () => {
    const self = demoOffer("ledger-basic")
    const looped: Offer = { ...self, upgrades: ["ledger-basic", ...self.upgrades], downgrades: ["ledger-basic"] }
    const ctx = contextFor(demoSubscription("sub-alice"), { offers: [looped, ...Demo.offers.filter((o) => o.id !== "ledger-basic")] })
    const next = Eligibility.nextActions(ctx, ctx.current, new Set())
    expect(ids([...next.upgrades, ...next.downgrades])).not.toContain("ledger-basic")
    // Listed in both directions, it is looked at once, as an upgrade.
    expect(reasonOf(next, "ledger-basic")).toEqual(["already_owned"])
  })

  for (const id of ["sub-alice", "sub-bob", "sub-carol", "sub-dave", "sub-erin"]) {
    it(`the demo subscription ${id} is never offered its own offer`, () => {
      const ctx = contextFor(demoSubscription(id))
      const next = Eligibility.nextActions(ctx, ctx.current, new Set())
      expect(ids([...next.upgrades, ...next.downgrades])).not.toContain(ctx.current.id)
    })
  }
})

describe("Eligibility crossSells", () => {
  it("exclude owned add-ons: Erin on Standard owns the archive and is offered the crossword and podcasts", () => {
    const ctx = contextFor(demoSubscription("sub-erin"))
    const next = Eligibility.nextActions(ctx, ctx.current, new Set())
    expect(ids(next.crossSells)).toEqual(["addon-crossword", "addon-podcasts"])
    expect(reasonOf(next, "addon-archive")).toEqual(["already_owned"])
  })

  it("exclude add-ons the basket already adds", () => {
    const ctx = contextFor(demoSubscription("sub-erin"))
    const next = Eligibility.nextActions(ctx, ctx.current, new Set(["addon-crossword"]))
    expect(ids(next.crossSells)).toEqual(["addon-podcasts"])
  })

  it("follow the offer the basket ends on: Alice moving to Premium is offered the archive and the print edition", () => {
    const ctx = contextFor(demoSubscription("sub-alice"))
    const next = Eligibility.nextActions(ctx, demoOffer("ledger-premium"), new Set())
    expect(ids(next.crossSells)).toEqual(["addon-archive", "addon-print-weekend"])
    expect(reasonOf(next, "addon-crossword")).toEqual(["already_owned"])
  })

  it("add-on options are today, prorated (co-termed)", () => {
    const ctx = contextFor(demoSubscription("sub-erin"))
    const [first] = Eligibility.nextActions(ctx, ctx.current, new Set()).crossSells
    expect(first).toMatchObject({ timing: "TODAY", effectiveDate: TODAY, prorate: true, price: { amount: 299, currency: "USD" } })
  })
})

describe("Eligibility rates (small catalogs)", () => {
  const monthlyUsd = (id: string, amount: number, extra: object = {}) => ({ id, amount, currency: "USD", interval: { count: 1, unit: "month" as const }, ...extra })
  const home = Fixtures.offer({ id: "home", upgrades: ["only-gbp", "only-annual", "reserved", "fine"], addOns: ["addon-gbp", "addon-fine"] })
  const offers: ReadonlyArray<Offer> = [
    home,
    Fixtures.offer({ id: "only-gbp", rates: [{ id: "only-gbp-r", amount: 900, currency: "GBP", interval: { count: 1, unit: "month" } }] }),
    Fixtures.offer({ id: "only-annual", rates: [{ id: "only-annual-r", amount: 9000, currency: "USD", interval: { count: 1, unit: "year" } }] }),
    Fixtures.offer({ id: "reserved", rates: [monthlyUsd("reserved-r", 500, { accountId: "cus-someone-else" })] }),
    Fixtures.offer({ id: "fine", rates: [monthlyUsd("fine-annual", 9000, { interval: { count: 1, unit: "year" } }), monthlyUsd("fine-r", 1500)] }),
    Fixtures.offer({ id: "addon-gbp", kind: "add_on", rates: [{ id: "addon-gbp-r", amount: 100, currency: "GBP", interval: { count: 1, unit: "month" } }] }),
    Fixtures.offer({ id: "addon-fine", kind: "add_on", rates: [monthlyUsd("addon-fine-r", 100)] })
  ]
  const ctx = contextFor(
    Fixtures.subscription({ owner: "cus-me", offer: { offerId: "home", rateId: "home-usd", quantity: 1, unitPrice: { amount: 1000, currency: "USD" } } }),
    { offers, today: CalendarDate.make("2025-03-16") }
  )

  it("currency_mismatch: an offer with no rate in the subscription's currency", () => {
    expect(Eligibility.offerChangeRefusal(ctx, "only-gbp")).toBe("currency_mismatch")
    expect(Eligibility.addOnRefusal(ctx, home, "addon-gbp")).toBe("currency_mismatch")
  })

  it("currency_mismatch: a rate asked for by id in another currency", () => {
    expect(Eligibility.offerChangeRefusal(ctx, "only-gbp", "only-gbp-r")).toBe("currency_mismatch")
  })

  it("interval_mismatch: an offer billed only on another interval", () => {
    expect(Eligibility.offerChangeRefusal(ctx, "only-annual")).toBe("interval_mismatch")
    expect(Eligibility.offerChangeRefusal(ctx, "fine", "fine-annual")).toBe("interval_mismatch")
  })

  it("a rate reserved to another account is not offered", () => {
    expect(Eligibility.offerChangeRefusal(ctx, "reserved")).not.toBeUndefined()
  })

  it("picks the rate on the subscription's interval even when another comes first in the catalog", () => {
    const next = Eligibility.nextActions(ctx, home, new Set())
    expect(next.upgrades.map((o) => [o.offerId, o.rateId])).toEqual([["fine", "fine-r"]])
    expect(next.excluded.filter((e) => e.offerId !== "reserved")).toEqual([
      { offerId: "only-gbp", reason: "currency_mismatch" },
      { offerId: "only-annual", reason: "interval_mismatch" },
      { offerId: "addon-gbp", reason: "currency_mismatch" }
    ])
    expect(ids(next.excluded)).toContain("reserved")
    expect(ids(next.crossSells)).toEqual(["addon-fine"])
  })
})

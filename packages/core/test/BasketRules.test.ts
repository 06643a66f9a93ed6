import type { OrderItem } from "@subshift/core/domain/Basket"
import * as BasketRules from "@subshift/core/rules/BasketRules"
import type * as Eligibility from "@subshift/core/rules/Eligibility"
import { BasketRejected } from "@subshift/core/domain/Errors"
import type { Offer } from "@subshift/core/domain/Offer"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { contextFor, demoOffer, demoOffersWith, demoSubscription, TODAY } from "./support.js"

const accepted = (ctx: Eligibility.Context, items: ReadonlyArray<OrderItem>): BasketRules.Outcome => {
  const result = BasketRules.update(ctx, items)
  if (Either.isLeft(result)) throw new Error(`expected the update to be accepted, got ${result.left.code}: ${result.left.message}`)
  return result.right
}

const refused = (ctx: Eligibility.Context, items: ReadonlyArray<OrderItem>): BasketRejected => {
  const result = BasketRules.update(ctx, items)
  if (Either.isRight(result)) throw new Error("expected the update to be refused")
  return result.left
}

const addOffer = (offerId: string, extra: Partial<OrderItem> = {}): OrderItem => ({ action: "add", type: "offer", offerId, ...extra })
const removeOffer = (offerId: string): OrderItem => ({ action: "remove", type: "offer", offerId })
const addAddOn = (offerId: string, extra: Partial<OrderItem> = {}): OrderItem => ({ action: "add", type: "add_on", offerId, ...extra })
const removeAddOn = (offerId: string): OrderItem => ({ action: "remove", type: "add_on", offerId })

const alice = () => contextFor(demoSubscription("sub-alice")) // Basic, USD monthly, crossword + podcasts, [03-01, 04-01)
const bob = () => contextFor(demoSubscription("sub-bob")) // Premium, GBP annual, archive + print, [2025-03-01, 2026-03-01)
const erin = () => contextFor(demoSubscription("sub-erin")) // Standard, USD monthly, archive

const timingOf = (outcome: BasketRules.Outcome, kind: string, offerId: string) => {
  const a = outcome.actions.find((x) => x.kind === kind && x.offerId === offerId)
  return a === undefined ? undefined : { timing: a.timing, effectiveDate: a.effectiveDate, prorate: a.prorate }
}

describe("BasketRules refusals", () => {
  it("more than one offer add is too_many_offer_adds", () => {
    expect(refused(alice(), [addOffer("ledger-standard"), addOffer("ledger-premium")])).toEqual(
      new BasketRejected({ code: "too_many_offer_adds", message: "a request may add at most one subscription offer" })
    )
  })

  it("any number of add-on adds is fine", () => {
    const outcome = accepted(erin(), [addAddOn("addon-crossword"), addAddOn("addon-podcasts")])
    expect(outcome.actions.map((a) => a.offerId)).toEqual(["addon-crossword", "addon-podcasts"])
  })

  it("an offer add off the configured paths is offer_not_eligible with the reason", () => {
    expect(refused(alice(), [addOffer("ledger-family")])).toEqual(
      new BasketRejected({
        code: "offer_not_eligible",
        offerId: "ledger-family",
        reason: "not_a_configured_path",
        message: "offer ledger-family is not available to this subscription (not_a_configured_path)"
      })
    )
  })

  it("an offer add on a path but not allowed carries that reason (Business for a direct customer)", () => {
    expect(refused(bob(), [addOffer("ledger-business")])).toMatchObject({ code: "offer_not_eligible", reason: "partner_not_eligible" })
  })

  it("an add-on the resulting offer does not accept is add_on_not_eligible, not_compatible", () => {
    expect(refused(alice(), [addAddOn("addon-archive")])).toMatchObject({
      code: "add_on_not_eligible",
      offerId: "addon-archive",
      reason: "not_compatible"
    })
  })

  it("an add-on already owned cannot be added again", () => {
    expect(refused(alice(), [addAddOn("addon-crossword")])).toMatchObject({ code: "add_on_not_eligible", reason: "already_owned" })
  })

  it("removing an add-on not held is not_owned", () => {
    expect(refused(alice(), [removeAddOn("addon-archive")])).toEqual(
      new BasketRejected({ code: "not_owned", offerId: "addon-archive", message: "the subscription does not hold add-on addon-archive" })
    )
  })

  it("removing an offer not held is not_owned", () => {
    expect(refused(alice(), [addOffer("ledger-standard"), removeOffer("ledger-premium")])).toMatchObject({
      code: "not_owned",
      offerId: "ledger-premium"
    })
  })

  it("the same item twice is duplicate_item", () => {
    expect(refused(erin(), [addAddOn("addon-crossword"), addAddOn("addon-crossword", { quantity: 2 })])).toMatchObject({
      code: "duplicate_item",
      offerId: "addon-crossword"
    })
    expect(refused(alice(), [addAddOn("addon-crossword"), removeAddOn("addon-crossword")])).toMatchObject({ code: "duplicate_item" })
  })

  it("removing the offer without a replacement is offer_removal_needs_replacement", () => {
    expect(refused(alice(), [removeOffer("ledger-basic")])).toEqual(
      new BasketRejected({
        code: "offer_removal_needs_replacement",
        offerId: "ledger-basic",
        message: "removing the offer needs a new offer in the same request"
      })
    )
  })

  it("a subscription offer sent as an add-on is wrong_item_type", () => {
    expect(refused(alice(), [addAddOn("ledger-standard")])).toMatchObject({ code: "wrong_item_type", offerId: "ledger-standard" })
  })
})

describe("BasketRules generated items", () => {
  it("adding a new offer generates the removal of the current one, replaced_by_new_offer", () => {
    const outcome = accepted(alice(), [addOffer("ledger-standard")])
    expect(outcome.systemItems).toEqual([
      {
        action: "remove",
        type: "offer",
        offerId: "ledger-basic",
        quantity: 1,
        reason: { code: "replaced_by_new_offer", causedBy: "ledger-standard", message: "replaced by Standard" }
      }
    ])
    expect(outcome.actions.map((a) => [a.kind, a.offerId, a.auto?.code])).toEqual([
      ["remove", "ledger-basic", "replaced_by_new_offer"],
      ["add", "ledger-standard", undefined]
    ])
    expect(outcome.resulting.id).toBe("ledger-standard")
  })

  it("the caller may remove the current offer explicitly; then it is not generated again", () => {
    const outcome = accepted(alice(), [addOffer("ledger-standard"), removeOffer("ledger-basic")])
    expect(outcome.systemItems).toEqual([])
    expect(outcome.actions.filter((a) => a.kind === "remove" && a.offerId === "ledger-basic")).toHaveLength(1)
  })

  it("the new offer is priced at the subscription's rate and keeps the held quantity", () => {
    const outcome = accepted(alice(), [addOffer("ledger-standard")])
    expect(outcome.actions[1]).toMatchObject({
      rateId: "ledger-standard-usd-monthly",
      unitPrice: { amount: 1999, currency: "USD" },
      quantity: 1,
      name: "Standard"
    })
  })

  it("owned add-ons the new offer does not accept are removed, following the offer change's timing (Premium → Basic)", () => {
    const outcome = accepted(bob(), [addOffer("ledger-basic")])
    const incompatible = outcome.systemItems.filter((s) => s.reason.code === "not_compatible_with_new_offer")
    expect(incompatible.map((s) => s.offerId)).toEqual(["addon-archive", "addon-print-weekend"])
    expect(incompatible[0]!.reason).toEqual({
      code: "not_compatible_with_new_offer",
      causedBy: "ledger-basic",
      message: "not available on Basic"
    })
    for (const id of ["ledger-premium", "addon-archive", "addon-print-weekend"]) {
      expect(timingOf(outcome, "remove", id)).toEqual({ timing: "NEXT_PERIOD_START", effectiveDate: "2026-03-01", prorate: false })
    }
    expect(timingOf(outcome, "add", "ledger-basic")).toEqual({ timing: "NEXT_PERIOD_START", effectiveDate: "2026-03-01", prorate: false })
  })

  it("an upgrade's incompatible add-on removal is today and prorated, like the upgrade (Basic → Premium drops Podcasts+)", () => {
    const outcome = accepted(alice(), [addOffer("ledger-premium")])
    expect(outcome.systemItems.map((s) => [s.offerId, s.reason.code])).toEqual([
      ["ledger-basic", "replaced_by_new_offer"],
      ["addon-podcasts", "not_compatible_with_new_offer"]
    ])
    expect(timingOf(outcome, "remove", "addon-podcasts")).toEqual({ timing: "TODAY", effectiveDate: TODAY, prorate: true })
  })

  it("an incompatible add-on the caller removes explicitly goes when the old offer goes, like the generated removal", () => {
    // Basic → Premium today: Premium does not accept Podcasts+, so keeping it to the period end would leave
    // the subscription on Premium with an add-on Premium does not accept (and would withhold its credit).
    const explicit = accepted(alice(), [addOffer("ledger-premium"), removeAddOn("addon-podcasts")])
    const generated = accepted(alice(), [addOffer("ledger-premium")])
    expect(timingOf(explicit, "remove", "addon-podcasts")).toEqual(timingOf(generated, "remove", "addon-podcasts"))
    expect(timingOf(explicit, "remove", "addon-podcasts")).toEqual({ timing: "TODAY", effectiveDate: TODAY, prorate: true })
    expect(explicit.systemItems.map((s) => s.offerId)).toEqual(["ledger-basic"])
  })

  it("a compatible add-on the caller removes during an offer change still runs to the period end", () => {
    const outcome = accepted(alice(), [addOffer("ledger-premium"), removeAddOn("addon-crossword")])
    expect(timingOf(outcome, "remove", "addon-crossword")).toEqual({ timing: "CURRENT_PERIOD_END", effectiveDate: "2025-04-01", prorate: false })
  })

  it("compatible owned add-ons stay (Basic → Standard keeps both)", () => {
    const outcome = accepted(alice(), [addOffer("ledger-standard")])
    expect(outcome.actions.filter((a) => a.type === "add_on")).toEqual([])
  })

  it("crossSells are recomputed for the resulting offer", () => {
    const before = accepted(alice(), [])
    expect(before.nextActions.crossSells).toEqual([])
    const outcome = accepted(alice(), [addOffer("ledger-premium")])
    expect(outcome.nextActions.crossSells.map((o) => o.offerId)).toEqual(["addon-archive", "addon-print-weekend"])
    const withArchive = accepted(alice(), [addOffer("ledger-premium"), addAddOn("addon-archive")])
    expect(withArchive.nextActions.crossSells.map((o) => o.offerId)).toEqual(["addon-print-weekend"])
  })

  it("an empty update is accepted and changes nothing", () => {
    const outcome = accepted(alice(), [])
    expect(outcome).toMatchObject({ items: [], systemItems: [], actions: [] })
    expect(outcome.resulting.id).toBe("ledger-basic")
  })
})

describe("BasketRules timing defaults", () => {
  it("an upgrade is TODAY, prorated", () => {
    const outcome = accepted(alice(), [addOffer("ledger-standard")])
    expect(timingOf(outcome, "add", "ledger-standard")).toEqual({ timing: "TODAY", effectiveDate: TODAY, prorate: true })
    expect(timingOf(outcome, "remove", "ledger-basic")).toEqual({ timing: "TODAY", effectiveDate: TODAY, prorate: true })
  })

  it("a downgrade is NEXT_PERIOD_START, not prorated", () => {
    const outcome = accepted(erin(), [addOffer("ledger-basic")])
    expect(timingOf(outcome, "add", "ledger-basic")).toEqual({ timing: "NEXT_PERIOD_START", effectiveDate: "2025-04-01", prorate: false })
  })

  it("an add-on add is TODAY, prorated to the end of the period (co-termed)", () => {
    const outcome = accepted(erin(), [addAddOn("addon-crossword", { quantity: 2 })])
    expect(timingOf(outcome, "add", "addon-crossword")).toEqual({ timing: "TODAY", effectiveDate: TODAY, prorate: true })
    expect(outcome.actions[0]).toMatchObject({ quantity: 2, rateId: "addon-crossword-usd-monthly" })
  })

  it("an add-on remove is CURRENT_PERIOD_END", () => {
    const outcome = accepted(erin(), [removeAddOn("addon-archive")])
    expect(timingOf(outcome, "remove", "addon-archive")).toEqual({ timing: "CURRENT_PERIOD_END", effectiveDate: "2025-04-01", prorate: false })
  })

  it("an add-on only the new offer accepts starts with the new offer (Premium → Basic adding Podcasts+)", () => {
    const outcome = accepted(bob(), [addOffer("ledger-basic"), addAddOn("addon-podcasts"), addAddOn("addon-crossword")])
    expect(timingOf(outcome, "add", "addon-podcasts")).toEqual({ timing: "NEXT_PERIOD_START", effectiveDate: "2026-03-01", prorate: false })
    // The crossword is accepted by Premium too, so it starts today as a plain add-on.
    expect(timingOf(outcome, "add", "addon-crossword")).toEqual({ timing: "TODAY", effectiveDate: TODAY, prorate: true })
  })
})

describe("BasketRules catalog overrides", () => {
  it("the demo's Premium → Basic path waits for the next period start", () => {
    const outcome = accepted(bob(), [addOffer("ledger-basic")])
    expect(timingOf(outcome, "add", "ledger-basic")?.timing).toBe("NEXT_PERIOD_START")
  })

  const premium = demoOffer("ledger-premium")
  const overridden: Offer = {
    ...premium,
    changePolicy: {
      downgrade: { timing: "TODAY", prorate: true },
      upgrade: { timing: "NEXT_PERIOD_START", prorate: false },
      paths: { "ledger-basic": { timing: "NEXT_PERIOD_START", prorate: false } }
    }
  }
  const ctx = () => contextFor({ ...demoSubscription("sub-dave") }, { offers: demoOffersWith(overridden) })

  it("the per-direction override applies to a path without its own (Premium → Standard today, prorated)", () => {
    const outcome = accepted(ctx(), [addOffer("ledger-standard")])
    expect(timingOf(outcome, "add", "ledger-standard")).toEqual({ timing: "TODAY", effectiveDate: TODAY, prorate: true })
    // the print edition is not accepted by Standard: it goes when Premium goes, today
    expect(timingOf(outcome, "remove", "addon-print-weekend")).toEqual({ timing: "TODAY", effectiveDate: TODAY, prorate: true })
  })

  it("the per-path override wins over the per-direction one (Premium → Basic still at the next period start)", () => {
    const outcome = accepted(ctx(), [addOffer("ledger-basic")])
    expect(timingOf(outcome, "add", "ledger-basic")).toEqual({ timing: "NEXT_PERIOD_START", effectiveDate: "2025-03-31", prorate: false })
  })

  it("an upgrade override defers an upgrade (Premium → Business at the next period start)", () => {
    const outcome = accepted(ctx(), [addOffer("ledger-business")])
    expect(timingOf(outcome, "add", "ledger-business")).toEqual({ timing: "NEXT_PERIOD_START", effectiveDate: "2025-03-31", prorate: false })
  })

  it("eligibility shows the overridden timing on each option", () => {
    const outcome = accepted(ctx(), [])
    expect(outcome.nextActions.downgrades.map((o) => [o.offerId, o.timing])).toEqual([
      ["ledger-standard", "TODAY"],
      ["ledger-basic", "NEXT_PERIOD_START"]
    ])
  })
})

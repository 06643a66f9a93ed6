/**
 * The impact of a new catalog version on live subscriptions: the change rules of both versions
 * replayed for each subscription, counted per kind of impact with a sample of ids, and the price
 * migrations the new version asks for, previewed per subscription. Built one subscription at a
 * time, so a caller can stream subscriptions through it page by page.
 */
import * as Schema from "effect/Schema"
import * as BillingPeriod from "../domain/BillingPeriod.js"
import type { PriceMigration } from "../domain/CatalogDocument.js"
import { CalendarDate } from "../domain/CalendarDate.js"
import type { Instant } from "../domain/Instant.js"
import * as Money from "../domain/Money.js"
import * as Offer from "../domain/Offer.js"
import * as Subscription from "../domain/Subscription.js"
import type { View } from "./CatalogHistory.js"
import * as Eligibility from "./Eligibility.js"

/** How many ids each kind of impact gives as a sample. */
export const SAMPLE = 10
/** How many price migrations the preview lists one by one (all are counted). */
export const PREVIEW = 100

/** A count of subscriptions with a sample of their ids. */
export const Tally = Schema.Struct({ count: Schema.Int, sample: Schema.Array(Schema.String) })
export type Tally = typeof Tally.Type

/** The kinds of impact. */
export const kinds = [
  "gainUpgrade",
  "loseUpgrade",
  "gainDowngrade",
  "loseDowngrade",
  "gainAddOn",
  "loseAddOn",
  "offerNotSellable",
  "addOnsIncompatible"
] as const
export type Kind = (typeof kinds)[number]

/** A subscription whose price a migration changes. */
export const MigratedPrice = Schema.Struct({
  subscriptionId: Schema.String,
  offerId: Schema.String,
  rateId: Schema.String,
  before: Money.Money,
  after: Money.Money,
  effectiveDate: CalendarDate
})
export type MigratedPrice = typeof MigratedPrice.Type

/** The number of current subscriptions on an offer the new version removes or reprices. */
export const HeldOffer = Schema.Struct({
  offerId: Schema.String,
  change: Schema.Literal("removed", "repriced"),
  subscriptions: Schema.Int
})
export type HeldOffer = typeof HeldOffer.Type

/** The impact of a version. */
export const Impact = Schema.Struct({
  subscriptions: Schema.Int,
  ...Object.fromEntries(kinds.map((k) => [k, Tally])) as { [K in Kind]: typeof Tally },
  held: Schema.Array(HeldOffer),
  priceMigrations: Schema.Struct({ count: Schema.Int, preview: Schema.Array(MigratedPrice) })
})
export type Impact = typeof Impact.Type

/** The first period start of a subscription on or after `from`. */
export const firstPeriodStartFrom = (subscription: Subscription.Subscription, from: CalendarDate): CalendarDate => {
  const period = BillingPeriod.containing(subscription.currentPeriod, subscription.interval, subscription.anchorDay, from)
  return period.start >= from ? period.start : period.end
}

/** The price a migration gives a line, when it changes it. */
export const migratedLine = (
  subscription: Subscription.Subscription,
  line: Subscription.Line,
  offer: Offer.Offer
): Offer.Rate | undefined => {
  const rate = Offer.findRate(offer, line.rateId) ??
    Offer.exactRate(offer, subscription.currency, subscription.owner, subscription.interval)
  return rate === undefined || rate.currency !== subscription.currency || rate.amount === line.unitPrice.amount ? undefined : rate
}

/** A running impact, fed one subscription at a time. */
export interface Accumulator {
  readonly add: (subscription: Subscription.Subscription) => void
  readonly result: () => Impact
}

/**
 * An accumulator comparing the view in force `before` (at `now`) with the view `after` (at
 * `effectiveFrom`), with the offers whose holders are counted and the price migrations to preview.
 */
export const accumulator = (input: {
  readonly before: View
  readonly after: View
  readonly now: Instant
  readonly today: CalendarDate
  readonly effectiveFrom: Instant
  readonly concerned: ReadonlyMap<string, HeldOffer["change"]>
  readonly migrations: ReadonlyArray<PriceMigration>
}): Accumulator => {
  const tallies = Object.fromEntries(kinds.map((k) => [k, { count: 0, sample: [] as Array<string> }])) as Record<Kind, { count: number; sample: Array<string> }>
  const held = new Map<string, number>()
  const preview: Array<MigratedPrice> = []
  let migrated = 0
  let total = 0
  const mark = (kind: Kind, id: string) => {
    const t = tallies[kind]
    t.count++
    if (t.sample.length < SAMPLE) t.sample.push(id)
  }
  const effectiveDay = input.effectiveFrom.slice(0, 10) as CalendarDate
  const nextOf = (view: View, subscription: Subscription.Subscription, now: Instant, today: CalendarDate) => {
    const current = view.byId.get(subscription.offer.offerId)
    if (current === undefined) return undefined
    const ctx: Eligibility.Context = {
      subscription,
      current,
      offers: view.byId,
      now,
      today,
      period: Subscription.periodOn(subscription, today),
      partner: subscription.partnerOrg
    }
    const next = Eligibility.nextActions(ctx, current, new Set())
    return {
      current,
      upgrades: new Set(next.upgrades.map((o) => o.offerId)),
      downgrades: new Set(next.downgrades.map((o) => o.offerId)),
      addOns: new Set(next.crossSells.map((o) => o.offerId))
    }
  }
  const compare = (id: string, before: ReadonlySet<string>, after: ReadonlySet<string>, gain: Kind, lose: Kind) => {
    if (Array.from(after).some((x) => !before.has(x))) mark(gain, id)
    if (Array.from(before).some((x) => !after.has(x))) mark(lose, id)
  }
  return {
    add: (subscription) => {
      if (subscription.status !== "active" && subscription.status !== "pending") return
      total++
      for (const line of [subscription.offer, ...subscription.addOns]) {
        if (input.concerned.has(line.offerId)) held.set(line.offerId, (held.get(line.offerId) ?? 0) + 1)
      }
      const before = nextOf(input.before, subscription, input.now, input.today)
      const after = nextOf(input.after, subscription, input.effectiveFrom, effectiveDay > input.today ? effectiveDay : input.today)
      if (before !== undefined && after !== undefined) {
        compare(subscription.id, before.upgrades, after.upgrades, "gainUpgrade", "loseUpgrade")
        compare(subscription.id, before.downgrades, after.downgrades, "gainDowngrade", "loseDowngrade")
        compare(subscription.id, before.addOns, after.addOns, "gainAddOn", "loseAddOn")
        if (Offer.isSellable(before.current, input.now) && !Offer.isSellable(after.current, input.effectiveFrom)) {
          mark("offerNotSellable", subscription.id)
        }
        if (subscription.addOns.some((l) => before.current.addOns.includes(l.offerId) && !after.current.addOns.includes(l.offerId))) {
          mark("addOnsIncompatible", subscription.id)
        }
      }
      for (const migration of input.migrations) {
        const offer = input.after.byId.get(migration.offerId)
        if (offer === undefined) continue
        for (const line of [subscription.offer, ...subscription.addOns]) {
          if (line.offerId !== migration.offerId) continue
          const rate = migratedLine(subscription, line, offer)
          if (rate === undefined) continue
          migrated++
          if (preview.length < PREVIEW) {
            preview.push({
              subscriptionId: subscription.id,
              offerId: line.offerId,
              rateId: rate.id,
              before: line.unitPrice,
              after: { amount: rate.amount, currency: rate.currency },
              effectiveDate: firstPeriodStartFrom(subscription, migration.from)
            })
          }
        }
      }
    },
    result: () => ({
      subscriptions: total,
      ...tallies,
      held: Array.from(input.concerned, ([offerId, change]) => ({ offerId, change, subscriptions: held.get(offerId) ?? 0 })),
      priceMigrations: { count: migrated, preview }
    })
  }
}

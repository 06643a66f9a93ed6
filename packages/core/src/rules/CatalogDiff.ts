/**
 * What changes between two catalog versions: offers added, removed and changed, with the price
 * change of every rate and the paths and add-ons gained or lost.
 */
import * as Schema from "effect/Schema"
import * as Money from "../domain/Money.js"
import type { Offer } from "../domain/Offer.js"

const Ids = Schema.Array(Schema.String)

/** What a list of ids gained and lost. */
export const ListChange = Schema.Struct({ added: Ids, removed: Ids })
export type ListChange = typeof ListChange.Type

/** A rate whose price changed. */
export const PriceChange = Schema.Struct({ rateId: Schema.String, before: Money.Money, after: Money.Money })
export type PriceChange = typeof PriceChange.Type

/** How one offer changed. */
export const OfferChange = Schema.Struct({
  offerId: Schema.String,
  /** The other fields that changed: `name`, `kind`, `sellable`, `eligiblePartners`, `changePolicy`, `minQuantity`… */
  fields: Ids,
  prices: Schema.Array(PriceChange),
  rates: ListChange,
  upgrades: ListChange,
  downgrades: ListChange,
  addOns: ListChange
})
export type OfferChange = typeof OfferChange.Type

/** The difference between two versions. */
export const CatalogDiff = Schema.Struct({
  added: Ids,
  removed: Ids,
  changed: Schema.Array(OfferChange)
})
export type CatalogDiff = typeof CatalogDiff.Type

const listChange = (before: ReadonlyArray<string>, after: ReadonlyArray<string>): ListChange => ({
  added: after.filter((id) => !before.includes(id)),
  removed: before.filter((id) => !after.includes(id))
})

const isEmpty = (c: ListChange) => c.added.length === 0 && c.removed.length === 0

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

const structural = new Set(["id", "rates", "upgrades", "downgrades", "addOns"])

/** How `after` differs from `before`, or `undefined` when they are the same. */
export const offerChange = (before: Offer, after: Offer): OfferChange | undefined => {
  const prices: Array<PriceChange> = []
  for (const rate of after.rates) {
    const old = before.rates.find((r) => r.id === rate.id)
    if (old !== undefined && (old.amount !== rate.amount || old.currency !== rate.currency)) {
      prices.push({
        rateId: rate.id,
        before: { amount: old.amount, currency: old.currency },
        after: { amount: rate.amount, currency: rate.currency }
      })
    }
  }
  const keys = new Set([...Object.keys(before), ...Object.keys(after)])
  const fields = Array.from(keys)
    .filter((k) => !structural.has(k) && !same((before as Record<string, unknown>)[k], (after as Record<string, unknown>)[k]))
    .sort()
  for (const rate of after.rates) {
    const old = before.rates.find((r) => r.id === rate.id)
    if (old !== undefined && !same({ ...old, amount: 0 }, { ...rate, amount: 0 }) && !fields.includes("rates")) fields.push("rates")
  }
  const change: OfferChange = {
    offerId: after.id,
    fields,
    prices,
    rates: listChange(before.rates.map((r) => r.id), after.rates.map((r) => r.id)),
    upgrades: listChange(before.upgrades, after.upgrades),
    downgrades: listChange(before.downgrades, after.downgrades),
    addOns: listChange(before.addOns, after.addOns)
  }
  const unchanged = fields.length === 0 && prices.length === 0 && isEmpty(change.rates) && isEmpty(change.upgrades) &&
    isEmpty(change.downgrades) && isEmpty(change.addOns)
  return unchanged ? undefined : change
}

/** The difference from the offers of one version to those of the next. */
export const diff = (before: ReadonlyArray<Offer>, after: ReadonlyArray<Offer>): CatalogDiff => {
  const old = new Map(before.map((o) => [o.id, o]))
  const next = new Map(after.map((o) => [o.id, o]))
  const changed: Array<OfferChange> = []
  for (const offer of after) {
    const previous = old.get(offer.id)
    const change = previous === undefined ? undefined : offerChange(previous, offer)
    if (change !== undefined) changed.push(change)
  }
  return {
    added: after.filter((o) => !old.has(o.id)).map((o) => o.id),
    removed: before.filter((o) => !next.has(o.id)).map((o) => o.id),
    changed
  }
}

/** The offers whose existing subscribers a diff concerns: removed, or with a rate repriced. */
export const concernedOffers = (d: CatalogDiff): ReadonlyArray<string> => [
  ...d.removed,
  ...d.changed.filter((c) => c.prices.length > 0 || c.rates.removed.length > 0).map((c) => c.offerId)
]

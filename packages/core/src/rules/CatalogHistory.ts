/**
 * Reading offers through catalog versions. The version in force at an instant is the latest one
 * whose `effectiveFrom` has come. An offer the version in force no longer has still reads, from
 * the last version that had it, as retired: never sellable again, so that the subscriptions that
 * hold it keep it and can change away from it.
 */
import type { CatalogVersion } from "../domain/CatalogDocument.js"
import type { Instant } from "../domain/Instant.js"
import type { Offer, Rate } from "../domain/Offer.js"

/** The first instant: a version effective from it has always been in force. */
export const BEGINNING = "1970-01-01T00:00:00.000Z" as Instant

/** An offer with one of its rates. */
export interface RateOfOffer {
  readonly offer: Offer
  readonly rate: Rate
}

/** The offers as one version shows them, with the offers earlier versions retired. */
export interface View {
  readonly version: number | undefined
  readonly effectiveFrom: Instant | undefined
  /** The version's own offers, in document order. */
  readonly offers: ReadonlyArray<Offer>
  /** Every offer readable under this version, retired ones included. */
  readonly byId: ReadonlyMap<string, Offer>
  readonly rates: ReadonlyMap<string, RateOfOffer>
}

/** The view of an empty catalog. */
export const empty: View = { version: undefined, effectiveFrom: undefined, offers: [], byId: new Map(), rates: new Map() }

/** An offer retired at `at`: it keeps its paths and rates, and is not sellable from then on. */
export const retire = (offer: Offer, at: Instant): Offer => ({
  ...offer,
  sellable: { ...offer.sellable, until: offer.sellable.until !== undefined && offer.sellable.until < at ? offer.sellable.until : at }
})

/** The number of the version in force at `at` among `versions` (any order). */
export const inForceAt = (
  versions: ReadonlyArray<Pick<CatalogVersion, "version" | "effectiveFrom">>,
  at: Instant
): number | undefined => {
  let found: number | undefined
  for (const v of versions) if (v.effectiveFrom <= at && (found === undefined || v.version > found)) found = v.version
  return found
}

/**
 * The view of the last of `versions` (sorted by number, the versions up to it): its offers, then
 * every offer an earlier version had, retired when the version after its last one took effect.
 */
export const viewOf = (versions: ReadonlyArray<CatalogVersion>): View => {
  const last = versions.at(-1)
  if (last === undefined) return empty
  const byId = new Map<string, Offer>()
  for (const offer of last.document.offers) byId.set(offer.id, offer)
  for (let i = versions.length - 2; i >= 0; i--) {
    const retiredAt = versions[i + 1]!.effectiveFrom
    for (const offer of versions[i]!.document.offers) {
      if (!byId.has(offer.id)) byId.set(offer.id, retire(offer, retiredAt))
    }
  }
  const rates = new Map<string, RateOfOffer>()
  for (const offer of byId.values()) {
    for (const rate of offer.rates) if (!rates.has(rate.id)) rates.set(rate.id, { offer, rate })
  }
  return { version: last.version, effectiveFrom: last.effectiveFrom, offers: last.document.offers, byId, rates }
}

/** The offers of a view with these ids (unknown ids absent). */
export const getMany = (view: View, ids: Iterable<string>): Map<string, Offer> => {
  const found = new Map<string, Offer>()
  for (const id of ids) {
    const offer = view.byId.get(id)
    if (offer !== undefined) found.set(id, offer)
  }
  return found
}

/** The offers with these ids, and every offer their paths and add-ons name. */
export const getWithNeighbours = (view: View, ids: Iterable<string>): Map<string, Offer> => {
  const found = getMany(view, ids)
  for (const offer of Array.from(found.values())) {
    for (const id of [...offer.upgrades, ...offer.downgrades, ...offer.addOns]) {
      const neighbour = view.byId.get(id)
      if (neighbour !== undefined) found.set(id, neighbour)
    }
  }
  return found
}

const byIdOrder = (a: Offer, b: Offer) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The offers of the version itself, in id order (retired ones are not listed). */
export const list = (view: View): ReadonlyArray<Offer> => [...view.offers].sort(byIdOrder)

/** A document made from `base` with `offers` inserted or replacing those of the same id. */
export const withOffers = (base: ReadonlyArray<Offer>, offers: ReadonlyArray<Offer>): ReadonlyArray<Offer> => {
  const merged = new Map(base.map((o) => [o.id, o]))
  for (const offer of offers) merged.set(offer.id, offer)
  return Array.from(merged.values())
}

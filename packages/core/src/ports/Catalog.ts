/**
 * The `Catalog` port (offers and rates), and the validation of catalog data from outside.
 */
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { InvalidInput, type StoreUnavailable } from "../domain/Errors.js"
import * as Input from "../domain/Input.js"
import { Offer, type Rate } from "../domain/Offer.js"

/** An offer with one of its rates. */
export interface RateOfOffer {
  readonly offer: Offer
  readonly rate: Rate
}

/** The catalog port. */
export class Catalog extends Context.Tag("@subshift/core/Catalog")<
  Catalog,
  {
    /** The offers with these ids; unknown ids are absent from the map. */
    readonly getMany: (ids: Iterable<string>) => Effect.Effect<ReadonlyMap<string, Offer>, StoreUnavailable>
    /**
     * The offers with these ids and every offer their upgrades, downgrades and add-ons name: all
     * a change from them can touch, in one read.
     */
    readonly getWithNeighbours: (ids: Iterable<string>) => Effect.Effect<ReadonlyMap<string, Offer>, StoreUnavailable>
    /** The offer that has a rate with this id. */
    readonly findRate: (rateId: string) => Effect.Effect<Option.Option<RateOfOffer>, StoreUnavailable>
    /** Every offer, in id order. */
    readonly list: Effect.Effect<ReadonlyArray<Offer>, StoreUnavailable>
    /** Inserts or replaces offers (publishing a catalog version). */
    readonly put: (offers: ReadonlyArray<Offer>) => Effect.Effect<void, StoreUnavailable>
  }
>() {}

/** Catalog data as a file holds it. */
export const CatalogData = Schema.Struct({ offers: Schema.Array(Offer) })

const decodeData = Input.decode(CatalogData)

const invalid = (field: string, message: string) => Either.left(new InvalidInput({ field, message }))

/**
 * Validates catalog data from outside: every field, unique offer and rate ids, and every path and
 * add-on reference pointing at an offer of the right kind.
 */
export const decode = (input: unknown): Either.Either<ReadonlyArray<Offer>, InvalidInput> =>
  Either.flatMap(decodeData(input), ({ offers }) => {
    const byId = new Map<string, Offer>()
    const rateIds = new Set<string>()
    for (const [i, offer] of offers.entries()) {
      if (byId.has(offer.id)) return invalid(`offers[${i}].id`, `offer id ${offer.id} appears twice`)
      byId.set(offer.id, offer)
      for (const [j, rate] of offer.rates.entries()) {
        if (rateIds.has(rate.id)) return invalid(`offers[${i}].rates[${j}].id`, `rate id ${rate.id} appears twice`)
        rateIds.add(rate.id)
      }
    }
    for (const [i, offer] of offers.entries()) {
      for (const field of ["upgrades", "downgrades", "addOns"] as const) {
        const wanted = field === "addOns" ? "add_on" : "subscription"
        for (const [j, id] of offer[field].entries()) {
          const target = byId.get(id)
          if (target === undefined) return invalid(`offers[${i}].${field}[${j}]`, `no offer ${id} in the catalog`)
          if (target.kind !== wanted) {
            return invalid(`offers[${i}].${field}[${j}]`, `${id} is not a ${wanted.replace("_", "-")} offer`)
          }
          if (id === offer.id) return invalid(`offers[${i}].${field}[${j}]`, "an offer cannot point at itself")
        }
      }
      if (offer.minQuantity !== undefined && offer.maxQuantity !== undefined && offer.minQuantity > offer.maxQuantity) {
        return invalid(`offers[${i}].maxQuantity`, `maxQuantity ${offer.maxQuantity} is below minQuantity ${offer.minQuantity}`)
      }
      if (offer.kind === "add_on" && (offer.upgrades.length > 0 || offer.downgrades.length > 0 || offer.addOns.length > 0)) {
        return invalid(`offers[${i}]`, "an add-on has no upgrades, downgrades or add-ons of its own")
      }
    }
    return Either.right(offers)
  })

/** The ids an offer's paths and add-ons name. */
export const neighboursOf = (offer: Offer): ReadonlyArray<string> => [...offer.upgrades, ...offer.downgrades, ...offer.addOns]

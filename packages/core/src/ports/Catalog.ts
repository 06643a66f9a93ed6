/**
 * The `Catalog` port (offers and rates), and the validation of catalog data from outside.
 */
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import { InvalidInput, type StoreUnavailable } from "../domain/Errors.js"
import type { Offer } from "../domain/Offer.js"
import * as CatalogValidation from "../rules/CatalogValidation.js"

import type { RateOfOffer } from "../rules/CatalogHistory.js"

/** An offer with one of its rates. */
export type { RateOfOffer } from "../rules/CatalogHistory.js"

/**
 * The catalog port. Every read sees the catalog version in force at the reader's `Clock` instant;
 * an offer that version no longer has reads from the last version that had it, not sellable.
 */
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
    /** Every offer of the version in force, in id order. */
    readonly list: Effect.Effect<ReadonlyArray<Offer>, StoreUnavailable>
    /**
     * Inserts or replaces offers: publishes a version made of the latest one with these offers,
     * effective when the latest one is (since always when it is the first).
     */
    readonly put: (offers: ReadonlyArray<Offer>) => Effect.Effect<void, StoreUnavailable>
  }
>() {}

/**
 * Validates catalog data from outside (every field, unique offer and rate ids, every path, add-on
 * and policy reference) and gives its offers, or the first problem; `CatalogValidation.validate`
 * gives them all.
 */
export const decode = (input: unknown): Either.Either<ReadonlyArray<Offer>, InvalidInput> =>
  Either.mapBoth(CatalogValidation.validate(input), {
    onLeft: ({ problems }) => new InvalidInput({ field: problems[0]?.path ?? "body", message: problems[0]?.message ?? "invalid catalog" }),
    onRight: ({ document }) => document.offers
  })

/** The ids an offer's paths and add-ons name. */
export const neighboursOf = (offer: Offer): ReadonlyArray<string> => [...offer.upgrades, ...offer.downgrades, ...offer.addOns]

/**
 * The `CatalogVersions` port: immutable catalog versions, each with the instant it takes effect.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type {
  CatalogDocument,
  CatalogVersion,
  CatalogVersionSummary,
  InvalidEffectiveFrom
} from "../domain/CatalogDocument.js"
import type { StoreUnavailable } from "../domain/Errors.js"
import type { Actor } from "../domain/Event.js"
import type { Instant } from "../domain/Instant.js"

/**
 * What publishing stores; the store gives the version its number, and writes its
 * `catalog.published` event (`Event.catalogPublished`, by `actor`, for `reason`) in the same write.
 */
export interface Publication {
  readonly document: CatalogDocument
  readonly effectiveFrom: Instant
  readonly publishedAt: Instant
  readonly digest: string
  readonly actor: Actor
  readonly reason?: string | undefined
}

/** The catalog versions port. */
export class CatalogVersions extends Context.Tag("@subshift/core/CatalogVersions")<
  CatalogVersions,
  {
    /**
     * Stores a new version numbered after the last one. `InvalidEffectiveFrom` when it would take
     * effect before the last version does (versions take effect in the order they are numbered).
     */
    readonly publish: (publication: Publication) => Effect.Effect<CatalogVersion, InvalidEffectiveFrom | StoreUnavailable>
    /** Every version, oldest first, without documents. */
    readonly list: Effect.Effect<ReadonlyArray<CatalogVersionSummary>, StoreUnavailable>
    /** One version. */
    readonly get: (version: number) => Effect.Effect<Option.Option<CatalogVersion>, StoreUnavailable>
    /** The version in force at an instant: the latest one whose `effectiveFrom` has come. */
    readonly inForce: (at: Instant) => Effect.Effect<Option.Option<CatalogVersion>, StoreUnavailable>
  }
>() {}

/** The listing entry of a version. */
export const summaryOf = (v: CatalogVersion): CatalogVersionSummary => ({
  version: v.version,
  effectiveFrom: v.effectiveFrom,
  publishedAt: v.publishedAt,
  digest: v.digest,
  offers: v.document.offers.length
})

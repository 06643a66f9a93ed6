/** The `Catalog` port: the offers of the catalog version in force at the caller's clock. */
import type { Instant } from "@subshift/core/domain/Instant"
import * as Catalog from "@subshift/core/ports/Catalog"
import * as History from "@subshift/core/rules/CatalogHistory"
import * as CatalogValidation from "@subshift/core/rules/CatalogValidation"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { PortContext } from "./Edge.js"
import type { PgVersions } from "./PgCatalogVersions.js"

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString() as Instant)

/** Builds the `Catalog` port over the versions store. */
export const make = ({ edge, read }: PortContext, versions: PgVersions) => {
  const viewNow = Effect.flatMap(now, versions.viewAt)
  return Catalog.Catalog.of({
    getMany: (ids) => viewNow.pipe(Effect.map((view) => History.getMany(view, ids)), read("Catalog.getMany")),
    getWithNeighbours: (ids) =>
      viewNow.pipe(Effect.map((view) => History.getWithNeighbours(view, ids)), read("Catalog.getWithNeighbours")),
    findRate: (rateId) =>
      viewNow.pipe(Effect.map((view) => Option.fromNullable(view.rates.get(rateId))), read("Catalog.findRate")),
    list: viewNow.pipe(Effect.map(History.list), read("Catalog.list")),
    put: (offers) =>
      offers.length === 0 ? Effect.void : Effect.gen(function*() {
        const at = yield* now
        const base = yield* versions.latestView
        const document = { offers: History.withOffers(base.offers, offers), priceMigrations: [] }
        yield* versions.insert({
          document,
          effectiveFrom: base.effectiveFrom ?? History.BEGINNING,
          publishedAt: at,
          digest: CatalogValidation.digest(document)
        })
      }).pipe(Effect.catchTag("InvalidEffectiveFrom", (e) => Effect.die(e)), edge("Catalog.put"))
  })
}

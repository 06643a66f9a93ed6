/**
 * The catalog in memory: immutable versions in a list, and the `Catalog` port reading the version
 * in force at the caller's clock.
 */
import {
  type CatalogDocument,
  type CatalogVersion,
  InvalidEffectiveFrom
} from "@subshift/core/domain/CatalogDocument"
import * as Event from "@subshift/core/domain/Event"
import type { Instant } from "@subshift/core/domain/Instant"
import type { Offer } from "@subshift/core/domain/Offer"
import * as Catalog from "@subshift/core/ports/Catalog"
import { CatalogVersions, summaryOf } from "@subshift/core/ports/CatalogVersions"
import * as History from "@subshift/core/rules/CatalogHistory"
import * as CatalogValidation from "@subshift/core/rules/CatalogValidation"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

/** The versions, and the view of each, built once (versions never change). */
export interface CatalogState {
  readonly versions: Array<CatalogVersion>
  readonly views: Map<number, History.View>
}

const viewAt = (state: CatalogState, version: number | undefined): History.View => {
  if (version === undefined) return History.empty
  let view = state.views.get(version)
  if (view === undefined) {
    view = History.viewOf(state.versions.slice(0, version))
    state.views.set(version, view)
  }
  return view
}

/** The view of the latest version: every offer any version had. */
export const latestView = (state: CatalogState): History.View => viewAt(state, state.versions.at(-1)?.version)

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString() as Instant)

const viewNow = (state: CatalogState) =>
  Effect.map(now, (at) => viewAt(state, History.inForceAt(state.versions, at)))

const publish = (state: CatalogState, input: {
  readonly document: CatalogDocument
  readonly effectiveFrom: Instant
  readonly publishedAt: Instant
  readonly digest: string
}): CatalogVersion | InvalidEffectiveFrom => {
  const last = state.versions.at(-1)
  if (last !== undefined && input.effectiveFrom < last.effectiveFrom) {
    return new InvalidEffectiveFrom({ effectiveFrom: input.effectiveFrom, notBefore: last.effectiveFrom })
  }
  const version: CatalogVersion = { version: state.versions.length + 1, ...input }
  state.versions.push(version)
  return version
}

const documentOf = (offers: ReadonlyArray<Offer>): CatalogDocument => ({ offers, priceMigrations: [] })

/** A catalog state holding the seed offers, if any, as version 1 in force since always. */
export const makeState = (offers: ReadonlyArray<Offer>): CatalogState => {
  const state: CatalogState = { versions: [], views: new Map() }
  if (offers.length > 0) {
    const document = documentOf(History.withOffers([], offers))
    publish(state, { document, effectiveFrom: History.BEGINNING, publishedAt: History.BEGINNING, digest: CatalogValidation.digest(document) })
  }
  return state
}

/**
 * The `Catalog` and `CatalogVersions` ports over a state; a publish appends its
 * `catalog.published` event to the outbox through `record`, in the same step.
 */
export const ports = (state: CatalogState, record: (events: ReadonlyArray<Event.Event>) => void) => {
  const catalog = Catalog.Catalog.of({
    getMany: (ids) => Effect.map(viewNow(state), (view) => History.getMany(view, ids)),
    getWithNeighbours: (ids) => Effect.map(viewNow(state), (view) => History.getWithNeighbours(view, ids)),
    findRate: (rateId) => Effect.map(viewNow(state), (view) => Option.fromNullable(view.rates.get(rateId))),
    list: Effect.map(viewNow(state), History.list),
    put: (offers) =>
      Effect.map(now, (at) => {
        if (offers.length === 0) return
        const last = state.versions.at(-1)
        const document = documentOf(History.withOffers(last?.document.offers ?? [], offers))
        publish(state, {
          document,
          effectiveFrom: last?.effectiveFrom ?? History.BEGINNING,
          publishedAt: at,
          digest: CatalogValidation.digest(document)
        })
      })
  })
  const versions = CatalogVersions.of({
    publish: ({ actor, reason, ...input }) =>
      Effect.suspend(() => {
        const result = publish(state, input)
        if (result instanceof InvalidEffectiveFrom) return Effect.fail(result)
        record([Event.catalogPublished({ version: result.version, effectiveFrom: result.effectiveFrom, occurredAt: result.publishedAt, actor, reason })])
        return Effect.succeed(result)
      }),
    list: Effect.sync(() => state.versions.map(summaryOf)),
    get: (n) => Effect.sync(() => Option.fromNullable(state.versions[n - 1])),
    inForce: (at) =>
      Effect.sync(() => {
        const n = History.inForceAt(state.versions, at)
        return Option.fromNullable(n === undefined ? undefined : state.versions[n - 1])
      })
  })
  return { catalog, versions }
}

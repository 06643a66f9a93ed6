/**
 * The `Catalog` port, answered from the catalog of the generation in force, kept in memory. A
 * generation never changes once published (every write bumps the number in its transaction), so
 * a copy keyed by it is exact. A read that follows a basket or subscription read in the same
 * request trusts the generation that read saw (`Generation`); any other read sends one statement
 * that answers the generation and, only when it differs from the copy's, the whole catalog.
 */
import { Offer } from "@subshift/core/domain/Offer"
import * as Catalog from "@subshift/core/ports/Catalog"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { type PortContext, transaction } from "./Edge.js"
import type { Observed } from "./Generation.js"
import { decoder, encodeJson } from "./Rows.js"

const encodeOffers = encodeJson(Schema.Array(Offer))
const decodeOffers = decoder(Schema.Array(Offer))

/** The catalog of one generation. */
interface Snapshot {
  readonly generation: number
  readonly offers: ReadonlyArray<Offer>
  readonly byId: ReadonlyMap<string, Offer>
  readonly byRate: ReadonlyMap<string, Catalog.RateOfOffer>
}

// `rates` names the offer each rate id belongs to, as the rates table holds it.
const snapshotOf = (generation: number, offers: ReadonlyArray<Offer>, rates: Record<string, string>): Snapshot => {
  const byId = new Map(offers.map((o) => [o.id, o]))
  const byRate = new Map<string, Catalog.RateOfOffer>()
  for (const [rateId, offerId] of Object.entries(rates)) {
    const offer = byId.get(offerId)
    const rate = offer?.rates.find((r) => r.id === rateId)
    if (offer !== undefined && rate !== undefined) byRate.set(rateId, { offer, rate })
  }
  return { generation, offers, byId, byRate }
}

/** Builds the `Catalog` port over the store's generation notes. */
export const make = ({ edge, read, sql }: PortContext, observed: Observed) => {
  let kept: Snapshot | undefined

  // One statement, one snapshot: the generation and, unless it is the one kept, every offer.
  const fetch = (have: number) =>
    sql<{ readonly generation: string; readonly offers: string | null; readonly rates: string | null }>`SELECT
        g.generation::text AS generation,
        CASE WHEN g.generation = ${have} THEN NULL
          ELSE (SELECT COALESCE(json_agg(o.data ORDER BY o.id), '[]'::json)::text FROM subshift_offers o) END AS offers,
        CASE WHEN g.generation = ${have} THEN NULL
          ELSE (SELECT COALESCE(json_object_agg(r.id, r.offer_id), '{}'::json)::text FROM subshift_rates r) END AS rates
      FROM subshift_catalog_generation g WHERE g.id = 1`.withoutTransform

  const snapshot = Effect.gen(function*() {
    const seen = yield* observed.take
    if (kept !== undefined && seen !== undefined && kept.generation >= seen) return kept
    const rows = yield* fetch(kept?.generation ?? -1)
    const row = rows[0]
    if (row === undefined) return yield* Effect.dieMessage("store-postgres: the catalog generation row is missing")
    if (row.offers === null && kept !== undefined) return kept
    const rates = JSON.parse(row.rates ?? "{}") as Record<string, string>
    const next = snapshotOf(Number(row.generation), yield* decodeOffers(row.offers ?? "[]"), rates)
    if (kept === undefined || next.generation >= kept.generation) kept = next
    return next
  })

  const putOffers = (offers: ReadonlyArray<Offer>) =>
    Effect.gen(function*() {
      // Later duplicates win, as they would applied one by one; `ON CONFLICT DO UPDATE` refuses
      // to touch one row twice in a statement.
      const latest = Array.from(new Map(offers.map((o) => [o.id, o])).values())
      const rates = new Map<string, string>()
      for (const offer of latest) for (const rate of offer.rates) rates.set(rate.id, offer.id)
      const offersJson = yield* encodeOffers(latest)
      const ratesJson = JSON.stringify(Array.from(rates, ([id, offerId]) => ({ id, offer_id: offerId })))
      yield* transaction(sql)(Effect.all([
        sql`INSERT INTO subshift_offers (id, data)
          SELECT o->>'id', o FROM jsonb_array_elements(${offersJson}::jsonb) AS o
          ON CONFLICT (id) DO UPDATE SET data = excluded.data`.withoutTransform,
        sql`DELETE FROM subshift_rates WHERE offer_id = ANY(${latest.map((o) => o.id)}::text[])`.withoutTransform,
        sql`INSERT INTO subshift_rates (id, offer_id)
          SELECT id, offer_id FROM jsonb_to_recordset(${ratesJson}::jsonb) AS r(id text, offer_id text)
          ON CONFLICT (id) DO UPDATE SET offer_id = excluded.offer_id`.withoutTransform,
        sql`UPDATE subshift_catalog_generation SET generation = generation + 1 WHERE id = 1`.withoutTransform
      ], { discard: true }))
      kept = undefined
    })

  const pick = (ids: Iterable<string>, withNeighbours: boolean) => {
    const wanted = Array.from(new Set(ids))
    if (wanted.length === 0) return Effect.succeed(new Map<string, Offer>())
    return Effect.map(snapshot, ({ byId }) => {
      const found = new Map<string, Offer>()
      for (const id of wanted) {
        const offer = byId.get(id)
        if (offer === undefined) continue
        found.set(id, offer)
        if (!withNeighbours) continue
        for (const near of Catalog.neighboursOf(offer)) {
          const neighbour = byId.get(near)
          if (neighbour !== undefined) found.set(near, neighbour)
        }
      }
      return found as ReadonlyMap<string, Offer>
    })
  }

  return Catalog.Catalog.of({
    getMany: (ids) => pick(ids, false).pipe(read("Catalog.getMany")),
    getWithNeighbours: (ids) => pick(ids, true).pipe(read("Catalog.getWithNeighbours")),
    findRate: (rateId) =>
      snapshot.pipe(Effect.map(({ byRate }) => Option.fromNullable(byRate.get(rateId))), read("Catalog.findRate")),
    list: snapshot.pipe(Effect.map(({ offers }) => offers), read("Catalog.list")),
    put: (offers) => (offers.length === 0 ? Effect.void : putOffers(offers).pipe(edge("Catalog.put")))
  })
}

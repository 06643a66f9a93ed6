/** The `Catalog` port: offers as JSON, and a rate index for finding the offer of a rate. */
import * as Catalog from "@subshift/core/ports/Catalog"
import { Offer } from "@subshift/core/domain/Offer"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { PortContext } from "./Edge.js"
import { cachedDecoder, decodeFirst, decodeRows, encodeJson, type TextRow } from "./Rows.js"

const encodeOffers = encodeJson(Schema.Array(Offer))

/** Builds the `Catalog` port. */
export const make = ({ edge, read, sql }: PortContext) => {
  const decodeOffer = cachedDecoder(Offer, 4096)
  const offersById = (ids: ReadonlyArray<string>) =>
    sql<TextRow>`SELECT data::text AS data FROM subshift_offers WHERE id = ANY(${ids}::text[])`.withoutTransform
  const offerOfRate = (rateId: string) =>
    sql<TextRow>`SELECT o.data::text AS data FROM subshift_rates r JOIN subshift_offers o ON o.id = r.offer_id
      WHERE r.id = ${rateId}`.withoutTransform
  const allOffers = sql<TextRow>`SELECT data::text AS data FROM subshift_offers ORDER BY id`.withoutTransform
  // The offers and, in the same statement, those their paths and add-ons name.
  const offersWithNeighbours = (ids: ReadonlyArray<string>) =>
    sql<TextRow>`WITH named AS (SELECT id, data FROM subshift_offers WHERE id = ANY(${ids}::text[]))
      SELECT data::text AS data FROM named
      UNION ALL
      SELECT o.data::text AS data FROM subshift_offers o
        WHERE o.id IN (
          SELECT jsonb_array_elements_text(n.data->'upgrades') FROM named n
          UNION SELECT jsonb_array_elements_text(n.data->'downgrades') FROM named n
          UNION SELECT jsonb_array_elements_text(n.data->'addOns') FROM named n
        ) AND NOT (o.id = ANY(${ids}::text[]))`.withoutTransform

  const putOffers = (offers: ReadonlyArray<Offer>) =>
    Effect.gen(function*() {
      // Later duplicates win, as they would applied one by one; `ON CONFLICT DO UPDATE` refuses
      // to touch one row twice in a statement.
      const latest = Array.from(new Map(offers.map((o) => [o.id, o])).values())
      const rates = new Map<string, string>()
      for (const offer of latest) for (const rate of offer.rates) rates.set(rate.id, offer.id)
      const offersJson = yield* encodeOffers(latest)
      const ratesJson = JSON.stringify(Array.from(rates, ([id, offerId]) => ({ id, offer_id: offerId })))
      yield* sql.withTransaction(Effect.all([
        sql`INSERT INTO subshift_offers (id, data)
          SELECT o->>'id', o FROM jsonb_array_elements(${offersJson}::jsonb) AS o
          ON CONFLICT (id) DO UPDATE SET data = excluded.data`.withoutTransform,
        sql`DELETE FROM subshift_rates WHERE offer_id = ANY(${latest.map((o) => o.id)}::text[])`.withoutTransform,
        sql`INSERT INTO subshift_rates (id, offer_id)
          SELECT id, offer_id FROM jsonb_to_recordset(${ratesJson}::jsonb) AS r(id text, offer_id text)
          ON CONFLICT (id) DO UPDATE SET offer_id = excluded.offer_id`.withoutTransform
      ], { discard: true }))
    })

  const offerMap = (offers: ReadonlyArray<Offer>) => new Map(offers.map((offer) => [offer.id, offer]))

  return Catalog.Catalog.of({
    getMany: (ids) => {
      const wanted = Array.from(new Set(ids))
      if (wanted.length === 0) return Effect.succeed(new Map<string, Offer>())
      return offersById(wanted).pipe(Effect.flatMap(decodeRows(decodeOffer)), Effect.map(offerMap), read("Catalog.getMany"))
    },
    getWithNeighbours: (ids) => {
      const wanted = Array.from(new Set(ids))
      if (wanted.length === 0) return Effect.succeed(new Map<string, Offer>())
      return offersWithNeighbours(wanted).pipe(
        Effect.flatMap(decodeRows(decodeOffer)),
        Effect.map(offerMap),
        read("Catalog.getWithNeighbours")
      )
    },
    findRate: (rateId) =>
      offerOfRate(rateId).pipe(
        Effect.flatMap(decodeFirst(decodeOffer)),
        Effect.map(Option.flatMap((offer) =>
          Option.map(Option.fromNullable(offer.rates.find((r) => r.id === rateId)), (rate) => ({ offer, rate }))
        )),
        read("Catalog.findRate")
      ),
    list: allOffers.pipe(Effect.flatMap(decodeRows(decodeOffer)), read("Catalog.list")),
    put: (offers) => (offers.length === 0 ? Effect.void : putOffers(offers).pipe(edge("Catalog.put")))
  })
}

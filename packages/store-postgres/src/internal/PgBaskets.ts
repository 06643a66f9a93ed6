/** The `Baskets` port, and the versioned basket write a subscription commit runs in its transaction. */
import { Basket } from "@subshift/core/domain/Basket"
import { Baskets } from "@subshift/core/ports/Baskets"
import * as Event from "@subshift/core/domain/Event"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import { conflict, type PortContext, transaction } from "./Edge.js"
import { basketJson } from "./json.js"
import type { InsertEvents } from "./PgEvents.js"
import * as Generation from "./Generation.js"
import type { GenerationRow } from "./Generation.js"
import { type CachedDecode, cachedDecoder, decodeFirst, keepRecent, type TextRow } from "./Rows.js"
import type { Subscription } from "@subshift/core/domain/Subscription"
import { written } from "./Versioned.js"

/** A basket as this process last read or wrote it, with its subscription and the catalog generation then. */
interface Recent {
  readonly basket: Basket
  readonly subscription: Option.Option<Subscription>
  readonly generation: number
}

/** How many baskets are kept for updates that skip their read (the decoder keeps as many). */
const RECENT = 1024

/** The versioned basket write, for a commit's transaction. */
export type SaveBasket = ReturnType<typeof make>["save"]

/** Builds the `Baskets` port and `save`, the versioned write `Subscriptions.commit` reuses. */
export const make = (
  context: PortContext,
  insertEvents: InsertEvents,
  decodeSubscription: CachedDecode<Subscription>
) => {
  const { edge, observed, read, sql } = context
  // Baskets are large and mostly read once after their last write, so fewer are kept than offers.
  const decodeBasket = cachedDecoder(Basket, 1024)
  const finish = written(context)

  // Baskets as last read or written here, for an update to start from without a read; the save
  // that follows is then conditional on the basket's version, its subscription's and the
  // catalog's generation (`unconfirmed`, per fiber), so a move anywhere makes it a conflict.
  const recent = new Map<string, Recent>()
  const keep = (id: string, entry: Recent) => keepRecent(recent, RECENT, id, entry)
  const unconfirmed = FiberRef.unsafeMake<{ readonly id: string; readonly generation: number } | undefined>(undefined)

  // A basket is read before the catalog in every change, so its read carries the catalog's generation.
  const basketById = (id: string) =>
    sql<TextRow & GenerationRow>`SELECT data::text AS data, ${sql.literal(Generation.column)}
      FROM subshift_baskets WHERE id = ${id}`.withoutTransform.pipe(Effect.tap(observed.note))

  // The basket, its subscription and the catalog's generation: all an update reads, in one statement.
  const basketWithSubscription = (id: string) =>
    sql<TextRow & GenerationRow & { readonly subscription: string | null }>`SELECT b.data::text AS data,
        s.data::text AS subscription, ${sql.literal(Generation.column)}
      FROM subshift_baskets b LEFT JOIN subshift_subscriptions s ON s.id = b.subscription_id
      WHERE b.id = ${id}`.withoutTransform.pipe(Effect.tap(observed.note))

  const insertBasket = (b: Basket) =>
    Effect.flatMap(basketJson(b), (json) =>
      sql<TextRow>`INSERT INTO subshift_baskets (id, subscription_id, version, expires_at, data)
        VALUES (${b.id}, ${b.subscriptionId}, ${b.version}, ${b.expiresAt}::timestamptz, ${json}::jsonb)
        ON CONFLICT (id) DO NOTHING
        RETURNING data::text AS data`.withoutTransform)

  // One statement: the version check and the write are atomic. After an unconfirmed read it also
  // checks that the subscription and the catalog are as that read had them.
  const update = (b: Basket, expectedVersion: number, confirm?: { readonly generation: number }) =>
    Effect.flatMap(basketJson(b), (json) =>
      sql<TextRow>`UPDATE subshift_baskets SET version = ${b.version}, expires_at = ${b.expiresAt}::timestamptz,
          subscription_id = ${b.subscriptionId}, data = ${json}::jsonb
        WHERE id = ${b.id} AND version = ${expectedVersion}${
        confirm === undefined ? sql`` : sql`
          AND EXISTS (SELECT 1 FROM subshift_subscriptions WHERE id = ${b.subscriptionId} AND version = ${b.subscriptionVersion})
          AND (SELECT generation FROM subshift_catalog_generation WHERE id = 1) = ${confirm.generation}`
      }
        RETURNING data::text AS data`.withoutTransform).pipe(
        // A confirming write that matched nothing is redone from a fresh read, which finds what
        // moved: no second statement to name the version that won.
        finish("basket", b, expectedVersion, decodeBasket.remember, confirm === undefined)
      )

  // The port's write, committed on its own: what it wrote is kept for the next update.
  const saveAlone = (b: Basket, expectedVersion: number) =>
    Effect.flatMap(FiberRef.getAndSet(unconfirmed, undefined), (read) => {
      const kept = recent.get(b.id)
      return update(b, expectedVersion, read !== undefined && read.id === b.id ? read : undefined).pipe(
        Effect.tapBoth({
          onFailure: () => Effect.sync(() => recent.delete(b.id)),
          onSuccess: () =>
            Effect.sync(() => {
              // Kept only with the subscription it was priced on (a catch-up may have moved it).
              if (kept !== undefined && Option.exists(kept.subscription, (s) => s.version === b.subscriptionVersion)) {
                keep(b.id, { ...kept, basket: b })
              } else recent.delete(b.id)
            })
        })
      )
    })

  // The write inside a commit's transaction, which may yet roll back: nothing of it is kept.
  const save = (b: Basket, expectedVersion: number) =>
    Effect.zipRight(Effect.sync(() => recent.delete(b.id)), update(b, expectedVersion))

  // What a `basket.expired` event needs: the basket's owner and its subscription's, if it exists.
  const expiredBaskets = (now: string) =>
    sql<{
      readonly id: string
      readonly subscription_id: string
      readonly owner_kind: "customer" | "partner"
      readonly owner_id: string
      readonly owner: string | null
      readonly partner_org: string | null
    }>`WITH d AS (
        DELETE FROM subshift_baskets WHERE expires_at <= ${now}::timestamptz
        RETURNING id, subscription_id, data->'owner'->>'kind' AS owner_kind, data->'owner'->>'id' AS owner_id
      )
      SELECT d.id, d.subscription_id, d.owner_kind, d.owner_id, s.owner, s.partner_org
      FROM d LEFT JOIN subshift_subscriptions s ON s.id = d.subscription_id
      ORDER BY d.id`.withoutTransform

  const baskets = Baskets.of({
    create: (basket) =>
      insertBasket(basket).pipe(
        Effect.flatMap((rows) =>
          rows.length === 1
            ? Effect.sync(() => decodeBasket.remember(rows[0]!.data, basket))
            : Effect.fail(conflict("basket", basket.id, 0, null))
        ),
        edge("Baskets.create")
      ),
    findById: (id) => basketById(id).pipe(Effect.flatMap(decodeFirst(decodeBasket)), read("Baskets.findById")),
    findWithSubscription: (id, options) => {
      const kept = options?.recent === true ? recent.get(id) : undefined
      if (kept !== undefined) {
        return Effect.as(
          Effect.zipRight(observed.noteGeneration(kept.generation), FiberRef.set(unconfirmed, { id, generation: kept.generation })),
          Option.some({ basket: kept.basket, subscription: kept.subscription, unconfirmed: true })
        )
      }
      return basketWithSubscription(id).pipe(
        Effect.flatMap((rows) => {
          const row = rows[0]
          if (row === undefined) return Effect.succeedNone
          return Effect.all({
            basket: decodeBasket(row.data),
            subscription: row.subscription === null ? Effect.succeedNone : Effect.asSome(decodeSubscription(row.subscription))
          }).pipe(
            Effect.tap((found) => {
              if (row.catalog_generation !== null) keep(id, { ...found, generation: Number(row.catalog_generation) })
            }),
            Effect.asSome
          )
        }),
        Effect.zipLeft(FiberRef.set(unconfirmed, undefined)),
        read("Baskets.findWithSubscription")
      )
    },
    save: (basket, expectedVersion) => saveAlone(basket, expectedVersion).pipe(edge("Baskets.save")),
    deleteExpired: (now) =>
      transaction(sql)(Effect.gen(function*() {
        const deleted = yield* expiredBaskets(now)
        yield* insertEvents(deleted.map((row) =>
          Event.basketExpired(
            { id: row.id, subscriptionId: row.subscription_id, owner: { kind: row.owner_kind, id: row.owner_id } },
            row.owner === null ? undefined : { owner: row.owner, partnerOrg: row.partner_org ?? undefined },
            now
          )
        ))
        return deleted.length
      })).pipe(edge("Baskets.deleteExpired"))
  })

  return { baskets, save }
}

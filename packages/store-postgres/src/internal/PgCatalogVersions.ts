/**
 * Catalog versions on Postgres: one row per immutable version holding its document, numbered in
 * the order they take effect. Reads find the version in force with one indexed statement and
 * build its view once per process (a version never changes), so the catalog costs one small
 * query per read however large it is.
 */
import {
  type CatalogVersion,
  CatalogVersion as CatalogVersionSchema,
  InvalidEffectiveFrom
} from "@subshift/core/domain/CatalogDocument"
import * as Event from "@subshift/core/domain/Event"
import type { Instant } from "@subshift/core/domain/Instant"
import { CatalogVersions, type Publication, summaryOf } from "@subshift/core/ports/CatalogVersions"
import * as History from "@subshift/core/rules/CatalogHistory"
import * as CatalogValidation from "@subshift/core/rules/CatalogValidation"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { type PortContext, transaction } from "./Edge.js"
import type { Observed } from "./Generation.js"
import type { InsertEvents } from "./PgEvents.js"

/**
 * Migration: the versions table, and the offers stored before versions existed as version 1, in
 * force since always. Instants are canonical ISO text, so text order is time order.
 */
export const migration = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all([
    sql`CREATE TABLE subshift_catalog_versions (
      version integer PRIMARY KEY,
      effective_from text COLLATE "C" NOT NULL,
      published_at text NOT NULL,
      digest text NOT NULL,
      document jsonb NOT NULL
    )`,
    sql`CREATE INDEX subshift_catalog_versions_effective ON subshift_catalog_versions (effective_from, version)`,
    sql`INSERT INTO subshift_catalog_versions (version, effective_from, published_at, digest, document)
      SELECT 1, ${History.BEGINNING}, ${History.BEGINNING}, '',
        jsonb_build_object('offers', jsonb_agg(data ORDER BY id), 'priceMigrations', '[]'::jsonb)
      FROM subshift_offers HAVING count(*) > 0`,
    sql`DROP TABLE subshift_rates`,
    sql`DROP TABLE subshift_offers`
  ], { discard: true }))

interface VersionRow {
  readonly version: number
  readonly effective_from: string
  readonly published_at: string
  readonly digest: string
  readonly document: string
}

const decodeVersion = Schema.decodeUnknown(CatalogVersionSchema)

const toVersion = (row: VersionRow) =>
  Effect.map(
    decodeVersion({
      version: row.version,
      effectiveFrom: row.effective_from,
      publishedAt: row.published_at,
      digest: row.digest,
      document: JSON.parse(row.document)
    }),
    // Version 1 made by the migration has no digest yet: it is the digest of its document.
    (v): CatalogVersion => (v.digest === "" ? { ...v, digest: CatalogValidation.digest(v.document) } : v)
  )

/** Every version, and the view of each built once it is read (versions never change). */
interface Snapshot {
  readonly generation: number
  readonly versions: ReadonlyArray<CatalogVersion>
  readonly views: Map<number, History.View>
}

/**
 * The versions store and the views of the catalog, over the store's SQL client. The versions are
 * kept in memory under the catalog generation, which every publish bumps in its transaction: a
 * read that follows a basket or subscription read trusts the generation that read saw
 * (`Generation`); any other read sends one statement answering the generation and, only when it
 * changed, every version. The version in force is then chosen in memory at the caller's clock, so
 * a version taking effect later needs no write to take over.
 */
export const make = ({ edge, read, sql }: PortContext, observed: Observed, insertEvents: InsertEvents) => {
  const columns = sql`SELECT version, effective_from, published_at, digest, document::text AS document
    FROM subshift_catalog_versions`
  let kept: Snapshot | undefined

  const fetch = (have: number) =>
    sql<{ readonly generation: string; readonly versions: string | null }>`SELECT g.generation::text AS generation,
        CASE WHEN g.generation = ${have} THEN NULL
          ELSE (SELECT COALESCE(json_agg(json_build_object('version', v.version, 'effective_from', v.effective_from,
            'published_at', v.published_at, 'digest', v.digest, 'document', v.document::text) ORDER BY v.version), '[]'::json)::text
            FROM subshift_catalog_versions v) END AS versions
      FROM subshift_catalog_generation g WHERE g.id = 1`.withoutTransform

  const snapshot = Effect.gen(function*() {
    const seen = yield* observed.take
    if (kept !== undefined && seen !== undefined && kept.generation >= seen) return kept
    const [row] = yield* fetch(kept?.generation ?? -1)
    if (row === undefined) return yield* Effect.dieMessage("store-postgres: the catalog generation row is missing")
    if (row.versions === null && kept !== undefined) return kept
    const versions = yield* Effect.forEach(JSON.parse(row.versions ?? "[]") as ReadonlyArray<VersionRow>, toVersion)
    const next: Snapshot = { generation: Number(row.generation), versions, views: new Map() }
    if (kept === undefined || next.generation >= kept.generation) kept = next
    return next
  })

  const viewOf = (s: Snapshot, version: number | undefined) => {
    if (version === undefined) return History.empty
    let view = s.views.get(version)
    if (view === undefined) {
      view = History.viewOf(s.versions.filter((v) => v.version <= version))
      s.views.set(version, view)
    }
    return view
  }

  /** The view in force at an instant. */
  const viewAt = (at: Instant) => Effect.map(snapshot, (s) => viewOf(s, History.inForceAt(s.versions, at)))
  /** The view of the latest version: every offer any version had. */
  const latestView = Effect.map(snapshot, (s) => viewOf(s, s.versions.at(-1)?.version))

  // A version, and its catalog.published event when it has an author (a publish); the offers
  // `Catalog.put` seeds are a version without one.
  const insert = (input: Omit<Publication, "actor" | "reason">, author?: Pick<Publication, "actor" | "reason">) =>
    transaction(sql)(Effect.gen(function*() {
      // One publisher at a time (the generation row, locked to the end of the transaction), so
      // numbers follow one another and effective instants stay in order.
      yield* sql`SELECT generation FROM subshift_catalog_generation WHERE id = 1 FOR UPDATE`.withoutTransform
      const [last] = yield* sql<{ readonly version: number; readonly effective_from: string }>`SELECT version, effective_from
        FROM subshift_catalog_versions ORDER BY version DESC LIMIT 1`.withoutTransform
      if (last !== undefined && input.effectiveFrom < last.effective_from) {
        return yield* new InvalidEffectiveFrom({ effectiveFrom: input.effectiveFrom, notBefore: last.effective_from })
      }
      const version = (last?.version ?? 0) + 1
      const documentJson = JSON.stringify(Schema.encodeSync(CatalogVersionSchema.fields.document)(input.document))
      yield* sql`INSERT INTO subshift_catalog_versions (version, effective_from, published_at, digest, document)
        VALUES (${version}, ${input.effectiveFrom}, ${input.publishedAt}, ${input.digest}, ${documentJson}::jsonb)`.withoutTransform
      yield* sql`UPDATE subshift_catalog_generation SET generation = generation + 1 WHERE id = 1`.withoutTransform
      if (author !== undefined) {
        yield* insertEvents([Event.catalogPublished({ version, effectiveFrom: input.effectiveFrom, occurredAt: input.publishedAt, ...author })])
      }
      const stored: CatalogVersion = { version, ...input }
      return stored
    })).pipe(Effect.tap(() => void (kept = undefined)))

  const port = CatalogVersions.of({
    publish: ({ actor, reason, ...input }) => insert(input, { actor, reason }).pipe(edge("CatalogVersions.publish")),
    list: sql<Omit<VersionRow, "document"> & { readonly offers: number; readonly document: string | null }>`SELECT version,
        effective_from, published_at, digest, jsonb_array_length(document->'offers') AS offers,
        CASE WHEN digest = '' THEN document::text END AS document
      FROM subshift_catalog_versions ORDER BY version`.withoutTransform.pipe(
        Effect.flatMap(Effect.forEach((row) =>
          row.document === null
            ? Effect.succeed({
              version: row.version,
              effectiveFrom: row.effective_from as Instant,
              publishedAt: row.published_at as Instant,
              digest: row.digest,
              offers: row.offers
            })
            : Effect.map(toVersion({ ...row, document: row.document }), summaryOf)
        )),
        read("CatalogVersions.list")
      ),
    get: (version) =>
      sql<VersionRow>`${columns} WHERE version = ${version}`.withoutTransform.pipe(
        Effect.flatMap((rows) => rows[0] === undefined ? Effect.succeedNone : Effect.asSome(toVersion(rows[0]))),
        read("CatalogVersions.get")
      ),
    inForce: (at) =>
      snapshot.pipe(
        Effect.map((s) => {
          const n = History.inForceAt(s.versions, at)
          return Option.fromNullable(s.versions.find((v) => v.version === n))
        }),
        read("CatalogVersions.inForce")
      )
  })

  return { port, viewAt, latestView, insert } as const
}

/** What `make` gives. */
export type PgVersions = ReturnType<typeof make>

/**
 * A catalog document as an operator writes it (JSON or YAML at the edge), the versions it is
 * published as, and the problems and warnings its validation reports.
 */
import * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import { CalendarDate } from "./CalendarDate.js"
import { Instant } from "./Instant.js"
import { Offer, OfferId } from "./Offer.js"

/**
 * A price migration: from `from`, the offer's new prices apply to existing subscribers too, each at
 * its first period start on or after that date.
 */
export const PriceMigration = Schema.Struct({
  offerId: OfferId,
  from: CalendarDate
}).annotations({ identifier: "PriceMigration" })
export type PriceMigration = typeof PriceMigration.Type

/** A catalog document: the offers, and the price migrations it asks for. */
export const CatalogDocument = Schema.Struct({
  /** Where an editor finds this schema (ignored by the engine). */
  $schema: Schema.optional(Schema.String),
  offers: Schema.Array(Offer),
  priceMigrations: Schema.optionalWith(Schema.Array(PriceMigration), { default: () => [] })
}).annotations({ identifier: "CatalogDocument", title: "Subshift catalog" })
export type CatalogDocument = typeof CatalogDocument.Type

/** A published, immutable catalog version. */
export const CatalogVersion = Schema.Struct({
  version: Schema.Int.pipe(Schema.positive()),
  effectiveFrom: Instant,
  publishedAt: Instant,
  /** A digest of the document's canonical JSON: the same document gives the same digest. */
  digest: Schema.String,
  document: CatalogDocument
})
export type CatalogVersion = typeof CatalogVersion.Type

/** A version without its document, as a listing gives it. */
export const CatalogVersionSummary = Schema.Struct({
  version: Schema.Int,
  effectiveFrom: Instant,
  publishedAt: Instant,
  digest: Schema.String,
  offers: Schema.Int
})
export type CatalogVersionSummary = typeof CatalogVersionSummary.Type

/** One thing wrong with a document, at its path (`offers[3].rates[0].currency`). */
export const Problem = Schema.Struct({ path: Schema.String, message: Schema.String })
export type Problem = typeof Problem.Type

/** The document does not validate; every problem is listed. */
export class InvalidCatalog extends Schema.TaggedError<InvalidCatalog>()("InvalidCatalog", {
  problems: Schema.Array(Problem)
}) {
  override get message() {
    return `the catalog has ${this.problems.length} problem${this.problems.length === 1 ? "" : "s"}: ${
      this.problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`).join("; ")
    }`
  }
}

/** A version cannot take effect when asked (in the past, or before the version it follows). */
export class InvalidEffectiveFrom extends Schema.TaggedError<InvalidEffectiveFrom>()("InvalidEffectiveFrom", {
  effectiveFrom: Schema.String,
  notBefore: Schema.String
}) {
  override get message() {
    return `effectiveFrom ${this.effectiveFrom} is before ${this.notBefore}; a version takes effect now or later, and after the version before it`
  }
}

/** No catalog version has this number. */
export class CatalogVersionNotFound extends Schema.TaggedError<CatalogVersionNotFound>()("CatalogVersionNotFound", {
  version: Schema.Number
}) {
  override get message() {
    return `there is no catalog version ${this.version}`
  }
}

/** The JSON Schema of a catalog document, for editors to validate as the operator types. */
export const jsonSchema = () => JSONSchema.make(CatalogDocument)

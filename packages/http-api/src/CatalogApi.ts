/**
 * The operator's catalog over HTTP: validate a document (nothing stored), publish it as a new
 * version, read the version in force, the versions and one version, and the document's JSON
 * Schema. Writes need scope `catalog:write`, reads `admin:read`.
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as CatalogDocument from "@subshift/core/domain/CatalogDocument"
import { Instant } from "@subshift/core/domain/Instant"
import { CatalogDiff } from "@subshift/core/rules/CatalogDiff"
import { HeldOffer, Impact } from "@subshift/core/rules/CatalogImpact"
import * as Schema from "effect/Schema"
import * as AdminSecurity from "./AdminSecurity.js"
import * as HttpErrors from "./HttpErrors.js"

/** 400: the document does not validate; `details.problems` lists every problem with its path. */
export const InvalidCatalog = HttpErrors.envelope(
  CatalogDocument.InvalidCatalog,
  400,
  "The catalog does not validate; every problem is listed with its path."
)
/** 400: the version would take effect in the past, or before the latest version. */
export const InvalidEffectiveFrom = HttpErrors.envelope(
  CatalogDocument.InvalidEffectiveFrom,
  400,
  "effectiveFrom is in the past or before the latest version's."
)
/** 404: no such version (or no version in force yet). */
export const CatalogVersionNotFound = HttpErrors.envelope(CatalogDocument.CatalogVersionNotFound, 404, "No such catalog version.")

/** When the version takes effect: now when absent. */
export const PublishParams = Schema.Struct({ effectiveFrom: Schema.optional(Instant) })

const Problems = Schema.Array(CatalogDocument.Problem)

/** The answer to a validation. */
export const Validation = Schema.Struct({
  valid: Schema.Literal(true),
  warnings: Problems,
  diff: CatalogDiff,
  impact: Impact
}).annotations({ identifier: "CatalogValidation" })

/** The answer to a publish. */
export const Published = Schema.Struct({
  version: Schema.Int,
  effectiveFrom: Instant,
  warnings: Problems,
  diff: CatalogDiff,
  held: Schema.Array(HeldOffer)
}).annotations({ identifier: "CatalogPublished" })

/** A list of versions. */
export const VersionList = Schema.Struct({ items: Schema.Array(CatalogDocument.CatalogVersionSummary) })

/** A catalog document, sent as the body: decoded by the server, which reports every problem. */
const DocumentBody = Schema.Unknown.annotations({
  identifier: "CatalogDocumentBody",
  description: "A catalog document (see GET /api/admin/catalog/schema)."
})

const Version = CatalogDocument.CatalogVersion.annotations({ identifier: "CatalogVersion" })

/** The catalog group. */
export class AdminCatalogGroup extends HttpApiGroup.make("adminCatalog")
  .add(
    HttpApiEndpoint.post("validate", "/api/admin/catalog/validate")
      .setUrlParams(PublishParams)
      .setPayload(DocumentBody)
      .addSuccess(Validation)
      .addError(InvalidCatalog)
      .addError(InvalidEffectiveFrom)
      .middleware(AdminSecurity.CatalogWrite)
      .annotate(OpenApi.Summary, "Validate a catalog: its diff and its impact on live subscriptions, nothing stored (scope catalog:write)")
  )
  .add(
    HttpApiEndpoint.put("publish", "/api/admin/catalog")
      .setUrlParams(PublishParams)
      .setPayload(DocumentBody)
      .addSuccess(Published, { status: 201 })
      .addError(InvalidCatalog)
      .addError(InvalidEffectiveFrom)
      .middleware(AdminSecurity.CatalogWrite)
      .annotate(OpenApi.Summary, "Publish a catalog as a new immutable version, effective now or at effectiveFrom (scope catalog:write)")
  )
  .add(
    HttpApiEndpoint.get("current", "/api/admin/catalog")
      .addSuccess(Version)
      .addError(CatalogVersionNotFound)
      .middleware(AdminSecurity.AdminRead)
      .annotate(OpenApi.Summary, "The catalog version in force (scope admin:read)")
  )
  .add(
    HttpApiEndpoint.get("versions", "/api/admin/catalog/versions")
      .addSuccess(VersionList)
      .middleware(AdminSecurity.AdminRead)
      .annotate(OpenApi.Summary, "Every catalog version with the instant it takes effect (scope admin:read)")
  )
  .add(
    HttpApiEndpoint.get("version", "/api/admin/catalog/versions/:version")
      .setPath(Schema.Struct({ version: HttpApiSchema.param("version", Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 2_147_483_647))) }))
      .addSuccess(Version)
      .addError(CatalogVersionNotFound)
      .middleware(AdminSecurity.AdminRead)
      .annotate(OpenApi.Summary, "One catalog version (scope admin:read)")
  )
  .add(
    HttpApiEndpoint.get("schema", "/api/admin/catalog/schema")
      .addSuccess(Schema.Unknown.annotations({ identifier: "CatalogJsonSchema" }))
      .middleware(AdminSecurity.AdminRead)
      .annotate(OpenApi.Summary, "The JSON Schema of a catalog document, for editors (scope admin:read)")
  )
  .annotate(OpenApi.Title, "Operator catalog")
  .annotate(OpenApi.Description, "Catalog versions: validate, publish, read.")
{}

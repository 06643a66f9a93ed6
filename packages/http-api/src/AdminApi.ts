/**
 * The operator plane: every `/api/admin/*` endpoint, in groups by what they manage. Each endpoint
 * names the admin middleware of the scope it needs (`AdminSecurity`).
 *
 * Adding a group: define it in its own file next to this one (e.g. `AdminCatalogApi.ts`) as
 * `HttpApiGroup.make("adminX")` with paths under `/api/admin/`, add it to `AdminApi` below
 * (whose groups `Api.ts` adds to the API), and implement it on the server in
 * `packages/http-server/src/admin/<X>.ts`, added to `admin/index.ts`'s `layer`. Writes record
 * an audit entry through `admin/Audit.ts` on the server.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Operator, StoredAuditEntry } from "@subshift/core/domain/Operator"
import * as Schema from "effect/Schema"
import * as AdminSecurity from "./AdminSecurity.js"
import { AdminRecordsGroup } from "./AdminRecordsApi.js"
import { AdminCatalogGroup } from "./CatalogApi.js"
import { WebhooksGroup } from "./WebhooksApi.js"

/** The page query of the audit log. */
export const AuditParams = Schema.Struct({
  after: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(0, Number.MAX_SAFE_INTEGER))),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)))
})

/** A page of the audit log, in write order; send `next` back as `after`. */
export const AuditPage = Schema.Struct({
  items: Schema.Array(StoredAuditEntry.annotations({ identifier: "AuditEntry" })),
  next: Schema.Int,
  hasMore: Schema.Boolean
}).annotations({ identifier: "AuditPage" })

/** Who the key is, and the audit log of operator writes. */
export class AdminKeysGroup extends HttpApiGroup.make("adminKeys")
  .add(
    HttpApiEndpoint.get("whoami", "/api/admin/whoami")
      .addSuccess(Schema.typeSchema(Operator).annotations({ identifier: "Operator" }))
      .middleware(AdminSecurity.AdminAny)
      .annotate(OpenApi.Summary, "The key this request was made with: its name, id and scopes (never the secret)")
  )
  .add(
    HttpApiEndpoint.get("audit", "/api/admin/audit")
      .setUrlParams(AuditParams)
      .addSuccess(AuditPage)
      .middleware(AdminSecurity.AdminRead)
      .annotate(OpenApi.Summary, "Operator writes in write order, each naming its key and reason (scope admin:read)")
  )
  .annotate(OpenApi.Title, "Operator keys and audit")
  .annotate(OpenApi.Description, "Operator API keys (`ssk_…`) and the audit log of every operator write.")
{}

/** Every admin group: `Api.ts` adds this API's groups to the whole API. */
export class AdminApi extends HttpApi.make("subshift-admin")
  .add(AdminKeysGroup)
  .add(AdminRecordsGroup)
  .add(AdminCatalogGroup)
  .add(WebhooksGroup)
{}

/**
 * The security of the operator plane (`/api/admin/*`): an operator API key (`ssk_…`) as a Bearer
 * token, and one middleware per scope. An endpoint names the middleware of the scope it needs
 * (`.middleware(AdminSecurity.SubscriptionsWrite)`); each provides the request's
 * `CurrentOperator` (the key's name and id, never its secret) and fails with 401 (no key, an
 * unknown, malformed or expired key) or 403 (a key without the scope, or a customer's or
 * partner's credential, which never reaches an admin route).
 */
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import { type AdminScope, CurrentOperator } from "@subshift/core/domain/Operator"
import * as HttpErrors from "./HttpErrors.js"

/** The reason an operator gives for a write, kept in the audit log. */
export const REASON_HEADER = "X-Subshift-Reason"

/** An operator API key as a Bearer token. */
export const adminKey = HttpApiSecurity.bearer.pipe(
  HttpApiSecurity.annotate(
    OpenApi.Description,
    "An operator API key (`ssk_…`), created with `subshift keys create` and configured as a hash in SUBSHIFT_API_KEYS."
  )
)

const options = { provides: CurrentOperator, failure: HttpErrors.AuthFailure, security: { adminKey } } as const

/** Any valid operator key, whatever its scopes. */
export class AdminAny extends HttpApiMiddleware.Tag<AdminAny>()("@subshift/http-api/AdminAny", options) {}
/** An operator key with scope `admin:read`. */
export class AdminRead extends HttpApiMiddleware.Tag<AdminRead>()("@subshift/http-api/AdminRead", options) {}
/** An operator key with scope `subscriptions:write`. */
export class SubscriptionsWrite extends HttpApiMiddleware.Tag<SubscriptionsWrite>()("@subshift/http-api/SubscriptionsWrite", options) {}
/** An operator key with scope `catalog:write`. */
export class CatalogWrite extends HttpApiMiddleware.Tag<CatalogWrite>()("@subshift/http-api/CatalogWrite", options) {}
/** An operator key with scope `webhooks:write`. */
export class WebhooksWrite extends HttpApiMiddleware.Tag<WebhooksWrite>()("@subshift/http-api/WebhooksWrite", options) {}

/** Each admin middleware with the scope it requires (`undefined`: any). */
export const scopeOf = {
  AdminAny: undefined,
  AdminRead: "admin:read",
  SubscriptionsWrite: "subscriptions:write",
  CatalogWrite: "catalog:write",
  WebhooksWrite: "webhooks:write"
} as const satisfies Record<string, AdminScope | undefined>

/**
 * The security of the API: who may call what. The contract names the schemes (for OpenAPI and
 * the client); `@subshift/http-server` implements them. Each middleware provides the request's
 * `CurrentPrincipal` to the handlers and fails with 401 (no or bad credentials) or 403 (the
 * caller is known but this endpoint is not theirs).
 */
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import { CurrentPrincipal } from "@subshift/core/domain/Principal"
import * as HttpErrors from "./HttpErrors.js"

/** The partner API-token header. */
export const PARTNER_TOKEN_HEADER = "X-Partner-Token"

/** A Bearer JWT. */
export const bearer = HttpApiSecurity.bearer.pipe(
  HttpApiSecurity.annotate(OpenApi.Description, "A JWT: a customer's (subject = customer id, scope `checkout`) or a partner's (`lmo:partner_org` claim, scope `partner`).")
)

/** An API token issued to a partner organisation. */
export const partnerToken = HttpApiSecurity.apiKey({ in: "header", key: PARTNER_TOKEN_HEADER }).pipe(
  HttpApiSecurity.annotate(OpenApi.Description, "An API token issued to a partner organisation.")
)

/** A customer acting on their own subscriptions: Bearer JWT with scope `checkout`. */
export class CustomerAuth extends HttpApiMiddleware.Tag<CustomerAuth>()("@subshift/http-api/CustomerAuth", {
  provides: CurrentPrincipal,
  failure: HttpErrors.AuthFailure,
  security: { bearer }
}) {}

/** A partner organisation: Bearer JWT with the partner claim and scope `partner`, or `X-Partner-Token`. */
export class PartnerAuth extends HttpApiMiddleware.Tag<PartnerAuth>()("@subshift/http-api/PartnerAuth", {
  provides: CurrentPrincipal,
  failure: HttpErrors.AuthFailure,
  security: { bearer, partnerToken }
}) {}

/** A partner organisation holding the self-service scope (`mma`) as well. */
export class PartnerMmaAuth extends HttpApiMiddleware.Tag<PartnerMmaAuth>()("@subshift/http-api/PartnerMmaAuth", {
  provides: CurrentPrincipal,
  failure: HttpErrors.AuthFailure,
  security: { bearer, partnerToken }
}) {}

/** The scope a customer credential needs. */
export const CUSTOMER_SCOPE = "checkout"
/** The scope a partner credential needs. */
export const PARTNER_SCOPE = "partner"
/** The extra scope of the partner self-service endpoints. */
export const MMA_SCOPE = "mma"

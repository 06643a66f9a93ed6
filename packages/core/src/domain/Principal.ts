/**
 * Who is calling: a customer acting for themselves, or a partner organisation acting for its
 * customers. The principal is request-scoped: services read `CurrentPrincipal` on every call.
 */
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import { PartnerOrgId } from "./Offer.js"

/** A customer, identified by their customer id (the JWT subject). */
export class Customer extends Schema.TaggedClass<Customer>()("Customer", {
  customerId: Schema.String
}) {}

/** A partner organisation, with the scopes its credentials carry (e.g. `partner`, `mma`). */
export class Partner extends Schema.TaggedClass<Partner>()("Partner", {
  partnerOrg: PartnerOrgId,
  scopes: Schema.Array(Schema.String)
}) {}

/** A caller. */
export const Principal = Schema.Union(Customer, Partner)
export type Principal = typeof Principal.Type

/** A stored reference to the principal that owns something (a basket, an amendment). */
export const PrincipalRef = Schema.Struct({
  kind: Schema.Literal("customer", "partner"),
  id: Schema.String
})
export type PrincipalRef = typeof PrincipalRef.Type

/** The principal of the current request. */
export class CurrentPrincipal extends Context.Tag("@subshift/core/CurrentPrincipal")<CurrentPrincipal, Principal>() {}

/** The reference under which a principal owns things. */
export const toRef = (principal: Principal): PrincipalRef =>
  principal._tag === "Customer"
    ? { kind: "customer", id: principal.customerId }
    : { kind: "partner", id: principal.partnerOrg }

/** Whether a principal owns a thing recorded under `ref`. */
export const owns = (principal: Principal, ref: PrincipalRef): boolean => {
  const own = toRef(principal)
  return own.kind === ref.kind && own.id === ref.id
}

/**
 * Whether a principal may see and change a subscription: a customer owns it; a partner
 * organisation sold it. Anything else is reported as not found by the services.
 */
export const canAccess = (
  principal: Principal,
  subscription: { readonly owner: string; readonly partnerOrg?: string | undefined }
): boolean =>
  principal._tag === "Customer"
    ? subscription.owner === principal.customerId
    : subscription.partnerOrg !== undefined && subscription.partnerOrg === principal.partnerOrg

/**
 * Taking back a scheduled change: the subscriber through the checkout API, a partner through its
 * self-service API. Both answer the subscription as it now stands (unlocked), with the change
 * that was taken back; someone else's subscription is a 404, and a subscription with nothing
 * scheduled (never, withdrawn already, or already in effect) a 409 `NoPendingChange`.
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { PendingChange } from "@subshift/core/domain/Amendment"
import * as Schema from "effect/Schema"
import * as HttpErrors from "./HttpErrors.js"
import * as Security from "./Security.js"
import * as Wire from "./Wire.js"

/** The answer to a withdrawal: the subscription without its pending change, and the change taken back. */
export const PendingChangeWithdrawn = Schema.Struct({
  subscription: Wire.Subscription,
  withdrawn: PendingChange
}).annotations({ identifier: "PendingChangeWithdrawn" })
export type PendingChangeWithdrawn = typeof PendingChangeWithdrawn.Encoded

const DESCRIPTION =
  "Takes back the subscription's scheduled change (a downgrade, a removal at period end…): the lock lifts at once, what already took effect when the change was ordered stays, and a `subscription.pending_change_withdrawn` event records who did it. 404 for a subscription that is not the caller's; 409 `NoPendingChange` when nothing is scheduled or the change has already taken effect (`details.appliedOn` says when, if this request found it due). A 409 `VersionConflict` only if the subscription kept changing under the request; retry."

const withdraw = <const P extends `/${string}/:id/pending-change`>(path: P) =>
  HttpApiEndpoint.del("withdraw", path)
    .setPath(Schema.Struct({ id: Wire.Id }))
    .addSuccess(PendingChangeWithdrawn)
    .addError(HttpErrors.SubscriptionNotFound)
    .addError(HttpErrors.NoPendingChange)
    .addError(HttpErrors.VersionConflict)
    .annotate(OpenApi.Summary, "Withdraw the subscription's scheduled change")
    .annotate(OpenApi.Description, DESCRIPTION)

/** A customer withdraws a change scheduled on their own subscription. */
export class CheckoutPendingChangeGroup extends HttpApiGroup.make("checkoutPendingChange")
  .add(withdraw("/api/checkout/subscriptions/:id/pending-change"))
  .middleware(Security.CustomerAuth)
  .annotate(OpenApi.Title, "Scheduled changes")
  .annotate(OpenApi.Description, "A customer takes back a change scheduled on their own subscription.")
{}

/** A partner organisation withdraws a change scheduled on a subscription it sold (scope `mma`). */
export class PartnerPendingChangeGroup extends HttpApiGroup.make("partnerPendingChange")
  .add(withdraw("/api/partner/mma/subscriptions/:id/pending-change"))
  .middleware(Security.PartnerMmaAuth)
  .annotate(OpenApi.Title, "Partner scheduled changes")
  .annotate(OpenApi.Description, "A partner organisation takes back a change scheduled on a subscription it sold (scope `mma`).")
{}

/**
 * The Subshift HTTP contract: every endpoint under `/api` with its payload, headers, success and
 * the status of each error it may answer, grouped by who may call it. The server implements it,
 * the client is derived from it, and `/openapi.json` is generated from it.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import type * as Schema from "effect/Schema"
import { AdminApi } from "./AdminApi.js"
import * as Documented from "./Documented.js"
import * as HttpErrors from "./HttpErrors.js"
import { CheckoutPendingChangeGroup, PartnerPendingChangeGroup } from "./PendingChangeApi.js"
import * as Security from "./Security.js"
import * as Wire from "./Wire.js"

/**
 * A request body as the contract decodes it: a key the schema does not declare is refused (the
 * OpenAPI document says `additionalProperties: false`), at every level but free-form records.
 */
export const strict = <A, I, R>(schema: Schema.Schema<A, I, R>): Schema.Schema<A, I, R> =>
  schema.annotations({ parseOptions: { onExcessProperty: "error" } })

const initiate = <const P extends `/${string}`>(path: P) =>
  HttpApiEndpoint.post("initiate", path)
    .setPayload(strict(Wire.InitiateRequest))
    .addSuccess(Wire.Basket)
    .addError(HttpErrors.SubscriptionNotFound)
    .addError(HttpErrors.SubscriptionLocked)
    .addError(HttpErrors.SubscriptionInactive)
    .addError(HttpErrors.BasketRejected)
    .addError(HttpErrors.VersionConflict)
    .addError(HttpErrors.PricingFailed)
    .annotate(OpenApi.Summary, "Open a change basket on a subscription; sets the lmo_ls cookie")

const update = <const P extends `/${string}`>(path: P) =>
  HttpApiEndpoint.put("update", path)
    .setPayload(strict(Wire.UpdateRequest))
    .setHeaders(Wire.WriteHeaders)
    .addSuccess(Wire.Basket)
    .addError(HttpErrors.MissingBasket)
    .addError(HttpErrors.BasketNotFound)
    .addError(HttpErrors.BasketExpired)
    .addError(HttpErrors.BasketCompleted)
    .addError(HttpErrors.VersionConflict)
    .addError(HttpErrors.SubscriptionNotFound)
    .addError(HttpErrors.SubscriptionLocked)
    .addError(HttpErrors.SubscriptionInactive)
    .addError(HttpErrors.BasketRejected)
    .addError(HttpErrors.PricingFailed)
    .annotate(OpenApi.Summary, "Replace the basket's items; the engine adds the removals the change implies and prices it")
    .annotate(
      OpenApi.Description,
      "Items `add` or `remove` an offer or an add-on (one offer add at most), or `update` the quantity (seats) of a held line: the current offer or an owned add-on, without an offer change, e.g. `{ \"orderItemActionType\": \"update\", \"type\": \"offer\", \"offer\": { \"id\": \"team\" }, \"quantity\": 8 }`. More units apply today, prorated; fewer at the next period start (a pending change that locks the subscription once ordered), unless the offer's `changePolicy.quantityIncrease` / `quantityDecrease` says otherwise. Every quantity must lie within its offer's `minQuantity`..`maxQuantity` (listed in `nextActions.quantityChanges`); one outside is a 422 `quantity_out_of_range` whose `details.field` names the item's quantity. Each quote line gives its `quantity` before and after."
    )

const read = <const P extends `/${string}`>(path: P) =>
  HttpApiEndpoint.get("get", path)
    .setHeaders(Wire.BasketHeaders)
    .addSuccess(Wire.Basket)
    .addError(HttpErrors.MissingBasket)
    .addError(HttpErrors.BasketNotFound)
    .addError(HttpErrors.BasketExpired)
    .annotate(OpenApi.Summary, "Read the basket named by the lmo_ls cookie")

const order = <const P extends `/${string}`>(path: P) =>
  HttpApiEndpoint.post("order", path)
    .setPayload(strict(Wire.OrderRequest))
    .setHeaders(Wire.OrderHeaders)
    .addSuccess(Wire.OrderResponse)
    .addError(HttpErrors.MissingBasket)
    .addError(HttpErrors.BasketNotFound)
    .addError(HttpErrors.BasketExpired)
    .addError(HttpErrors.BasketCompleted)
    .addError(HttpErrors.VersionConflict)
    .addError(HttpErrors.SubscriptionNotFound)
    .addError(HttpErrors.SubscriptionLocked)
    .addError(HttpErrors.SubscriptionInactive)
    .addError(HttpErrors.BasketRejected)
    .addError(HttpErrors.PricingFailed)
    .addError(HttpErrors.QuoteChanged)
    .addError(HttpErrors.IdempotencyKeyMismatch)
    .addError(HttpErrors.IdempotencyKeyInFlight)
    .annotate(OpenApi.Summary, "Commit the basket as an amendment")
    .annotate(
      OpenApi.Description,
      "Charges exactly the basket's quote, or fails with QuoteChanged (409) and charges nothing. With an Idempotency-Key, the first result (success or a 4xx error) is kept for 24 hours and replayed, marked `idempotent-replayed: true`, for the same key, caller and request; the same key with another request is a 422, and while the first request runs a 409."
    )

/** A customer's checkout on their own subscriptions, and committing it. */
export class CheckoutGroup extends HttpApiGroup.make("checkout")
  .add(initiate("/api/checkout/subscription").setHeaders(Wire.InitiateHeaders))
  .add(update("/api/checkout/subscription"))
  .add(read("/api/checkout/subscription"))
  .add(order("/api/order"))
  .middleware(Security.CustomerAuth)
  .annotate(OpenApi.Title, "Subscription checkout")
  .annotate(OpenApi.Description, "A customer changes their own subscription: open a basket, update it, order it.")
{}

/** A partner's checkout on subscriptions its organisation sold; initiating needs a reCAPTCHA token. */
export class PartnerCheckoutGroup extends HttpApiGroup.make("partnerCheckout")
  .add(
    initiate("/api/partner/checkout/subscription")
      .setHeaders(Wire.PartnerInitiateHeaders)
      .addError(HttpErrors.Forbidden)
      .addError(HttpErrors.BotCheckUnavailable)
  )
  .add(update("/api/partner/checkout/subscription"))
  .add(read("/api/partner/checkout/subscription"))
  .add(order("/api/partner/order"))
  .middleware(Security.PartnerAuth)
  .annotate(OpenApi.Title, "Partner subscription checkout")
  .annotate(OpenApi.Description, "A partner organisation changes a subscription it sold, on the customer's behalf.")
{}

const subscriptionId = HttpApiSchema.param("id", Wire.Id)

/** Partner self-service: checkout and the subscriptions of the partner organisation (scope `mma`). */
export class PartnerMmaGroup extends HttpApiGroup.make("partnerMma")
  .add(initiate("/api/partner/mma/checkout").setHeaders(Wire.InitiateHeaders))
  .add(update("/api/partner/mma/checkout"))
  .add(read("/api/partner/mma/checkout"))
  .add(
    HttpApiEndpoint.get("list", "/api/partner/mma/subscriptions")
      .setUrlParams(Wire.ListParams)
      .addSuccess(Wire.SubscriptionPage)
      .annotate(OpenApi.Summary, "List the organisation's subscriptions, optionally of one owner, by pages")
  )
  .add(
    HttpApiEndpoint.get("detail")`/api/partner/mma/subscriptions/${subscriptionId}`
      .addSuccess(Wire.SubscriptionDetail)
      .addError(HttpErrors.SubscriptionNotFound)
      .annotate(OpenApi.Summary, "A subscription with its schedule, offers and add-ons")
  )
  .middleware(Security.PartnerMmaAuth)
  .annotate(OpenApi.Title, "Partner self-service")
  .annotate(OpenApi.Description, "A partner organisation's own checkout and the subscriptions it sold, by pages (scope `mma`).")
{}

/** The amend API across a bill group (MonetizeNow-style), for the account owner. */
export class SelfServiceGroup extends HttpApiGroup.make("selfService")
  .add(
    HttpApiEndpoint.post("amend", "/api/selfService/checkout/amend")
      .setPayload(strict(Wire.AmendRequest))
      .setHeaders(Wire.AmendHeaders)
      .addSuccess(Wire.AmendResponse)
      .addError(HttpErrors.AmendBadRequest)
      .addError(HttpErrors.AmendNotFound)
      .addError(HttpErrors.AmendConflict)
      .addError(HttpErrors.AmendIdempotencyMismatch)
      .addError(HttpErrors.AmendIdempotencyInFlight)
      .addError(HttpErrors.SubscriptionLocked)
      .addError(HttpErrors.PricingFailed)
      .annotate(OpenApi.Summary, "Update, create and remove subscriptions of a bill group, all or nothing")
      .annotate(
        OpenApi.Description,
        "With an Idempotency-Key, the first result (success or a 4xx error) is kept for 24 hours and replayed, marked `idempotent-replayed: true`, for the same key, caller and body; the same key with another body is IDEMPOTENCY_KEY_MISMATCH (422), and while the first request runs IDEMPOTENCY_KEY_IN_FLIGHT (409)."
      )
  )
  .middleware(Security.CustomerAuth)
  .annotate(OpenApi.Title, "Amend subscriptions")
  .annotate(OpenApi.Description, "Update, create and remove the subscriptions of a bill group in one all-or-nothing amendment.")
{}

/** The audit trail of the partner organisation's subscriptions (scope `partner`). */
export class PartnerEventsGroup extends HttpApiGroup.make("partnerEvents")
  .add(
    HttpApiEndpoint.get("list", "/api/partner/events")
      .setUrlParams(Wire.EventParams)
      .addSuccess(Wire.EventPage)
      .annotate(OpenApi.Summary, "Events of the organisation's subscriptions in write order, after a cursor")
      .annotate(
        OpenApi.Description,
        "amendment.committed, subscription.changed, subscription.pending_change_withdrawn and basket.expired events, each with its actor, the subscription before and after, and the amounts. Send `next` back as `after` to read on; `limit` is 1 to 100 (50 when absent)."
      )
  )
  .middleware(Security.PartnerAuth)
  .annotate(OpenApi.Title, "Partner events")
  .annotate(OpenApi.Description, "The audit trail of the partner organisation's subscriptions (scope `partner`).")
{}

/**
 * A clock for testing: only on a server started with `SUBSHIFT_TEST_CLOCK=on` (never in
 * production); elsewhere these routes are a 404 like any unknown route.
 */
export class TestClockGroup extends HttpApiGroup.make("testClock")
  .add(
    HttpApiEndpoint.get("get", "/api/test-clock")
      .addSuccess(Wire.TestClockState)
      .annotate(OpenApi.Summary, "The instant the server runs at, and how far ahead of real time")
  )
  .add(
    HttpApiEndpoint.post("advance", "/api/test-clock/advance")
      .setPayload(strict(Wire.TestClockAdvance))
      .addSuccess(Wire.TestClockAdvanced)
      .annotate(OpenApi.Summary, "Move the server's clock forward, then apply the scheduled changes that came due")
  )
  .annotate(OpenApi.Title, "Test clock")
  .annotate(OpenApi.Description, "Only with SUBSHIFT_TEST_CLOCK=on, which production refuses; otherwise 404.")
{}

/** Liveness and readiness, for anyone. */
export class SystemGroup extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Wire.Health).annotate(OpenApi.Summary, "Liveness: the process answers"))
  .add(HttpApiEndpoint.get("ready", "/ready").addSuccess(Wire.Health).annotate(OpenApi.Summary, "Readiness: the store answers"))
  .add(HttpApiEndpoint.get("apiHealth", "/api/health").addSuccess(Wire.Health).annotate(OpenApi.Summary, "Liveness, under the API base path"))
  .add(HttpApiEndpoint.get("apiReady", "/api/ready").addSuccess(Wire.Health).annotate(OpenApi.Summary, "Readiness (the store answers), under the API base path"))
  .annotate(OpenApi.Title, "System")
  .annotate(OpenApi.Description, "Liveness and readiness, without credentials.")
{}

const withoutTestClock = HttpApi.make("subshift")
  .add(CheckoutGroup)
  .add(PartnerCheckoutGroup)
  .add(PartnerMmaGroup)
  .add(SelfServiceGroup)
  .add(PartnerEventsGroup)
  .add(CheckoutPendingChangeGroup)
  .add(PartnerPendingChangeGroup)
  .add(SystemGroup)
  .addHttpApi(AdminApi)
  .addError(HttpErrors.InvalidInput)
  .addError(HttpErrors.Malformed)
  .addError(HttpErrors.TooLarge)
  .addError(HttpErrors.NotFound)
  .addError(HttpErrors.StoreUnavailable)
  .addError(HttpErrors.Internal)
  .annotate(OpenApi.Title, "Subshift")
  .annotate(OpenApi.Description, "Subscription change checkout: baskets on existing subscriptions, partner access, and amendments across a bill group.")
  .annotate(OpenApi.Version, "0.0.0")
  .annotate(OpenApi.License, { name: "MIT", url: "https://opensource.org/licenses/MIT" })
  .annotate(OpenApi.Servers, [{ url: "/", description: "The server that serves this document" }])
  .annotate(OpenApi.Transform, Documented.transform)

/** The whole API. */
export class SubshiftApi extends withoutTestClock.add(TestClockGroup) {}

/** The API a server without the test clock serves and documents: all of it but the test clock's routes. */
export class PublishedWithoutTestClock extends withoutTestClock {}

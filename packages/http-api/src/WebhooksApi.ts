/**
 * Outbound webhooks on the operator plane (scope `webhooks:write`): register endpoints (the
 * secret is shown once, in Standard Webhooks form), change, list and remove them, rotate the
 * secret (the old one signs beside the new for 24 hours), send a test event, read the attempt
 * log and redeliver a delivery now.
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as CoreOperator from "@subshift/core/domain/Operator"
import * as Webhook from "@subshift/core/domain/Webhook"
import * as Schema from "effect/Schema"
import * as AdminSecurity from "./AdminSecurity.js"
import * as HttpErrors from "./HttpErrors.js"

/** No endpoint or delivery with this id. */
export class WebhookNotFound extends Schema.TaggedError<WebhookNotFound>()("WebhookNotFound", {
  message: Schema.String,
  id: Schema.String
}) {}

/** 404: no such webhook endpoint or delivery. */
export const NotFound = HttpErrors.envelope(WebhookNotFound, 404, "No such webhook endpoint or delivery.")
/** 400: the endpoint is invalid (a URL the network policy refuses, an empty list of event types); every problem has its path. */
export const Invalid = HttpErrors.envelope(CoreOperator.InvalidRecord, 400, "The endpoint is invalid; every problem is listed with its path.")

const strict = <A, I, R>(schema: Schema.Schema<A, I, R>): Schema.Schema<A, I, R> =>
  schema.annotations({ parseOptions: { onExcessProperty: "error" } })

const EventTypes = Schema.Array(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))).pipe(Schema.minItems(1), Schema.maxItems(50))
  .annotations({ description: "The event types to deliver (`amendment.committed`, `subscription.changed`, …), or `*` for all" })

/** The body of a new endpoint. */
export const NewEndpoint = Schema.Struct({
  url: Schema.String.pipe(Schema.maxLength(2048)),
  eventTypes: EventTypes,
  description: Schema.optional(Schema.String.pipe(Schema.maxLength(500)))
}).annotations({ identifier: "NewWebhookEndpoint" })

/** The changes to an endpoint; `disabled: false` enables a disabled one again. */
export const EndpointPatch = Schema.Struct({
  url: Schema.optional(Schema.String.pipe(Schema.maxLength(2048))),
  eventTypes: Schema.optional(EventTypes),
  description: Schema.optional(Schema.String.pipe(Schema.maxLength(500))),
  disabled: Schema.optional(Schema.Boolean)
}).annotations({ identifier: "WebhookEndpointPatch" })

/** An endpoint as shown: its secrets by their dates only, never their value. */
export const Endpoint = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  eventTypes: Schema.Array(Schema.String),
  description: Schema.optional(Schema.String),
  secrets: Schema.Array(Schema.Struct({ createdAt: Schema.String, expiresAt: Schema.optional(Schema.String) })),
  createdAt: Schema.String,
  failingSince: Schema.optional(Schema.String),
  disabledAt: Schema.optional(Schema.String),
  disabledReason: Schema.optional(Schema.String)
}).annotations({ identifier: "WebhookEndpoint" })
export type Endpoint = typeof Endpoint.Type

/** An endpoint and its new secret (`whsec_` + base64), shown this once. */
export const EndpointWithSecret = Schema.Struct({ endpoint: Endpoint, secret: Schema.String })
  .annotations({ identifier: "WebhookEndpointWithSecret" })

/** A page of endpoints in id order; send `next` back as `after` while `hasMore`. */
export const EndpointPage = Schema.Struct({ items: Schema.Array(Endpoint), next: Schema.optional(Schema.String), hasMore: Schema.Boolean })
  .annotations({ identifier: "WebhookEndpointPage" })

/** A delivery with its attempt log. */
export const Delivery = Schema.typeSchema(Webhook.Delivery).annotations({ identifier: "WebhookDelivery" })

/** A page of deliveries, newest first; send `queryMore` back while it is present. */
export const DeliveryPage = Schema.Struct({ items: Schema.Array(Delivery), queryMore: Schema.optional(Schema.String) })
  .annotations({ identifier: "WebhookDeliveryPage" })

const id = HttpApiSchema.param("id", Schema.String)
const deliveryId = HttpApiSchema.param("deliveryId", Schema.String)

/** The webhooks group. */
export class WebhooksGroup extends HttpApiGroup.make("adminWebhooks")
  .add(
    HttpApiEndpoint.post("create", "/api/admin/webhooks")
      .setPayload(strict(NewEndpoint))
      .addSuccess(EndpointWithSecret, { status: 201 })
      .addError(Invalid)
      .annotate(OpenApi.Summary, "Register an endpoint; its secret is in the answer, and only there")
  )
  .add(
    HttpApiEndpoint.get("list", "/api/admin/webhooks")
      .setUrlParams(Schema.Struct({
        after: Schema.optional(Schema.String),
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)))
      }))
      .addSuccess(EndpointPage)
      .annotate(OpenApi.Summary, "Endpoints in id order")
  )
  .add(HttpApiEndpoint.get("get")`/api/admin/webhooks/${id}`.addSuccess(Endpoint).addError(NotFound).annotate(OpenApi.Summary, "One endpoint"))
  .add(
    HttpApiEndpoint.patch("update")`/api/admin/webhooks/${id}`
      .setPayload(strict(EndpointPatch))
      .addSuccess(Endpoint)
      .addError(NotFound)
      .addError(Invalid)
      .annotate(OpenApi.Summary, "Change an endpoint's URL, event types or description, or disable or enable it")
  )
  .add(
    HttpApiEndpoint.del("remove")`/api/admin/webhooks/${id}`
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Remove an endpoint and its deliveries")
  )
  .add(
    HttpApiEndpoint.post("rotateSecret")`/api/admin/webhooks/${id}/rotate-secret`
      .addSuccess(EndpointWithSecret)
      .addError(NotFound)
      .addError(Invalid)
      .annotate(OpenApi.Summary, "A new secret; the old one keeps signing beside it for 24 hours")
  )
  .add(
    HttpApiEndpoint.post("test")`/api/admin/webhooks/${id}/test`
      .addSuccess(Schema.Struct({ deliveryId: Schema.String }), { status: 202 })
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Send a webhook.test event to the endpoint")
  )
  .add(
    HttpApiEndpoint.get("deliveries")`/api/admin/webhooks/${id}/deliveries`
      .setUrlParams(Schema.Struct({ status: Schema.optional(Webhook.DeliveryStatus), queryMore: Schema.optional(Schema.String) }))
      .addSuccess(DeliveryPage)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "The attempt log: each delivery's status, attempts (status code, latency, error) and next attempt")
  )
  .add(
    HttpApiEndpoint.post("retry")`/api/admin/webhooks/${id}/deliveries/${deliveryId}/retry`
      .addSuccess(Delivery)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Redeliver now, whatever the delivery's state")
  )
  .middleware(AdminSecurity.WebhooksWrite)
  .annotate(OpenApi.Title, "Webhooks")
  .annotate(OpenApi.Description, "Signed deliveries (Standard Webhooks) of outbox events to the billing system's endpoints.")
{}

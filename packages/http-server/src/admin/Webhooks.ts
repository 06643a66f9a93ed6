/**
 * The handlers of the webhooks group. A URL is checked against the network policy (scheme, and in
 * production the addresses its host resolves to) before it is stored; every write is audited.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Instant from "@subshift/core/domain/Instant"
import { InvalidRecord } from "@subshift/core/domain/Operator"
import type * as Webhook from "@subshift/core/domain/Webhook"
import { WebhookDeliveries, WebhookEndpoints } from "@subshift/core/ports/Webhooks"
import * as WebhookAdmin from "@subshift/core/usecases/WebhookAdmin"
import { SubshiftApi } from "@subshift/http-api/Api"
import { type Endpoint, WebhookNotFound } from "@subshift/http-api/WebhooksApi"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as WebhookConfig from "../webhooks/Config.js"
import * as Worker from "../webhooks/Worker.js"
import * as Network from "../webhooks/Network.js"
import * as Audit from "./Audit.js"

/** An endpoint as the API shows it: secrets by their dates only. */
export const view = (endpoint: Webhook.Endpoint): Endpoint => ({
  ...endpoint,
  secrets: endpoint.secrets.map(({ createdAt, expiresAt }) => (expiresAt === undefined ? { createdAt } : { createdAt, expiresAt }))
})

const notFound = (id: string) => new WebhookNotFound({ id, message: `no webhook endpoint or delivery ${id}` })
const orNotFound = (id: string) => <A, E, R>(self: Effect.Effect<Option.Option<A>, E, R>) =>
  Effect.flatMap(self, Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed }))

// Without a key, a secret could not be opened after a restart: registering and rotating are refused.
const needKey = (config: WebhookConfig.WebhookConfig) =>
  Option.isSome(config.key) ? Effect.void : Effect.fail(new InvalidRecord({
    entity: "webhook endpoint",
    problems: [{ path: "SUBSHIFT_WEBHOOK_KEY", message: "the server has no key to seal webhook secrets with; set SUBSHIFT_WEBHOOK_KEY" }]
  }))

const checkUrl = (policy: Network.Policy, url: string | undefined) =>
  url === undefined ? Effect.void : Effect.flatMap(Effect.promise(() => Network.check(policy, url)), (problem) =>
    problem === undefined ? Effect.void : Effect.fail(new InvalidRecord({ entity: "webhook endpoint", problems: [{ path: "url", message: problem }] })))

const now = Effect.map(Clock.currentTimeMillis, Instant.fromEpochMillis)
const PAGE = 50

const handlers = (config: WebhookConfig.WebhookConfig) =>
  HttpApiBuilder.group(SubshiftApi, "adminWebhooks", (h) =>
    Effect.gen(function*() {
      const endpoints = yield* WebhookEndpoints
      const deliveries = yield* WebhookDeliveries
      const endpointOf = (id: string) => orNotFound(id)(endpoints.get(id))
      return h
        .handle("create", ({ payload }) =>
          Effect.gen(function*() {
            yield* needKey(config)
            yield* checkUrl(config.policy, payload.url)
            const created = yield* WebhookAdmin.create(payload)
            yield* Audit.record("webhook.create", created.endpoint.id)
            return { endpoint: view(created.endpoint), secret: created.secret }
          }))
        .handle("list", ({ urlParams }) =>
          Effect.map(endpoints.list({ after: urlParams.after, limit: (urlParams.limit ?? PAGE) + 1 }), (rows) => {
            const items = rows.slice(0, urlParams.limit ?? PAGE).map(view)
            const last = items.at(-1)
            return { items, ...(last === undefined ? {} : { next: last.id }), hasMore: rows.length > items.length }
          }))
        .handle("get", ({ path }) => Effect.map(endpointOf(path.id), view))
        .handle("update", ({ path, payload }) =>
          Effect.gen(function*() {
            yield* endpointOf(path.id)
            yield* checkUrl(config.policy, payload.url)
            const updated = yield* orNotFound(path.id)(endpoints.update(path.id, payload, yield* now))
            yield* Audit.record("webhook.update", path.id, payload.disabled === undefined ? undefined : payload.disabled ? "disabled" : "enabled")
            return view(updated)
          }))
        .handle("remove", ({ path }) =>
          Effect.gen(function*() {
            if (!(yield* endpoints.remove(path.id))) return yield* Effect.fail(notFound(path.id))
            yield* Audit.record("webhook.remove", path.id)
          }))
        .handle("rotateSecret", ({ path }) =>
          Effect.gen(function*() {
            yield* needKey(config)
            const rotated = yield* orNotFound(path.id)(WebhookAdmin.rotateSecret(path.id))
            yield* Audit.record("webhook.rotate-secret", path.id)
            return { endpoint: view(rotated.endpoint), secret: rotated.secret }
          }))
        .handle("test", ({ path }) =>
          Effect.gen(function*() {
            const deliveryId = yield* orNotFound(path.id)(WebhookAdmin.sendTest(path.id))
            yield* Audit.record("webhook.test", path.id, deliveryId)
            return { deliveryId }
          }))
        .handle("deliveries", ({ path, urlParams }) =>
          Effect.gen(function*() {
            yield* endpointOf(path.id)
            const rows = yield* deliveries.list({ endpointId: path.id, status: urlParams.status, after: urlParams.queryMore, limit: PAGE + 1 })
            const items = rows.slice(0, PAGE)
            return { items, ...(rows.length > PAGE ? { queryMore: items.at(-1)!.id } : {}) }
          }))
        .handle("retry", ({ path }) =>
          Effect.gen(function*() {
            const existing = yield* orNotFound(path.deliveryId)(deliveries.get(path.deliveryId))
            if (existing.endpointId !== path.id) return yield* Effect.fail(notFound(path.deliveryId))
            const retried = yield* orNotFound(path.deliveryId)(deliveries.retry(path.deliveryId, yield* now))
            yield* Audit.record("webhook.retry", path.deliveryId)
            return retried
          }))
    }))

/** The webhooks group's handlers, with the crypto and network policy of the configuration. */
export const WebhooksLive = Layer.unwrapEffect(
  Effect.map(WebhookConfig.Settings, (config) => handlers(config).pipe(Layer.provide(Worker.adapters(config))))
)

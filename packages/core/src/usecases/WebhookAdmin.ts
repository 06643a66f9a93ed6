/**
 * What an operator does with webhook endpoints: register one (its secret shown once), rotate its
 * secret (the old one keeps signing beside the new for a day), send it a test event, and
 * redeliver a delivery now.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { StoreUnavailable } from "../domain/Errors.js"
import * as Instant from "../domain/Instant.js"
import * as Webhook from "../domain/Webhook.js"
import { WebhookCrypto, WebhookDeliveries, WebhookEndpoints } from "../ports/Webhooks.js"

const now = Effect.map(Clock.currentTimeMillis, Instant.fromEpochMillis)

/** A new endpoint and its secret, in Standard Webhooks form, shown this once. */
export interface Created {
  readonly endpoint: Webhook.Endpoint
  readonly secret: string
}

/** Registers an endpoint with a new secret. The URL is checked by the caller, which knows the network policy. */
export const create = (input: {
  readonly url: string
  readonly eventTypes: ReadonlyArray<string>
  readonly description?: string | undefined
}): Effect.Effect<Created, StoreUnavailable, WebhookEndpoints | WebhookCrypto> =>
  Effect.gen(function*() {
    const crypto = yield* WebhookCrypto
    const { sealed, secret } = yield* crypto.newSecret
    const createdAt = yield* now
    const endpoint: Webhook.Endpoint = {
      id: `whk_${globalThis.crypto.randomUUID().replaceAll("-", "")}`,
      url: input.url,
      eventTypes: input.eventTypes,
      ...(input.description === undefined ? {} : { description: input.description }),
      secrets: [{ sealed, createdAt }],
      createdAt
    }
    yield* (yield* WebhookEndpoints).create(endpoint)
    return { endpoint, secret }
  })

/**
 * Gives an endpoint a new secret. Secrets that had no end sign beside it for `overlap` (a day
 * unless set); expired ones are dropped. `None` when there is no such endpoint.
 */
export const rotateSecret = (
  id: string,
  overlap: Duration.Duration = Webhook.rotationOverlap
): Effect.Effect<Option.Option<Created>, StoreUnavailable, WebhookEndpoints | WebhookCrypto> =>
  Effect.gen(function*() {
    const endpoints = yield* WebhookEndpoints
    const existing = yield* endpoints.get(id)
    if (Option.isNone(existing)) return Option.none()
    const at = yield* now
    const until = Instant.fromEpochMillis(Instant.toEpochMillis(at) + Duration.toMillis(overlap))
    const { sealed, secret } = yield* (yield* WebhookCrypto).newSecret
    const kept = Webhook.activeSecrets(existing.value, at).map((s) => (s.expiresAt === undefined || s.expiresAt > until ? { ...s, expiresAt: until } : s))
    const updated = yield* endpoints.setSecrets(id, [...kept, { sealed, createdAt: at }])
    return Option.map(updated, (endpoint) => ({ endpoint, secret }))
  })

/** Enqueues a `webhook.test` event for one endpoint, due now; the delivery's id, or `None` when there is no such endpoint. */
export const sendTest = (id: string): Effect.Effect<Option.Option<string>, StoreUnavailable, WebhookDeliveries> =>
  Effect.gen(function*() {
    const at = yield* now
    const eventId = `evt-test-${globalThis.crypto.randomUUID()}`
    return yield* (yield* WebhookDeliveries).enqueueFor(id, {
      id: eventId,
      type: "webhook.test",
      timestamp: at,
      orderKey: eventId,
      data: { endpointId: id }
    }, at)
  })

/**
 * Operator authentication for `/api/admin/*`: the admin middlewares of the contract. An operator
 * API key is hashed and compared, in constant time, with every configured hash; an expired key,
 * a malformed one or none is a 401, a key without the endpoint's scope a 403. A customer's or
 * partner's credential is recognised (so that a valid one is told apart from garbage) and refused
 * with 403: it never reaches an admin route.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Forbidden, Unauthenticated } from "@subshift/core/domain/Errors"
import { type AdminScope, Operator } from "@subshift/core/domain/Operator"
import * as AdminSecurity from "@subshift/http-api/AdminSecurity"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { timingSafeEqual } from "node:crypto"
import { Identities, PARTNER_HEADER } from "../Auth.js"
import type { ServerConfig } from "../Config.js"
import { type ApiKey, hashKey, KEY_PREFIX } from "./ApiKeys.js"

const unauthenticated = (message: string) => new Unauthenticated({ message })

/** Verifies operator keys against the configured hashes. */
export const makeVerifier = (keys: ReadonlyArray<ApiKey>) => {
  const hashes = keys.map((k) => ({ key: k, digest: Buffer.from(k.sha256, "hex") }))
  return (token: string): Effect.Effect<Operator, Unauthenticated> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (!token.startsWith(KEY_PREFIX) || token.length > 128) return Effect.fail(unauthenticated("the API key is not valid"))
      const digest = Buffer.from(hashKey(token), "hex")
      let match: ApiKey | undefined
      // Every configured hash is compared, so the time taken does not tell which one matched.
      for (const candidate of hashes) if (timingSafeEqual(candidate.digest, digest)) match = candidate.key
      if (match === undefined) return Effect.fail(unauthenticated("the API key is not valid"))
      if (match.expiresAt !== undefined && now >= match.expiresAt) return Effect.fail(unauthenticated(`the API key ${match.id} has expired`))
      return Effect.succeed(new Operator({ keyId: match.id, name: match.name, scopes: match.scopes }))
    })
}

const notForOperators = new Forbidden({
  message: "customer and partner credentials do not reach the operator API; use an operator API key (ssk_…)"
})

/**
 * Decides an admin request from its `Authorization` and `X-Partner-Token` headers: the operator,
 * or 401 / 403.
 */
export const decideAdmin = (
  verify: ReturnType<typeof makeVerifier>,
  identities: Identities["Type"],
  scope: AdminScope | undefined,
  authorization: string | undefined,
  partner: string | undefined
): Effect.Effect<Operator, Unauthenticated | Forbidden> => {
  if (authorization !== undefined && authorization !== "") {
    if (!authorization.startsWith("Bearer ")) return Effect.fail(unauthenticated("the Authorization header must be Bearer <API key>"))
    const token = authorization.slice(7).trim()
    if (!token.startsWith(KEY_PREFIX)) return Effect.flatMap(identities.bearer(token), () => Effect.fail(notForOperators))
    return Effect.flatMap(verify(token), (operator) =>
      scope === undefined || operator.scopes.includes(scope)
        ? Effect.succeed(operator)
        : Effect.fail(new Forbidden({ message: `this endpoint needs an API key with scope ${scope}; key ${operator.keyId} has ${operator.scopes.join(", ")}` })))
  }
  if (partner !== undefined && partner !== "") return Effect.flatMap(identities.partnerToken(partner), () => Effect.fail(notForOperators))
  return Effect.fail(unauthenticated("an operator API key is required: Authorization: Bearer ssk_…"))
}

const middleware = <I, S>(
  tag: Context.Tag<I, S>,
  scope: AdminScope | undefined,
  config: Pick<ServerConfig, "apiKeys">
): Layer.Layer<I, never, Identities> =>
  Layer.effect(
    tag,
    Effect.map(Identities, (identities) => {
      const verify = makeVerifier(config.apiKeys)
      const run = () =>
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
          decideAdmin(verify, identities, scope, request.headers.authorization, request.headers[PARTNER_HEADER]))
      return { adminKey: run } as unknown as S
    })
  )

/** Every admin middleware, for the configured keys. */
export const layer = (config: Pick<ServerConfig, "apiKeys">) =>
  Layer.mergeAll(
    middleware(AdminSecurity.AdminAny, AdminSecurity.scopeOf.AdminAny, config),
    middleware(AdminSecurity.AdminRead, AdminSecurity.scopeOf.AdminRead, config),
    middleware(AdminSecurity.SubscriptionsWrite, AdminSecurity.scopeOf.SubscriptionsWrite, config),
    middleware(AdminSecurity.CatalogWrite, AdminSecurity.scopeOf.CatalogWrite, config),
    middleware(AdminSecurity.WebhooksWrite, AdminSecurity.scopeOf.WebhooksWrite, config)
  )

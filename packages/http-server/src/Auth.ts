/**
 * Authentication: Bearer JWTs verified with `jose` (one pinned algorithm, signature, `exp`, `nbf`,
 * `iss`, `aud`, against the Effect `Clock`) and partner API tokens (kept as SHA-256 hashes,
 * compared in constant time). The contract's middlewares are implemented here: 401 when
 * credentials are missing or bad, 403 when they belong to someone who may not use the endpoint.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Authenticator } from "@subshift/core/ports/Authenticator"
import { Forbidden, Unauthenticated } from "@subshift/core/domain/Errors"
import * as Principal from "@subshift/core/domain/Principal"
import * as Security from "@subshift/http-api/Security"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Jose from "jose"
import { createHash, timingSafeEqual } from "node:crypto"
import { readFileSync } from "node:fs"
import type { ServerConfig } from "./Config.js"

/** A verified caller: the principal, and every scope its credential carries. */
export interface Identity {
  readonly principal: Principal.Principal
  readonly scopes: ReadonlyArray<string>
}

/** Verifies the credentials of a request. */
export class Identities extends Context.Tag("@subshift/http-server/Identities")<
  Identities,
  {
    readonly bearer: (token: string) => Effect.Effect<Identity, Unauthenticated>
    readonly partnerToken: (token: string) => Effect.Effect<Identity, Unauthenticated>
  }
>() {}

const MAX_TOKEN_LENGTH = 8192
const CACHE_SIZE = 10_000

const scopesOf = (payload: Jose.JWTPayload): Array<string> => {
  const scope = payload["scope"]
  const scp = payload["scp"]
  if (typeof scope === "string") return scope.split(" ").filter((s) => s !== "")
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === "string")
  return []
}

type VerifyKey = Parameters<typeof Jose.jwtVerify>[1]

const loadKey = (jwt: ServerConfig["jwt"]): Effect.Effect<VerifyKey> =>
  Effect.promise(async (): Promise<VerifyKey> => {
    if (jwt.algorithm === "HS256") return new TextEncoder().encode(Redacted.value(Option.getOrThrow(jwt.secret)))
    if (Option.isSome(jwt.jwksFile)) {
      return Jose.createLocalJWKSet(JSON.parse(readFileSync(jwt.jwksFile.value, "utf8")) as Jose.JSONWebKeySet) as VerifyKey
    }
    const pem = Option.getOrThrow(jwt.publicKey)
    const text = pem.includes("-----BEGIN") ? pem : readFileSync(pem, "utf8")
    return Jose.importSPKI(text.replace(/\\n/g, "\n"), jwt.algorithm)
  })

/**
 * The identities of the configuration. Verified JWTs are remembered by their exact text (which
 * includes the signature) until they expire, so a client reusing its token pays for the
 * signature check once.
 */
export const layerIdentities = (config: ServerConfig): Layer.Layer<Identities> =>
  Layer.effect(
    Identities,
    Effect.gen(function*() {
      const key = yield* loadKey(config.jwt).pipe(Effect.orDie)
      const options = {
        algorithms: [config.jwt.algorithm],
        issuer: config.jwt.issuer,
        audience: config.jwt.audience,
        clockTolerance: config.jwt.clockToleranceSeconds,
        requiredClaims: ["exp"]
      }
      const cache = new Map<string, { readonly identity: Identity; readonly notBefore: number; readonly expires: number }>()
      const tolerance = config.jwt.clockToleranceSeconds * 1000
      const unauthenticated = (message: string) => new Unauthenticated({ message })

      const identityOf = (payload: Jose.JWTPayload): Identity | undefined => {
        const scopes = scopesOf(payload)
        const org = payload[config.jwt.partnerClaim]
        if (typeof org === "string" && org !== "") {
          return { principal: new Principal.Partner({ partnerOrg: org, scopes }), scopes }
        }
        if (typeof payload.sub === "string" && payload.sub !== "" && payload.sub.length <= 128) {
          return { principal: new Principal.Customer({ customerId: payload.sub }), scopes }
        }
        return undefined
      }

      const bearer = (token: string) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          if (token === "" || token.length > MAX_TOKEN_LENGTH) return Effect.fail(unauthenticated("a Bearer token is required"))
          const hit = cache.get(token)
          if (hit !== undefined) {
            if (now < hit.expires + tolerance && now >= hit.notBefore - tolerance) return Effect.succeed(hit.identity)
            cache.delete(token)
          }
          return Effect.tryPromise({
            try: () => Jose.jwtVerify(token, key as any, { ...options, currentDate: new Date(now) }),
            catch: (e) =>
              unauthenticated(
                e instanceof Jose.errors.JWTExpired
                  ? "the token has expired"
                  : e instanceof Jose.errors.JWTClaimValidationFailed
                  ? `the token's ${e.claim} claim is not accepted`
                  : "the token is not valid"
              )
          }).pipe(
            Effect.flatMap(({ payload }) => {
              const identity = identityOf(payload)
              if (identity === undefined) return Effect.fail(unauthenticated("the token names no customer or partner organisation"))
              if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!)
              cache.set(token, {
                identity,
                notBefore: (payload.nbf ?? 0) * 1000,
                expires: (payload.exp ?? 0) * 1000
              })
              return Effect.succeed(identity)
            })
          )
        })

      const hashes = config.partnerTokens.map((t) => ({ ...t, digest: Buffer.from(t.sha256, "hex") }))
      const partnerToken = (token: string) =>
        Effect.suspend(() => {
          if (token === "" || token.length > 512) return Effect.fail(unauthenticated("the partner token is not valid"))
          const digest = createHash("sha256").update(token, "utf8").digest()
          let match: (typeof hashes)[number] | undefined
          // Every configured hash is compared, so the time taken does not tell which one matched.
          for (const candidate of hashes) if (timingSafeEqual(candidate.digest, digest)) match = candidate
          if (match === undefined) return Effect.fail(unauthenticated("the partner token is not valid"))
          const scopes = match.scopes
          return Effect.succeed<Identity>({ principal: new Principal.Partner({ partnerOrg: match.partnerOrg, scopes }), scopes })
        })

      return { bearer, partnerToken }
    })
  )

/** The core's `Authenticator` port over the same verification (for embedders). */
export const layerAuthenticator: Layer.Layer<Authenticator, never, Identities> = Layer.effect(
  Authenticator,
  Effect.map(Identities, (identities) =>
    Authenticator.of({
      authenticate: (credentials) =>
        credentials.bearer !== undefined
          ? Effect.map(identities.bearer(Redacted.value(credentials.bearer)), (i) => i.principal)
          : credentials.partnerToken !== undefined
          ? Effect.map(identities.partnerToken(Redacted.value(credentials.partnerToken)), (i) => i.principal)
          : Effect.fail(new Unauthenticated({ message: "credentials are required" }))
    }))
)

/** Which kind of caller an endpoint serves. */
export type Audience = "customer" | "partner" | "mma"

/**
 * Decides a request once, from both the `Authorization` and `X-Partner-Token` headers: the
 * contract declares one scheme per header, but whether a valid credential is a 401 or a 403
 * depends on which endpoint it was presented to, not on which header held it.
 */
export const decideHeaders = (
  identities: Identities["Type"],
  audience: Audience,
  authorization: string | undefined,
  partner: string | undefined
): Effect.Effect<Principal.Principal, Unauthenticated | Forbidden> => {
  const identity = authorization !== undefined && authorization !== ""
    ? authorization.startsWith("Bearer ")
      ? identities.bearer(authorization.slice(7).trim())
      : Effect.fail(new Unauthenticated({ message: "the Authorization header must be a Bearer token" }))
    : partner !== undefined && partner !== ""
    ? identities.partnerToken(partner)
    : Effect.fail(new Unauthenticated({ message: "credentials are required" }))
  return Effect.flatMap(identity, ({ principal, scopes }): Effect.Effect<Principal.Principal, Forbidden> => {
    switch (audience) {
      case "customer":
        return principal._tag === "Customer" && scopes.includes(Security.CUSTOMER_SCOPE)
          ? Effect.succeed(principal)
          : Effect.fail(new Forbidden({ message: `this endpoint needs a customer credential with scope ${Security.CUSTOMER_SCOPE}` }))
      case "partner":
        return principal._tag === "Partner" && scopes.includes(Security.PARTNER_SCOPE)
          ? Effect.succeed(principal)
          : Effect.fail(new Forbidden({ message: `this endpoint needs a partner credential with scope ${Security.PARTNER_SCOPE}` }))
      case "mma":
        return principal._tag === "Partner" && scopes.includes(Security.PARTNER_SCOPE) && scopes.includes(Security.MMA_SCOPE)
          ? Effect.succeed(principal)
          : Effect.fail(
            new Forbidden({ message: `this endpoint needs a partner credential with scopes ${Security.PARTNER_SCOPE} and ${Security.MMA_SCOPE}` })
          )
    }
  })
}

/** The partner token header, as Node presents it (lower case). */
export const PARTNER_HEADER = Security.PARTNER_TOKEN_HEADER.toLowerCase()

const decide = (identities: Identities["Type"], audience: Audience) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    decideHeaders(identities, audience, request.headers.authorization, request.headers[PARTNER_HEADER]))

/** The customer middleware. */
export const CustomerAuthLive: Layer.Layer<Security.CustomerAuth, never, Identities> = Layer.effect(
  Security.CustomerAuth,
  Effect.map(Identities, (identities) => Security.CustomerAuth.of({ bearer: () => decide(identities, "customer") }))
)

/** The partner middleware. */
export const PartnerAuthLive: Layer.Layer<Security.PartnerAuth, never, Identities> = Layer.effect(
  Security.PartnerAuth,
  Effect.map(Identities, (identities) => {
    const run = () => decide(identities, "partner")
    return Security.PartnerAuth.of({ bearer: run, partnerToken: run })
  })
)

/** The partner self-service middleware. */
export const PartnerMmaAuthLive: Layer.Layer<Security.PartnerMmaAuth, never, Identities> = Layer.effect(
  Security.PartnerMmaAuth,
  Effect.map(Identities, (identities) => {
    const run = () => decide(identities, "mma")
    return Security.PartnerMmaAuth.of({ bearer: run, partnerToken: run })
  })
)

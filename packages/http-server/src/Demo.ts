/**
 * What `npm start` prints: the URL, demo tokens signed with the development secret, and a
 * copy-paste walkthrough of a checkout.
 */
import * as Demo from "@subshift/core/demo/Demo"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Jose from "jose"
import { DEV_PARTNER_TOKEN, type ServerConfig } from "./Config.js"

/** Claims of a token to sign. */
export interface Claims {
  readonly subject?: string | undefined
  readonly partnerOrg?: string | undefined
  readonly scopes: ReadonlyArray<string>
  /** Lifetime in seconds from the Clock's now. */
  readonly ttlSeconds?: number | undefined
}

/** Signs an HS256 token the server accepts, with the configured issuer and audience. */
export const sign = (config: ServerConfig["jwt"], claims: Claims) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Effect.promise(() => {
      const iat = Math.floor(now / 1000)
      const jwt = new Jose.SignJWT({
        scope: claims.scopes.join(" "),
        ...(claims.partnerOrg === undefined ? {} : { [config.partnerClaim]: claims.partnerOrg })
      })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setIssuer(config.issuer)
        .setAudience(config.audience)
        .setIssuedAt(iat)
        .setExpirationTime(iat + (claims.ttlSeconds ?? 30 * 86_400))
      if (claims.subject !== undefined) jwt.setSubject(claims.subject)
      return jwt.sign(new TextEncoder().encode(Redacted.value(Option.getOrThrow(config.secret))))
    }))

/** The banner: URL, tokens (when the server can sign them) and the walkthrough. */
export const banner = (config: ServerConfig, url: string) =>
  Effect.gen(function*() {
    const lines = [`Subshift is listening on ${url} (store: ${config.store.kind})`, `  OpenAPI ${url}/openapi.json · docs ${url}/docs`]
    if (config.page) lines.push(`  Change-plan page ${url}/account/change-plan`)
    if (config.testClock) {
      lines.push(
        `  Test clock on: GET ${url}/api/test-clock; move it with curl -s -H 'content-type: application/json' -d '{"days":31}' ${url}/api/test-clock/advance`
      )
    }
    if (config.production || config.jwt.algorithm !== "HS256") return lines.join("\n")
    const alice = yield* sign(config.jwt, { subject: Demo.customers.alice, scopes: ["checkout"] })
    const acme = yield* sign(config.jwt, { subject: Demo.customers.acme, scopes: ["checkout"] })
    const partner = yield* sign(config.jwt, { subject: "ops@telco.example", partnerOrg: Demo.partnerOrg, scopes: ["partner", "mma"] })
    const json = "-H 'content-type: application/json'"
    lines.push(
      "",
      "Demo credentials (development secret, valid 30 days):",
      `  customer cus-alice (sub-alice):  ALICE='${alice}'`,
      `  customer cus-acme (bill group bg-acme):  ACME='${acme}'`,
      `  partner ${Demo.partnerOrg} (sub-carol, sub-dave):  PARTNER='${partner}'`,
      `  partner API token:  X-Partner-Token: ${DEV_PARTNER_TOKEN}`,
      "",
      "Walkthrough (copy-paste; the cookie jar keeps the signed lmo_ls basket cookie):",
      `  BASE=${url}; ALICE='${alice}'`,
      "  # 1. open a basket on Alice's Basic subscription: see upgrades, downgrades, cross-sells",
      `  curl -s -c jar -b jar -H "authorization: Bearer $ALICE" ${json} -d '{"order":{"order_type":"update_subscription","forSubscription":{"id":"sub-alice"}}}' $BASE/api/checkout/subscription`,
      "  # 2. upgrade to Standard (the engine adds the removal of Basic and prices the proration)",
      `  curl -s -c jar -b jar -X PUT -H "authorization: Bearer $ALICE" ${json} -d '{"order":{"orderItems":[{"orderItemActionType":"add","type":"offer","offer":{"id":"ledger-standard"}}]}}' $BASE/api/checkout/subscription`,
      "  # 3. add the Archive add-on, and drop Podcasts+ at the end of the period",
      `  curl -s -c jar -b jar -X PUT -H "authorization: Bearer $ALICE" ${json} -d '{"order":{"orderItems":[{"orderItemActionType":"add","type":"offer","offer":{"id":"ledger-standard"}},{"orderItemActionType":"add","type":"add_on","offer":{"id":"addon-archive"}},{"orderItemActionType":"remove","type":"add_on","offer":{"id":"addon-podcasts"}}]}}' $BASE/api/checkout/subscription`,
      "  # 4. after a page refresh: read the basket back from the cookie",
      `  curl -s -c jar -b jar -H "authorization: Bearer $ALICE" $BASE/api/checkout/subscription`,
      "  # 5. commit it",
      `  curl -s -c jar -b jar -H "authorization: Bearer $ALICE" ${json} -d '{}' $BASE/api/order`,
      "  # 6. a second checkout is refused until the pending change takes effect: 423 with pendingChangeDate and Retry-After",
      `  curl -s -i -H "authorization: Bearer $ALICE" ${json} -d '{"order":{"order_type":"update_subscription","forSubscription":{"id":"sub-alice"}}}' $BASE/api/checkout/subscription`
    )
    return lines.join("\n")
  })

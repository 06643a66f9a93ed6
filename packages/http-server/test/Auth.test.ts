import * as CoreBotCheck from "@subshift/core/ports/BotCheck"
import * as Recaptcha from "@subshift/http-server/Recaptcha"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Jose from "jose"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { DEV_AUDIENCE, DEV_ISSUER, DEV_JWT_SECRET, DEV_PARTNER_TOKEN, hashToken } from "@subshift/http-server/Config"
import { bearer, cookieOf, initiateBody, request, start, type TestServer, tokens } from "./Harness.js"

let server: TestServer
let t: Awaited<ReturnType<typeof tokens>>
beforeAll(async () => {
  server = await start()
  t = await tokens(server)
})
afterAll(() => server.close())

const secret = new TextEncoder().encode(DEV_JWT_SECRET)
const base = (claims: Record<string, unknown> = {}) =>
  new Jose.SignJWT({ scope: "checkout", ...claims }).setSubject("cus-alice").setIssuedAt()

const get = (token: string) => request(`${server.url}/api/checkout/subscription`, { method: "POST", headers: bearer(token), body: initiateBody("sub-alice") })

describe("JWT verification", () => {
  it("accepts a valid token", async () => {
    const token = await base().setProtectedHeader({ alg: "HS256" }).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).setExpirationTime("5m").sign(secret)
    expect((await get(token)).status).toBe(200)
  })

  it("rejects an expired token with 401", async () => {
    const r = await get(t.expired)
    expect(r.status).toBe(401)
    expect(r.body.error).toEqual({ code: "Unauthenticated", message: "the token has expired" })
  })

  it("rejects a wrong audience, a wrong issuer, a missing exp and a future nbf", async () => {
    const audience = await base().setProtectedHeader({ alg: "HS256" }).setIssuer(DEV_ISSUER).setAudience("someone-else").setExpirationTime("5m").sign(secret)
    const issuer = await base().setProtectedHeader({ alg: "HS256" }).setIssuer("evil").setAudience(DEV_AUDIENCE).setExpirationTime("5m").sign(secret)
    const noExp = await base().setProtectedHeader({ alg: "HS256" }).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).sign(secret)
    const early = await base().setProtectedHeader({ alg: "HS256" }).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).setExpirationTime("2h").setNotBefore("1h").sign(secret)
    for (const token of [audience, issuer, noExp, early]) expect((await get(token)).status).toBe(401)
  })

  it("rejects alg none and a token signed with another key", async () => {
    const now = Math.floor(Date.now() / 1000)
    const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url")
    const payload = encode({ sub: "cus-alice", scope: "checkout", iss: DEV_ISSUER, aud: DEV_AUDIENCE, exp: now + 300 })
    const none = `${encode({ alg: "none", typ: "JWT" })}.${payload}.`
    const wrongKey = await base().setProtectedHeader({ alg: "HS256" }).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).setExpirationTime("5m")
      .sign(new TextEncoder().encode("another-secret-that-is-long-enough-0123456789"))
    const tampered = t.alice.slice(0, -2) + (t.alice.endsWith("A") ? "BB" : "AA")
    for (const token of [none, wrongKey, tampered, "not-a-jwt", ""]) {
      const r = await get(token)
      expect(r.status).toBe(401)
      expect(r.text).not.toContain("cus-alice")
    }
  })

  it("pins the algorithm: an RS256 token is refused by an HS256 server, and an HS256 token made with the public key by an RS256 server", async () => {
    const { privateKey, publicKey } = await Jose.generateKeyPair("RS256", { extractable: true })
    const rs256 = await base().setProtectedHeader({ alg: "RS256" }).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).setExpirationTime("5m").sign(privateKey)
    expect((await get(rs256)).status).toBe(401)
    const pem = await Jose.exportSPKI(publicKey)
    const rsServer = await start({ env: { SUBSHIFT_JWT_ALG: "RS256", SUBSHIFT_JWT_PUBLIC_KEY: pem } })
    try {
      const ok = await request(`${rsServer.url}/api/checkout/subscription`, { method: "POST", headers: bearer(rs256), body: initiateBody("sub-alice") })
      expect(ok.status).toBe(200)
      const confused = await base().setProtectedHeader({ alg: "HS256" }).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).setExpirationTime("5m")
        .sign(new TextEncoder().encode(pem))
      const r = await request(`${rsServer.url}/api/checkout/subscription`, { method: "POST", headers: bearer(confused), body: initiateBody("sub-alice") })
      expect(r.status).toBe(401)
    } finally {
      await rsServer.close()
    }
  })

  it("a token expires on the server's clock even after it was accepted once", async () => {
    const own = await start()
    try {
      const token = await own.token({ subject: "cus-alice", scopes: ["checkout"], ttlSeconds: 120 })
      const call = () => request(`${own.url}/api/checkout/subscription`, { headers: bearer(token) })
      expect((await call()).status).toBe(404)
      own.clock.advance(10 * 60_000)
      expect((await call()).status).toBe(401)
    } finally {
      await own.close()
    }
  })

  it("a customer token without the checkout scope is a 403", async () => {
    const token = await server.token({ subject: "cus-alice", scopes: ["profile"] })
    expect((await get(token)).status).toBe(403)
  })
})

describe("forged headers and replayed cookies", () => {
  const api = () => `${server.url}/api/checkout/subscription`
  const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url")

  it("refuses alg none in any spelling, with or without a signature, and another HMAC algorithm with the right secret", async () => {
    const now = Math.floor(Date.now() / 1000)
    const payload = encode({ sub: "cus-alice", scope: "checkout", iss: DEV_ISSUER, aud: DEV_AUDIENCE, exp: now + 300 })
    const signature = t.alice.split(".")[2]!
    const hs512 = await base().setProtectedHeader({ alg: "HS512" }).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).setExpirationTime("5m").sign(secret)
    const forged = [
      ...["none", "None", "NONE", "nOnE"].flatMap((alg) => [`${encode({ alg, typ: "JWT" })}.${payload}.`, `${encode({ alg, typ: "JWT" })}.${payload}.${signature}`]),
      `${encode({ typ: "JWT" })}.${payload}.${signature}`,
      `${encode({ alg: "HS256", crit: ["exp"], typ: "JWT" })}.${payload}.${signature}`,
      hs512
    ]
    for (const token of forged) {
      const r = await get(token)
      expect(r.status, token.slice(0, 40)).toBe(401)
      expect(r.body.error.code).toBe("Unauthenticated")
    }
  })

  it("refuses a token that is not yet valid and one that expired, even within the same second as a valid one", async () => {
    const notYet = await base().setProtectedHeader({ alg: "HS256" }).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).setExpirationTime("2h").setNotBefore("10m").sign(secret)
    const expired = await base().setProtectedHeader({ alg: "HS256" }).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).setIssuedAt(Math.floor(Date.now() / 1000) - 3600).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(secret)
    for (const token of [notYet, expired]) expect((await get(token)).status).toBe(401)
  })

  it("another customer replaying a valid basket cookie gets a 404 with none of the basket's data, and the basket is unchanged", async () => {
    const opened = await request(api(), { method: "POST", headers: bearer(t.erin), body: initiateBody("sub-erin") })
    expect(opened.status).toBe(200)
    const cookie = cookieOf(opened.headers)
    // The basket id is the caller's own input (it is in the cookie), echoed as for any unknown basket; the rest is the owner's.
    const secretOf = (text: string) => ["sub-erin", "cus-erin", "3R1NSTANDARD", "amount", "ledger-"].filter((m) => text.includes(m))
    const upgrade = { order: { orderItems: [{ orderItemActionType: "add", type: "add_on", offer: { id: "addon-crossword" } }] } }
    for (const [method, path, body] of [["GET", api(), undefined], ["PUT", api(), upgrade], ["POST", `${server.url}/api/order`, {}]] as const) {
      const r = await request(path, { method, headers: { ...bearer(t.bob), cookie }, body })
      expect(r.status, `${method} ${path}`).toBe(404)
      expect(r.body.error.code).toBe("BasketNotFound")
      expect(secretOf(r.text), r.text).toEqual([])
    }
    // The same basket id in the order body, with the replayed cookie or alone, is no better.
    const byId = await request(`${server.url}/api/order`, { method: "POST", headers: bearer(t.bob), body: { checkoutId: opened.body.checkoutId } })
    expect(byId.status).toBe(404)
    expect(secretOf(byId.text), byId.text).toEqual([])
    // A partner of another organisation replaying a partner's cookie fares the same.
    const partnerOpened = await request(`${server.url}/api/partner/checkout/subscription`, {
      method: "POST",
      headers: { ...bearer(t.telco), "x-limio-recaptcha": "t" },
      body: initiateBody("sub-carol")
    })
    const replayed = await request(`${server.url}/api/partner/checkout/subscription`, { headers: { ...bearer(t.otherPartner), cookie: cookieOf(partnerOpened.headers) } })
    expect(replayed.status).toBe(404)
    expect(replayed.text).not.toContain("C4R0LTELC0AA")
    const own = await request(api(), { headers: { ...bearer(t.erin), cookie } })
    expect(own.status).toBe(200)
    expect(own.body.version).toBe(1)
    expect(own.body.order.orderItems).toEqual([])
  })

  it("a cookie whose basket id is swapped for another basket's under the first signature is no basket", async () => {
    const first = cookieOf((await request(api(), { method: "POST", headers: bearer(t.alice), body: initiateBody("sub-alice") })).headers)
    const second = cookieOf((await request(api(), { method: "POST", headers: bearer(t.alice), body: initiateBody("sub-alice") })).headers)
    const [name, value] = first.split("=") as [string, string]
    const signature = value.split(".")[1]!
    const secondId = second.split("=")[1]!.split(".")[0]!
    for (const cookie of [`${name}=${secondId}.${signature}`, `${name}=${secondId}.${signature}.${signature}`, `${name}=${secondId.toUpperCase()}.${signature}`]) {
      const r = await request(api(), { headers: { ...bearer(t.alice), cookie } })
      expect(r.status).toBe(404)
      expect(r.body.error.code).toBe("NoBasket")
    }
  })
})

describe("partner credentials", () => {
  const partnerApi = () => `${server.url}/api/partner/checkout/subscription`

  it("X-Partner-Token of an organisation works; an unknown token is a 401", async () => {
    const ok = await request(partnerApi(), { method: "POST", headers: { "x-partner-token": DEV_PARTNER_TOKEN, "x-limio-recaptcha": "t" }, body: initiateBody("sub-carol") })
    expect(ok.status).toBe(200)
    const bad = await request(partnerApi(), { method: "POST", headers: { "x-partner-token": "guess", "x-limio-recaptcha": "t" }, body: initiateBody("sub-carol") })
    expect(bad.status).toBe(401)
  })

  it("a partner JWT without the mma scope is a 403 on /partner/mma/*", async () => {
    const r = await request(`${server.url}/api/partner/mma/subscriptions`, { headers: bearer(t.telcoNoMma) })
    expect(r.status).toBe(403)
    expect(r.body.error.code).toBe("Forbidden")
  })

  it("the partner initiate needs x-limio-recaptcha: 400 when absent", async () => {
    const r = await request(partnerApi(), { method: "POST", headers: bearer(t.telco), body: initiateBody("sub-carol") })
    expect(r.status).toBe(400)
    expect(r.body.error.details.field).toBe("x-limio-recaptcha")
  })
})

describe("the reCAPTCHA bot check", () => {
  let verify: Http.Server
  let verifyUrl: string
  const seen: Array<string> = []
  beforeAll(async () => {
    verify = Http.createServer((req, res) => {
      let body = ""
      req.on("data", (c) => (body += c))
      req.on("end", () => {
        seen.push(body)
        const params = new URLSearchParams(body)
        if (params.get("response") === "down") {
          res.writeHead(500).end()
          return
        }
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ success: params.get("secret") === "verify-secret" && params.get("response") === "human", score: 0.9 }))
      })
    })
    await new Promise<void>((resolve) => verify.listen(0, "127.0.0.1", resolve))
    verifyUrl = `http://127.0.0.1:${(verify.address() as AddressInfo).port}/siteverify`
  })
  afterAll(() => new Promise<void>((resolve) => verify.close(() => resolve())))

  it("posts the token and secret to the verify URL: a pass is 200, a fail 403, an unreachable check 503", async () => {
    const botCheck = Recaptcha.layer({ verifyUrl, secret: Redacted.make("verify-secret"), minScore: Option.some(0.5), timeout: Duration.seconds(2) })
    // The test client is the proxy in front of the server, so the address it forwards is the client's.
    const own = await start({ botCheck, env: { SUBSHIFT_TRUSTED_PROXIES: "127.0.0.1, ::1" } })
    try {
      const token = await own.token({ subject: "ops", partnerOrg: "partner-telco", scopes: ["partner"] })
      const call = (captcha: string) =>
        request(`${own.url}/api/partner/checkout/subscription`, {
          method: "POST",
          headers: { ...bearer(token), "x-limio-recaptcha": captcha, "x-forwarded-for": "198.51.100.4" },
          body: initiateBody("sub-carol")
        })
      expect((await call("human")).status).toBe(200)
      expect(seen.at(-1)).toContain("remoteip=198.51.100.4")
      const bot = await call("bot")
      expect(bot.status).toBe(403)
      expect(bot.body.error.code).toBe("Forbidden")
      expect((await call("down")).status).toBe(503)
    } finally {
      await own.close()
    }
  })

  it("the accept-all adapter passes everything and the reCAPTCHA adapter is the production default", async () => {
    expect(await Effect.runPromise(Effect.flatMap(CoreBotCheck.BotCheck, (b) => b.verify("anything")).pipe(Effect.provide(CoreBotCheck.layerAcceptAll)))).toBe(true)
    const { configOf } = await import("./Harness.js")
    const production = await configOf({
      NODE_ENV: "production",
      SUBSHIFT_COOKIE_SECRET: "a-production-cookie-secret-of-32-chars!",
      SUBSHIFT_JWT_SECRET: "a-production-jwt-secret-of-at-least-32-chars",
      SUBSHIFT_PARTNER_TOKENS: `telco:partner:${hashToken("real-token")}`,
      SUBSHIFT_RECAPTCHA_SECRET: "s"
    })
    expect(production.botCheck.kind).toBe("recaptcha")
    expect(production.cookie.secure).toBe(true)
  })
})

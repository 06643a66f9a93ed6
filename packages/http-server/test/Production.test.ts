/**
 * The production posture over HTTP (`NODE_ENV=production` with real secrets): the answer headers
 * on every kind of answer, on the fast path and the router; docs off unless asked, and then
 * without the routes the server does not have; the client address taken only from trusted
 * proxies; and the configuration's production defaults and refusals.
 */
import { Baskets } from "@subshift/core/ports/Baskets"
import * as Edge from "@subshift/http-server/Edge"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { BlockList } from "node:net"
import { bearer, configOf, cookieOf, initiateBody, productionEnv, request, start, type TestServer } from "./Harness.js"

const production = { ...productionEnv, SUBSHIFT_SEED_DEMO: "true" }

const failure = (env: Record<string, string>) => configOf(env).then(() => "started", (e) => String(e))

/** The client address stored with a basket opened through `server` with these headers. */
const storedClientIp = async (server: TestServer, headers: Record<string, string>) => {
  const token = await server.token({ subject: "cus-alice", scopes: ["checkout"] })
  const opened = await request(`${server.url}/api/checkout/subscription`, {
    method: "POST",
    headers: { ...bearer(token), "x-limio-recaptcha": "t", ...headers },
    body: initiateBody("sub-alice")
  })
  expect(opened.status).toBe(200)
  const id = cookieOf(opened.headers).split("=")[1]!.split(".")[0]!
  const basket = await server.run(Effect.flatMap(Baskets, (baskets) => baskets.findById(id)))
  return Option.getOrThrow(basket).tracking?.clientIp
}

describe("production posture", () => {
  let server: TestServer
  let customer: Record<string, string>
  let partner: Record<string, string>
  beforeAll(async () => {
    server = await start({ env: production })
    customer = bearer(await server.token({ subject: "cus-alice", scopes: ["checkout"] }))
    partner = bearer(await server.token({ subject: "ops@telco", partnerOrg: "partner-telco", scopes: ["partner", "mma"] }))
  })
  afterAll(() => server.close())

  it("every answer carries nosniff, no-referrer and frame-ancestors 'none'; every API answer is no-store, success or error, fast path or router", async () => {
    const opened = await request(`${server.url}/api/checkout/subscription`, { method: "POST", headers: { ...customer, "x-limio-recaptcha": "t" }, body: initiateBody("sub-alice") })
    expect(opened.status).toBe(200)
    const cookie = cookieOf(opened.headers)
    const answers = [
      ["initiate (router)", opened],
      ["basket read (fast path)", await request(`${server.url}/api/checkout/subscription`, { headers: { ...customer, cookie } })],
      ["basket read (router)", await request(`${server.url}/api/checkout/subscription?x=1`, { headers: { ...customer, cookie } })],
      ["basket update (fast path)", await request(`${server.url}/api/checkout/subscription`, { method: "PUT", headers: { ...customer, cookie }, body: { order: { orderItems: [] } } })],
      ["partner listing", await request(`${server.url}/api/partner/mma/subscriptions`, { headers: partner })],
      ["partner detail", await request(`${server.url}/api/partner/mma/subscriptions/sub-dave`, { headers: partner })],
      ["order refused", await request(`${server.url}/api/order`, { method: "POST", headers: customer, body: {} })],
      ["amend refused", await request(`${server.url}/api/selfService/checkout/amend`, { method: "POST", headers: customer, body: {} })],
      ["unauthenticated", await request(`${server.url}/api/checkout/subscription`)],
      ["malformed", await request(`${server.url}/api/checkout/subscription`, { method: "POST", headers: { ...customer, "content-type": "application/json" }, raw: "{" })],
      ["unknown API route", await request(`${server.url}/api/nothing`)]
    ] as const
    for (const [name, r] of answers) {
      expect([name, r.headers.get("x-content-type-options"), r.headers.get("referrer-policy"), r.headers.get("cache-control")])
        .toEqual([name, "nosniff", "no-referrer", "no-store"])
      expect(r.headers.get("content-security-policy"), name).toContain("frame-ancestors 'none'")
    }
    const health = await request(`${server.url}/health`)
    expect([health.status, health.headers.get("x-content-type-options"), health.headers.get("referrer-policy")]).toEqual([200, "nosniff", "no-referrer"])
    expect(health.headers.get("content-security-policy")).toBe("frame-ancestors 'none'")
  })

  it("/docs and /openapi.json are off in production unless SUBSHIFT_DOCS=on", async () => {
    expect((await request(`${server.url}/docs`)).status).toBe(404)
    expect((await request(`${server.url}/openapi.json`)).status).toBe(404)
    const documented = await start({ env: { ...production, SUBSHIFT_DOCS: "on" } })
    try {
      const spec = await request(`${documented.url}/openapi.json`)
      expect(spec.status).toBe(200)
      expect(Object.keys(spec.body.paths)).toContain("/api/checkout/subscription")
      // The test clock is off, so its routes do not exist and are not described.
      expect(Object.keys(spec.body.paths).filter((p) => p.startsWith("/api/test-clock"))).toEqual([])
      expect((await request(`${documented.url}/docs`)).status).toBe(200)
    } finally {
      await documented.close()
    }
  })

  it("X-Forwarded-For is believed only from a trusted proxy, and then its right-most untrusted hop is the client", async () => {
    expect(await storedClientIp(server, { "x-forwarded-for": "6.6.6.6, 127.0.0.1" })).toMatch(/^(::ffff:)?127\.0\.0\.1$/)
    const behindProxy = await start({ env: { ...production, SUBSHIFT_TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8" } })
    try {
      expect(await storedClientIp(behindProxy, { "x-forwarded-for": "6.6.6.6, 203.0.113.9, 10.1.2.3" })).toBe("203.0.113.9")
      expect(await storedClientIp(behindProxy, { "x-forwarded-for": "198.51.100.7" })).toBe("198.51.100.7")
    } finally {
      await behindProxy.close()
    }
  })
})

describe("production configuration", () => {
  it("the demo data is off in production unless asked, and on in development", async () => {
    const { SUBSHIFT_SEED_DEMO: _seed, ...unseeded } = production
    expect((await configOf(unseeded)).store.seedDemo).toBe(false)
    expect((await configOf(production)).store.seedDemo).toBe(true)
    expect((await configOf()).store.seedDemo).toBe(true)
  })

  it("the accept-all bot check is refused in production", async () => {
    expect(await failure({ ...production, SUBSHIFT_BOT_CHECK: "accept-all" })).toContain("SUBSHIFT_BOT_CHECK")
    expect((await configOf({ SUBSHIFT_BOT_CHECK: "accept-all" })).botCheck.kind).toBe("accept-all")
  })

  it("docs default on in development and off in production; SUBSHIFT_TRUSTED_PROXIES takes addresses and CIDRs and names itself when wrong", async () => {
    expect((await configOf()).docs).toBe(true)
    expect((await configOf(production)).docs).toBe(false)
    expect((await configOf({ ...production, SUBSHIFT_DOCS: "on" })).docs).toBe(true)
    const { trustedProxies } = await configOf({ SUBSHIFT_TRUSTED_PROXIES: "10.0.0.0/8, ::1, 192.168.1.1" })
    expect([trustedProxies.check("10.9.9.9"), trustedProxies.check("::1", "ipv6"), trustedProxies.check("192.168.1.2")]).toEqual([true, true, false])
    expect(await failure({ SUBSHIFT_TRUSTED_PROXIES: "10.0.0.0/33" })).toContain("SUBSHIFT_TRUSTED_PROXIES")
    expect(await failure({ SUBSHIFT_TRUSTED_PROXIES: "proxy.internal" })).toContain("SUBSHIFT_TRUSTED_PROXIES")
  })

  it("the client address walks X-Forwarded-For from the right past trusted hops only", () => {
    const trusted = new BlockList()
    trusted.addSubnet("10.0.0.0", 8)
    expect(Edge.clientAddress("203.0.113.1", "6.6.6.6, 127.0.0.1", trusted)).toBe("203.0.113.1")
    expect(Edge.clientAddress("10.0.0.1", "6.6.6.6, 7.7.7.7", trusted)).toBe("7.7.7.7")
    expect(Edge.clientAddress("::ffff:10.0.0.1", "6.6.6.6, 10.0.0.2", trusted)).toBe("6.6.6.6")
    expect(Edge.clientAddress("10.0.0.1", undefined, trusted)).toBe("10.0.0.1")
    expect(Edge.clientAddress("10.0.0.1", "10.0.0.3", trusted)).toBe("10.0.0.3")
  })
})

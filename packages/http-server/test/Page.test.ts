import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { hashToken } from "@subshift/http-server/Config"
import { request as rawRequest } from "node:http"
import * as Harness from "./Harness.js"

const production = {
  NODE_ENV: "production",
  SUBSHIFT_COOKIE_SECRET: "a-production-cookie-secret-of-32-chars!",
  SUBSHIFT_JWT_SECRET: "a-production-jwt-secret-of-at-least-32-chars",
  SUBSHIFT_PARTNER_TOKENS: `telco:partner:${hashToken("real-token")}`,
  SUBSHIFT_RECAPTCHA_SECRET: "s"
}

/** A request whose path goes out exactly as written: `fetch` would resolve `..` before sending. */
const raw = (url: string, path: string, method = "GET") =>
  new Promise<{ status: number; headers: Record<string, string | Array<string> | undefined>; body: string }>((resolve, reject) => {
    const { hostname, port } = new URL(url)
    const req = rawRequest({ hostname, port, path, method }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }))
    })
    req.on("error", reject)
    req.end()
  })

describe.sequential("the change-plan page, served", () => {
  let dev: Harness.TestServer
  beforeAll(async () => {
    dev = await Harness.start()
  })
  afterAll(() => dev.close())

  it("serves the page, its stylesheet and its script with their content types and a strict policy", async () => {
    const cases = [
      ["/account/change-plan", "text/html; charset=utf-8", "<!doctype html>"],
      ["/account/change-plan.css", "text/css; charset=utf-8", ":root"],
      ["/account/change-plan.js", "text/javascript; charset=utf-8", "const SESSION_KEY"]
    ] as const
    for (const [path, type, start] of cases) {
      const answer = await raw(dev.url, path)
      expect(answer.status).toBe(200)
      expect(answer.headers["content-type"]).toBe(type)
      expect(answer.headers["x-content-type-options"]).toBe("nosniff")
      expect(answer.headers["content-security-policy"]).toContain("script-src 'self'")
      expect(answer.body).toContain(start)
    }
  })

  it("answers HEAD without a body, and other methods with 405", async () => {
    const head = await raw(dev.url, "/account/change-plan", "HEAD")
    expect(head.status).toBe(200)
    expect(head.body).toBe("")
    const post = await raw(dev.url, "/account/change-plan", "POST")
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe("GET, HEAD")
  })

  it("serves nothing outside its fixed files: traversal, file names, folders and listings are unknown routes", async () => {
    const paths = [
      "/account/",
      "/account",
      "/account/change-plan/",
      "/account/change-plan.html",
      "/account/../package.json",
      "/account/%2e%2e/package.json",
      "/account/change-plan/../../src/Page.ts",
      "/account/..%2fsrc%2fPage.ts",
      "/account/page/change-plan.js",
      "/account/change-plan.js.map"
    ]
    for (const path of paths) {
      const answer = await raw(dev.url, path)
      expect({ path, status: answer.status }).toEqual({ path, status: 404 })
      expect(JSON.parse(answer.body).error.code).toBe("RouteNotFound")
    }
  })

  it("hands out the demo identities in development, with tokens the API accepts", async () => {
    const answer = await Harness.request(`${dev.url}/account/demo-session`)
    expect(answer.status).toBe(200)
    expect(answer.headers.get("cache-control")).toBe("no-store")
    expect(answer.body.notice).toMatch(/^Development only/)
    const alice = answer.body.identities.find((i: { id: string }) => i.id === "alice")
    expect(alice.subscriptions.map((s: { id: string }) => s.id)).toEqual(["sub-alice"])
    const opened = await Harness.request(`${dev.url}/api/checkout/subscription`, {
      method: "POST",
      headers: Harness.bearer(alice.token),
      body: Harness.initiateBody("sub-alice")
    })
    expect(opened.status).toBe(200)
    const partner = answer.body.identities.find((i: { kind: string }) => i.kind === "partner")
    const listed = await Harness.request(`${dev.url}/api/partner/mma/subscriptions`, { headers: Harness.bearer(partner.token) })
    expect(listed.status).toBe(200)
  })

  it("keeps the page routes out of the API's OpenAPI document", async () => {
    const answer = await Harness.request(`${dev.url}/openapi.json`)
    expect(Object.keys(answer.body.paths).filter((p) => p.startsWith("/account"))).toEqual([])
  })

  it("with SUBSHIFT_PAGE=off the page and the demo session are unknown routes", async () => {
    const off = await Harness.start({ env: { SUBSHIFT_PAGE: "off" } })
    try {
      for (const path of ["/account/change-plan", "/account/change-plan.js", "/account/demo-session"]) {
        const answer = await Harness.request(`${off.url}${path}`)
        expect(answer.status).toBe(404)
        expect(answer.body.error.code).toBe("RouteNotFound")
      }
    } finally {
      await off.close()
    }
  })

  it("is off by default in production, and when turned on there it never hands out demo tokens", async () => {
    expect((await Harness.configOf(production)).page).toBe(false)
    const server = await Harness.start({ env: { ...production, SUBSHIFT_PAGE: "on" } })
    try {
      expect((await Harness.request(`${server.url}/account/change-plan`)).status).toBe(200)
      const session = await Harness.request(`${server.url}/account/demo-session`)
      expect(session.status).toBe(404)
      expect(session.body.error.code).toBe("RouteNotFound")
    } finally {
      await server.close()
    }
  })
})

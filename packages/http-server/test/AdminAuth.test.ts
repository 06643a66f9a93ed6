import { describe, expect, it } from "@effect/vitest"
import * as ApiKeys from "@subshift/http-server/admin/ApiKeys"
import { DEV_PARTNER_TOKEN } from "@subshift/http-server/Config"
import * as Either from "effect/Either"
import { adminServer, key } from "./AdminHarness.js"
import { bearer, configOf, request } from "./Harness.js"

const admin = adminServer()
const keys = admin.keys

const whoami = (headers: Record<string, string>) => request(`${admin.server.url}/api/admin/whoami`, { headers })

describe("operator API keys", () => {
  it("a configured key is the operator: its name, id and scopes, never its secret", async () => {
    const r = await whoami(key(keys.ops))
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ keyId: keys.idOf(keys.ops), name: "ops", scopes: ["subscriptions:write", "admin:read"] })
    expect(r.text).not.toContain(keys.ops.slice(17))
  })

  it("no key, a malformed header, an unknown key and an expired key are 401", async () => {
    const unknown = ApiKeys.generate("nobody", ["admin:read"]).key
    const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
      [{}, "an operator API key is required: Authorization: Bearer ssk_…"],
      [{ authorization: `Basic ${keys.ops}` }, "the Authorization header must be Bearer <API key>"],
      [key(unknown), "the API key is not valid"],
      [key(keys.ops.slice(0, -1)), "the API key is not valid"],
      [key(keys.expired), `the API key ${keys.idOf(keys.expired)} has expired`],
      [key("not-a-jwt-nor-a-key"), "the token is not valid"]
    ]
    for (const [headers, message] of cases) {
      const r = await whoami(headers)
      expect(r.status).toBe(401)
      expect(r.body.error).toEqual({ code: "Unauthenticated", message })
    }
  })

  it("customer and partner credentials never reach an admin route: 403", async () => {
    for (const headers of [bearer(admin.t.alice), bearer(admin.t.telco), { "x-partner-token": DEV_PARTNER_TOKEN }]) {
      const r = await whoami(headers)
      expect(r.status).toBe(403)
      expect(r.body.error.code).toBe("Forbidden")
      expect(r.body.error.message).toContain("do not reach the operator API")
    }
    // An expired customer token or an unknown partner token is still a 401.
    expect((await whoami(bearer(admin.t.expired))).status).toBe(401)
    expect((await whoami({ "x-partner-token": "not-a-partner-token" })).status).toBe(401)
  })

  it("a key without the endpoint's scope is 403 naming the scope", async () => {
    const r = await request(`${admin.server.url}/api/admin/audit`, { headers: key(keys.catalog) })
    expect(r.status).toBe(403)
    expect(r.body.error.message).toContain("scope admin:read")
    expect((await request(`${admin.server.url}/api/admin/audit`, { headers: key(keys.reader) })).status).toBe(200)
  })

  it("admin routes are in the published OpenAPI document with the operator key scheme", async () => {
    const r = await request(`${admin.server.url}/openapi.json`)
    expect(Object.keys(r.body.paths)).toEqual(expect.arrayContaining(["/api/admin/whoami", "/api/admin/audit"]))
    expect(r.body.components.securitySchemes.adminKey).toMatchObject({ type: "http", scheme: "bearer" })
  })
})

describe("SUBSHIFT_API_KEYS", () => {
  it("keys are parsed with their scopes and expiry, and a bad entry stops the start naming the variable", async () => {
    const made = ApiKeys.generate("ops", ["catalog:write", "admin:read"], "2030-01-01")
    const parsed = ApiKeys.parseApiKeys(made.entry)
    expect(Either.getOrThrow(parsed)).toEqual([
      { name: "ops", id: ApiKeys.idOf(made.key), scopes: ["catalog:write", "admin:read"], sha256: ApiKeys.hashKey(made.key), expiresAt: Date.parse("2030-01-01") }
    ])
    expect(made.key).toMatch(/^ssk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/)
    for (const bad of ["ops:abc:admin:read:00", `ops:${"a".repeat(12)}:admin:write:${"0".repeat(64)}`, `ops:${"a".repeat(12)}:admin:read:${"0".repeat(64)}:never`]) {
      await expect(configOf({ SUBSHIFT_API_KEYS: bad })).rejects.toThrow(/SUBSHIFT_API_KEYS/)
    }
    expect((await configOf({})).apiKeys).toEqual([])
  })
})

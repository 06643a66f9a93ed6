import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { CatalogVersions } from "@subshift/core/ports/CatalogVersions"
import { AuditLog } from "@subshift/core/ports/AuditLog"
import * as Demo from "@subshift/core/demo/Demo"
import AjvModule from "ajv"
import * as Effect from "effect/Effect"
import { adminKeys, key } from "./AdminHarness.js"
import { bearer, initiateBody, request, start, type TestServer, tokens } from "./Harness.js"

// A CommonJS module: its class is the default export's `default`.
const Ajv = AjvModule.default

const keys = adminKeys()
let server: TestServer
let t: Awaited<ReturnType<typeof tokens>>
beforeAll(async () => {
  server = await start({ env: keys.env })
  t = await tokens(server)
})
afterAll(() => server.close())

const demoDocument = (edit: (offers: Array<any>) => void = () => {}) => {
  const offers = JSON.parse(JSON.stringify(Demo.offers))
  edit(offers)
  return { offers }
}
const reprice = (id: string, amount: number) => (offers: Array<any>) => {
  offers.find((o) => o.id === id).rates[0].amount = amount
}
const admin = (path: string, k: string, options: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) =>
  request(`${server.url}/api/admin/catalog${path}`, { ...options, headers: { ...key(k), ...options.headers } })
const stored = () => server.run(Effect.flatMap(CatalogVersions, (v) => v.list))
const premiumUpgradePrice = async () => {
  const r = await request(`${server.url}/api/checkout/subscription`, { method: "POST", headers: bearer(t.alice), body: initiateBody("sub-alice") })
  expect(r.status).toBe(200)
  return r.body.nextActions.upgrades.find((o: any) => o.offerId === "ledger-premium")?.price
}

describe("POST /api/admin/catalog/validate", () => {
  it("answers 200 with the diff and the impact, and stores nothing", async () => {
    const before = await stored()
    const r = await admin("/validate", keys.catalog, { method: "POST", body: demoDocument(reprice("ledger-premium", 3499)) })
    expect(r.status).toBe(200)
    expect(r.body.valid).toBe(true)
    expect(r.body.diff.changed[0]).toMatchObject({ offerId: "ledger-premium", prices: [{ rateId: "ledger-premium-usd-monthly", after: { amount: 3499 } }] })
    expect(r.body.impact.held).toEqual([{ offerId: "ledger-premium", change: "repriced", subscriptions: 2 }])
    expect(r.body.impact.subscriptions).toBeGreaterThan(0)
    expect(await stored()).toEqual(before)
  })

  it("answers 400 InvalidCatalog with every problem at its path, and stores nothing", async () => {
    const before = await stored()
    const document = demoDocument((offers) => {
      offers[3].rates[0].currency = "usd"
      offers[1].upgrades = ["ledger-nope"]
    })
    const r = await admin("/validate", keys.catalog, { method: "POST", body: document })
    expect(r.status).toBe(400)
    expect(r.body.error.code).toBe("InvalidCatalog")
    expect(r.body.error.details.problems).toEqual([
      { path: "offers[3].rates[0].currency", message: "a currency is three upper-case letters (ISO-4217)" }
    ])
    const refs = await admin("/validate", keys.catalog, { method: "POST", body: demoDocument((offers) => void (offers[1].upgrades = ["ledger-nope"])) })
    expect(refs.body.error.details.problems).toEqual([{ path: "offers[1].upgrades[0]", message: "no offer ledger-nope in the catalog" }])
    const notJson = await admin("/validate", keys.catalog, { method: "POST", raw: "{offers", headers: { "content-type": "application/json" } })
    expect(notJson.status).toBe(400)
    expect(await stored()).toEqual(before)
  })

  it("warns about a downgrade that drops credit, and refuses an effectiveFrom in the past", async () => {
    const document = demoDocument((offers) => {
      offers.find((o) => o.id === "ledger-premium").changePolicy = { downgrade: { timing: "TODAY", prorate: false } }
    })
    const r = await admin("/validate", keys.catalog, { method: "POST", body: document })
    expect(r.status).toBe(200)
    expect(r.body.warnings).toEqual([{ path: "offers[2].changePolicy.downgrade", message: expect.stringContaining("unused credit") }])
    const past = await admin("/validate?effectiveFrom=2020-01-01T00:00:00Z", keys.catalog, { method: "POST", body: demoDocument() })
    expect(past.status).toBe(400)
    expect(past.body.error.code).toBe("InvalidEffectiveFrom")
  })

  it("needs a key with catalog:write: 401 without, 403 with another scope or a customer's token", async () => {
    expect((await request(`${server.url}/api/admin/catalog/validate`, { method: "POST", body: demoDocument() })).status).toBe(401)
    expect((await admin("/validate", keys.reader, { method: "POST", body: demoDocument() })).status).toBe(403)
    expect((await request(`${server.url}/api/admin/catalog/validate`, { method: "POST", headers: bearer(t.alice), body: demoDocument() })).status).toBe(403)
  })
})

describe("PUT /api/admin/catalog and the reads", () => {
  it("publishes a version effective later: prices change by themselves at its instant; the reads show it; the publish is audited", async () => {
    const effectiveFrom = new Date(server.clock.now() + 3_600_000).toISOString()
    const before = await premiumUpgradePrice()
    expect(before).toEqual({ amount: 2999, currency: "USD" })
    const r = await admin(`?effectiveFrom=${effectiveFrom}`, keys.catalog, {
      method: "PUT",
      body: demoDocument(reprice("ledger-premium", 3499)),
      headers: { "x-subshift-reason": "spring prices" }
    })
    expect(r.status).toBe(201)
    expect(r.body).toMatchObject({ version: 2, effectiveFrom, held: [{ offerId: "ledger-premium", change: "repriced", subscriptions: 2 }] })
    expect(await premiumUpgradePrice()).toEqual({ amount: 2999, currency: "USD" })
    expect((await admin("", keys.reader)).body.version).toBe(1)

    server.clock.advance(3_600_001)
    expect(await premiumUpgradePrice()).toEqual({ amount: 3499, currency: "USD" })
    const current = await admin("", keys.reader)
    expect(current.status).toBe(200)
    expect(current.body).toMatchObject({ version: 2, effectiveFrom })
    const list = await admin("/versions", keys.reader)
    expect(list.body.items.map((v: any) => [v.version, v.offers])).toEqual([[1, Demo.offers.length], [2, Demo.offers.length]])
    const one = await admin("/versions/2", keys.reader)
    expect(one.body.document.offers.find((o: any) => o.id === "ledger-premium").rates[0].amount).toBe(3499)
    const audit = await server.run(Effect.flatMap(AuditLog, (a) => a.list({ limit: 100 })))
    expect(audit.at(-1)).toMatchObject({ action: "catalog.published", target: "catalog/versions/2", reason: "spring prices", key: { name: "catalog-bot" } })
  })

  it("refuses a bad document (400) and an effectiveFrom in the past (400) and stores nothing; no key is 401, a reader is 403", async () => {
    const before = await stored()
    const bad = await admin("", keys.catalog, { method: "PUT", body: { offers: [{ id: "x" }] } })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe("InvalidCatalog")
    expect(bad.body.error.details.problems.map((p: any) => p.path)).toEqual(["offers[0].name", "offers[0].kind", "offers[0].rates"])
    const past = await admin("?effectiveFrom=2020-01-01T00:00:00Z", keys.catalog, { method: "PUT", body: demoDocument() })
    expect(past.status).toBe(400)
    expect(past.body.error.code).toBe("InvalidEffectiveFrom")
    expect((await request(`${server.url}/api/admin/catalog`, { method: "PUT", body: demoDocument() })).status).toBe(401)
    expect((await admin("", keys.reader, { method: "PUT", body: demoDocument() })).status).toBe(403)
    expect(await stored()).toEqual(before)
  })

  it("answers 404 for an unknown version and 400 for a version that is not a number; reads need admin:read", async () => {
    expect((await admin("/versions/99", keys.reader)).body.error.code).toBe("CatalogVersionNotFound")
    expect((await admin("/versions/99", keys.reader)).status).toBe(404)
    expect((await admin("/versions/two", keys.reader)).status).toBe(400)
    expect((await admin("/versions", keys.catalog)).status).toBe(403)
    expect((await request(`${server.url}/api/admin/catalog`)).status).toBe(401)
  })

  it("serves the JSON Schema, which a real validator accepts the demo catalog against and refuses a bad one with", async () => {
    const r = await admin("/schema", keys.reader)
    expect(r.status).toBe(200)
    const validate = new Ajv({ strict: false }).compile(r.body)
    expect(validate(demoDocument())).toBe(true)
    expect(validate(demoDocument((offers) => void (offers[0].rates[0].amount = 9.5)))).toBe(false)
    expect((await admin("/schema", keys.catalog)).status).toBe(403)
  })
})

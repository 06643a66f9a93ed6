/**
 * The README's "Run Subshift on your own data", step by step against a listening server started
 * without the demo data: a key, the catalog of docs/own-data published, its subscriptions
 * imported, and a checkout opened on one of them by its owner.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as ApiKeys from "@subshift/http-server/admin/ApiKeys"
import { readFileSync } from "node:fs"
import { key } from "./AdminHarness.js"
import { bearer, request, start, type TestServer } from "./Harness.js"

const own = new URL("../../../docs/own-data/", import.meta.url).pathname
const ops = ApiKeys.generate("ops", ["catalog:write", "subscriptions:write", "admin:read"])
let server: TestServer
beforeAll(async () => {
  server = await start({ env: { SUBSHIFT_API_KEYS: ops.entry, SUBSHIFT_SEED_DEMO: "false" } })
})
afterAll(() => server.close())

describe("Run Subshift on your own data", () => {
  it("publishes the catalog, imports the subscriptions and opens a checkout on one of them", async () => {
    const empty = await request(`${server.url}/api/admin/subscriptions/sub-alice`, { headers: key(ops.key) })
    expect(empty.status).toBe(404)

    const published = await request(`${server.url}/api/admin/catalog`, {
      method: "PUT",
      headers: { ...key(ops.key), "content-type": "application/json", "x-subshift-reason": "first catalog" },
      raw: readFileSync(`${own}catalog.json`, "utf8")
    })
    expect(published.status).toBe(201)

    const imported = await request(`${server.url}/api/admin/subscriptions/import`, {
      method: "POST",
      headers: { ...key(ops.key), "content-type": "application/x-ndjson" },
      raw: readFileSync(`${own}subscriptions.ndjson`, "utf8")
    })
    expect(imported.status).toBe(200)
    expect(imported.body.totals).toEqual({ lines: 2, created: 2, updated: 0, unchanged: 0, rejected: 0 })
    const read = await request(`${server.url}/api/admin/subscriptions/sub-cloud-0001`, { headers: key(ops.key) })
    expect(read.body.subscription).toMatchObject({ owner: "cus-ada", offer: { offerId: "cloud-starter" } })

    const ada = await server.token({ subject: "cus-ada", scopes: ["checkout"] })
    const basket = await request(`${server.url}/api/checkout/subscription`, {
      method: "POST",
      headers: bearer(ada),
      body: { order: { order_type: "update_subscription", forSubscription: { id: "sub-cloud-0001" } } }
    })
    expect(basket.status).toBe(200)
    expect(basket.body.nextActions.upgrades.map((o: any) => o.offerId)).toEqual(["cloud-pro"])
    expect(basket.body.nextActions.crossSells.map((o: any) => o.offerId)).toEqual(["cloud-backups"])
  })
})

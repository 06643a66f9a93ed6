/**
 * The database going away in the middle of a request, over HTTP on the Postgres store: the
 * request's backend is terminated while its write waits on a row lock; the request answers 503,
 * nothing of it is stored, and the next request succeeds.
 */
import { PgStore } from "@subshift/store-postgres"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { bearer, cookieOf, initiateBody, request, start, type TestServer, tokens } from "./Harness.js"

const serverUrl = process.env["TEST_DATABASE_URL"] || undefined
const PATH = "/api/checkout/subscription"

const admin = async (url: string, text: string, values: ReadonlyArray<unknown> = []) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text, [...values])).rows
  } finally {
    await client.end()
  }
}

describe.runIf(serverUrl !== undefined)("the database going away during a request", () => {
  const schema = `subshift_http_fault_${process.pid}_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`
  const applicationName = `subshift-http-${schema.slice(-8)}`
  let url = ""
  let server: TestServer

  beforeAll(async () => {
    await admin(serverUrl!, `CREATE SCHEMA ${schema}`)
    const parsed = new URL(serverUrl!)
    parsed.searchParams.set("options", `-c search_path=${schema}`)
    parsed.searchParams.set("application_name", applicationName)
    url = parsed.toString()
    server = await start({ store: PgStore.layerUrl(url) })
  }, 60_000)

  afterAll(async () => {
    await server?.close()
    await admin(serverUrl!, `DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  })

  it("answers 503, stores nothing of the request, and serves the next one", async () => {
    const t = await tokens(server)
    const opened = await request(`${server.url}${PATH}`, { method: "POST", headers: bearer(t.alice), body: initiateBody("sub-alice") })
    expect(opened.status).toBe(200)
    const cookie = cookieOf(opened.headers)
    const headers = { ...bearer(t.alice), cookie }
    const upgrade = { order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } }] } }

    // Hold the basket's row so that the server's write waits, then cut the waiting backend off.
    const locker = new pg.Client({ connectionString: url })
    await locker.connect()
    await locker.query("BEGIN")
    await locker.query("SELECT 1 FROM subshift_baskets WHERE id = $1 FOR UPDATE", [opened.body.checkoutId])
    const pending = request(`${server.url}${PATH}`, { method: "PUT", headers, body: upgrade })
    let terminated = 0
    for (let i = 0; i < 200 && terminated === 0; i++) {
      const rows = await admin(
        serverUrl!,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [applicationName]
      )
      terminated = rows.length
      if (terminated === 0) await new Promise((r) => setTimeout(r, 25))
    }
    expect(terminated).toBe(1)
    const failed = await pending
    await locker.query("ROLLBACK")
    await locker.end()

    expect(failed.status).toBe(503)
    expect(failed.body.error.code).toBe("StoreUnavailable")
    expect(failed.text).not.toMatch(/\n\s+at /)

    const read = await request(`${server.url}${PATH}`, { headers })
    expect(read.status).toBe(200)
    expect(read.body.version).toBe(1)
    expect(read.body.order.orderItems).toEqual([])

    const retried = await request(`${server.url}${PATH}`, { method: "PUT", headers, body: upgrade })
    expect(retried.status).toBe(200)
    expect(retried.body.version).toBe(2)
  }, 60_000)
})

/**
 * `DATABASE_READ_URL`: the partner listing and the partner subscription detail read from the
 * database it names, while checkouts and orders read and write `DATABASE_URL` only. The two are
 * two fresh schemas of the server at TEST_DATABASE_URL when it is set, else two embedded engines;
 * the read database is seeded on its own and then made to differ, so that where each answer
 * comes from shows.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as CoreBotCheck from "@subshift/core/ports/BotCheck"
import * as Server from "@subshift/http-server/Server"
import * as Store from "@subshift/http-server/Store"
import { Embedded, PgStore } from "@subshift/store-postgres"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { configOf, cookieOf, initiateBody, request } from "./Harness.js"
import { admin, databaseUrl } from "./PgStores.js"

const cleanups: Array<() => Promise<void>> = []

/** A fresh database URL: a schema on the test server, or an embedded engine of its own. */
const freshDatabase = async (name: string): Promise<string> => {
  const onServer = databaseUrl
  if (onServer !== undefined) {
    const schema = `subshift_${name}_${process.pid}_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`
    await admin(onServer, `CREATE SCHEMA ${schema}`)
    cleanups.push(() => admin(onServer, `DROP SCHEMA IF EXISTS ${schema} CASCADE`))
    const url = new URL(onServer)
    url.searchParams.set("options", `-c search_path=${schema}`)
    return url.toString()
  }
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), `subshift-${name}-`))
  const scope = Effect.runSync(Scope.make())
  const server = await Effect.runPromise(Embedded.start({ dataDir: dir, maxConnections: 16 }).pipe(Scope.extend(scope)))
  cleanups.push(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    Fs.rmSync(dir, { recursive: true, force: true })
  })
  return `postgres://postgres@${server.host}:${server.port}/postgres`
}

const versionOf = async (url: string, id: string) => {
  const client = new (await import("pg")).default.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ version: number }>("SELECT version FROM subshift_subscriptions WHERE id = $1", [id])
    return rows[0]?.version
  } finally {
    await client.end()
  }
}

const partner = { "x-partner-token": "dev-partner-telco-token", "x-limio-recaptcha": "token" }

describe("a read replica at DATABASE_READ_URL", () => {
  let primary = ""
  let replica = ""
  let base = ""
  let runtime: ManagedRuntime.ManagedRuntime<unknown, unknown> | undefined

  beforeAll(async () => {
    primary = await freshDatabase("primary")
    replica = await freshDatabase("replica")
    // The replica holds the same demo data, minus one of the partner's two subscriptions.
    await Effect.runPromise(Effect.provide(Store.seedDemo, PgStore.layerUrl(replica)))
    await admin(replica, "DELETE FROM subshift_subscriptions WHERE id = 'sub-dave'")
    const config = await configOf({ DATABASE_URL: primary, DATABASE_READ_URL: replica })
    runtime = ManagedRuntime.make(Server.layer(config, { botCheck: CoreBotCheck.layerAcceptAll }) as Layer.Layer<unknown, unknown>)
    base = await runtime.runPromise(Server.baseUrl as Effect.Effect<string, never, unknown>)
  }, 120_000)

  afterAll(async () => {
    await runtime?.dispose()
    for (const cleanup of cleanups.reverse()) await cleanup()
  }, 60_000)

  it("serves the partner listing and detail from the replica, and writes an order to the primary only", async () => {
    const listed = await request(`${base}/api/partner/mma/subscriptions`, { headers: partner })
    expect(listed.status).toBe(200)
    expect(listed.body.items.map((s: { id: string }) => s.id)).toEqual(["sub-carol"])
    // The checkout reads the primary, which still has the subscription the replica lacks.
    const daveOpened = await request(`${base}/api/partner/checkout/subscription`, { method: "POST", headers: partner, body: initiateBody("sub-dave") })
    expect(daveOpened.status).toBe(200)
    const daveDetail = await request(`${base}/api/partner/mma/subscriptions/sub-dave`, { headers: partner })
    expect(daveDetail.status).toBe(404)

    const before = { primary: await versionOf(primary, "sub-carol"), replica: await versionOf(replica, "sub-carol") }
    const opened = await request(`${base}/api/partner/checkout/subscription`, { method: "POST", headers: partner, body: initiateBody("sub-carol") })
    expect(opened.status).toBe(200)
    const cookie = cookieOf(opened.headers)
    const changed = await request(`${base}/api/partner/checkout/subscription`, {
      method: "PUT",
      headers: { ...partner, cookie },
      body: { order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-premium" } }] } }
    })
    expect(changed.status).toBe(200)
    const ordered = await request(`${base}/api/partner/order`, { method: "POST", headers: { ...partner, cookie }, body: {} })
    expect(ordered.status).toBe(200)

    expect(await versionOf(primary, "sub-carol")).toBe(before.primary! + 1)
    expect(await versionOf(replica, "sub-carol")).toBe(before.replica)
    // The replica never received the order, so the partner reads still show the old offer there.
    const detail = await request(`${base}/api/partner/mma/subscriptions/sub-carol`, { headers: partner })
    expect(detail.status).toBe(200)
    expect(detail.body.subscription.version).toBe(before.replica)
    expect(detail.body.offers.map((o: { id: string }) => o.id)).toEqual(["ledger-standard"])
    const relisted = await request(`${base}/api/partner/mma/subscriptions`, { headers: partner })
    expect(relisted.body.items[0].version).toBe(before.replica)
  })
})

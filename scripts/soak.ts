/**
 * `npm run soak`: the HTTP server on the Postgres store at a fixed moderate rate for
 * `SOAK_SECONDS` (600 unless set), on a fresh schema of `SOAK_DATABASE_URL` (or
 * `TEST_DATABASE_URL`; loopback only) dropped afterwards. Each cycle opens a basket on a
 * subscription of its own, updates it, reads it and orders it; `SOAK_RATE` cycles a second (5
 * unless set). It reports the error responses (expected: 0), RSS and the pool's open connections
 * sampled every 5 s with the slope of a linear fit of each, and checks that every amendment
 * answered 200 is stored.
 */
import { Amendments } from "@subshift/core/ports/Amendments"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as Config from "@subshift/http-server/Config"
import * as Demo from "@subshift/http-server/Demo"
import * as Server from "@subshift/http-server/Server"
import { PgStore } from "@subshift/store-postgres"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import pg from "pg"

const base = process.env["SOAK_DATABASE_URL"] || process.env["TEST_DATABASE_URL"]
if (base === undefined) throw new Error("set SOAK_DATABASE_URL or TEST_DATABASE_URL")
if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(new URL(base).hostname)) throw new Error("the soak runs on a loopback database only")
const seconds = Number(process.env["SOAK_SECONDS"] ?? 600)
const rate = Number(process.env["SOAK_RATE"] ?? 5)
const cycles = Math.ceil(seconds * rate)
const schema = `subshift_soak_${process.pid}`
const applicationName = `subshift-soak-${process.pid}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const admin = async (text: string, values: ReadonlyArray<unknown> = []) => {
  const client = new pg.Client({ connectionString: base })
  await client.connect()
  try {
    return (await client.query(text, [...values])).rows
  } finally {
    await client.end()
  }
}

const slope = (points: ReadonlyArray<readonly [number, number]>) => {
  const n = points.length
  const mx = points.reduce((a, [x]) => a + x, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0)
  return sxx === 0 ? 0 : points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx
}

await admin(`CREATE SCHEMA ${schema}`)
try {
  const url = new URL(base)
  url.searchParams.set("options", `-c search_path=${schema}`)
  url.searchParams.set("application_name", applicationName)
  const store = PgStore.layerUrl(url.toString())
  const config = await Effect.runPromise(
    Effect.withConfigProvider(Config.load, ConfigProvider.fromMap(new Map([["PORT", "0"], ["SUBSHIFT_SLOW_REQUEST_MS", "5000"]])))
  )
  const server = ManagedRuntime.make(Server.layer(config, { store }))
  const baseUrl = await server.runPromise(Server.baseUrl)
  const ports = ManagedRuntime.make(store)

  // One subscription per cycle, copies of Alice's.
  await ports.runPromise(Effect.gen(function*() {
    const subscriptions = yield* Subscriptions
    const alice = Option.getOrThrow(yield* subscriptions.findById("sub-alice"))
    for (let i = 0; i < cycles; i++) {
      const copy = Object.assign(Object.create(Object.getPrototypeOf(alice)), alice, {
        id: `sub-soak-${i}`,
        name: `SOAK${String(i).padStart(8, "0")}`
      })
      yield* subscriptions.put(copy)
    }
  }))
  const token = await Effect.runPromise(Demo.sign(config.jwt, { subject: "cus-alice", scopes: ["checkout"], ttlSeconds: seconds + 3600 }))
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" }

  let requests = 0
  const errors: Array<string> = []
  const committed: Array<{ subscription: string; id: string }> = []
  const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    requests++
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000)
    }).catch((e: Error) => ({ status: 0, headers: new Headers(), text: async () => e.message }))
    const text = await response.text()
    if (response.status !== 200) errors.push(`${method} ${path} ${response.status} ${text.slice(0, 200)}`)
    return { status: response.status, headers: response.headers, body: response.status === 200 ? JSON.parse(text) : undefined }
  }
  const cycle = async (i: number) => {
    const opened = await call("POST", "/api/checkout/subscription", auth, {
      order: { order_type: "update_subscription", forSubscription: { id: `sub-soak-${i}` } }
    })
    if (opened.status !== 200) return
    const headers = { ...auth, cookie: opened.headers.get("set-cookie")!.split(";")[0]! }
    const put = await call("PUT", "/api/checkout/subscription", headers, {
      order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } }] }
    })
    if (put.status !== 200) return
    await call("GET", "/api/checkout/subscription", headers)
    const order = await call("POST", "/api/order", { ...headers, "if-match": `"${put.body.version}"`, "idempotency-key": globalThis.crypto.randomUUID() }, {})
    if (order.status === 200) committed.push({ subscription: `sub-soak-${i}`, id: order.body.id })
  }

  const rss: Array<[number, number]> = []
  const connections: Array<[number, number]> = []
  const started = Date.now()
  const sampler = setInterval(() => {
    const t = (Date.now() - started) / 60_000
    rss.push([t, process.memoryUsage.rss() / 2 ** 20])
    void admin("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [applicationName]).then((rows) =>
      connections.push([t, rows[0].n])
    )
  }, 5_000)
  const running = new Set<Promise<void>>()
  for (let i = 0; i < cycles; i++) {
    const due = started + (i * 1000) / rate
    if (due > Date.now()) await sleep(due - Date.now())
    const p = cycle(i).finally(() => running.delete(p))
    running.add(p)
  }
  await Promise.all(running)
  clearInterval(sampler)
  const elapsed = (Date.now() - started) / 1000

  const missing = await ports.runPromise(Effect.gen(function*() {
    const amendments = yield* Amendments
    const lost: Array<string> = []
    for (const { subscription, id } of committed) {
      if (!(yield* amendments.listBySubscription(subscription)).some((a) => a.id === id)) lost.push(id)
    }
    return lost
  }))
  await server.dispose()
  await ports.dispose()

  const last = (xs: Array<[number, number]>) => xs.at(-1)?.[1].toFixed(1)
  console.log([
    `soak: ${elapsed.toFixed(0)} s, ${requests} requests (${(requests / elapsed).toFixed(1)}/s), ${cycles} cycles, ${committed.length} amendments committed`,
    `error responses: ${errors.length}${errors.length > 0 ? `\n  ${errors.slice(0, 10).join("\n  ")}` : ""}`,
    `RSS: ${rss[0]?.[1].toFixed(1)} MB -> ${last(rss)} MB over ${rss.length} samples, slope ${slope(rss).toFixed(3)} MB/min`,
    `open connections: ${connections[0]?.[1]} -> ${last(connections)} over ${connections.length} samples, slope ${slope(connections).toFixed(3)}/min, max ${Math.max(...connections.map(([, n]) => n))}`,
    `committed amendments missing afterwards: ${missing.length}`
  ].join("\n"))
  process.exitCode = errors.length === 0 && missing.length === 0 ? 0 : 1
} finally {
  await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
}

/**
 * `GET /metrics` on its own listener: after a checkout driven over HTTP (on the fast path and the
 * router), the exposition, read by a real Prometheus text-format parser, counts the requests by
 * route template and status with their durations, the commit and its amendment, the store calls,
 * the scheduler's runs and the process's own figures; no raw path, id or token shows in it. With
 * no port configured, nothing listens.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as CoreBotCheck from "@subshift/core/ports/BotCheck"
import { StoreUnavailable } from "@subshift/core/domain/Errors"
import { PriceMigrations } from "@subshift/core/usecases/PriceMigrations"
import { ScheduledChanges } from "@subshift/core/usecases/ScheduledChanges"
import * as Demo from "@subshift/http-server/Demo"
import * as Prometheus from "@subshift/http-server/Prometheus"
import * as Scheduler from "@subshift/http-server/Scheduler"
import * as Server from "@subshift/http-server/Server"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import parse, { type Family, type Sample } from "parse-prometheus-text-format"
import pgDriver from "pg"
import * as Fs from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { bearer, configOf, cookieOf, flakyStore, initiateBody, request, storeControls, tokens, type TestServer } from "./Harness.js"
import { admin, databaseUrl } from "./PgStores.js"

const serve = async (env: Record<string, string>, options: { readonly configuredStore?: boolean } = {}) => {
  const config = await configOf(env)
  const runtime = ManagedRuntime.make(
    Server.layer(config, { store: options.configuredStore ? undefined : flakyStore(storeControls()), botCheck: CoreBotCheck.layerAcceptAll })
  )
  const url = await runtime.runPromise(Server.baseUrl)
  const metrics = await runtime.runPromise(Prometheus.MetricsEndpoint)
  return { runtime, url, config, metrics }
}

let server: Awaited<ReturnType<typeof serve>>
let t: Awaited<ReturnType<typeof tokens>>

beforeAll(async () => {
  server = await serve({ SUBSHIFT_METRICS_PORT: "0" })
  t = await tokens({ token: (claims: Demo.Claims) => Effect.runPromise(Demo.sign(server.config.jwt, claims)) } as TestServer)
})
afterAll(() => server.runtime.dispose())

const scrape = async () => {
  const url = Option.getOrThrow(server.metrics)
  const response = await fetch(url)
  expect(response.status).toBe(200)
  expect(response.headers.get("content-type")).toBe(Prometheus.CONTENT_TYPE)
  const text = await response.text()
  return { text, families: parse(text), samples: parse(text.replace(/^# TYPE \S+ histogram\n/gm, "")) }
}

type Scrape = Awaited<ReturnType<typeof scrape>>

const family = (scrape: Scrape, name: string): Family | undefined => scrape.families.find((f) => f.name === name)

const matches = (sample: Sample, labels: Record<string, string>) =>
  Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v)

/** The value of the sample of `name` with these labels; 0 when there is none yet. */
const value = (scrape: Scrape, name: string, labels: Record<string, string> = {}): number => {
  const sample = family(scrape, name)?.metrics.find((s) => matches(s, labels))
  return sample === undefined ? 0 : Number(sample.value ?? sample.count)
}

/**
 * A histogram's series (`_bucket`, `_sum`, `_count`) as plain samples. The parser gives a
 * histogram family in prom2json's shape, which keeps the buckets of unlabelled histograms only;
 * read without its `# TYPE` line, each series is read as labelled samples.
 */
const series = (scrape: Scrape, name: string, labels: Record<string, string>): number | undefined => {
  // Each label set's series come together, so a series name recurs once per label set.
  const sample = scrape.samples.filter((f) => f.name === name).flatMap((f) => f.metrics).find((s) => matches(s, labels))
  return sample === undefined ? undefined : Number(sample.value)
}

/** The count of the histogram sample of `name` with these labels; 0 when there is none yet. */
const histogramCount = (scrape: Scrape, name: string, labels: Record<string, string>): number =>
  series(scrape, `${name}_count`, labels) ?? 0

const PATH = "/api/checkout/subscription"

describe("/metrics", () => {
  it("counts requests by route template and status, with durations, commits, amendments and store calls", async () => {
    const before = await scrape()
    const auth = bearer(t.alice)
    const opened = await request(`${server.url}${PATH}`, { method: "POST", headers: auth, body: initiateBody("sub-alice") })
    expect(opened.status).toBe(200)
    const cookie = cookieOf(opened.headers)
    // The fast path answers these two.
    expect((await request(`${server.url}${PATH}`, { headers: { ...auth, cookie } })).status).toBe(200)
    const updated = await request(`${server.url}${PATH}`, {
      method: "PUT",
      headers: { ...auth, cookie },
      body: { order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } }] } }
    })
    expect(updated.status).toBe(200)
    const stale = await request(`${server.url}${PATH}`, { method: "PUT", headers: { ...auth, cookie, "if-match": "\"1\"" }, body: { order: { orderItems: [] } } })
    expect(stale.status).toBe(409)
    expect((await request(`${server.url}/api/order`, { method: "POST", headers: { ...auth, cookie }, body: {} })).status).toBe(200)
    const detail = await request(`${server.url}/api/partner/mma/subscriptions/sub-carol`, { headers: bearer(t.telco) })
    expect(detail.status).toBe(200)
    expect((await request(`${server.url}/nowhere/sub-alice`)).status).toBe(404)
    expect((await request(`${server.url}/account/change-plan`)).status).toBe(200)

    const after = await scrape()
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels)
    const requests = (method: string, route: string, status: string) => delta("subshift_http_requests_total", { method, route, status })

    expect(requests("POST", PATH, "200")).toBe(1)
    expect(requests("GET", PATH, "200")).toBe(1)
    expect(requests("PUT", PATH, "200")).toBe(1)
    expect(requests("PUT", PATH, "409")).toBe(1)
    expect(requests("POST", "/api/order", "200")).toBe(1)
    expect(requests("GET", "/api/partner/mma/subscriptions/:id", "200")).toBe(1)
    expect(requests("GET", "unmatched", "404")).toBe(1)
    expect(requests("GET", "/account/change-plan", "200")).toBe(1)
    expect(family(after, "subshift_http_requests_total")?.type).toBe("COUNTER")

    expect(family(after, "subshift_http_request_duration_seconds")?.type).toBe("HISTOGRAM")
    const put = { method: "PUT", route: PATH }
    const putCount = histogramCount(after, "subshift_http_request_duration_seconds", put)
    expect(putCount - histogramCount(before, "subshift_http_request_duration_seconds", put)).toBe(2)
    expect(series(after, "subshift_http_request_duration_seconds_sum", put)).toBeGreaterThan(0)
    expect(series(after, "subshift_http_request_duration_seconds_bucket", { ...put, le: "+Inf" })).toBe(putCount)
    const buckets = ["0.0005", "0.001", "0.01", "0.1", "1", "10", "+Inf"].map((le) => series(after, "subshift_http_request_duration_seconds_bucket", { ...put, le })!)
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b))

    expect(delta("subshift_commits_total")).toBe(1)
    expect(delta("subshift_amendments_total")).toBe(1)
    const storeCalls = (call: string, outcome: string) =>
      histogramCount(after, "subshift_store_call_duration_seconds", { call, outcome }) -
      histogramCount(before, "subshift_store_call_duration_seconds", { call, outcome })
    expect(storeCalls("Subscriptions.commit", "ok")).toBe(1)
    // Every basket read (the initiate's check, the GET, the two PUTs, the order) is timed, whichever call reads it.
    const basketReads = (scrape: Scrape) =>
      scrape.samples.filter((f) => f.name === "subshift_store_call_duration_seconds_count").flatMap((f) => f.metrics)
        .filter((m) => m.labels?.call?.startsWith("Baskets.find") === true && m.labels.outcome === "ok")
        .reduce((n, m) => n + Number(m.value), 0)
    expect(basketReads(after) - basketReads(before)).toBeGreaterThanOrEqual(3)
    expect(storeCalls("Baskets.save", "failed") + storeCalls("Baskets.save", "ok")).toBeGreaterThanOrEqual(1)

    // Templates only: no raw path, id or credential in the exposition.
    for (const secret of ["sub-alice", "sub-carol", "cus-alice", "/nowhere", t.alice.slice(0, 24), "partner-telco"]) expect(after.text).not.toContain(secret)
  })

  it("counts the scheduler's runs (one at start) and the changes they applied", async () => {
    const scraped = await scrape()
    expect(value(scraped, "subshift_scheduler_runs_total", { outcome: "ok" })).toBeGreaterThanOrEqual(1)
    expect(value(scraped, "subshift_scheduler_runs_total", { outcome: "failed" })).toBe(0)
    expect(family(scraped, "subshift_scheduler_changes_applied_total")?.metrics[0]?.value).toBeDefined()
  })

  it("counts a scheduler run's applied changes, and a failed run by its outcome", async () => {
    const before = await scrape()
    const outcomes = [
      Effect.succeed({ examined: 3, applied: 2 }),
      Effect.fail(new StoreUnavailable({ message: "the database is not answering" }))
    ]
    for (const outcome of outcomes) {
      await Effect.runPromise(Scheduler.runOnce.pipe(
        Effect.provideService(ScheduledChanges, ScheduledChanges.make({ applyDue: () => outcome })),
        Effect.provideService(PriceMigrations, PriceMigrations.make({ applyDue: () => Effect.succeed({ version: undefined, examined: 0, migrated: 0 }) }))
      ))
    }
    const after = await scrape()
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels)
    expect(delta("subshift_scheduler_runs_total", { outcome: "ok" })).toBe(1)
    expect(delta("subshift_scheduler_runs_total", { outcome: "failed" })).toBe(1)
    expect(delta("subshift_scheduler_changes_applied_total")).toBe(2)
  })

  it("serves the process's own figures", async () => {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const scraped = await scrape()
    expect(value(scraped, "process_resident_memory_bytes")).toBeGreaterThan(10 * 2 ** 20)
    expect(value(scraped, "process_cpu_seconds_total")).toBeGreaterThan(0)
    const start = value(scraped, "process_start_time_seconds")
    expect(Math.abs(start - (Date.now() / 1000 - process.uptime()))).toBeLessThan(5)
    expect(value(scraped, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0)
    expect(value(scraped, "nodejs_eventloop_lag_p99_seconds")).toBeGreaterThan(0)
    expect(family(scraped, "nodejs_version_info")?.metrics[0]?.labels?.version).toBe(process.version)
  })

  it("answers only GET /metrics on its listener, and the API's port has no /metrics", async () => {
    const url = new URL(Option.getOrThrow(server.metrics))
    expect((await fetch(new URL("/other", url))).status).toBe(404)
    expect((await fetch(url, { method: "POST" })).status).toBe(405)
    expect((await request(`${server.url}/metrics`)).status).toBe(404)
  })

  it("a metrics port already taken stops the server with a message naming it", async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const port = (taken.address() as AddressInfo).port
    try {
      await expect(serve({ SUBSHIFT_METRICS_PORT: String(port) })).rejects.toThrow(`the metrics listener cannot listen on 127.0.0.1:${port}`)
    } finally {
      await new Promise((resolve) => taken.close(resolve))
    }
  })

  it("is off by default: no listener", async () => {
    const plain = await serve({})
    try {
      expect(Option.isNone(plain.metrics)).toBe(true)
    } finally {
      await plain.runtime.dispose()
    }
  })

  it("reads the Postgres store's pool: connections in use and idle, and calls waiting", async () => {
    // The server at TEST_DATABASE_URL on a fresh schema, or else the embedded engine.
    const schema = `metrics_${process.pid}_${Date.now()}`
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "subshift-metrics-"))
    let env: Record<string, string> = { SUBSHIFT_STORE: "embedded", SUBSHIFT_DATA_DIR: dir }
    if (databaseUrl !== undefined) {
      await admin(databaseUrl, `CREATE SCHEMA ${schema}`)
      const url = new URL(databaseUrl)
      url.searchParams.set("options", `-c search_path=${schema}`)
      env = { SUBSHIFT_STORE: "postgres", DATABASE_URL: url.toString() }
    }
    const pg = await serve({ ...env, SUBSHIFT_METRICS_PORT: "0" }, { configuredStore: true })
    try {
      expect((await request(`${pg.url}/api/ready`)).status).toBe(200)
      const scrapePool = async () => {
        const text = await (await fetch(Option.getOrThrow(pg.metrics))).text()
        return { text, families: parse(text), samples: [] }
      }
      // The scheduler's and the sweep's first runs may still hold a connection just after start.
      let scraped = await scrapePool()
      for (let i = 0; i < 100 && value(scraped, "subshift_store_pool_connections", { state: "in_use" }) !== 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        scraped = await scrapePool()
      }
      const inUse = value(scraped, "subshift_store_pool_connections", { state: "in_use" })
      const idle = value(scraped, "subshift_store_pool_connections", { state: "idle" })
      // At rest no connection is lent; the pool keeps the ones it opened, at most its size.
      expect(family(scraped, "subshift_store_pool_connections")?.type).toBe("GAUGE")
      expect(inUse).toBe(0)
      expect(idle).toBeGreaterThanOrEqual(1)
      expect(idle).toBeLessThanOrEqual(databaseUrl === undefined ? 4 : 10)
      expect(value(scraped, "subshift_store_pool_waiting")).toBe(0)
      expect(family(scraped, "subshift_store_pool_waiting")?.type).toBe("GAUGE")
      if (databaseUrl !== undefined) {
        // A read waiting on a table lock holds its connection: the pool lends one.
        const locker = new pgDriver.Client({ connectionString: databaseUrl })
        await locker.connect()
        try {
          await locker.query("BEGIN")
          await locker.query(`LOCK TABLE ${schema}.subshift_subscriptions IN ACCESS EXCLUSIVE MODE`)
          const telco = await Effect.runPromise(Demo.sign(pg.config.jwt, { subject: "ops@telco", partnerOrg: "partner-telco", scopes: ["partner", "mma"] }))
          const blocked = request(`${pg.url}/api/partner/mma/subscriptions/sub-carol`, { headers: bearer(telco) })
          let lent = 0
          for (let i = 0; i < 100 && lent === 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 20))
            lent = value(await scrapePool(), "subshift_store_pool_connections", { state: "in_use" })
          }
          expect(lent).toBe(1)
          await locker.query("COMMIT")
          expect((await blocked).status).toBe(200)
        } finally {
          await locker.end()
        }
      }
    } finally {
      await pg.runtime.dispose()
      if (databaseUrl !== undefined) await admin(databaseUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})

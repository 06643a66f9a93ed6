/**
 * Faults of the database under load, over HTTP on the Postgres store, each on a fresh schema
 * reached through a TCP proxy the test cuts, slows down and stalls: the database restarting, the
 * network stalling with its connections open, the pool exhausted, slow statements, and a graceful
 * shutdown of the real server process on SIGTERM.
 * Every request has a client timeout, so a hang is a failure.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Demo from "@subshift/http-server/Demo"
import { PgStore } from "@subshift/store-postgres"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { spawn } from "node:child_process"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import pg from "pg"
import * as FaultProxy from "./FaultProxy.js"
import { bearer, configOf, cookieOf, initiateBody, start, type TestServer, tokens } from "./Harness.js"

const serverUrl = process.env["TEST_DATABASE_URL"] || undefined
const PATH = "/api/checkout/subscription"
const root = fileURLToPath(new URL("../../..", import.meta.url))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const admin = async (text: string, values: ReadonlyArray<unknown> = []) => {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    return (await client.query(text, [...values])).rows
  } finally {
    await client.end()
  }
}

/** A request with a client timeout: answers the status and body, or `"timeout"`. */
const send = async (
  url: string,
  options: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: unknown } = {},
  timeoutMs = 20_000
) => {
  const started = Date.now()
  try {
    const response = await fetch(url, {
      method: options.method ?? "GET",
      headers: { ...options.headers, ...(options.body === undefined ? {} : { "content-type": "application/json" }) },
      body: options.body === undefined ? null : JSON.stringify(options.body),
      signal: AbortSignal.timeout(timeoutMs)
    })
    const text = await response.text()
    let body: any = text
    try {
      body = JSON.parse(text)
    } catch {
      // not JSON
    }
    return { status: response.status as number | "timeout", body, headers: response.headers, ms: Date.now() - started }
  } catch (error) {
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
      return { status: "timeout" as const, body: undefined, headers: new Headers(), ms: Date.now() - started }
    }
    throw error
  }
}

const items = (offer: string) => ({ order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: offer } }] } })

/**
 * What each client's PUTs were answered, to check its basket against after a fault: every PUT
 * answered 200 is stored, and at most one answered 503 may be stored too (its statement had
 * reached the database when the fault hit), applied whole.
 */
class PutLedger {
  readonly ok: Array<number>
  private readonly last: Array<ReadonlyArray<string>>
  private readonly failedSinceOk: Array<Array<string>>
  constructor(clients: number) {
    this.ok = Array.from({ length: clients }, () => 0)
    this.last = Array.from({ length: clients }, () => ["ledger-basic"])
    this.failedSinceOk = Array.from({ length: clients }, () => [])
  }
  answered(client: number, offer: string, status: number | "timeout") {
    if (status === 200) {
      this.ok[client]!++
      this.last[client] = [offer]
      this.failedSinceOk[client] = []
    } else {
      this.failedSinceOk[client]!.push(offer)
    }
  }
  get stored() {
    return this.ok.reduce((a, b) => a + b, 0)
  }
  /**
   * Checks a client's basket as read after the fault; answers how many PUTs answered 503 it holds.
   * `lastMayStay`: the in-doubt PUT may also have left the last stored items as they were.
   */
  inDoubt(client: number, read: { readonly body: any }, lastMayStay: boolean): number {
    const extra = read.body.version - 1 - this.ok[client]!
    expect(extra).toBeGreaterThanOrEqual(0)
    expect(extra).toBeLessThanOrEqual(1)
    const stored = read.body.order.orderItems.filter((item: any) => item.orderItemActionType === "add").map((item: any) => item.offer.id)
    const expected = this.last[client]!.filter((offer) => offer !== "ledger-basic")
    if (extra === 0) expect(stored).toEqual(expected)
    else {
      const possible = this.failedSinceOk[client]!.map((o) => JSON.stringify([o]))
      expect(lastMayStay ? [JSON.stringify(expected), ...possible] : possible).toContain(JSON.stringify(stored))
    }
    return extra
  }
}

describe.runIf(serverUrl !== undefined)("the database failing under load", () => {
  const schema = `subshift_faults_${process.pid}_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`
  const applicationName = `subshift-faults-${schema.slice(-8)}`
  let proxy: FaultProxy.FaultProxy
  let url = ""
  const servers: Array<TestServer> = []

  const serverOn = async (options: PgStore.ClientOptions) => {
    const server = await start({ store: PgStore.layerUrl(url, options), env: { SUBSHIFT_SLOW_REQUEST_MS: "60000" } })
    servers.push(server)
    return server
  }

  /** Opens `n` baskets of Alice's; answers the headers each is used with. */
  const openBaskets = async (server: TestServer, n: number) => {
    const t = await tokens(server)
    const opened: Array<Record<string, string>> = []
    for (let i = 0; i < n; i++) {
      const answer = await send(`${server.url}${PATH}`, { method: "POST", headers: bearer(t.alice), body: initiateBody("sub-alice") })
      expect(answer.status).toBe(200)
      opened.push({ ...bearer(t.alice), cookie: cookieOf(answer.headers) })
    }
    return opened
  }

  /** Reads a basket until it answers 200 (at most `withinMs`); answers it and how long that took. */
  const readWhenBack = async (server: TestServer, headers: Record<string, string>, withinMs: number) => {
    const started = Date.now()
    for (;;) {
      const read = await send(`${server.url}${PATH}`, { headers })
      if (read.status === 200) return { read, ms: Date.now() - started }
      if (Date.now() - started > withinMs) throw new Error(`no 200 within ${withinMs} ms: ${read.status}`)
      await sleep(100)
    }
  }

  const expectUnavailable = (answer: { status: number | "timeout"; body: any }) => {
    expect(answer.status).toBe(503)
    expect(answer.body.error.code).toBe("StoreUnavailable")
  }

  beforeAll(async () => {
    await admin(`CREATE SCHEMA ${schema}`)
    const parsed = new URL(serverUrl!)
    proxy = await FaultProxy.start({ host: parsed.hostname, port: Number(parsed.port || 5432) })
    parsed.hostname = "127.0.0.1"
    parsed.port = String(proxy.port)
    parsed.searchParams.set("options", `-c search_path=${schema}`)
    parsed.searchParams.set("application_name", applicationName)
    url = parsed.toString()
  }, 60_000)

  afterAll(async () => {
    for (const server of servers) await server.close()
    await proxy?.close()
    await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  }, 60_000)

  it("answers 200 or 503 to every request while the database is away for 2 s, loses no write, and recovers by itself", async () => {
    const server = await serverOn({ maxConnections: 5, connectTimeout: "2 seconds", statementTimeout: "5 seconds" })
    const baskets = await openBaskets(server, 8)
    const answers: Array<{ status: number | "timeout"; body: any; method: string }> = []
    const ledger = new PutLedger(baskets.length)
    const until = Date.now() + 7_000
    let cutAt = 0
    const load = baskets.map(async (headers, i) => {
      for (let n = 0; Date.now() < until && n < 2_000; n++) {
        const offer = n % 2 === 0 ? "ledger-standard" : "ledger-premium"
        const put = await send(`${server.url}${PATH}`, { method: "PUT", headers, body: items(offer) })
        answers.push({ ...put, method: "PUT" })
        ledger.answered(i, offer, put.status)
        const get = await send(`${server.url}${PATH}`, { headers })
        answers.push({ ...get, method: "GET" })
        if (put.status !== 200 || get.status !== 200) await sleep(50)
      }
    })
    const fault = (async () => {
      await sleep(2_000)
      cutAt = Date.now()
      proxy.cut()
      await sleep(2_000)
      proxy.restore()
    })()
    await Promise.all([...load, fault])

    expect(answers.filter((a) => a.status === "timeout")).toEqual([])
    const statuses = new Set(answers.map((a) => a.status))
    expect([...statuses].filter((s) => s !== 200 && s !== 503)).toEqual([])
    for (const a of answers.filter((a) => a.status === 503)) expectUnavailable(a)
    const unavailable = answers.filter((a) => a.status === 503).length
    expect(unavailable).toBeGreaterThan(0)
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(unavailable)

    // Back by itself: every basket reads within 10 s, at the version its 200s account for.
    let recoveredMs = 0
    let inDoubt = 0
    for (const [i, headers] of baskets.entries()) {
      const { ms, read } = await readWhenBack(server, headers, 10_000)
      recoveredMs = Math.max(recoveredMs, ms)
      // A PUT whose statement reached the database just before the cut is committed there though it
      // answered 503: each client has at most one such PUT, since new connections fail while cut.
      inDoubt += ledger.inDoubt(i, read, true)
    }
    console.info(
      `database away 2 s under 8 clients: ${answers.length} requests, ${unavailable} answered 503, 0 hung, ` +
        `${ledger.stored} PUTs stored, ${inDoubt} in doubt, back ${recoveredMs} ms after the reads resumed ` +
        `(cut ${cutAt === 0 ? "never" : "2000 ms into the load"})`
    )
  }, 120_000)

  it("answers 503 within the query timeout to every request while the network stalls for 5 s, closes the stalled connections, half applies no write, and recovers by itself", async () => {
    const queryTimeoutMs = 1_000
    const connectTimeoutMs = 1_000
    const server = await serverOn({
      maxConnections: 4,
      connectTimeout: Duration.millis(connectTimeoutMs),
      queryTimeout: Duration.millis(queryTimeoutMs)
    })
    const baskets = await openBaskets(server, 6)
    // A request fails on the first statement or connection that gets no answer, so it waits on
    // at most one of them; the rest is room for a busy machine.
    const boundMs = Math.max(queryTimeoutMs, connectTimeoutMs) + 1_500
    const stallMs = 5_000
    const stalledAt = Date.now() + 1_500
    const resumedAt = stalledAt + stallMs
    const answers: Array<{ status: number | "timeout"; body: any; ms: number; startedAt: number }> = []
    const ledger = new PutLedger(baskets.length)
    const record = async (startedAt: number, request: Promise<Awaited<ReturnType<typeof send>>>) => {
      const answer = await request
      answers.push({ ...answer, startedAt })
      return answer
    }
    // No request starts within the bound of the resume, so every one started while stalled has
    // answered before bytes flow again, and none races what the stall held.
    const load = baskets.map(async (headers, i) => {
      while (Date.now() < resumedAt - boundMs) {
        const offer = ledger.ok[i]! % 2 === 0 ? "ledger-standard" : "ledger-premium"
        const put = await record(Date.now(), send(`${server.url}${PATH}`, { method: "PUT", headers, body: items(offer) }, 10_000))
        ledger.answered(i, offer, put.status)
        const get = await record(Date.now(), send(`${server.url}${PATH}`, { headers }, 10_000))
        if (put.status !== 200 || get.status !== 200) await sleep(50)
      }
    })
    let stalledSince = 0
    const fault = (async () => {
      await sleep(stalledAt - Date.now())
      proxy.stall()
      stalledSince = Date.now()
      await sleep(resumedAt - Date.now())
    })()
    await Promise.all([...load, fault])
    const closedWhileStalled = proxy.closedWhileStalled()
    const resumeStarted = Date.now()
    await proxy.resume()

    expect(answers.filter((a) => a.status === "timeout")).toEqual([])
    expect(answers.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([])
    for (const a of answers.filter((a) => a.status === 503)) expectUnavailable(a)
    const slowest = Math.max(...answers.map((a) => a.ms))
    expect(slowest).toBeLessThan(boundMs)
    const duringStall = answers.filter((a) => a.startedAt >= stalledSince)
    expect(duringStall.length).toBeGreaterThanOrEqual(baskets.length)
    expect(duringStall.filter((a) => a.status !== 503)).toEqual([])
    expect(answers.filter((a) => a.startedAt < stalledSince && a.status === 200).length).toBeGreaterThan(0)
    // The server gave up on connections the database stopped answering on, instead of keeping them.
    expect(closedWhileStalled).toBeGreaterThan(0)

    let recoveredMs = 0
    let inDoubt = 0
    for (const [i, headers] of baskets.entries()) {
      const { read } = await readWhenBack(server, headers, 5_000)
      recoveredMs = Math.max(recoveredMs, Date.now() - resumeStarted)
      // A PUT whose update was on its way when the stall began answered 503, and the update
      // reached the database when the network came back: at most one per client, applied whole.
      inDoubt += ledger.inDoubt(i, read, false)
      const put = await send(`${server.url}${PATH}`, { method: "PUT", headers, body: items("ledger-premium") })
      expect([put.status, put.body.version]).toEqual([200, read.body.version + 1])
    }
    const unavailable = answers.filter((a) => a.status === 503).length
    console.info(
      `network stalled ${stallMs} ms under ${baskets.length} clients (query timeout ${queryTimeoutMs} ms): ${answers.length} requests, ` +
        `${unavailable} answered 503, 0 hung, slowest ${slowest} ms, ${closedWhileStalled} connections closed while stalled, ` +
        `${ledger.stored} PUTs stored, ${inDoubt} in doubt, every basket back ${recoveredMs} ms after the resume`
    )
  }, 120_000)

  it("stores nothing of an order whose transaction a stall cuts off after its first update, and takes the order whole once the network is back", async () => {
    const server = await serverOn({ maxConnections: 4, connectTimeout: Duration.seconds(1), queryTimeout: Duration.seconds(1) })
    const erin = bearer((await tokens(server)).erin)
    const opened = await send(`${server.url}${PATH}`, { method: "POST", headers: erin, body: initiateBody("sub-erin") })
    expect(opened.status).toBe(200)
    const headers = { ...erin, cookie: cookieOf(opened.headers) }
    expect((await send(`${server.url}${PATH}`, { method: "PUT", headers, body: items("ledger-premium") })).status).toBe(200)
    const stored = async () =>
      (await admin(
        `SELECT (SELECT version FROM ${schema}.subshift_subscriptions WHERE id = 'sub-erin') AS version,
          (SELECT count(*)::int FROM ${schema}.subshift_amendments WHERE subscription_id = 'sub-erin') AS amendments,
          (SELECT count(*)::int FROM ${schema}.subshift_events WHERE subscription_id = 'sub-erin') AS events`
      ))[0] as { version: number; amendments: number; events: number }
    const before = await stored()

    // The subscription's update reaches the database inside the order's transaction; its answer,
    // and so the rest of the transaction, is held.
    proxy.stallAfter("UPDATE subshift_subscriptions")
    let cutOff: Awaited<ReturnType<typeof send>>
    try {
      cutOff = await send(`${server.url}/api/order`, { method: "POST", headers, body: {} }, 10_000)
      expect(proxy.stalled()).toBe(true)
    } finally {
      await proxy.resume()
    }
    expectUnavailable(cutOff)
    expect(cutOff.ms).toBeLessThan(2_500)
    expect(await stored()).toEqual(before)
    const { read } = await readWhenBack(server, headers, 5_000)
    expect(read.body.completed).toBe(false)

    const ordered = await send(`${server.url}/api/order`, { method: "POST", headers, body: {} })
    expect(ordered.status).toBe(200)
    const after = await stored()
    expect(after.version).toBe(before.version + 1)
    expect(after.amendments).toBe(before.amendments + 1)
    expect(after.events).toBeGreaterThan(before.events)
    console.info(`order cut off by a stall inside its transaction: answered 503 in ${cutOff.ms} ms, nothing stored; the retry stored it whole`)
  }, 60_000)

  it("bounds each store call by the call timeout while the network stalls when its connections are not watched, as over TLS, and stores nothing of it", async () => {
    const callTimeoutMs = 1_000
    // The store over a client without the watchdog, which cannot read TLS connections.
    const store = PgStore.layerWithoutClient.pipe(
      Layer.provide(Layer.succeed(PgStore.CallTimeout, Option.some(Duration.millis(callTimeoutMs)))),
      Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 4, connectTimeout: Duration.seconds(1) }))
    )
    const server = await start({ store, env: { SUBSHIFT_SLOW_REQUEST_MS: "60000" } })
    servers.push(server)
    const baskets = await openBaskets(server, 4)
    const stallMs = 3_000
    proxy.stall()
    const stalledAt = Date.now()
    let answers: Array<Awaited<ReturnType<typeof send>>>
    try {
      answers = await Promise.all(baskets.flatMap((headers) => [
        send(`${server.url}${PATH}`, { method: "PUT", headers, body: items("ledger-premium") }, 10_000),
        send(`${server.url}${PATH}`, { headers }, 10_000)
      ]))
      await sleep(stalledAt + stallMs - Date.now())
    } finally {
      await proxy.resume()
    }
    const resumedAt = Date.now()
    for (const a of answers) expectUnavailable(a)
    const slowest = Math.max(...answers.map((a) => a.ms))
    expect(slowest).toBeLessThan(callTimeoutMs + 1_500)
    let recoveredMs = 0
    for (const headers of baskets) {
      const { read } = await readWhenBack(server, headers, 5_000)
      recoveredMs = Math.max(recoveredMs, Date.now() - resumedAt)
      expect(read.body.version).toBe(1)
      const put = await send(`${server.url}${PATH}`, { method: "PUT", headers, body: items("ledger-premium") })
      expect([put.status, put.body.version]).toEqual([200, 2])
    }
    console.info(
      `network stalled ${stallMs} ms, connections not watched (call timeout ${callTimeoutMs} ms): ${answers.length} requests, ` +
        `${answers.length} answered 503, 0 hung, slowest ${slowest} ms, every basket back ${recoveredMs} ms after the resume`
    )
  }, 60_000)

  it("answers 200 or 503 within the acquire timeout to 40 concurrent requests on a pool of 2", async () => {
    const server = await serverOn({ maxConnections: 2, connectTimeout: "1 second", statementTimeout: "5 seconds" })
    const baskets = await openBaskets(server, 40)
    proxy.delay(60)
    try {
      const answers = await Promise.all(
        baskets.map((headers, i) => send(`${server.url}${PATH}`, { method: "PUT", headers, body: items(i % 2 === 0 ? "ledger-standard" : "ledger-premium") }))
      )
      expect(answers.filter((a) => a.status === "timeout")).toEqual([])
      expect(answers.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([])
      for (const a of answers.filter((a) => a.status === 503)) expectUnavailable(a)
      const unavailable = answers.filter((a) => a.status === 503).length
      expect(unavailable).toBeGreaterThan(0)
      // Each request waits at most the acquire timeout per statement, never longer than a few of them.
      expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(15_000)
      console.info(
        `pool 2, 40 concurrent PUTs: ${40 - unavailable} answered 200, ${unavailable} answered 503, slowest ${Math.max(...answers.map((a) => a.ms))} ms`
      )
    } finally {
      proxy.delay(0)
    }
    for (const headers of baskets) {
      const put = await send(`${server.url}${PATH}`, { method: "PUT", headers, body: items("ledger-premium") })
      expect(put.status).toBe(200)
    }
  }, 120_000)

  it("answers 503 when a statement outlasts the statement timeout, stores nothing of it, and serves again once the database is fast", async () => {
    const server = await serverOn({ maxConnections: 4, connectTimeout: "2 seconds", statementTimeout: "1 second" })
    const [headers] = await openBaskets(server, 1)
    await admin(`CREATE FUNCTION ${schema}.slow_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(4); RETURN NEW; END $$`)
    await admin(`CREATE TRIGGER slow_write BEFORE UPDATE ON ${schema}.subshift_baskets FOR EACH ROW EXECUTE FUNCTION ${schema}.slow_write()`)
    try {
      const slow = await send(`${server.url}${PATH}`, { method: "PUT", headers: headers!, body: items("ledger-standard") })
      expectUnavailable(slow)
      expect(slow.ms).toBeLessThan(3_500)
      const read = await send(`${server.url}${PATH}`, { headers: headers! })
      expect(read.status).toBe(200)
      expect(read.body.version).toBe(1)
    } finally {
      await admin(`DROP TRIGGER slow_write ON ${schema}.subshift_baskets`)
    }
    const fast = await send(`${server.url}${PATH}`, { method: "PUT", headers: headers!, body: items("ledger-standard") })
    expect(fast.status).toBe(200)
    expect(fast.body.version).toBe(2)
  }, 60_000)

  it("on SIGTERM finishes the requests in flight, refuses new connections, closes its pool and exits 0", async () => {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = Net.createServer()
      probe.once("error", reject)
      probe.listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as Net.AddressInfo
        probe.close(() => resolve(port))
      })
    })
    const shutdownName = `${applicationName}-bin`
    const binUrl = new URL(url)
    binUrl.searchParams.set("application_name", shutdownName)
    const { SUBSHIFT_STORE: _store, ...env } = process.env
    const child = spawn(process.execPath, ["--conditions=@subshift/source", "--import", "tsx", "packages/http-server/src/bin.ts"], {
      cwd: root,
      env: { ...env, NODE_ENV: "development", PORT: String(port), HOST: "127.0.0.1", DATABASE_URL: binUrl.toString() },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout!.on("data", (chunk) => (output += chunk))
    child.stderr!.on("data", (chunk) => (output += chunk))
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    try {
      const base = `http://127.0.0.1:${port}`
      const deadline = Date.now() + 150_000
      while (!(await fetch(`${base}/health`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false))) {
        if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output}`)
        if (Date.now() > deadline) throw new Error(`the server did not answer /health:\n${output}`)
        await sleep(250)
      }
      const config = await configOf()
      const alice = bearer(await Effect.runPromise(Demo.sign(config.jwt, { subject: "cus-alice", scopes: ["checkout"] })))
      const baskets: Array<Record<string, string>> = []
      for (let i = 0; i < 3; i++) {
        const opened = await send(`${base}${PATH}`, { method: "POST", headers: alice, body: initiateBody("sub-alice") })
        expect(opened.status).toBe(200)
        baskets.push({ ...alice, cookie: cookieOf(opened.headers) })
      }

      // Each statement now takes 400 ms longer to reach the database: the PUTs are in flight at SIGTERM.
      proxy.delay(400)
      const inFlight = baskets.map((headers) => send(`${base}${PATH}`, { method: "PUT", headers, body: items("ledger-standard") }, 30_000))
      await sleep(600)
      child.kill("SIGTERM")
      await sleep(300)
      const refused = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5_000) }).then(
        (r) => `answered ${r.status}`,
        (e: Error) => (e.cause as { code?: string } | undefined)?.code ?? e.name
      )
      expect(refused).toBe("ECONNREFUSED")
      const answers = await Promise.all(inFlight)
      proxy.delay(0)
      expect(answers.map((a) => [a.status, a.body.version])).toEqual([[200, 2], [200, 2], [200, 2]])
      expect(await exited).toBe(0)

      let left = -1
      for (let i = 0; i < 50 && left !== 0; i++) {
        left = (await admin("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [shutdownName]))[0].n
        if (left !== 0) await sleep(100)
      }
      expect(left).toBe(0)
      expect(output).not.toMatch(/^\s+at /m)
    } finally {
      proxy.delay(0)
      child.kill("SIGKILL")
    }
  }, 240_000)
})

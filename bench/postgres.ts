/**
 * Postgres store throughput, in two parts, each against a baseline measured in the same run: a
 * plain `pg` pool issuing the very statements the adapter issued (recorded from the adapter's own
 * pool, then replayed) at the same concurrency and pool size.
 *
 * - Basket updates through `SubscriptionCheckout.update` in this process: what the Effect
 *   service, the rules, pricing, Schema and the `@effect/sql` client cost on top of the round trips.
 * - PUT `/api/checkout/subscription` through the full HTTP server, bundled and run in its own
 *   process on `DATABASE_URL`, under autocannon: all of the above plus HTTP, auth and the cookie.
 *   Its baseline is not a replay but the least a PUT needs: one read of the basket joined with its
 *   subscription and one versioned write, so that round trips the design adds show as cost.
 *
 * Runs when `BENCH_DATABASE_URL` is set; a fresh schema is created for each part and dropped.
 * `BENCH_CPU_PROF=<dir>` writes a CPU profile of the HTTP server process there;
 * `BENCH_PG_PARTS=http` (or `service`) runs one part only.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type { OrderItem } from "@subshift/core/domain/Basket"
import { Catalog } from "@subshift/core/ports/Catalog"
import * as Ids from "@subshift/core/ports/Ids"
import * as Pricing from "@subshift/core/ports/Pricing"
import { CurrentPrincipal, Customer } from "@subshift/core/domain/Principal"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import { PgStore } from "@subshift/store-postgres"
import * as Demo from "@subshift/testing/Demo"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Config from "@subshift/http-server/Config"
import * as Server from "@subshift/http-server/Server"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Jose from "jose"
import type { ChildProcess } from "node:child_process"
import { rmSync } from "node:fs"
import { createRequire } from "node:module"
import { loadavg } from "node:os"
import pg from "pg"
import { bundleServer, cpuSeconds, freePort, profileFlags, rssMb, startNode, stop } from "./processes.js"
import { cell, median, num, ratio, type Section, spread, table, verdict } from "./report.js"

const CONCURRENCY = 16
const POOL = 10
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3)
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 5)
const WARMUP_SECONDS = 1

/** Alice (Basic, monthly USD) alternates between two upgrades; both are valid every time. */
const requests: ReadonlyArray<ReadonlyArray<OrderItem>> = [
  [{ action: "add", type: "offer", offerId: "ledger-standard" }],
  [{ action: "add", type: "offer", offerId: "ledger-premium" }, { action: "add", type: "add_on", offerId: "addon-archive" }]
]

interface Recorded {
  readonly text: string
  readonly values: ReadonlyArray<unknown>
}

interface Figures {
  readonly opsPerSecond: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly ops: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN

const figures = (latencies: Array<number>, seconds: number): Figures => {
  latencies.sort((a, b) => a - b)
  return {
    opsPerSecond: latencies.length / seconds,
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    ops: latencies.length
  }
}

/** A pool that can record the statements its clients run. */
const recordingPool = (url: string) => {
  const pool = new pg.Pool({ connectionString: url, max: POOL })
  const log: Array<Recorded> = []
  let recording = false
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: Array<unknown>) => unknown
    ;(client as unknown as { query: (...args: Array<unknown>) => unknown }).query = (...args: Array<unknown>) => {
      if (recording && typeof args[0] === "string") log.push({ text: args[0], values: (args[1] ?? []) as Array<unknown> })
      return query(...args)
    }
  })
  return {
    pool,
    record: async <A>(f: () => Promise<A>): Promise<ReadonlyArray<Recorded>> => {
      log.length = 0
      recording = true
      try {
        await f()
      } finally {
        recording = false
      }
      return [...log]
    }
  }
}

const withSchema = (url: string, schema: string) => {
  const parsed = new URL(url)
  parsed.searchParams.set("options", `-c search_path=${schema}`)
  return parsed.toString()
}

const measure = async (
  seconds: number,
  op: (worker: number) => Promise<unknown>
): Promise<Array<number>> => {
  const latencies: Array<number> = []
  const until = performance.now() + seconds * 1000
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
    while (performance.now() < until) {
      const started = performance.now()
      await op(worker)
      latencies.push(performance.now() - started)
    }
  }))
  return latencies
}

/**
 * A replay of one recorded request on baskets of its own: the recorded basket id is swapped for
 * the worker's, and the versioned write carries the worker's current version (params: new
 * version, …, id, expected version — the adapter's order).
 */
const replayer = (
  pool: pg.Pool,
  recordings: ReadonlyArray<ReadonlyArray<Recorded>>,
  recordedBasket: string,
  baskets: ReadonlyArray<string>
) => {
  const writes = recordings.map((statements) =>
    statements.findIndex((s) => s.text.trimStart().startsWith("UPDATE subshift_baskets"))
  )
  if (writes.includes(-1)) throw new Error("the adapter issued no basket write for an update")
  const versions = new Map<string, number>()
  const turns = new Array<number>(baskets.length).fill(0)
  const prepare = async () => {
    const rows = await pool.query<{ id: string; version: number }>(
      "SELECT id, version FROM subshift_baskets WHERE id = ANY($1::text[])",
      [baskets]
    )
    for (const row of rows.rows) versions.set(row.id, row.version)
  }
  const replay = async (worker: number) => {
    const id = baskets[worker]!
    const which = turns[worker]!++ % recordings.length
    const statements = recordings[which]!
    const write = writes[which]!
    for (const [i, s] of statements.entries()) {
      const values = s.values.map((v) => (v === recordedBasket ? id : v))
      const version = versions.get(id)!
      if (i === write) {
        values[0] = version + 1
        values[values.length - 1] = version
      }
      const result = await pool.query(s.text, values)
      if (i === write) {
        if (result.rowCount !== 1) throw new Error("the baseline's versioned write lost its version")
        versions.set(id, version + 1)
      }
    }
  }
  return { prepare, replay }
}

/**
 * The least a PUT needs, for the baseline: one read of the basket joined with its subscription,
 * then a versioned write of the basket with the values the adapter wrote (its first six: the new
 * version, expiry, subscription, document, id and expected version), checking the basket's
 * version only.
 */
const minimalPut = (statements: ReadonlyArray<Recorded>, basketId: string): ReadonlyArray<Recorded> => {
  const write = statements.find((s) => s.text.trimStart().startsWith("UPDATE subshift_baskets"))
  if (write === undefined) throw new Error("the adapter issued no basket write for a PUT")
  return [{
    text: `SELECT b.data::text AS data, s.data::text AS subscription
      FROM subshift_baskets b LEFT JOIN subshift_subscriptions s ON s.id = b.subscription_id WHERE b.id = $1`,
    values: [basketId]
  }, {
    text: `UPDATE subshift_baskets SET version = $1, expires_at = $2::timestamptz, subscription_id = $3, data = $4::jsonb
      WHERE id = $5 AND version = $6 RETURNING data::text AS data`,
    values: write.values.slice(0, 6)
  }]
}

const describeStatements = (statements: ReadonlyArray<Recorded>) =>
  statements.map((s) => `\`${s.text.replace(/\s+/g, " ").trim().slice(0, 60)}…\``).join(", ")

export const bench = async (url: string, label = "Postgres store"): Promise<string> => {
  const schema = `subshift_bench_${process.pid}_${Date.now()}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
  const schemaUrl = withSchema(url, schema)
  const recorder = recordingPool(schemaUrl)
  const store = PgStore.layerWithoutClient.pipe(
    Layer.provide(PgClient.layerFromPool({ acquire: Effect.succeed(recorder.pool), applicationName: "subshift-bench" }))
  )
  const runtime = ManagedRuntime.make(
    SubscriptionCheckout.Default.pipe(
      Layer.provide(Pricing.layer()),
      Layer.provide(Ids.layerRandom),
      Layer.provideMerge(store)
    )
  )
  const baseline = new pg.Pool({ connectionString: schemaUrl, max: POOL })
  try {
    const today = CalendarDate.fromEpochMillis(Date.now())
    const alice = new Customer({ customerId: Demo.customers.alice })
    const checkout = (f: (c: SubscriptionCheckout) => Effect.Effect<unknown, unknown, CurrentPrincipal>) =>
      runtime.runPromise(Effect.flatMap(SubscriptionCheckout, f).pipe(Effect.provideService(CurrentPrincipal, alice)))

    await runtime.runPromise(Effect.gen(function*() {
      yield* (yield* Catalog).put(Demo.offers)
      const subscriptions = yield* Subscriptions
      for (const s of Demo.subscriptions(today)) yield* subscriptions.put(s)
    }))
    const alicesSubscription = Demo.subscriptions(today).find((s) => s.owner === Demo.customers.alice)!.id
    const openBasket = async () => {
      let id = ""
      await checkout((c) => Effect.map(c.initiate({ forSubscription: { id: alicesSubscription } }), (b) => (id = b.id)))
      return id
    }
    // One basket per worker for each side, so that workers never conflict with each other.
    const serviceBaskets = await Promise.all(Array.from({ length: CONCURRENCY }, openBasket))
    const baselineBaskets = await Promise.all(Array.from({ length: CONCURRENCY }, openBasket))
    const turns = new Array<number>(CONCURRENCY).fill(0)
    const update = (worker: number) => {
      const turn = turns[worker]!++
      return checkout((c) => c.update(serviceBaskets[worker]!, requests[turn % 2]!))
    }

    await update(0)
    // One recording per request shape (turn parity), since they may load different offers.
    const recordedBasket = serviceBaskets[0]!
    const byParity: Array<ReadonlyArray<Recorded>> = []
    for (let i = 0; i < 2; i++) byParity[turns[0]! % 2] = await recorder.record(() => update(0))
    const { prepare, replay } = replayer(baseline, byParity, recordedBasket, baselineBaskets)
    await prepare()

    const traced = (worker: number) => update(worker)
    const untraced = (worker: number) => {
      const turn = turns[worker]!++
      return runtime.runPromise(
        Effect.flatMap(SubscriptionCheckout, (c) => c.update(serviceBaskets[worker]!, requests[turn % 2]!)).pipe(
          Effect.provideService(CurrentPrincipal, alice),
          Effect.withTracerEnabled(false)
        )
      )
    }

    // Interleaved so that drift in the database (autovacuum, cache) hits every side alike.
    await measure(WARMUP_SECONDS, replay)
    await measure(WARMUP_SECONDS, traced)
    const sides = { base: [] as Array<Figures>, service: [] as Array<Figures>, quiet: [] as Array<Figures> }
    for (let round = 0; round < ROUNDS; round++) {
      sides.base.push(figures(await measure(SECONDS, replay), SECONDS))
      sides.service.push(figures(await measure(SECONDS, traced), SECONDS))
      sides.quiet.push(figures(await measure(SECONDS, untraced), SECONDS))
    }
    const base = spread(sides.base.map((f) => f.opsPerSecond)).median
    const row = (name: string, runs: ReadonlyArray<Figures>) => {
      const ops = spread(runs.map((f) => f.opsPerSecond))
      return [
        name,
        cell(ops),
        num(median(runs.map((f) => f.p50)), 2),
        num(median(runs.map((f) => f.p99)), 2),
        ratio(ops.median, base)
      ]
    }
    return [
      `### ${label}: basket updates per second`,
      "",
      `${CONCURRENCY} concurrent workers, pool of ${POOL}, ${SECONDS} s per run; median (min – max) of ${ROUNDS} interleaved runs.`,
      "",
      ...byParity.map((statements, parity) =>
        `Request ${parity + 1} of the two alternating ones is ${statements.length} statements on the adapter's pool: ${
          describeStatements(statements)
        }.`
      ),
      "",
      "The baseline is a plain `pg` pool replaying exactly those statements, with the same parameters.",
      "",
      table(["", "updates/s", "p50 ms", "p99 ms", "ratio to baseline"], [
        row("plain `pg` replay (baseline)", sides.base),
        row("`SubscriptionCheckout.update` on `PgStore`", sides.service),
        row("the same, tracer disabled", sides.quiet)
      ])
    ].join("\n")
  } finally {
    await runtime.dispose()
    await recorder.pool.end()
    await baseline.end()
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.end()
  }
}

/** What this section reads of autocannon (which ships no types). */
interface LoadClient {
  readonly setHeaders: (headers: Record<string, string>) => void
  /** Each answer, with its time from the request's first byte sent to its last byte read, in ms. */
  readonly on: (event: "response", listener: (status: number, bytes: number, ms: number) => void) => void
}
interface LoadOptions {
  readonly url: string
  readonly method: "PUT"
  readonly body: string
  readonly connections: number
  readonly duration: number
  readonly setupClient: (client: LoadClient) => void
}
interface LoadResult {
  readonly requests: { readonly average: number; readonly total: number }
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
}
const autocannon = createRequire(import.meta.url)("autocannon") as (options: LoadOptions) => Promise<LoadResult>

const HTTP_CONNECTIONS = Number(process.env["BENCH_PG_HTTP_CONNECTIONS"] ?? 16)
const HTTP_SECONDS = Number(process.env["BENCH_PG_HTTP_SECONDS"] ?? 8)

const aliceToken = () =>
  new Jose.SignJWT({ scope: "checkout" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(Demo.customers.alice)
    .setIssuer(Config.DEV_ISSUER)
    .setAudience(Config.DEV_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(Config.DEV_JWT_SECRET))

const PUT_BODY = JSON.stringify({
  order: {
    orderItems: [
      { orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } },
      { orderItemActionType: "add", type: "add_on", offer: { id: "addon-archive" } }
    ]
  }
})

/** Opens a basket for Alice through the API; answers its id and its cookie. */
const initiate = async (base: string, token: string) => {
  const response = await fetch(`${base}/api/checkout/subscription`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ order: { order_type: "update_subscription", forSubscription: { id: "sub-alice" } } })
  })
  if (!response.ok) throw new Error(`initiate answered ${response.status}`)
  const body = (await response.json()) as { checkoutId: string }
  return { id: body.checkoutId, cookie: response.headers.get("set-cookie")!.split(";")[0]! }
}

const put = async (base: string, token: string, cookie: string) => {
  const response = await fetch(`${base}/api/checkout/subscription`, {
    method: "PUT",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", cookie },
    body: PUT_BODY
  })
  if (!response.ok) throw new Error(`PUT answered ${response.status}`)
  await response.arrayBuffer()
}

/**
 * The statements one PUT issues, recorded from the same server code running in this process on a
 * recording pool over the same schema (the bundled server's own pool cannot be observed).
 */
const recordPut = async (schemaUrl: string, token: string) => {
  const recorder = recordingPool(schemaUrl)
  const config = await Effect.runPromise(
    Effect.withConfigProvider(
      Config.load,
      ConfigProvider.fromMap(new Map([["PORT", "0"], ["DATABASE_URL", schemaUrl], ["LOG_LEVEL", "Error"]]))
    )
  )
  const store = PgStore.layerWithoutClient.pipe(
    Layer.provide(PgClient.layerFromPool({ acquire: Effect.succeed(recorder.pool), applicationName: "subshift-bench" }))
  )
  const runtime = ManagedRuntime.make(Server.layer(config, { store }))
  try {
    const base = await runtime.runPromise(Server.baseUrl)
    const basket = await initiate(base, token)
    // Warm: the first requests fill caches that a loaded server has full.
    await put(base, token, basket.cookie)
    await put(base, token, basket.cookie)
    const statements = await recorder.record(() => put(base, token, basket.cookie))
    return { basket: basket.id, statements }
  } finally {
    await runtime.dispose()
    await recorder.pool.end()
  }
}

const httpBench = async (url: string): Promise<string> => {
  const schema = `subshift_bench_http_${process.pid}_${Date.now()}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
  const schemaUrl = withSchema(url, schema)
  const script = await bundleServer("server-postgres", ["@electric-sql/*", "pg-native"])
  const port = await freePort()
  let server: ChildProcess | undefined
  const baseline = new pg.Pool({ connectionString: schemaUrl, max: POOL })
  try {
    server = await startNode([...profileFlags(), script], {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: schemaUrl,
      SUBSHIFT_STORE: "postgres",
      LOG_LEVEL: "Error",
      NODE_ENV: "development"
    }, `http://127.0.0.1:${port}/health`)
    const base = `http://127.0.0.1:${port}`
    const token = await aliceToken()
    const recorded = await recordPut(schemaUrl, token)
    // One basket per connection for each side, so that no two requests ever race for a version.
    const serverBaskets = await Promise.all(Array.from({ length: HTTP_CONNECTIONS }, () => initiate(base, token)))
    const baselineBaskets = await Promise.all(Array.from({ length: HTTP_CONNECTIONS }, () => initiate(base, token)))
    const minimal = minimalPut(recorded.statements, recorded.basket)
    const { prepare, replay } = replayer(baseline, [minimal], recorded.basket, baselineBaskets.map((b) => b.id))
    await prepare()

    // Every answer's latency, as autocannon's clients report it: its own summary has no p95.
    let latencies: Array<number> = []
    const load = (duration: number) => {
      let next = 0
      latencies = []
      return autocannon({
        url: `${base}/api/checkout/subscription`,
        method: "PUT",
        body: PUT_BODY,
        connections: HTTP_CONNECTIONS,
        duration,
        setupClient: (client) => {
          client.setHeaders({
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            cookie: serverBaskets[next++ % serverBaskets.length]!.cookie
          })
          client.on("response", (_status, _bytes, ms) => latencies.push(ms))
        }
      })
    }
    const replayAt = (seconds: number) =>
      Promise.all(Array.from({ length: HTTP_CONNECTIONS }, async (_, worker) => {
        const latencies: Array<number> = []
        const until = performance.now() + seconds * 1000
        while (performance.now() < until) {
          const started = performance.now()
          await replay(worker)
          latencies.push(performance.now() - started)
        }
        return latencies
      })).then((all) => figures(all.flat(), seconds))

    await load(2)
    await replayAt(WARMUP_SECONDS)
    const plainRuns: Array<Figures> = []
    const httpRuns: Array<Figures> = []
    const cpuPerPut: Array<number> = []
    let failed = 0
    for (let round = 0; round < ROUNDS; round++) {
      plainRuns.push(await replayAt(HTTP_SECONDS))
      const cpuBefore = cpuSeconds(server.pid!)
      const result = await load(HTTP_SECONDS)
      cpuPerPut.push(((cpuSeconds(server.pid!) - cpuBefore) * 1e6) / result.requests.total)
      failed += result.non2xx + result.errors + result.timeouts
      httpRuns.push({ ...figures(latencies, HTTP_SECONDS), opsPerSecond: result.requests.average, ops: result.requests.total })
    }
    const rss = rssMb(server.pid!)
    const baseOps = spread(plainRuns.map((f) => f.opsPerSecond)).median
    const ours = spread(httpRuns.map((f) => f.opsPerSecond)).median
    const row = (name: string, runs: ReadonlyArray<Figures>) => {
      const ops = spread(runs.map((f) => f.opsPerSecond))
      return [name, cell(ops), ...[runs.map((f) => f.p50), runs.map((f) => f.p95), runs.map((f) => f.p99)].map((p) => num(median(p), 2)), ratio(ops.median, baseOps)]
    }
    const p99 = median(httpRuns.map((f) => f.p99))
    return [
      `### Postgres store through HTTP: PUT \`/api/checkout/subscription\``,
      "",
      `${HTTP_CONNECTIONS} connections, pool of ${POOL}, ${HTTP_SECONDS} s per run; median (min – max) of ${ROUNDS} interleaved runs. ` +
      `The server is \`bin.ts\` bundled and run by \`node\` in its own process with \`DATABASE_URL\` on a fresh schema, tracer off; ` +
      `autocannon keeps ${HTTP_CONNECTIONS} connections busy, each on a basket of its own.`,
      "",
      `- The server sends ${recorded.statements.length} statements per PUT with its catalog in memory (recorded on the adapter's pool): ` +
      `${describeStatements(recorded.statements)}.`,
      `- The baseline is the least a PUT needs: a plain \`pg\` pool of ${POOL} sending ${minimal.length} statements, one read of the basket ` +
      `joined with its subscription and one versioned write of the basket (${describeStatements(minimal)}), with ${HTTP_CONNECTIONS} concurrent ` +
      `workers, each on a basket of its own.`,
      "",
      table(["", "ops/s", "p50 ms", "p95 ms", "p99 ms", "ratio to baseline"], [
        row("plain `pg`: joined read + versioned write (baseline)", plainRuns),
        row("PUT through the HTTP server on `PgStore`", httpRuns)
      ]),
      "",
      `Latencies of both sides are measured the same way, per request, in this process (autocannon's and the baseline's ` +
      `workers take turns here; the server has its own process). Load average after the runs: ${loadavg().map((l) => l.toFixed(2)).join(", ")}.`,
      "",
      `Failed requests: ${failed}. RSS of the server after the runs: ${num(rss)} MB. ` +
      `The server's CPU time (user and system, from \`/proc\`) per PUT: ${num(median(cpuPerPut))} µs (median of the rounds). ` +
      `Targets: ratio ≥ 0.50: ${(ours / baseOps).toFixed(2)} ${verdict(ours / baseOps >= 0.5)}; ` +
      `p99 < 25 ms at ${HTTP_CONNECTIONS} connections: ${num(p99, 2)} ms ${verdict(p99 < 25)}.`
    ].join("\n")
  } finally {
    if (server !== undefined) await stop(server)
    await baseline.end()
    // A profile's line numbers point into the bundle, so it is kept next to the profile.
    if (process.env["BENCH_CPU_PROF"]) console.error(`the profiled bundle: ${script}`)
    else rmSync(script, { force: true })
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.end()
  }
}

/** `BENCH_PG_PARTS=http` (or `service`) runs one part only. */
const parts = (process.env["BENCH_PG_PARTS"] ?? "service,http").split(",")

/** Runs the section; prints and answers its markdown. */
export const run = async (): Promise<Section> => {
  const url = process.env["BENCH_DATABASE_URL"]
  const markdown = url === undefined || url === ""
    ? "## Postgres store\n\nNot measured in this run: set `BENCH_DATABASE_URL` to a Postgres server to measure it."
    : [
      "## Postgres store",
      parts.includes("service") ? await bench(url) : undefined,
      parts.includes("http") ? await httpBench(url) : undefined
    ].filter((part) => part !== undefined).join("\n\n")
  console.log(markdown)
  return { markdown }
}

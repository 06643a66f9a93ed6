/**
 * The embedded store (PGlite served on a loopback socket), in three parts, each against a baseline
 * measured in the same run:
 *
 * - Start-up and memory of the server (`bin.ts` bundled, run by `node`): time until `/ready`
 *   answers, RSS then and the longest stall of its event loop, on a fresh data directory (with
 *   and without a prepared cluster cached) and on reopening it, against the same server on the
 *   in-memory store.
 * - PUT and GET of the checkout route over HTTP on that server, against the in-memory store, with
 *   the event-loop delay under the PUT load.
 * - Basket updates through `SubscriptionCheckout.update` on `PgStore` over the embedded engine,
 *   against a plain `pg` pool replaying the very same statements over the same socket (the part
 *   the Postgres section runs against a server).
 */
import { Embedded } from "@subshift/store-postgres"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { checkoutLoad, load, type Measured, openBasket, token } from "./checkout.js"
import { bench } from "./postgres.js"
import { bundleServer, freePort, type LoopDelay, type LoopProbe, loopProbe, root, rssMb, startNode, stop } from "./processes.js"
import { cell, median, num, ratio, type Section, spread, table, verdict } from "./report.js"

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3)
const DURATION = Number(process.env["BENCH_HTTP_SECONDS"] ?? 4)
const HTTP_CONNECTIONS = [10, 50]

interface Start {
  readonly seconds: number
  readonly rss: number
  /** The main thread's longest stall from the spawn until the server first answers (it then listens). */
  readonly boot: LoopDelay
  /** The same from then until the store is ready (its log line), while the server answers 503. */
  readonly opening: LoopDelay
  /** The same from then until `/ready` answers 200: the server's own routes are built then. */
  readonly serving: LoopDelay
}

/** Starts the server, times it until `/ready` answers 200, reads its RSS a second later, stops it. */
const timeStart = async (script: string, env: Record<string, string>): Promise<Start> => {
  const port = await freePort()
  const probe = loopProbe("server-embedded", '"store ready"')
  const started = performance.now()
  const child: ChildProcess = spawn(process.execPath, [...probe.args, script], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "Info", NODE_ENV: "development", ...env, ...probe.env },
    stdio: ["ignore", "ignore", "inherit"]
  })
  try {
    let boot: LoopDelay | undefined
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`)
      if (performance.now() - started > 120_000) throw new Error("the server was not ready within 120 s")
      const status = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0)
      if (status !== 0 && boot === undefined) {
        // A store ready before the server listens (the in-memory one) split this window at its log line.
        const read = await probe.read(child)
        boot = { max: Math.max(read.max, read.marked?.max ?? 0), p99: Math.max(read.p99, read.marked?.p99 ?? 0) }
      }
      if (status === 200) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const seconds = (performance.now() - started) / 1000
    const serving = await probe.read(child)
    const opened = serving.marked ?? { max: 0, p99: 0 }
    await new Promise((r) => setTimeout(r, 1000))
    return { seconds, rss: rssMb(child.pid!), boot: boot!, opening: opened, serving: { max: serving.max, p99: serving.p99 } }
  } finally {
    await stop(child)
  }
}

const temp = (what: string) => mkdtempSync(join(tmpdir(), `subshift-bench-${what}-`))

const startUp = async (script: string): Promise<string> => {
  const runs = { memory: [] as Array<Start>, first: [] as Array<Start>, cold: [] as Array<Start>, reopen: [] as Array<Start> }
  // Where the servers keep the prepared cluster; made by a first start before the rounds.
  const cache = temp("cache")
  const prepare = temp("embedded")
  await timeStart(script, { SUBSHIFT_STORE: "embedded", SUBSHIFT_DATA_DIR: prepare, XDG_CACHE_HOME: cache })
  const dirs = [cache, prepare]
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const dataDir = temp("embedded")
      const coldDir = temp("embedded")
      const coldCache = temp("cache")
      dirs.push(dataDir, coldDir, coldCache)
      runs.memory.push(await timeStart(script, { SUBSHIFT_STORE: "memory" }))
      runs.first.push(await timeStart(script, { SUBSHIFT_STORE: "embedded", SUBSHIFT_DATA_DIR: dataDir, XDG_CACHE_HOME: cache }))
      runs.reopen.push(await timeStart(script, { SUBSHIFT_STORE: "embedded", SUBSHIFT_DATA_DIR: dataDir, XDG_CACHE_HOME: cache }))
      runs.cold.push(await timeStart(script, { SUBSHIFT_STORE: "embedded", SUBSHIFT_DATA_DIR: coldDir, XDG_CACHE_HOME: coldCache }))
    }
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  }
  const figures = (starts: ReadonlyArray<Start>) => ({
    seconds: spread(starts.map((r) => r.seconds)),
    rss: spread(starts.map((r) => r.rss)),
    boot: spread(starts.map((r) => r.boot.max)),
    opening: spread(starts.map((r) => r.opening.max)),
    serving: spread(starts.map((r) => r.serving.max))
  })
  const memory = figures(runs.memory)
  const first = figures(runs.first)
  const reopen = figures(runs.reopen)
  const row = (name: string, starts: ReadonlyArray<Start>) => {
    const f = figures(starts)
    return [
      name,
      cell(f.seconds, 2),
      ratio(f.seconds.median, memory.seconds.median),
      cell(f.rss),
      ratio(f.rss.median, memory.rss.median),
      cell(f.boot),
      cell(f.opening),
      cell(f.serving)
    ]
  }
  return [
    "### Start-up and memory of the server",
    "",
    `Time from spawning the server until \`/ready\` answers 200, and its RSS one second later; median (min – max) of ${ROUNDS} ` +
    "interleaved rounds, each on a fresh data directory. First start: copy the cluster prepared in the cache, open it, migrate, " +
    "seed the demo; reopen: the same directory again; first start with nothing cached: the cluster is created first (once per " +
    "machine and PGlite version). The last three columns are the longest delay of the server's event loop " +
    "(\`monitorEventLoopDelay\`, 1 ms resolution): from the spawn until the server first answers, which includes loading its " +
    "code; from then until the store is ready (its log line), while the server answers 503; and from then until \`/ready\` " +
    "answers 200, while the server builds its routes (the in-memory store does all this before it listens). The baseline is the " +
    "same server on the in-memory store.",
    "",
    table(["server", "seconds to ready", "ratio", "RSS MB", "ratio", "longest stall, ms: to listening", "store opening", "store ready to serving"], [
      row("in-memory store (baseline)", runs.memory),
      row("embedded store, first start", runs.first),
      row("embedded store, reopen", runs.reopen),
      row("embedded store, first start with nothing cached", runs.cold)
    ]),
    "",
    `Targets: first start ≤ 2 × reopen: ${ratio(first.seconds.median, reopen.seconds.median)} × ` +
    `${verdict(first.seconds.median <= 2 * reopen.seconds.median)}; its RSS ≤ 1.3 × reopen: ` +
    `${ratio(first.rss.median, reopen.rss.median)} × ${verdict(first.rss.median <= 1.3 * reopen.rss.median)}; ` +
    `longest stall while a first start opens the store (worst round) < 50 ms: ${num(first.opening.max)} ms ${verdict(first.opening.max < 50)} ` +
    `(over the whole first start, code loading and route building included, worst round: ${num(Math.max(first.boot.max, first.opening.max, first.serving.max))} ms).`
  ].join("\n")
}

type Store = "memory" | "embedded"

/** PUT and GET of the checkout route on the embedded store beside the in-memory store, and the event loop under PUT load. */
const http = async (script: string): Promise<string> => {
  const dataDir = temp("embedded")
  const bearer = await token()
  const servers = new Map<Store, { child: ChildProcess; probe: LoopProbe; url: string; cookies: Array<string> }>()
  const runs = new Map<string, Array<Measured>>()
  const delays = new Map<Store, Array<LoopDelay>>([["memory", []], ["embedded", []]])
  try {
    for (const store of ["memory", "embedded"] as const) {
      const port = await freePort()
      const probe = loopProbe(`server-${store}`)
      const env = { PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "Error", NODE_ENV: "development", SUBSHIFT_STORE: store }
      const child = await startNode([...probe.args, script], { ...env, SUBSHIFT_DATA_DIR: dataDir, ...probe.env }, `http://127.0.0.1:${port}/ready`)
      const url = `http://127.0.0.1:${port}/api/checkout/subscription`
      servers.set(store, { child, probe, url, cookies: [] })
      for (let i = 0; i < Math.max(...HTTP_CONNECTIONS); i++) servers.get(store)!.cookies.push(await openBasket(url, bearer))
    }
    const options = (store: Store, method: "PUT" | "GET") => checkoutLoad(servers.get(store)!.url, method, bearer, servers.get(store)!.cookies)
    for (const store of ["memory", "embedded"] as const) for (const method of ["PUT", "GET"] as const) await load(options(store, method), 50, 2)
    for (let round = 0; round < ROUNDS; round++) {
      for (const connections of HTTP_CONNECTIONS) {
        for (const method of ["PUT", "GET"] as const) {
          const stores: Array<Store> = round % 2 === 0 ? ["memory", "embedded"] : ["embedded", "memory"]
          for (const store of stores) {
            const { child, probe } = servers.get(store)!
            await probe.read(child)
            const measured = await load(options(store, method), connections, DURATION)
            if (method === "PUT") delays.get(store)!.push(await probe.read(child))
            const key = `${store} ${method} ${connections}`
            runs.set(key, [...(runs.get(key) ?? []), measured])
          }
        }
      }
    }
  } finally {
    for (const { child } of servers.values()) await stop(child)
    rmSync(dataDir, { recursive: true, force: true })
  }
  const of = (store: Store, method: string, c: number) => runs.get(`${store} ${method} ${c}`)!
  const rows = HTTP_CONNECTIONS.flatMap((c) =>
    (["PUT", "GET"] as const).map((method) => {
      const embedded = spread(of("embedded", method, c).map((m) => m.rps))
      const memory = spread(of("memory", method, c).map((m) => m.rps))
      const p = (store: Store) => `${num(median(of(store, method, c).map((m) => m.p50)))} / ${num(median(of(store, method, c).map((m) => m.p99)))}`
      const errors = [...of("embedded", method, c), ...of("memory", method, c)].reduce((n, m) => n + m.errors, 0)
      return [`${method} · ${c}`, cell(embedded), cell(memory), ratio(embedded.median, memory.median), p("embedded"), p("memory"), String(errors)]
    })
  )
  const loop = (store: Store) => {
    const p99 = spread(delays.get(store)!.map((d) => d.p99))
    const max = spread(delays.get(store)!.map((d) => d.max))
    return [store === "memory" ? "in-memory store (baseline)" : "embedded store", cell(p99, 1), cell(max)]
  }
  const p99 = median(delays.get("embedded")!.map((d) => d.p99))
  return [
    "### HTTP on the embedded store",
    "",
    `\`/api/checkout/subscription\` over loopback HTTP on the bundled server, ${DURATION} s per run after a 2 s warm-up, median ` +
    `(min – max) of ${ROUNDS} runs with the two servers alternating, each connection on a basket of its own; the baseline is the ` +
    "same server on the in-memory store.",
    "",
    table(["request · connections", "embedded req/s", "in-memory req/s", "ratio", "embedded p50 / p99 ms", "in-memory p50 / p99 ms", "non-2xx"], rows),
    "",
    "The server's event loop during the PUT runs (\`monitorEventLoopDelay\`, 1 ms resolution; per run, then median (min – max) over the runs):",
    "",
    table(["server", "event-loop delay p99, ms", "longest, ms"], [loop("memory"), loop("embedded")]),
    "",
    `Target: event-loop delay p99 under PUT load on the embedded store < 20 ms: ${num(p99, 1)} ms ${verdict(p99 < 20)}.`
  ].join("\n")
}

const throughput = async (): Promise<string> => {
  const dataDir = mkdtempSync(join(tmpdir(), "subshift-bench-embedded-"))
  try {
    return await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      // Both pools (10 each) and the admin connection share the socket server.
      const server = yield* Embedded.start({ dataDir, maxConnections: 32 })
      return yield* Effect.promise(() => bench(`postgres://postgres@${server.host}:${server.port}/postgres`, "Embedded store"))
    })))
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** Runs the section; prints and answers its markdown. */
export const run = async (): Promise<Section> => {
  const script = await bundleServer("server-embedded", ["@electric-sql/*", "pg-native"])
  const parts = [await startUp(script), await http(script)]
  rmSync(script, { force: true })
  const markdown = ["## Embedded store (PGlite)", ...parts, await throughput()].join("\n\n")
  console.log(markdown)
  return { markdown }
}

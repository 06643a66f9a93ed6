/**
 * The production start and the cost of observing: start-up time and idle RSS of the server as
 * `npm start` runs it (plain `node` on the built JavaScript) against the same server started
 * through the `tsx` loader on the TypeScript sources, as it ran before it was built; then PUT
 * `/api/checkout/subscription` on the in-memory store at 50 connections with metrics on
 * (`SUBSHIFT_METRICS_PORT`, scraped every second as Prometheus would) and with tracing to a
 * local OTLP/HTTP receiver, each against the same bundle with both off, the three servers
 * alternating run by run in the same section.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { join } from "node:path"
import { load, type Measured, openBasket, putBody, token as checkoutToken } from "./checkout.js"
import { bundleServer, cpuSeconds, freePort, root, rssMb, startNode, stop } from "./processes.js"
import { cell, num, ratio, type Section, spread, table, verdict } from "./report.js"

/** One load run, with the server's CPU time per request. */
interface Run extends Measured {
  readonly cpuUs: number
}

const STARTS = Number(process.env["BENCH_STARTS"] ?? 5)
// Short runs, many pairs: on a shared machine the load drifts, and a ratio within one pair of
// adjacent runs cancels most of that drift.
const DURATION = Number(process.env["BENCH_OBSERVE_SECONDS"] ?? 2)
const ROUNDS = Number(process.env["BENCH_OBSERVE_PAIRS"] ?? 9)
const CONNECTIONS = 50

const serverEnv = (port: number): Record<string, string> => ({
  PORT: String(port),
  HOST: "127.0.0.1",
  SUBSHIFT_STORE: "memory",
  LOG_LEVEL: "Error",
  NODE_ENV: "development"
})

/** Starts `args` and times it until `/health` answers 200; answers the time and the RSS a second later. */
const startOnce = async (args: ReadonlyArray<string>): Promise<{ ms: number; rss: number }> => {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(process.execPath, [...args], { cwd: root, env: { ...process.env, ...serverEnv(port) }, stdio: ["ignore", "ignore", "inherit"] })
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`${args.join(" ")} exited with ${child.exitCode}`)
      if (i > 3000) throw new Error(`${args.join(" ")} did not answer`)
      const up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status === 200, () => false)
      if (up) break
      await new Promise((r) => setTimeout(r, 10))
    }
    const ms = performance.now() - started
    await new Promise((r) => setTimeout(r, 1000))
    return { ms, rss: rssMb(child.pid!) }
  } finally {
    await stop(child)
  }
}

// An OTLP/HTTP receiver in a process of its own: it reads each export whole and answers 200.
const RECEIVER = `
require("node:http").createServer((req, res) => {
  let bytes = 0
  req.on("data", (c) => (bytes += c.length))
  req.on("end", () => res.writeHead(req.url === "/v1/traces" ? 200 : 404, { "content-type": "application/json" }).end("{}"))
}).listen(Number(process.env.PORT), "127.0.0.1")
`

type Side = "off" | "metrics" | "tracing"

/** Runs the section; prints and answers its markdown. */
export async function run(): Promise<Section> {
  // The production start runs the built JavaScript: build it as `npm start` does.
  execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" })
  const production = [join(root, "packages/http-server/bin/subshift.mjs"), "serve"]
  const tsx = ["--import", "tsx", "--conditions=@subshift/source", join(root, "packages/http-server/src/bin.ts")]
  const starts: Record<"production" | "tsx", Array<{ ms: number; rss: number }>> = { production: [], tsx: [] }
  for (let i = 0; i < STARTS; i++) {
    for (const which of i % 2 === 0 ? (["production", "tsx"] as const) : (["tsx", "production"] as const)) {
      starts[which].push(await startOnce(which === "production" ? production : tsx))
    }
  }

  const token = await checkoutToken()
  const script = await bundleServer("server-observe", ["@subshift/store-postgres"])
  const receiverPort = await freePort()
  const metricsPort = await freePort()
  const extra: Record<Side, Record<string, string>> = {
    off: {},
    metrics: { SUBSHIFT_METRICS_PORT: String(metricsPort) },
    tracing: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`, OTEL_SERVICE_NAME: "subshift-bench" }
  }
  const runs: Record<Side, Array<Run>> = { off: [], metrics: [], tracing: [] }
  const baselines: Record<"metrics" | "tracing", Array<Run>> = { metrics: [], tracing: [] }
  let scrapes = 0
  let scrapeFailures = 0
  const receiver = await startNode(["-e", RECEIVER], { PORT: String(receiverPort) }, `http://127.0.0.1:${receiverPort}/`)
  try {
    // Two phases, each against a server with both off started with it: the tracing server goes on
    // exporting after a run, so it is never up while metrics are measured.
    for (const observed of ["metrics", "tracing"] as const) {
      const servers = {} as Record<"off" | typeof observed, { child: ChildProcess; url: string; cookie: string }>
      try {
        for (const side of ["off", observed] as const) {
          const port = await freePort()
          const child = await startNode([script], { ...serverEnv(port), ...extra[side] }, `http://127.0.0.1:${port}/health`)
          const url = `http://127.0.0.1:${port}/api/checkout/subscription`
          servers[side] = { child, url, cookie: await openBasket(url, token) }
        }
        // Prometheus scrapes every 15 s or so; once a second is more than any deployment pays.
        const scraper = observed === "metrics"
          ? setInterval(() => {
            fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).then(() => scrapes++, () => scrapeFailures++)
          }, 1000)
          : undefined
        try {
          const measure = async (side: "off" | typeof observed) => {
            const { child, cookie, url } = servers[side]
            const before = cpuSeconds(child.pid!)
            const measured = await load({
              url,
              method: "PUT",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json", cookie },
              body: putBody
            }, CONNECTIONS, DURATION)
            const cpu = cpuSeconds(child.pid!) - before
            // Let a tracing server send what it still holds before the next run.
            if (side === "tracing") await new Promise((r) => setTimeout(r, 3000))
            return { ...measured, cpuUs: (cpu / Math.max(1, measured.rps * DURATION)) * 1e6 }
          }
          for (const side of ["off", observed] as const) await measure(side)
          for (let round = 0; round < ROUNDS; round++) {
            const order = round % 2 === 0 ? (["off", observed] as const) : ([observed, "off"] as const)
            for (const side of order) {
              const measured = await measure(side)
              if (side === "off") baselines[observed].push(measured)
              else runs[side].push(measured)
            }
          }
        } finally {
          if (scraper !== undefined) clearInterval(scraper)
        }
      } finally {
        for (const server of Object.values(servers)) await stop(server.child)
      }
    }
  } finally {
    await stop(receiver)
  }

  const ms = (which: "production" | "tsx") => spread(starts[which].map((s) => s.ms))
  const rss = (which: "production" | "tsx") => spread(starts[which].map((s) => s.rss))
  const rps = (runs: ReadonlyArray<Run>) => spread(runs.map((m) => m.rps))
  const cpu = (runs: ReadonlyArray<Run>) => spread(runs.map((m) => m.cpuUs))
  const errors = (runs: ReadonlyArray<Run>) => runs.reduce((n, m) => n + m.errors, 0)
  const p99 = (runs: ReadonlyArray<Run>) => spread(runs.map((m) => m.p99))
  /** The ratios of `value` within each pair of adjacent runs (observed over off). */
  const pairs = (these: ReadonlyArray<Run>, base: ReadonlyArray<Run>, value: (run: Run) => number) =>
    spread(these.map((run, i) => value(run) / value(base[i]!)))
  const row = (name: string, these: ReadonlyArray<Run>, base: ReadonlyArray<Run>) => [
    name,
    cell(rps(these)),
    these === base ? "1.00" : cell(pairs(these, base, (r) => r.rps), 2),
    num(p99(these).median),
    cell(cpu(these)),
    these === base ? "1.00" : cell(pairs(these, base, (r) => r.cpuUs), 2),
    String(errors(these))
  ]
  const metricsRatio = pairs(runs.metrics, baselines.metrics, (r) => r.rps).median
  const tracingRatio = pairs(runs.tracing, baselines.tracing, (r) => r.rps).median
  const markdown = [
    "## Production start and the cost of observing",
    "",
    "### Start-up and memory",
    "",
    `Each start is timed from spawning the process to \`/health\` answering 200, on the in-memory store; the RSS is read a second later. ` +
    `Median (min – max) of ${STARTS} starts of each, alternating. Production: \`node packages/http-server/bin/subshift.mjs serve\` on the ` +
    "built JavaScript (`npm start`); tsx: `node --import tsx --conditions=@subshift/source packages/http-server/src/bin.ts`, the TypeScript sources through the loader.",
    "",
    table(["start", "time to ready ms", "RSS MB"], [
      ["production (node, built JS)", cell(ms("production")), cell(rss("production"))],
      ["tsx (TypeScript sources)", cell(ms("tsx")), cell(rss("tsx"))],
      ["ratio production / tsx", ratio(ms("production").median, ms("tsx").median), ratio(rss("production").median, rss("tsx").median)]
    ]),
    "",
    "### PUT with metrics and with tracing",
    "",
    `PUT \`/api/checkout/subscription\` on the in-memory store at ${CONNECTIONS} connections, ${DURATION} s per run after a 2 s warm-up, ` +
    `median (min – max) of ${ROUNDS} pairs of runs. Each observed server runs beside a server with both off, the same bundle, ` +
    "the two alternating run by run, and each ratio is the median (min – max) of the ratios within each pair of adjacent runs; " +
    "the metrics pair of servers, then the tracing pair (the tracing server goes on exporting after a run, so it " +
    "is never up while metrics are measured, and each of its runs is followed by 3 s for its exports). The server's CPU time per request " +
    `(user and system, from \`/proc\`) is what the observing costs the server itself, less swayed than req/s by the machine's other load. Metrics on: \`SUBSHIFT_METRICS_PORT\` set and ` +
    `\`/metrics\` scraped every second (${scrapes} scrapes, ${scrapeFailures} failed). Tracing on: \`OTEL_EXPORTER_OTLP_ENDPOINT\` at a local OTLP/HTTP receiver ` +
    "in its own process, every request exported (a server span, its use-case span and its store calls' spans).",
    "",
    table(["server", "req/s", "req/s ratio to off", "p99 ms", "server CPU µs per request", "CPU ratio to off", "non-2xx"], [
      row("off (baseline of the metrics runs)", baselines.metrics, baselines.metrics),
      row("metrics on", runs.metrics, baselines.metrics),
      row("off (baseline of the tracing runs)", baselines.tracing, baselines.tracing),
      row("tracing on", runs.tracing, baselines.tracing)
    ]),
    "",
    `Target: metrics on ≥ 0.9 of off: ${metricsRatio.toFixed(2)} ${verdict(metricsRatio >= 0.9)}. Tracing on: ${tracingRatio.toFixed(2)} of off (reported, no target).`
  ].join("\n")
  console.log(markdown)
  return { markdown }
}

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
import { bundleServer, freePort, root, rssMb, startNode, stop } from "./processes.js"
import { cell, num, ratio, type Section, spread, table, verdict } from "./report.js"

const STARTS = Number(process.env["BENCH_STARTS"] ?? 5)
const DURATION = Number(process.env["BENCH_HTTP_SECONDS"] ?? 4)
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3)
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
  const ports = { off: await freePort(), metrics: await freePort(), tracing: await freePort() }
  const metricsPort = await freePort()
  const extra: Record<Side, Record<string, string>> = {
    off: {},
    metrics: { SUBSHIFT_METRICS_PORT: String(metricsPort) },
    tracing: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`, OTEL_SERVICE_NAME: "subshift-bench" }
  }
  const children: Array<ChildProcess> = []
  const runs: Record<Side, Array<Measured>> = { off: [], metrics: [], tracing: [] }
  let scrapes = 0
  let scrapeFailures = 0
  try {
    children.push(await startNode(["-e", RECEIVER], { PORT: String(receiverPort) }, `http://127.0.0.1:${receiverPort}/`))
    const sides: Array<Side> = ["off", "metrics", "tracing"]
    const urls = {} as Record<Side, string>
    const cookies = {} as Record<Side, string>
    for (const side of sides) {
      children.push(await startNode([script], { ...serverEnv(ports[side]), ...extra[side] }, `http://127.0.0.1:${ports[side]}/health`))
      urls[side] = `http://127.0.0.1:${ports[side]}/api/checkout/subscription`
      cookies[side] = await openBasket(urls[side], token)
    }
    // Prometheus scrapes every 15 s or so; once a second is more than any deployment pays.
    const scraper = setInterval(() => {
      fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).then(() => scrapes++, () => scrapeFailures++)
    }, 1000)
    try {
      const options = (side: Side) => ({
        url: urls[side],
        method: "PUT" as const,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", cookie: cookies[side] },
        body: putBody
      })
      for (const side of sides) await load(options(side), CONNECTIONS, 2)
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? sides : [...sides].reverse()
        for (const side of order) runs[side].push(await load(options(side), CONNECTIONS, DURATION))
      }
    } finally {
      clearInterval(scraper)
    }
  } finally {
    for (const child of children) await stop(child)
  }

  const ms = (which: "production" | "tsx") => spread(starts[which].map((s) => s.ms))
  const rss = (which: "production" | "tsx") => spread(starts[which].map((s) => s.rss))
  const rps = (side: Side) => spread(runs[side].map((m) => m.rps))
  const errors = (side: Side) => runs[side].reduce((n, m) => n + m.errors, 0)
  const p99 = (side: Side) => spread(runs[side].map((m) => m.p99))
  const metricsRatio = rps("metrics").median / rps("off").median
  const tracingRatio = rps("tracing").median / rps("off").median
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
    `median (min – max) of ${ROUNDS} runs; the three servers are the same bundle, alternating run by run. Metrics on: \`SUBSHIFT_METRICS_PORT\` set and ` +
    `\`/metrics\` scraped every second (${scrapes} scrapes, ${scrapeFailures} failed). Tracing on: \`OTEL_EXPORTER_OTLP_ENDPOINT\` at a local OTLP/HTTP receiver ` +
    "in its own process, every request exported (a server span, its use-case span and its store calls' spans).",
    "",
    table(["server", "req/s", "ratio to off", "p99 ms", "non-2xx"], [
      ["metrics and tracing off (baseline)", cell(rps("off")), "1.00", num(p99("off").median), String(errors("off"))],
      ["metrics on", cell(rps("metrics")), ratio(rps("metrics").median, rps("off").median), num(p99("metrics").median), String(errors("metrics"))],
      ["tracing on", cell(rps("tracing")), ratio(rps("tracing").median, rps("off").median), num(p99("tracing").median), String(errors("tracing"))]
    ]),
    "",
    `Target: metrics on ≥ 0.9 of off: ${metricsRatio.toFixed(2)} ${verdict(metricsRatio >= 0.9)}. Tracing on: ${tracingRatio.toFixed(2)} of off (reported, no target).`
  ].join("\n")
  console.log(markdown)
  return { markdown }
}

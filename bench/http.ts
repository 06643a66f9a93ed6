/**
 * The HTTP section: PUT and GET `/api/checkout/subscription` on the in-memory store under 50
 * connections on loopback, against a plain `node:http` server doing equivalent JSON work (parse,
 * validate, build a ~1 KB response) measured in the same run; requests/s, p50/p99, the ratio, and
 * the idle RSS of the server. Each server runs in its own process so the load generator does not
 * share its event loop.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import * as Jose from "jose"
import { DEV_AUDIENCE, DEV_ISSUER, DEV_JWT_SECRET } from "@subshift/http-server/Config"

/** What this section reads of autocannon (which ships no types). */
interface LoadOptions {
  readonly url: string
  readonly method: "GET" | "PUT"
  readonly headers: Record<string, string>
  readonly body?: string
  readonly connections?: number
  readonly duration?: number
}
interface LoadResult {
  readonly requests: { readonly average: number }
  readonly latency: { readonly p50: number; readonly p99: number }
  readonly throughput: { readonly average: number }
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
}
const autocannon = createRequire(import.meta.url)("autocannon") as (options: LoadOptions) => Promise<LoadResult>

const root = fileURLToPath(new URL("..", import.meta.url))
const CONNECTIONS = 50
const DURATION = Number(process.env.BENCH_HTTP_SECONDS ?? 8)

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

const waitFor = async (url: string) => {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url)
      return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${url} did not answer`)
}

const rssMb = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))
  return line === undefined ? NaN : Number(line.replace(/\D+/g, "")) / 1024
}

/**
 * The server as it would be deployed: one bundled JavaScript file run by plain `node`, so that
 * neither the TypeScript loader nor its worker counts in the server's memory or time.
 */
const bundle = async (): Promise<string> => {
  const outfile = join(mkdtempSync(join(tmpdir(), "subshift-bench-")), "server.mjs")
  await new Promise<void>((resolve, reject) => {
    const esbuild = spawn(
      join(root, "node_modules/.bin/esbuild"),
      [
        "packages/http-server/src/bin.ts",
        "--bundle",
        "--platform=node",
        "--format=esm",
        "--target=node20",
        `--outfile=${outfile}`,
        "--external:@subshift/store-postgres",
        "--log-level=error",
        "--banner:js=import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
      ],
      { cwd: root, stdio: ["ignore", "ignore", "inherit"] }
    )
    esbuild.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`esbuild exited with ${code}`))))
  })
  return outfile
}

/** The baseline: parse, validate, and answer a ~1 KB JSON document, with no framework. */
const BASELINE = `
const http = require("node:http")
const lines = Array.from({ length: 6 }, (_, i) => ({ kind: "add", type: "add_on", offerId: "addon-" + i, description: "Line " + i + " of the quote, prorated", effectiveDate: "2026-01-01", amount: { amount: 1234 + i, currency: "USD" } }))
const answer = (id, version, items) => JSON.stringify({ checkoutId: id, completed: false, version, expiresAt: new Date().toISOString(), order: { order_type: "update_subscription", forSubscription: { id: "sub-alice", name: "3V053CN9SFIG" }, orderItems: items }, quote: { currency: "USD", lines, dueNow: { amount: 1000, currency: "USD" } } })
let version = 1
http.createServer((req, res) => {
  if (!(req.headers.authorization || "").startsWith("Bearer ")) { res.writeHead(401).end(); return }
  if (req.method === "GET") { const body = answer("basket-1", version, []); res.writeHead(200, { "content-type": "application/json", etag: '"' + version + '"' }).end(body); return }
  let text = ""
  req.setEncoding("utf8")
  req.on("data", (c) => (text += c))
  req.on("end", () => {
    let body
    try { body = JSON.parse(text) } catch { res.writeHead(400).end(); return }
    const items = body && body.order && Array.isArray(body.order.orderItems) ? body.order.orderItems : undefined
    if (items === undefined || !items.every((i) => (i.orderItemActionType === "add" || i.orderItemActionType === "remove") && i.offer && typeof i.offer.id === "string" && i.offer.id.length <= 64)) { res.writeHead(400).end(); return }
    version++
    const out = answer("basket-1", version, items.map((i) => ({ orderItemActionType: i.orderItemActionType, type: i.type || "offer", offer: { id: i.offer.id } })))
    res.writeHead(200, { "content-type": "application/json", etag: '"' + version + '"' }).end(out)
  })
}).listen(Number(process.env.PORT), "127.0.0.1")
`

interface Measured {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly errors: number
  readonly bytes: number
}

const load = async (options: LoadOptions): Promise<Measured> => {
  await autocannon({ ...options, connections: CONNECTIONS, duration: 2 })
  const result = await autocannon({ ...options, connections: CONNECTIONS, duration: DURATION })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
    bytes: result.throughput.average / Math.max(1, result.requests.average)
  }
}

const startProcess = async (args: Array<string>, env: Record<string, string>, health: string): Promise<ChildProcess> => {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] })
  try {
    await waitFor(health)
  } catch (e) {
    child.kill("SIGKILL")
    throw e
  }
  return child
}

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

/** Runs the section; prints and answers its markdown. */
export async function run(): Promise<string> {
  const token = await new Jose.SignJWT({ scope: "checkout" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("cus-alice")
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(DEV_JWT_SECRET))
  const putBody = JSON.stringify({
    order: {
      orderItems: [
        { orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } },
        { orderItemActionType: "add", type: "add_on", offer: { id: "addon-archive" } }
      ]
    }
  })

  const port = await freePort()
  const subshift = await startProcess(
    [await bundle()],
    { PORT: String(port), HOST: "127.0.0.1", SUBSHIFT_STORE: "memory", LOG_LEVEL: "Error", NODE_ENV: "development" },
    `http://127.0.0.1:${port}/health`
  )
  let subshiftPut: Measured, subshiftGet: Measured, idleRss: number, loadedRss: number
  try {
    await new Promise((r) => setTimeout(r, 1500))
    idleRss = rssMb(subshift.pid!)
    const base = `http://127.0.0.1:${port}/api/checkout/subscription`
    const opened = await fetch(base, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ order: { order_type: "update_subscription", forSubscription: { id: "sub-alice" } } })
    })
    if (!opened.ok) throw new Error(`initiate answered ${opened.status}`)
    const cookie = opened.headers.get("set-cookie")!.split(";")[0]!
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json", cookie }
    subshiftPut = await load({ url: base, method: "PUT", headers, body: putBody })
    subshiftGet = await load({ url: base, method: "GET", headers })
    loadedRss = rssMb(subshift.pid!)
  } finally {
    await stop(subshift)
  }

  const basePort = await freePort()
  const baseline = await startProcess(["-e", BASELINE], { PORT: String(basePort) }, `http://127.0.0.1:${basePort}/`)
  let plainPut: Measured, plainGet: Measured
  try {
    const url = `http://127.0.0.1:${basePort}/`
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" }
    plainPut = await load({ url, method: "PUT", headers, body: putBody })
    plainGet = await load({ url, method: "GET", headers })
  } finally {
    await stop(baseline)
  }

  const row = (name: string, m: Measured, ratio?: number) =>
    `| ${name} | ${Math.round(m.rps).toLocaleString("en-US")} | ${m.p50} | ${m.p99} | ${Math.round(m.bytes)} | ${m.errors} | ${ratio === undefined ? "" : ratio.toFixed(2)} |`
  const putRatio = subshiftPut.rps / plainPut.rps
  const getRatio = subshiftGet.rps / plainGet.rps
  const verdict = (ok: boolean) => (ok ? "met" : "**missed**")
  const text = [
    "## HTTP: `/api/checkout/subscription` on the in-memory store",
    "",
    `${CONNECTIONS} connections on loopback, ${DURATION} s per run after a 2 s warm-up; each server in its own process.`,
    "",
    "| server · request | req/s | p50 ms | p99 ms | bytes/resp | non-2xx | ratio |",
    "|---|---:|---:|---:|---:|---:|---:|",
    row("Subshift PUT", subshiftPut, putRatio),
    row("plain node:http PUT", plainPut),
    row("Subshift GET", subshiftGet, getRatio),
    row("plain node:http GET", plainGet),
    "",
    `Idle RSS of the Subshift server: ${idleRss.toFixed(0)} MB (after the runs: ${loadedRss.toFixed(0)} MB).`,
    "",
    `Targets: PUT ratio ≥ 0.20 ${verdict(putRatio >= 0.2)}; GET ratio ≥ 0.25 ${verdict(getRatio >= 0.25)}; ` +
    `p99 < 20 ms ${verdict(subshiftPut.p99 < 20 && subshiftGet.p99 < 20)}; idle RSS < 130 MB ${verdict(idleRss < 130)}.`
  ].join("\n")
  console.log(text)
  return text
}


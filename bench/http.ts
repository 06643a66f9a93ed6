/**
 * The HTTP section: PUT and GET `/api/checkout/subscription` on the in-memory store on loopback
 * at 1, 10, 50 and 200 connections, against a plain `node:http` server doing equivalent JSON
 * work (check the credential and the cookie, parse, validate, answer the same body) measured in the same run;
 * requests/s, p50/p99, the ratio, and the idle RSS of both servers. Each server runs in its own
 * process so the load generator does not share its event loop; both stay up for the whole
 * section and the runs alternate between them, round after round. A third process, the same
 * bundle with `SUBSHIFT_FAST_PATH=off`, measures PUT at 50 connections through the router alone,
 * so the fast path shows in the same run what it earns.
 */
import type { ChildProcess } from "node:child_process"
import { createHmac, randomBytes } from "node:crypto"
import { load, type LoadOptions, type Measured, openBasket, putBody, token as checkoutToken } from "./checkout.js"
import { bundleServer, freePort, profileFlags, rssMb, startNode, stop } from "./processes.js"
import { cell, median, num, ratio, type Section, spread, table, verdict } from "./report.js"

/** The connection counts of the sweep; the targets are read at 50. */
const CONNECTIONS = [1, 10, 50, 200]
const TARGET_AT = 50
const DURATION = Number(process.env["BENCH_HTTP_SECONDS"] ?? 4)
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3)

/**
 * The baseline: the work of the route without a framework. It checks the credential's form and
 * the basket cookie's HMAC, parses and validates the body, and answers the very body Subshift
 * answers (its shape and size, from `TEMPLATE`) rebuilt for each request with the caller's items
 * and a new version, so both sides write and the load generator reads the same bytes.
 */
const BASELINE = `
const http = require("node:http")
const crypto = require("node:crypto")
const template = JSON.parse(process.env.TEMPLATE)
const secret = process.env.COOKIE_SECRET
const sign = (value) => crypto.createHmac("sha256", secret).update(value).digest("base64url")
const basketOf = (header) => {
  const raw = (header || "").split("; ").find((c) => c.startsWith("basket="))
  if (raw === undefined) return undefined
  const [value, mac] = raw.slice(7).split(".")
  const expected = Buffer.from(sign(value))
  const given = Buffer.from(mac || "")
  return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? value : undefined
}
const automatic = template.order.orderItems.filter((i) => i.auto)
const answer = (id, version, items) => JSON.stringify({
  ...template,
  checkoutId: id,
  version,
  expiresAt: new Date(Date.now() + 14 * 86400000).toISOString(),
  order: { ...template.order, orderItems: [...items, ...automatic] },
  quote: { ...template.quote, pricedAt: new Date().toISOString() }
})
let version = 1
let last = template.order.orderItems.filter((i) => !i.auto)
http.createServer((req, res) => {
  if (!(req.headers.authorization || "").startsWith("Bearer ")) { res.writeHead(401).end(); return }
  const id = basketOf(req.headers.cookie)
  if (id === undefined) { res.writeHead(404).end(); return }
  if (req.method === "GET") { const body = answer(id, version, last); res.writeHead(200, { "content-type": "application/json", etag: '"' + version + '"' }).end(body); return }
  let text = ""
  req.setEncoding("utf8")
  req.on("data", (c) => (text += c))
  req.on("end", () => {
    let body
    try { body = JSON.parse(text) } catch { res.writeHead(400).end(); return }
    const items = body && body.order && Array.isArray(body.order.orderItems) ? body.order.orderItems : undefined
    if (items === undefined || !items.every((i) => (i.orderItemActionType === "add" || i.orderItemActionType === "remove") && i.offer && typeof i.offer.id === "string" && i.offer.id.length <= 64)) { res.writeHead(400).end(); return }
    version++
    last = items.map((i) => ({ orderItemActionType: i.orderItemActionType, type: i.type || "offer", offer: { id: i.offer.id } }))
    res.writeHead(200, { "content-type": "application/json", etag: '"' + version + '"' }).end(answer(id, version, last))
  })
}).listen(Number(process.env.PORT), "127.0.0.1")
`

type Method = "PUT" | "GET"

/** A latency as autocannon reports it, in whole milliseconds: 0 means under one. */
const ms = (value: number) => (value < 1 ? "< 1" : num(value))
type Side = "subshift" | "plain" | "router"
const key = (side: Side, method: Method, connections: number) => `${side} ${method} ${connections}`

/** Runs the section; prints and answers its markdown and the connections panel of the chart. */
export async function run(): Promise<Section> {
  const token = await checkoutToken()

  const port = await freePort()
  const basePort = await freePort()
  const routerPort = await freePort()
  // `BENCH_CPU_PROF=<dir>` writes a CPU profile of the Subshift server there (its lines point into the bundle).
  const script = await bundleServer("server-memory", ["@subshift/store-postgres"])
  if (profileFlags().length > 0) console.error(`profiling the Subshift server; the bundle: ${script}`)
  const subshift = await startNode(
    [...profileFlags(), script],
    { PORT: String(port), HOST: "127.0.0.1", SUBSHIFT_STORE: "memory", LOG_LEVEL: "Error", NODE_ENV: "development" },
    `http://127.0.0.1:${port}/health`
  )
  let plain: ChildProcess | undefined
  let router: ChildProcess | undefined
  const runs = new Map<string, Array<Measured>>()
  let idle: { subshift: number; plain: number }
  let loadedRss: number
  let template: string
  try {
    const url = `http://127.0.0.1:${port}/api/checkout/subscription`
    const cookie = await openBasket(url, token)
    const first = await fetch(url, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-type": "application/json", cookie }, body: putBody })
    template = await first.text()
    if (!first.ok) throw new Error(`PUT answered ${first.status}: ${template}`)
    const secret = randomBytes(32).toString("hex")
    const basketCookie = `basket=basket-1.${createHmac("sha256", secret).update("basket-1").digest("base64url")}`
    router = await startNode(
      [script],
      { PORT: String(routerPort), HOST: "127.0.0.1", SUBSHIFT_STORE: "memory", LOG_LEVEL: "Error", NODE_ENV: "development", SUBSHIFT_FAST_PATH: "off" },
      `http://127.0.0.1:${routerPort}/health`
    )
    const routerUrl = `http://127.0.0.1:${routerPort}/api/checkout/subscription`
    const routerOpened = await fetch(routerUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ order: { order_type: "update_subscription", forSubscription: { id: "sub-alice" } } })
    })
    if (!routerOpened.ok) throw new Error(`initiate without the fast path answered ${routerOpened.status}`)
    const routerCookie = routerOpened.headers.get("set-cookie")!.split(";")[0]!
    plain = await startNode(["-e", BASELINE], { PORT: String(basePort), TEMPLATE: template, COOKIE_SECRET: secret }, `http://127.0.0.1:${basePort}/`)
    await new Promise((r) => setTimeout(r, 1500))
    idle = { subshift: rssMb(subshift.pid!), plain: rssMb(plain.pid!) }
    const options = (side: Side, method: Method): LoadOptions => ({
      url: side === "subshift" ? url : side === "router" ? routerUrl : `http://127.0.0.1:${basePort}/`,
      method,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        cookie: side === "subshift" ? cookie : side === "router" ? routerCookie : basketCookie
      },
      ...(method === "PUT" ? { body: putBody } : {})
    })
    const sides: Array<Side> = ["subshift", "plain"]
    for (const side of sides) for (const method of ["PUT", "GET"] as const) await load(options(side, method), TARGET_AT, 2)
    await load(options("router", "PUT"), TARGET_AT, 2)
    for (let round = 0; round < ROUNDS; round++) {
      for (const connections of CONNECTIONS) {
        for (const method of ["PUT", "GET"] as const) {
          // Alternate which side goes first, so that neither always runs on a warmer machine.
          const here: Array<Side> = method === "PUT" && connections === TARGET_AT ? [...sides, "router"] : sides
          for (const side of round % 2 === 0 ? here : [...here].reverse()) {
            const measured = await load(options(side, method), connections, DURATION)
            runs.set(key(side, method, connections), [...(runs.get(key(side, method, connections)) ?? []), measured])
          }
        }
      }
    }
    loadedRss = rssMb(subshift.pid!)
  } finally {
    await stop(subshift)
    if (router !== undefined) await stop(router)
    if (plain !== undefined) await stop(plain)
  }

  const rps = (side: Side, method: Method, connections: number) => spread(runs.get(key(side, method, connections))!.map((m) => m.rps))
  const p99 = (side: Side, method: Method, connections: number) => spread(runs.get(key(side, method, connections))!.map((m) => m.p99))
  const p50 = (side: Side, method: Method, connections: number) => median(runs.get(key(side, method, connections))!.map((m) => m.p50))
  const errors = (side: Side, method: Method, connections: number) =>
    runs.get(key(side, method, connections))!.reduce((n, m) => n + m.errors, 0)
  const rows = CONNECTIONS.flatMap((c) =>
    (["PUT", "GET"] as const).map((method) => {
      const ours = rps("subshift", method, c)
      const theirs = rps("plain", method, c)
      return [
        `${method} · ${c}`,
        cell(ours),
        cell(theirs),
        ratio(ours.median, theirs.median),
        `${ms(p50("subshift", method, c))} / ${ms(p99("subshift", method, c).median)}`,
        `${ms(p50("plain", method, c))} / ${ms(p99("plain", method, c).median)}`,
        String(errors("subshift", method, c) + errors("plain", method, c))
      ]
    })
  )
  const putRatio = rps("subshift", "PUT", TARGET_AT).median / rps("plain", "PUT", TARGET_AT).median
  const getRatio = rps("subshift", "GET", TARGET_AT).median / rps("plain", "GET", TARGET_AT).median
  const withFast = rps("subshift", "PUT", TARGET_AT)
  const withoutFast = rps("router", "PUT", TARGET_AT)
  const worstP99 = Math.max(p99("subshift", "PUT", TARGET_AT).median, p99("subshift", "GET", TARGET_AT).median)
  const templateBytes = Buffer.byteLength(template)
  const markdown = [
    "## HTTP: `/api/checkout/subscription` on the in-memory store",
    "",
    `Loopback, ${DURATION} s per run after a 2 s warm-up of each server; each figure is the median (min – max) of ${ROUNDS} runs, ` +
    "the two servers alternating run by run. The baseline is a plain `node:http` server in its own process doing the route's " +
    "work without a framework: it checks the credential's form and the basket cookie's HMAC, parses and validates the body, and " +
    `answers the very body Subshift answers (${num(templateBytes)} bytes, rebuilt per request with the caller's items and a new version). ` +
    "The Subshift server is `bin.ts` bundled and run by `node`, as deployed.",
    "",
    table(["request · connections", "Subshift req/s", "plain node:http req/s", "ratio", "Subshift p50 / p99 ms", "plain p50 / p99 ms", "non-2xx"], rows),
    "",
    table(["memory", "Subshift", "plain node:http", "ratio"], [
      ["idle RSS", `${num(idle.subshift)} MB`, `${num(idle.plain)} MB`, ratio(idle.subshift, idle.plain)]
    ]),
    "",
    `After all runs the Subshift server's RSS was ${num(loadedRss)} MB.`,
    "",
    `The fast path, PUT · ${TARGET_AT}: ${cell(withFast)} req/s with it, ${cell(withoutFast)} req/s without it ` +
    `(the same bundle with \`SUBSHIFT_FAST_PATH=off\`, p50 / p99 ${ms(p50("router", "PUT", TARGET_AT))} / ${ms(p99("router", "PUT", TARGET_AT).median)} ms, ` +
    `${errors("router", "PUT", TARGET_AT)} non-2xx): with it, ${ratio(withFast.median, withoutFast.median)} times as many.`,
    "",
    `Targets at ${TARGET_AT} connections: PUT ratio ≥ 0.25: ${putRatio.toFixed(2)} ${verdict(putRatio >= 0.25)}; ` +
    `GET ratio ≥ 0.30: ${getRatio.toFixed(2)} ${verdict(getRatio >= 0.3)}; ` +
    `p99 < 20 ms: ${ms(worstP99)} ms ${verdict(worstP99 < 20)}; idle RSS < 130 MB: ${num(idle.subshift)} MB ${verdict(idle.subshift < 130)}.`
  ].join("\n")
  console.log(markdown)
  return {
    markdown,
    chart: {
      title: "HTTP: req/s against connections",
      xLabel: "concurrent connections",
      yLabel: "requests per second",
      xs: CONNECTIONS,
      series: [
        { name: "Subshift PUT", values: CONNECTIONS.map((c) => rps("subshift", "PUT", c).median) },
        { name: "Subshift GET", values: CONNECTIONS.map((c) => rps("subshift", "GET", c).median) },
        { name: "plain node:http PUT (baseline)", values: CONNECTIONS.map((c) => rps("plain", "PUT", c).median), dashed: true, color: 0 },
        { name: "plain node:http GET (baseline)", values: CONNECTIONS.map((c) => rps("plain", "GET", c).median), dashed: true, color: 1 }
      ]
    }
  }
}

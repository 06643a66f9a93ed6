/**
 * `npm start` on its default store keeps what it was told across a restart: the real server
 * process, started the way `npm start` starts it, on a data directory of its own.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Demo from "@subshift/http-server/Demo"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { bearer, configOf, cookieOf, initiateBody, request } from "./Harness.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "subshift-durability-"))
const running = new Set<ChildProcess>()

afterAll(() => {
  for (const child of running) child.kill("SIGKILL")
  Fs.rmSync(dataDir, { recursive: true, force: true })
})

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = Net.createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as Net.AddressInfo
      probe.close(() => resolve(port))
    })
  })

interface Started {
  readonly url: string
  readonly output: () => string
  readonly stop: () => Promise<number | null>
  /** What the server answered while it was starting, before it first served 200. */
  readonly startup: { readonly unavailable: number; readonly hung: number; readonly unexpected: ReadonlyArray<string> }
}

/** Spawns `src/bin.ts` as `npm start` does, with no store chosen, on the test's data directory. */
const spawnServer = (port: number) => {
  const { DATABASE_URL: _url, SUBSHIFT_STORE: _store, ...env } = process.env
  const child = spawn(process.execPath, ["--conditions=@subshift/source", "--import", "tsx", "packages/http-server/src/bin.ts"], {
    cwd: root,
    env: { ...env, NODE_ENV: "development", PORT: String(port), HOST: "127.0.0.1", SUBSHIFT_DATA_DIR: dataDir },
    stdio: ["ignore", "pipe", "pipe"]
  })
  running.add(child)
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  void exited.then(() => running.delete(child))
  return { child, exited, output: () => output }
}

/**
 * Starts the server and waits until it answers, asking `/ready` every 50 ms from the start: a
 * refused connection means it is not listening yet; once it listens, every request must be
 * answered, 200 or the 503 of a server that is starting.
 */
const startServer = async (): Promise<Started> => {
  const port = await freePort()
  const { child, exited, output } = spawnServer(port)
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 150_000
  let unavailable = 0
  let hung = 0
  const unexpected: Array<string> = []
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode} before answering:\n${output()}`)
    if (Date.now() > deadline) throw new Error(`the server did not answer /ready in time:\n${output()}`)
    const answer = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(3_000) }).then(
      async (r) => ({ status: r.status, retryAfter: r.headers.get("retry-after"), body: await r.text() }),
      (error: Error) => (error.name === "TimeoutError" ? "hung" as const : "refused" as const)
    )
    if (answer === "hung") hung++
    else if (answer !== "refused" && answer.status === 503) {
      if (answer.retryAfter === "1" && JSON.parse(answer.body).error?.code === "StoreUnavailable") unavailable++
      else unexpected.push(`${answer.status} ${answer.retryAfter} ${answer.body}`)
    } else if (answer !== "refused" && answer.status !== 200) unexpected.push(`${answer.status} ${answer.body}`)
    // The banner is printed once the server listens, which can be a moment after it first answers.
    if (answer !== "hung" && answer !== "refused" && answer.status === 200 && output().includes("Subshift is listening")) break
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url,
    output,
    stop: () => {
      child.kill("SIGTERM")
      return exited
    },
    startup: { unavailable, hung, unexpected }
  }
}

const upgradeAndDropPodcasts = {
  order: {
    orderItems: [
      { orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } },
      { orderItemActionType: "add", type: "add_on", offer: { id: "addon-archive" } },
      { orderItemActionType: "remove", type: "add_on", offer: { id: "addon-podcasts" } }
    ]
  }
}

describe("npm start on the default store", () => {
  it("answers every request while it opens its store, and keeps a committed basket, the subscription it changed and its pending change across a restart, and refuses a second server on its data", async () => {
    const config = await configOf()
    const alice = bearer(await Effect.runPromise(Demo.sign(config.jwt, { subject: "cus-alice", scopes: ["checkout"] })))
    const partner = { "x-partner-token": "dev-partner-telco-token", "x-limio-recaptcha": "token" }

    const first = await startServer()
    expect(first.output()).toContain(`Store: embedded Postgres, data in ${dataDir}`)
    // Creating the cluster takes seconds after the port opens: no request may go unanswered then.
    console.log(`first start: ${first.startup.unavailable} requests answered 503 while the store opened, ${first.startup.hung} unanswered`)
    expect(first.startup.hung).toBe(0)
    expect(first.startup.unexpected).toEqual([])
    const checkout = `${first.url}/api/checkout/subscription`
    const opened = await request(checkout, { method: "POST", headers: alice, body: initiateBody("sub-alice") })
    expect(opened.status).toBe(200)
    const cookie = cookieOf(opened.headers)
    const upgraded = await request(checkout, {
      method: "PUT",
      headers: { ...alice, cookie },
      body: { order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } }] } }
    })
    expect(upgraded.status).toBe(200)
    const changed = await request(checkout, { method: "PUT", headers: { ...alice, cookie, "if-match": '"2"' }, body: upgradeAndDropPodcasts })
    expect(changed.status).toBe(200)
    const committed = await request(`${first.url}/api/order`, { method: "POST", headers: { ...alice, cookie, "if-match": '"3"' }, body: {} })
    expect(committed.status).toBe(200)
    expect(committed.body.pendingChangeDate).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    const basketBefore = await request(checkout, { headers: { ...alice, cookie } })
    expect(basketBefore.body.completed).toBe(true)

    const partnerCheckout = `${first.url}/api/partner/checkout/subscription`
    const carolOpened = await request(partnerCheckout, { method: "POST", headers: partner, body: initiateBody("sub-carol") })
    expect(carolOpened.status).toBe(200)
    const carolCookie = cookieOf(carolOpened.headers)
    const carolChanged = await request(partnerCheckout, {
      method: "PUT",
      headers: { ...partner, cookie: carolCookie },
      body: { order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-premium" } }] } }
    })
    expect(carolChanged.status).toBe(200)
    const carolCommitted = await request(`${first.url}/api/partner/order`, { method: "POST", headers: { ...partner, cookie: carolCookie }, body: {} })
    expect(carolCommitted.status).toBe(200)
    const carolBefore = await request(`${first.url}/api/partner/mma/subscriptions/sub-carol`, { headers: partner })
    expect(carolBefore.status).toBe(200)
    expect(carolBefore.body.offers.map((o: { id: string }) => o.id)).toEqual(["ledger-premium"])

    expect(await first.stop()).toBe(0)

    const second = await startServer()
    expect(second.startup.hung).toBe(0)
    expect(second.startup.unexpected).toEqual([])
    try {
      const basketAfter = await request(`${second.url}/api/checkout/subscription`, { headers: { ...alice, cookie } })
      expect(basketAfter.status).toBe(200)
      expect(basketAfter.body).toEqual(basketBefore.body)

      const locked = await request(`${second.url}/api/checkout/subscription`, { method: "POST", headers: alice, body: initiateBody("sub-alice") })
      expect(locked.status).toBe(423)
      expect(locked.body.pendingChangeDate).toBe(committed.body.pendingChangeDate)

      const carolAfter = await request(`${second.url}/api/partner/mma/subscriptions/sub-carol`, { headers: partner })
      expect(carolAfter.status).toBe(200)
      expect(carolAfter.body).toEqual(carolBefore.body)

      const rival = spawnServer(await freePort())
      expect(await rival.exited).toBe(1)
      expect(rival.output()).toContain(`Subshift cannot start: embedded Postgres: the data directory ${dataDir} is in use by process`)
      expect(rival.output()).not.toMatch(/^\s+at /m)
      expect((await request(`${second.url}/ready`)).status).toBe(200)
    } finally {
      expect(await second.stop()).toBe(0)
    }
  }, 400_000)
})

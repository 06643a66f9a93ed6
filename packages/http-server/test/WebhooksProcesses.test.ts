/**
 * Two server processes on one Postgres share webhook delivery: 1,000 events reach one receiver
 * with none lost, no two attempts of one event at once, and each subscription's events in commit
 * order. Then one process is killed mid-delivery: its leases expire, the other process delivers
 * what it held, and any event delivered twice carries the same webhook-id and the same bytes.
 */
import * as WebhookAdmin from "@subshift/core/usecases/WebhookAdmin"
import { describe, expect, it } from "@effect/vitest"
import { PgStore } from "@subshift/store-postgres"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { type ChildProcess, spawn } from "node:child_process"
import * as Path from "node:path"
import { admin, databaseUrl } from "./PgStores.js"
import * as Worker from "../src/webhooks/Worker.js"
import { eventually, fastConfig, type Received, startReceiver, verify, writeEvents } from "./webhooks/Support.js"

const root = Path.resolve(import.meta.dirname, "../../..")

// A fresh schema on the test server (several processes cannot share one embedded engine's data directory).
const database = async (serverUrl: string) => {
  const schema = `subshift_hooks_${process.pid}_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`
  await admin(serverUrl, `CREATE SCHEMA ${schema}`)
  const url = new URL(serverUrl)
  url.searchParams.set("options", `-c search_path=${schema}`)
  return { url: url.toString(), drop: () => admin(serverUrl, `DROP SCHEMA ${schema} CASCADE`) }
}

const startServer = async (url: string): Promise<ChildProcess> => {
  const { DATABASE_URL: _url, SUBSHIFT_STORE: _store, ...env } = process.env
  const child = spawn(process.execPath, ["--conditions=@subshift/source", "--import", "tsx", "packages/http-server/src/bin.ts"], {
    cwd: root,
    env: {
      ...env, NODE_ENV: "development", PORT: "0", HOST: "127.0.0.1", SUBSHIFT_STORE: "postgres", DATABASE_URL: url,
      SUBSHIFT_SEED_DEMO: "false", SUBSHIFT_WEBHOOK_POLL_INTERVAL: "20 millis",
      SUBSHIFT_WEBHOOK_TIMEOUT: "2 seconds", SUBSHIFT_WEBHOOK_LEASE: "3 seconds", SUBSHIFT_WEBHOOK_SCHEDULE: "200 millis, 200 millis, 200 millis"
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  await eventually("the server listening", () => {
    if (child.exitCode !== null) throw new Error(`the server exited:\n${output}`)
    return output.includes("Subshift is listening")
  }, 120_000)
  return child
}

describe.runIf(databaseUrl !== undefined)("webhook delivery shared by two server processes on one Postgres", () => {
  it("delivers 1,000 events with none lost, no concurrent duplicates and order kept; then survives a SIGKILL mid-delivery", async () => {
    const db = await database(databaseUrl!)
    let secret = ""
    let delay = 2
    const inFlight = new Map<string, number>()
    let overlaps = 0
    const firstReceipt: Array<{ readonly id: string; readonly subscriptionId: string; readonly sequence: number }> = []
    const seen = new Map<string, Array<Received>>()
    const receiver = await startReceiver(() => secret, (request, res) => {
      const id = String(request.headers["webhook-id"])
      const body = verify(secret, request) as { readonly sequence: number; readonly data: { readonly subscriptionId: string } }
      const running = (inFlight.get(id) ?? 0) + 1
      inFlight.set(id, running)
      if (running > 1) overlaps++
      const copies = seen.get(id) ?? []
      if (copies.length === 0) firstReceipt.push({ id, subscriptionId: body.data.subscriptionId, sequence: body.sequence })
      seen.set(id, [...copies, request])
      setTimeout(() => {
        inFlight.set(id, inFlight.get(id)! - 1)
        res.writeHead(204).end()
      }, delay)
      return "handled"
    })
    // The test's own runtime writes events and registers the endpoint; it runs no worker.
    const runtime = ManagedRuntime.make(Worker.adapters(fastConfig()).pipe(Layer.provideMerge(PgStore.layerUrl(db.url, { maxConnections: 4 }))))
    const servers: Array<ChildProcess> = []
    try {
      secret = (await runtime.runPromise(WebhookAdmin.create({ url: receiver.url, eventTypes: ["amendment.committed"] }))).secret
      servers.push(await startServer(db.url), await startServer(db.url))

      const write = async (prefix: string, subscriptions: number, each: number) => {
        const ids: Array<string> = []
        for (let s = 0; s < subscriptions; s++) {
          const events = await runtime.runPromise(writeEvents(`${prefix}-${s}`, each))
          ids.push(...events.map((e) => e.id))
        }
        return ids
      }
      const orderKept = (prefix: string) => {
        const bySubscription = new Map<string, Array<number>>()
        for (const r of firstReceipt.filter((r) => r.subscriptionId.startsWith(prefix))) {
          bySubscription.set(r.subscriptionId, [...(bySubscription.get(r.subscriptionId) ?? []), r.sequence])
        }
        return [...bySubscription.values()].every((seqs) => seqs.every((n, i) => n === i + 1))
      }

      const first = await write("sub-one", 50, 20)
      await eventually("1,000 events delivered", () => first.every((id) => seen.has(id)), 120_000)
      expect(first.length).toBe(1000)
      expect(overlaps).toBe(0)
      expect(receiver.requests.length).toBe(1000)
      expect(orderKept("sub-one")).toBe(true)

      // Slow answers, and more subscriptions than one process keeps claimed (twice its 32 places),
      // so that both processes, the killed one among them, have attempts in flight when it dies.
      delay = 200
      const second = await write("sub-two", 100, 6)
      await eventually("deliveries under way", () => second.filter((id) => seen.has(id)).length >= 100 && [...inFlight.values()].some((n) => n > 0), 60_000)
      servers[0]!.kill("SIGKILL")
      await eventually("every event delivered after the kill", () => second.every((id) => seen.has(id)), 120_000)
      expect(overlaps).toBe(0)
      expect(orderKept("sub-two")).toBe(true)
      const duplicates = [...seen.entries()].filter(([, copies]) => copies.length > 1)
      // The process died mid-delivery: what it had sent unanswered was sent again by the other.
      expect(duplicates.length).toBeGreaterThan(0)
      for (const [id, copies] of duplicates) {
        expect(second).toContain(id)
        expect(new Set(copies.map((c) => c.headers["webhook-id"]))).toEqual(new Set([id]))
        expect(new Set(copies.map((c) => c.body)).size).toBe(1)
      }
      console.info(`two processes: ${receiver.requests.length} requests for ${first.length + second.length} events; ${duplicates.length} redelivered after the kill`)
    } finally {
      const alive = servers.filter((s) => s.exitCode === null && s.signalCode === null)
      const exited = alive.map((s) => new Promise((r) => s.once("exit", r)))
      for (const server of alive) server.kill("SIGTERM")
      await Promise.all(exited)
      await runtime.dispose()
      await receiver.close()
      await db.drop()
    }
  }, 300_000)
})

/**
 * Webhook delivery: events per second that the worker delivers to a local receiver, against a
 * plain loop POSTing the same signed payloads to the same receiver (same concurrency, kept-alive
 * connections) in the same run; and the time from a commit to the receiver getting its event on
 * an idle server (the worker at its default poll interval), p50 and p99. On the in-memory store,
 * and on Postgres when `BENCH_DATABASE_URL` is set (a fresh schema per run, dropped after), where
 * the statements the worker sends per delivered event are counted too.
 */
import { Catalog } from "@subshift/core/ports/Catalog"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as Webhook from "@subshift/core/domain/Webhook"
import * as WebhookAdmin from "@subshift/core/usecases/WebhookAdmin"
import * as WebhookConfig from "@subshift/http-server/webhooks/Config"
import * as Worker from "@subshift/http-server/webhooks/Worker"
import * as WebhookWorker from "@subshift/core/usecases/WebhookWorker"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import type { WebhookStore } from "@subshift/core/ports/Webhooks"
import { MemoryStore } from "@subshift/store-memory"
import { PgStore } from "@subshift/store-postgres"
import * as Fixtures from "@subshift/testing/Fixtures"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { createHmac } from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import pg from "pg"
import { cell, median, num, ratio, type Section, spread, table, verdict } from "./report.js"

const ROUNDS = 5
const EVENTS = 2_000
const SUBSCRIPTIONS = 100
const CONCURRENCY = 32
const LATENCY_SAMPLES = 100

// A receiver that reads each body and answers 204, counting what it got and when.
const receiver = async () => {
  let received = 0
  let waiter: { readonly count: number; readonly resolve: () => void } | undefined
  const arrivals = new Map<string, number>()
  const server = Http.createServer((req, res) => {
    req.resume()
    req.on("end", () => {
      received++
      arrivals.set(String(req.headers["webhook-id"]), performance.now())
      res.writeHead(204).end()
      if (waiter !== undefined && received >= waiter.count) waiter.resolve()
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrivals,
    reset: () => {
      received = 0
      arrivals.clear()
    },
    until: (count: number) => new Promise<void>((resolve) => (received >= count ? resolve() : (waiter = { count, resolve }))),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

const offer = Fixtures.offer({ id: "offer-basic" })

const writeEvents = (subscriptions: number, each: number) =>
  Effect.gen(function*() {
    const store = yield* Subscriptions
    for (let s = 0; s < subscriptions; s++) {
      const sub = Fixtures.subscription()
      yield* store.put(sub)
      yield* store.save({ ...sub, version: sub.version + 1 }, sub.version, Array.from({ length: each }, () => Fixtures.event(sub)))
    }
  })

// Every statement sent to Postgres by any pool of this process, counted (pg is left out of the bundle,
// so this is the client the store's pool uses).
let statements = 0
const query = pg.Client.prototype.query
pg.Client.prototype.query = function(this: pg.Client, ...args: Array<unknown>) {
  statements++
  return (query as (...a: Array<unknown>) => unknown).apply(this, args)
} as typeof query

/** A store to run on: made fresh for each run, and dropped after. */
interface Store {
  readonly name: string
  readonly open: () => Promise<{ readonly layer: Layer.Layer<StorePorts | WebhookStore, unknown>; readonly drop: () => Promise<void> }>
}

const memory: Store = { name: "in-memory", open: async () => ({ layer: MemoryStore.layer(), drop: async () => {} }) }

const postgres = (serverUrl: string): Store => ({
  name: "Postgres",
  open: async () => {
    const schema = `bench_hooks_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
    const admin = async (text: string) => {
      const client = new pg.Client({ connectionString: serverUrl })
      await client.connect()
      try {
        await client.query(text)
      } finally {
        await client.end()
      }
    }
    await admin(`CREATE SCHEMA ${schema}`)
    const url = new URL(serverUrl)
    url.searchParams.set("options", `-c search_path=${schema}`)
    return { layer: PgStore.layerUrl(url.toString(), { maxConnections: 10 }), drop: () => admin(`DROP SCHEMA ${schema} CASCADE`) }
  }
})

// The store with the endpoint registered, the crypto and transport of the default configuration,
// and a way to start the worker on them.
const setup = async (url: string, store: Store) => {
  const settings = await Effect.runPromise(WebhookConfig.load())
  const opened = await store.open()
  const runtime = ManagedRuntime.make(Worker.adapters(settings).pipe(Layer.provideMerge(opened.layer)))
  await runtime.runPromise(WebhookAdmin.create({ url, eventTypes: ["*"] }))
  await runtime.runPromise(Effect.flatMap(Catalog, (catalog) => catalog.put([offer])))
  const start = () =>
    runtime.runFork(Effect.flatMap(
      WebhookWorker.make({ pollInterval: settings.pollInterval, timeout: settings.timeout, leaseFor: settings.lease, schedule: settings.schedule, batch: CONCURRENCY }),
      (worker) => worker.run
    ))
  const close = async () => {
    await runtime.dispose()
    await opened.drop()
  }
  return { runtime, start, close }
}

// The worker delivering EVENTS events already in the outbox: events per second, and statements
// sent per delivered event.
const workerRun = async (url: string, until: (n: number) => Promise<void>, store: Store) => {
  const { close, runtime, start } = await setup(url, store)
  await runtime.runPromise(writeEvents(SUBSCRIPTIONS, EVENTS / SUBSCRIPTIONS))
  const before = statements
  const started = performance.now()
  const worker = start()
  await until(EVENTS)
  const seconds = (performance.now() - started) / 1000
  const sent = statements - before
  await runtime.runPromise(Fiber.interrupt(worker))
  await close()
  return { perSecond: EVENTS / seconds, statements: sent / EVENTS }
}

// A plain loop POSTing the same signed payloads, CONCURRENCY at a time; events per second.
const plainRun = async (url: string, until: (n: number) => Promise<void>): Promise<number> => {
  const secret = Buffer.from("0123456789abcdef01234567")
  const agent = new Http.Agent({ keepAlive: true, maxSockets: 64 })
  const sub = Fixtures.subscription()
  const bodies = Array.from({ length: EVENTS }, (_, i) => {
    const event = Fixtures.event(sub)
    return { id: event.id, body: Webhook.body({ type: event.type, id: event.id, timestamp: event.occurredAt, sequence: i + 1, data: event }) }
  })
  const started = performance.now()
  let next = 0
  const post = (item: { readonly id: string; readonly body: string }) =>
    new Promise<void>((resolve, reject) => {
      const timestamp = Math.floor(Date.now() / 1000)
      const signature = `v1,${createHmac("sha256", secret).update(`${item.id}.${timestamp}.${item.body}`).digest("base64")}`
      const req = Http.request(url, {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json", "webhook-id": item.id, "webhook-timestamp": String(timestamp),
          "webhook-signature": signature, "content-length": String(Buffer.byteLength(item.body))
        }
      }, (res) => {
        res.resume()
        res.on("end", () => resolve())
      })
      req.on("error", reject)
      req.end(item.body)
    })
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < bodies.length) await post(bodies[next++]!)
  }))
  await until(EVENTS)
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  return EVENTS / seconds
}

// Commit-to-receipt on an idle worker at the default poll interval, one event at a time.
const latency = async (target: Awaited<ReturnType<typeof receiver>>, store: Store): Promise<ReadonlyArray<number>> => {
  const { close, runtime, start } = await setup(target.url, store)
  const worker = start()
  const samples: Array<number> = []
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const sub = Fixtures.subscription()
    const event = Fixtures.event(sub)
    await runtime.runPromise(Effect.flatMap(Subscriptions, (store) =>
      Effect.zipRight(store.put(sub), store.save({ ...sub, version: sub.version + 1 }, sub.version, [event]))))
    const committed = performance.now()
    while (!target.arrivals.has(event.id)) await new Promise((r) => setTimeout(r, 1))
    samples.push(target.arrivals.get(event.id)! - committed)
    await new Promise((r) => setTimeout(r, Math.random() * 50))
  }
  await runtime.runPromise(Fiber.interrupt(worker))
  await close()
  return samples.sort((a, b) => a - b)
}

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

// One store's figures: worker and plain loop interleaved, then the latency.
const measure = async (target: Awaited<ReturnType<typeof receiver>>, store: Store) => {
  const worker: Array<number> = []
  const plain: Array<number> = []
  const perEvent: Array<number> = []
  // One round of each, not counted, so that both are measured with their code compiled.
  for (const warmup of [() => workerRun(target.url, target.until, store), () => plainRun(target.url, target.until)]) {
    target.reset()
    await warmup()
  }
  for (let round = 0; round < ROUNDS; round++) {
    target.reset()
    const run = await workerRun(target.url, target.until, store)
    worker.push(run.perSecond)
    perEvent.push(run.statements)
    target.reset()
    plain.push(await plainRun(target.url, target.until))
  }
  target.reset()
  const samples = await latency(target, store)
  return { worker, plain, perEvent, p50: percentile(samples, 50), p99: percentile(samples, 99) }
}

/** Runs the section. */
export const run = async (): Promise<Section> => {
  const target = await receiver()
  const serverUrl = process.env["BENCH_DATABASE_URL"]
  const stores = serverUrl === undefined || serverUrl === "" ? [memory] : [memory, postgres(serverUrl)]
  try {
    const rows: Array<ReadonlyArray<string>> = []
    for (const store of stores) {
      const m = await measure(target, store)
      const r = median(m.worker) / median(m.plain)
      const statementsCell = store === memory ? "" : `; ${num(median(m.perEvent), 2)} statements per event`
      rows.push(
        [`${store.name}: events delivered/s`, `${cell(spread(m.worker))}${statementsCell}`, `plain loop: ${cell(spread(m.plain))}`, ratio(median(m.worker), median(m.plain)), `≥ 0.50: ${verdict(r >= 0.5)}`],
        [`${store.name}: commit-to-receipt p50 / p99`, `${num(m.p50)} / ${num(m.p99)} ms`, "", "", `p99 < 1 s: ${verdict(m.p99 < 1000)}`]
      )
    }
    const markdown = [
      "## Webhook delivery",
      "",
      `${num(EVENTS)} events of ${SUBSCRIPTIONS} subscriptions (order kept per subscription) delivered by the worker, ` +
      `${CONCURRENCY} at a time, to a local receiver, on the in-memory store and (with \`BENCH_DATABASE_URL\`) on Postgres; ` +
      `the baseline is a plain loop POSTing the same signed payloads to the same receiver, ${CONCURRENCY} at a time, in the same run ` +
      `(${ROUNDS} rounds of each, alternated, medians compared; each preceded by one round not counted). ` +
      `Statements are all those the process sent to Postgres while the worker delivered, per event. Latency is from a commit ` +
      `to the receiver getting the event, ${LATENCY_SAMPLES} commits one at a time on an idle worker at its default poll interval.`,
      "",
      table(["figure", "worker", "baseline", "ratio", "target"], rows)
    ].join("\n")
    console.log(markdown)
    return { markdown }
  } finally {
    await target.close()
  }
}

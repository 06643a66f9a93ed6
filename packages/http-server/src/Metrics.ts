/**
 * The server's metrics, kept in Effect's global metric registry (`effect/Metric`) and served in
 * the Prometheus text format by `Prometheus.ts`:
 * - requests by method, route template and status, and their duration;
 * - commits and the amendments they wrote;
 * - scheduler runs by outcome and the changes they applied;
 * - store calls' duration by call and outcome (`ObservedStore.ts`);
 * - the store pool's connections (Postgres stores).
 *
 * The hot path reads each metric's hook from the registry once, for each label set, and keeps it:
 * recording a request is then two map lookups and two updates, without allocating. Routes are
 * always templates (`/api/subscriptions/:id`), never raw paths, so the label sets stay bounded.
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { ServerConfig } from "./Config.js"

/** Every metric of the server has this prefix; the renderer serves only those. */
export const PREFIX = "subshift_"

/** The route label of a request no route matched (an unknown path, or one refused before routing). */
export const UNMATCHED = "unmatched"

/** What the server observes: metrics when `/metrics` is served, spans when they are exported. */
export interface Observation {
  readonly metrics: boolean
  readonly tracing: boolean
}

/** What the configuration asks to observe. */
export const observationOf = (config: Pick<ServerConfig, "metrics" | "tracing">): Observation => ({
  metrics: Option.isSome(config.metrics),
  tracing: Option.isSome(config.tracing)
})

const registry = Metric.globalMetricRegistry

const labels = (record: Readonly<Record<string, string>>) => Object.entries(record).map(([k, v]) => MetricLabel.make(k, v))

const counterHook = (name: string, description: string, tags: Readonly<Record<string, string>> = {}): MetricHook.MetricHook.Counter<number> =>
  registry.get(MetricKey.taggedWithLabels(MetricKey.counter(name, { description, incremental: true }), labels(tags)))

const histogramHook = (
  name: string,
  description: string,
  boundaries: ReadonlyArray<number>,
  tags: Readonly<Record<string, string>>
): MetricHook.MetricHook.Histogram =>
  registry.get(MetricKey.taggedWithLabels(MetricKey.histogram(name, MetricBoundaries.fromIterable(boundaries), description), labels(tags)))

/** A gauge's hook, for figures set when they change. */
const gaugeHook = (name: string, description: string, tags: Readonly<Record<string, string>>): MetricHook.MetricHook.Gauge<number> =>
  registry.get(MetricKey.taggedWithLabels(MetricKey.gauge(name, { description }), labels(tags)))

/** Seconds, from half a millisecond to ten seconds. */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Seconds, from a tenth of a millisecond to five seconds. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

// ---------------------------------------------------------------------------------------------
// Requests

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])

interface MethodHooks {
  readonly duration: MetricHook.MetricHook.Histogram
  readonly byStatus: Map<number, MetricHook.MetricHook.Counter<number>>
}

/** Hooks by route template, then method; filled on first use of each. */
const requestHooks = new Map<string, Map<string, MethodHooks>>()

const hooksOf = (route: string, method: string): MethodHooks => {
  let byMethod = requestHooks.get(route)
  if (byMethod === undefined) {
    byMethod = new Map()
    requestHooks.set(route, byMethod)
  }
  let hooks = byMethod.get(method)
  if (hooks === undefined) {
    hooks = {
      duration: histogramHook(
        "subshift_http_request_duration_seconds",
        "Time from a request's arrival to the end of its answer, by method and route template",
        REQUEST_BUCKETS,
        { method, route }
      ),
      byStatus: new Map()
    }
    byMethod.set(method, hooks)
  }
  return hooks
}

const statusHook = (hooks: MethodHooks, route: string, method: string, status: number) => {
  let hook = hooks.byStatus.get(status)
  if (hook === undefined) {
    hook = counterHook("subshift_http_requests_total", "Requests answered, by method, route template and status", {
      method,
      route,
      status: String(status)
    })
    hooks.byStatus.set(status, hook)
  }
  return hook
}

/** The route templates the router matched, by request (the fast path and the page name theirs directly). */
const routes = new WeakMap<IncomingMessage, string>()

/** Names the route template that answered a request, for its metrics. */
export const setRoute = (request: IncomingMessage, route: string): void => {
  routes.set(request, route)
}

/**
 * Records a request once its answer is written (or its connection closed first: status 499, as
 * proxies count a client that went away), `started` being `performance.now()` at its arrival;
 * `route` when the caller knows it, else the one `setRoute` named.
 */
export const recordRequest = (request: IncomingMessage, response: ServerResponse, started: number, route?: string): void => {
  const template = route ?? routes.get(request) ?? UNMATCHED
  const method = request.method !== undefined && METHODS.has(request.method) ? request.method : "OTHER"
  const hooks = hooksOf(template, method)
  hooks.duration.update((performance.now() - started) / 1000)
  statusHook(hooks, template, method, response.writableFinished ? response.statusCode : 499).update(1)
}

// ---------------------------------------------------------------------------------------------
// Commits, amendments and the scheduler

const commits = counterHook("subshift_commits_total", "Commits written: a basket's order or an amendment, with the subscriptions they change")
const amendments = counterHook("subshift_amendments_total", "Amendments written by commits")

/** Records a commit the store wrote, with its amendments. */
export const recordCommit = (amendmentCount: number): void => {
  commits.update(1)
  amendments.update(amendmentCount)
}

const schedulerRuns = {
  ok: counterHook("subshift_scheduler_runs_total", "Scheduler runs, by outcome", { outcome: "ok" }),
  failed: counterHook("subshift_scheduler_runs_total", "Scheduler runs, by outcome", { outcome: "failed" })
}
const schedulerApplied = counterHook("subshift_scheduler_changes_applied_total", "Scheduled changes the scheduler applied")

/** Records a scheduler run: the changes it applied, or its failure. */
export const recordSchedulerRun = (applied: number | "failed"): Effect.Effect<void> =>
  Effect.sync(() => {
    if (applied === "failed") return schedulerRuns.failed.update(1)
    schedulerRuns.ok.update(1)
    schedulerApplied.update(applied)
  })

// ---------------------------------------------------------------------------------------------
// The store

/** The hooks of one store call, by outcome. */
export interface StoreCallHooks {
  readonly ok: MetricHook.MetricHook.Histogram
  readonly failed: MetricHook.MetricHook.Histogram
}

/** The hooks of a store call (`Baskets.findById`), read once when the store is wrapped. */
export const storeCallHooks = (call: string): StoreCallHooks => {
  const hook = (outcome: string) =>
    histogramHook("subshift_store_call_duration_seconds", "Time a store call took, by call and outcome", STORE_BUCKETS, { call, outcome })
  return { ok: hook("ok"), failed: hook("failed") }
}

/** The figures of a connection pool. */
export interface PoolFigures {
  /** Connections open, idle or lent. */
  readonly total: number
  /** Open connections waiting to be lent. */
  readonly idle: number
  /** Calls waiting for a connection. */
  readonly waiting: number
}

const poolGauges = () => ({
  inUse: gaugeHook("subshift_store_pool_connections", "The store pool's connections, by state", { state: "in_use" }),
  idle: gaugeHook("subshift_store_pool_connections", "The store pool's connections, by state", { state: "idle" }),
  waiting: gaugeHook("subshift_store_pool_waiting", "Store calls waiting for a pool connection", {})
})

/** Where the pool's figures are read at each scrape, with their gauges; a store without a pool has none. */
let pool: { readonly read: () => PoolFigures; readonly gauges: ReturnType<typeof poolGauges> } | undefined

/** Names the function the pool's figures are read from (a Postgres store's pool). */
export const setPoolSource = (read: () => PoolFigures): void => {
  pool = { read, gauges: pool?.gauges ?? poolGauges() }
}

/** Copies the pool's figures into their gauges; called before each scrape. */
export const samplePool = (): void => {
  if (pool === undefined) return
  const figures = pool.read()
  pool.gauges.inUse.update(figures.total - figures.idle)
  pool.gauges.idle.update(figures.idle)
  pool.gauges.waiting.update(figures.waiting)
}

// Webhook deliveries are counted by the core's delivery worker (`subshift_webhook_attempts_total`
// by outcome), in the same registry, so the exposition renders them with the rest.

/**
 * `GET /metrics` in the Prometheus text format (version 0.0.4), on a listener of its own
 * (`SUBSHIFT_METRICS_PORT`), so that the figures are never exposed on the API's port. The
 * server's metrics are read from Effect's metric registry at each scrape and rendered here; the
 * process's own figures (memory, CPU, heap, event-loop delay, start time) are read from Node at
 * the same moment.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as Metrics from "./Metrics.js"

/** The content type of the text format. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")
const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const number = (value: number) =>
  value === Number.POSITIVE_INFINITY ? "+Inf" : value === Number.NEGATIVE_INFINITY ? "-Inf" : Number.isNaN(value) ? "NaN" : String(value)

const labelText = (labels: ReadonlyArray<readonly [string, string]>) =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`

interface Family {
  readonly type: "counter" | "gauge" | "histogram"
  readonly help: string
  readonly lines: Array<string>
}

const familyOf = (families: Map<string, Family>, name: string, type: Family["type"], help: string): Family => {
  let family = families.get(name)
  if (family === undefined) {
    family = { type, help, lines: [] }
    families.set(name, family)
  }
  return family
}

const addPair = (families: Map<string, Family>, pair: MetricPair.MetricPair.Untyped) => {
  const key = pair.metricKey
  if (!key.name.startsWith(Metrics.PREFIX)) return
  const help = Option.getOrElse(key.description, () => key.name)
  const labels = key.tags.map((tag) => [tag.key, tag.value] as const)
  const state = pair.metricState
  if (MetricState.isCounterState(state)) {
    familyOf(families, key.name, "counter", help).lines.push(`${key.name}${labelText(labels)} ${number(Number(state.count))}`)
  } else if (MetricState.isGaugeState(state)) {
    familyOf(families, key.name, "gauge", help).lines.push(`${key.name}${labelText(labels)} ${number(Number(state.value))}`)
  } else if (MetricState.isHistogramState(state)) {
    const family = familyOf(families, key.name, "histogram", help)
    let infinite = false
    for (const [bound, count] of state.buckets) {
      infinite ||= bound === Number.POSITIVE_INFINITY
      family.lines.push(`${key.name}_bucket${labelText([...labels, ["le", number(bound)]])} ${count}`)
    }
    if (!infinite) family.lines.push(`${key.name}_bucket${labelText([...labels, ["le", "+Inf"]])} ${state.count}`)
    family.lines.push(`${key.name}_sum${labelText(labels)} ${number(state.sum)}`)
    family.lines.push(`${key.name}_count${labelText(labels)} ${state.count}`)
  }
}

/** The event loop's delay, sampled every 10 ms while `/metrics` is served; reset at each scrape. */
const makeLoopDelay = () => {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  return histogram
}

type LoopDelay = ReturnType<typeof makeLoopDelay>

const startTimeSeconds = Math.round((Date.now() - process.uptime() * 1000) / 10) / 100

/** The process's own figures, under the names Prometheus's Node client uses. */
const processFamilies = (families: Map<string, Family>, loop: LoopDelay | undefined) => {
  const gauge = (name: string, help: string, value: number, type: Family["type"] = "gauge", labels: ReadonlyArray<readonly [string, string]> = []) =>
    familyOf(families, name, type, help).lines.push(`${name}${labelText(labels)} ${number(value)}`)
  const cpu = process.cpuUsage()
  const memory = process.memoryUsage()
  gauge("process_cpu_user_seconds_total", "User CPU time spent, in seconds", cpu.user / 1e6, "counter")
  gauge("process_cpu_system_seconds_total", "System CPU time spent, in seconds", cpu.system / 1e6, "counter")
  gauge("process_cpu_seconds_total", "User and system CPU time spent, in seconds", (cpu.user + cpu.system) / 1e6, "counter")
  gauge("process_resident_memory_bytes", "Resident memory size, in bytes", memory.rss)
  gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds", startTimeSeconds)
  gauge("nodejs_heap_size_total_bytes", "The V8 heap's size, in bytes", memory.heapTotal)
  gauge("nodejs_heap_size_used_bytes", "The V8 heap's used size, in bytes", memory.heapUsed)
  gauge("nodejs_external_memory_bytes", "Memory of C++ objects bound to JavaScript objects, in bytes", memory.external)
  gauge("nodejs_active_resources", "Resources keeping the event loop alive (sockets, timers...)", process.getActiveResourcesInfo().length)
  gauge("nodejs_version_info", "The Node.js version", 1, "gauge", [["version", process.version]])
  if (loop !== undefined && loop.count > 0) {
    const seconds = (ns: number) => ns / 1e9
    gauge("nodejs_eventloop_lag_mean_seconds", "The event loop's mean delay since the previous scrape, in seconds", seconds(loop.mean))
    gauge("nodejs_eventloop_lag_p50_seconds", "The event loop's median delay since the previous scrape, in seconds", seconds(loop.percentile(50)))
    gauge("nodejs_eventloop_lag_p99_seconds", "The event loop's 99th percentile delay since the previous scrape, in seconds", seconds(loop.percentile(99)))
    gauge("nodejs_eventloop_lag_max_seconds", "The event loop's longest delay since the previous scrape, in seconds", seconds(loop.max))
    loop.reset()
  }
}

/** The whole exposition: the server's metrics, then the process's figures. */
export const render = (loop?: LoopDelay): string => {
  Metrics.samplePool()
  const families = new Map<string, Family>()
  const pairs = Metric.globalMetricRegistry.snapshot()
  pairs.sort((a, b) => (a.metricKey.name < b.metricKey.name ? -1 : a.metricKey.name > b.metricKey.name ? 1 : 0))
  for (const pair of pairs) addPair(families, pair)
  processFamilies(families, loop)
  let text = ""
  for (const [name, family] of families) {
    text += `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.type}\n${family.lines.join("\n")}\n`
  }
  return text
}

/** Where `/metrics` is served, when it is. */
export class MetricsEndpoint extends Context.Tag("@subshift/http-server/MetricsEndpoint")<
  MetricsEndpoint,
  Option.Option<string>
>() {}

/** The metrics listener could not listen (its port taken, its address not local...). */
export class MetricsListenError extends Error {
  override readonly name = "MetricsListenError"
}

const listen = (options: { readonly port: number; readonly host: string }) =>
  Effect.async<{ readonly server: Server; readonly loop: LoopDelay }, MetricsListenError>((resume) => {
    const loop = makeLoopDelay()
    const server = createServer((request, response) => {
      const path = request.url?.split("?")[0]
      if (path !== "/metrics") {
        response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: try /metrics\n")
      } else if (request.method !== "GET" && request.method !== "HEAD") {
        response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("method not allowed\n")
      } else {
        const body = render(loop)
        response.writeHead(200, { "content-type": CONTENT_TYPE, "content-length": Buffer.byteLength(body), "cache-control": "no-store" })
        response.end(request.method === "HEAD" ? undefined : body)
      }
    })
    server.once("error", (error) => {
      loop.disable()
      resume(Effect.fail(new MetricsListenError(`the metrics listener cannot listen on ${options.host}:${options.port}: ${error.message}`)))
    })
    server.listen(options.port, options.host, () => resume(Effect.succeed({ server, loop })))
  })

/**
 * Serves `/metrics` where the configuration says, for as long as the layer lives; without a
 * port, nothing is served.
 */
export const layer = (metrics: Option.Option<{ readonly port: number; readonly host: string }>): Layer.Layer<MetricsEndpoint, MetricsListenError> =>
  Option.match(metrics, {
    onNone: () => Layer.succeed(MetricsEndpoint, Option.none()),
    onSome: (options) =>
      Layer.scoped(
        MetricsEndpoint,
        Effect.map(
          Effect.acquireRelease(listen(options), ({ loop, server }) =>
            Effect.async<void>((resume) => {
              loop.disable()
              server.close(() => resume(Effect.void))
              server.closeAllConnections()
            })),
          ({ server }) => {
            const address = server.address() as AddressInfo
            const host = address.family === "IPv6" ? `[${address.address}]` : address.address
            return Option.some(`http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}/metrics`)
          }
        )
      )
  })

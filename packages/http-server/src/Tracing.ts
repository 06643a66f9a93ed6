/**
 * Traces over OTLP/HTTP (JSON), with `@effect/opentelemetry`'s exporter (`OtlpExport.ts`), when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`OtlpConfig.ts`). Each request runs in one server span,
 * `http.server <METHOD>`, with its route template (`http.route`), its status and its request id;
 * a `traceparent` header on the request makes the span a child of the caller's. Store calls are
 * its child spans (`ObservedStore.ts`).
 *
 * No personal data leaves in a span: attributes never hold a raw path, a query, a header other
 * than the request id, a token or an id of a customer or subscription; a failed span records the
 * failure's type (`VersionConflict`), never its message or fields; log lines are not copied into
 * spans as events (they carry URLs), the request id links the two instead.
 *
 * With metrics on but no tracing, the router still names the route it matched: a probe standing
 * for the request's span receives the router's `http.route` and hands it to the metrics.
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { IncomingMessage } from "node:http"
import * as Metrics from "./Metrics.js"
import type { Observation } from "./Metrics.js"
import type { OtlpConfig } from "./OtlpConfig.js"

/**
 * The tracer exporting to the configured endpoint, for as long as the layer lives; nothing without
 * one. The exporter's modules are loaded only when an endpoint is configured.
 */
export const layer = (config: Option.Option<OtlpConfig>): Layer.Layer<never> =>
  Option.match(config, {
    onNone: () => Layer.empty,
    onSome: (otlp) => Layer.unwrapEffect(Effect.map(Effect.promise(() => import("./OtlpExport.js")), (exporter) => exporter.layer(otlp)))
  })

/** Stands for the request's span with metrics on and tracing off: it only hears the route. */
class RouteProbe implements Tracer.Span {
  readonly _tag = "Span"
  readonly name = "route"
  readonly spanId = "route"
  readonly traceId = "route"
  readonly parent = Option.none()
  readonly context = Context.empty()
  readonly status: Tracer.SpanStatus = { _tag: "Started", startTime: 0n }
  readonly attributes = new Map<string, unknown>()
  readonly links = []
  readonly sampled = false
  readonly kind = "server"
  constructor(readonly request: IncomingMessage) {}
  attribute(key: string, value: unknown) {
    if (key === "http.route" && typeof value === "string") Metrics.setRoute(this.request, value)
  }
  end() {}
  event() {}
  addLinks() {}
}

const REQUEST_ID = "x-request-id"

/**
 * Runs `effect`, answering `request`, in the request's server span: `route` when known up front
 * (the fast path), else the router's; `status` reads the answer's status.
 */
export const serverSpan = <A>(
  request: { readonly method?: string | undefined; readonly headers: IncomingMessage["headers"] },
  route: string | undefined,
  status: (answer: A) => number,
  onRoute: (route: string) => void
) =>
<E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.useSpan(`http.server ${request.method ?? "GET"}`, {
    kind: "server",
    captureStackTrace: false,
    parent: Option.getOrUndefined(HttpTraceContext.fromHeaders(request.headers as never)),
    attributes: {
      "http.request.method": request.method ?? "GET",
      ...(route === undefined ? {} : { "http.route": route }),
      ...(typeof request.headers[REQUEST_ID] === "string" ? { "http.request.header.x-request-id": request.headers[REQUEST_ID] } : {})
    }
  }, (span) =>
    Effect.withParentSpan(effect, span).pipe(
      Effect.tap((answer) => {
        span.attribute("http.response.status_code", status(answer))
        const matched = span.attributes.get("http.route")
        if (typeof matched === "string") onRoute(matched)
      })
    ))

/**
 * Observes a request of the general app: in its server span with tracing on, else, with metrics
 * on, under the route probe; as it is with neither.
 */
export const observeApp = (observation: Observation) => {
  if (!observation.tracing && !observation.metrics) return undefined
  return (request: HttpServerRequest.HttpServerRequest) =>
  <E, R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R> => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    if (!observation.tracing) return Effect.provideService(effect, Tracer.ParentSpan, new RouteProbe(incoming))
    return serverSpan<HttpServerResponse.HttpServerResponse>(
      { method: request.method, headers: incoming.headers },
      undefined,
      (response) => response.status,
      (route) => {
        if (observation.metrics) Metrics.setRoute(incoming, route)
      }
    )(effect)
  }
}

/**
 * The server, composed from the configuration: the store, the core's use cases, the scheduler
 * and the sweeps, the optional test clock, authentication, the bot check, the handlers, the
 * transport guards (body limit, content type, body depth, unknown routes; every failure answered
 * through the transport edge, `Edge.ts`), OpenAPI and docs, on a Node HTTP server.
 * The tracer is off unless tracing is configured, and no logger runs per request: only errors
 * and slow requests are logged.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiError from "@effect/platform/HttpApiError"
import * as HttpApiSwagger from "@effect/platform/HttpApiSwagger"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { BillGroupAmendments } from "@subshift/core/usecases/BillGroupAmendments"
import * as BotCheck from "@subshift/core/ports/BotCheck"
import { InvalidInput } from "@subshift/core/domain/Errors"
import * as Ids from "@subshift/core/ports/Ids"
import { PartnerSubscriptions } from "@subshift/core/usecases/PartnerSubscriptions"
import { PendingChanges } from "@subshift/core/usecases/PendingChanges"
import * as Pricing from "@subshift/core/ports/Pricing"
import { ScheduledChanges } from "@subshift/core/usecases/ScheduledChanges"
import { CatalogAdmin } from "@subshift/core/usecases/CatalogAdmin"
import { PriceMigrations } from "@subshift/core/usecases/PriceMigrations"
import * as ShiftedClock from "@subshift/core/clock/ShiftedClock"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { PublishedWithoutTestClock, SubshiftApi } from "@subshift/http-api/Api"
import { MalformedRequest, PayloadTooLarge, RouteNotFound } from "@subshift/http-api/HttpErrors"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { createServer, type IncomingMessage, type Server as NodeServer, type ServerResponse } from "node:http"
import * as Admin from "./admin/index.js"
import * as Auth from "./Auth.js"
import * as BasketCookie from "./BasketCookie.js"
import * as CatalogFile from "./CatalogFile.js"
import * as ClientErrors from "./ClientErrors.js"
import type { ServerConfig } from "./Config.js"
import * as Edge from "./Edge.js"
import * as FastPath from "./FastPath.js"
import * as Handlers from "./Handlers.js"
import * as Metrics from "./Metrics.js"
import * as ObservedStore from "./ObservedStore.js"
import * as Page from "./Page.js"
import * as Prometheus from "./Prometheus.js"
import * as Recaptcha from "./Recaptcha.js"
import * as Scheduler from "./Scheduler.js"
import * as Store from "./Store.js"
import * as Tracing from "./Tracing.js"
import * as Withdrawals from "./Withdrawals.js"
import * as Webhooks from "./webhooks/Worker.js"

const isWrite = (request: HttpServerRequest.HttpServerRequest) =>
  request.method === "POST" || request.method === "PUT" || request.method === "PATCH"

const hasBody = (request: HttpServerRequest.HttpServerRequest) =>
  isWrite(request) &&
  ((request.headers["content-length"] !== undefined && request.headers["content-length"] !== "0") ||
    request.headers["transfer-encoding"] !== undefined)

/**
 * A chunked body has no length to refuse up front, so the limit applies while it is read; the
 * platform then destroys the request stream, and with it the socket the 413 must be written to.
 * For such requests, destroying the stream drains and discards the rest of the body instead.
 */
const keepSocketOnOverflow = (request: HttpServerRequest.HttpServerRequest) => {
  const source = NodeHttpServerRequest.toIncomingMessage(request)
  source.destroy = function(this: typeof source) {
    this.removeAllListeners("data")
    this.resume()
    return this
  }
}

/** Where the test clock's routes live. */
export const TEST_CLOCK_PATH = "/api/test-clock"

/**
 * The request as the router sees it: its remote address is the client's, by the trusted proxies
 * (and `X-Forwarded-For` is not read past the edge); its JSON body is parsed by the edge's parser,
 * when the endpoint reads it, instead of the platform's.
 */
const edgeRequest = (request: HttpServerRequest.HttpServerRequest, trusted: ServerConfig["trustedProxies"]): HttpServerRequest.HttpServerRequest => {
  const { "x-forwarded-for": forwarded, ...headers } = request.headers
  const peer = NodeHttpServerRequest.toIncomingMessage(request).socket.remoteAddress
  const client = Edge.clientAddress(peer, forwarded, trusted)
  const modified = request.modify({ headers: headers as typeof request.headers, ...(client === undefined ? {} : { remoteAddress: client }) })
  return Object.create(modified, {
    json: { get: () => Effect.flatMap(request.text, (text) => Either.match(Edge.parseJson(text), { onLeft: Effect.die, onRight: Effect.succeed })) }
  })
}

/** The failure the edge answers for what the platform reports as a decoding failure or a defect. */
const translate = (cause: Cause.Cause<unknown>, request: HttpServerRequest.HttpServerRequest, bodyLimit: number): Cause.Cause<unknown> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (error instanceof HttpApiError.HttpApiDecodeError) return Cause.fail(Edge.invalidIssue(error.issues, error.message))
    if (error instanceof HttpServerError.RouteNotFound) {
      return Cause.fail(new RouteNotFound({ method: request.method, path: request.url.split("?")[0]!.slice(0, 200) }))
    }
    return cause
  }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) {
    // The edge's parser refuses a body in the platform's place, which turns the refusal into a defect.
    if (defect.value instanceof MalformedRequest || defect.value instanceof InvalidInput) return Cause.fail(defect.value)
    if (defect.value instanceof HttpServerError.RequestError && defect.value.reason === "Decode") {
      const tooLarge = defect.value.cause instanceof Error && defect.value.cause.message === "maxBytes exceeded"
      return Cause.fail(tooLarge ? new PayloadTooLarge({ limit: bodyLimit }) : Edge.notJson)
    }
  }
  return cause
}

/**
 * The transport guards, around every endpoint: they refuse what the edge refuses before a
 * handler runs (an oversized, non-JSON or too deeply nested body) and answer every failure
 * through the edge, so bad input is never a 500 and never shows a stack trace, and every error
 * answer is the contract's.
 */
export const guards = (config: Pick<ServerConfig, "bodyLimit" | "slowRequestMs" | "testClock" | "trustedProxies" | "metrics" | "tracing">) => {
  const observe = Tracing.observeApp(Metrics.observationOf(config))
  return HttpApiBuilder.middleware((app: HttpApp.Default) =>
    Effect.withFiberRuntime<HttpServerResponse.HttpServerResponse, unknown, unknown>((fiber) => {
      const request = Context.unsafeGet(fiber.currentContext, HttpServerRequest.HttpServerRequest)
      const start = Date.now()
      const handled = Effect.suspend((): Effect.Effect<HttpServerResponse.HttpServerResponse, unknown, unknown> => {
        // Without the test clock its routes do not exist: a 404 before the body is even read.
        if (!config.testClock && request.url.startsWith(TEST_CLOCK_PATH)) {
          const path = request.url.split("?")[0]!
          if (path === TEST_CLOCK_PATH || path.startsWith(`${TEST_CLOCK_PATH}/`)) {
            return Effect.fail(new RouteNotFound({ method: request.method, path: path.slice(0, 200) }))
          }
        }
        const refused = Edge.unkeepableInUrl(request.url) ?? Edge.repeatedHeader(NodeHttpServerRequest.toIncomingMessage(request))
        if (refused !== undefined) return Effect.fail(refused)
        if (Admin.streamsBody(request)) return Effect.provideService(app, HttpServerRequest.HttpServerRequest, edgeRequest(request, config.trustedProxies))
        if (hasBody(request)) {
          const declared = request.headers["content-length"]
          if (declared !== undefined && Number(declared) > config.bodyLimit) {
            return Effect.fail(new PayloadTooLarge({ limit: config.bodyLimit }))
          }
          if (declared === undefined) keepSocketOnOverflow(request)
        }
        // Checked for an empty body too: the platform would otherwise wait for the parts of an empty multipart body.
        const type = request.headers["content-type"]
        if (isWrite(request) && type !== undefined && !Edge.isJson(type)) return Effect.fail(Edge.notJsonType(type))
        const edge = Effect.provideService(app, HttpServerRequest.HttpServerRequest, edgeRequest(request, config.trustedProxies))
        if (!hasBody(request)) return edge
        // The depth limit holds for every route, known or not; the body is parsed only if the endpoint reads it.
        return Effect.flatMap(Effect.orDie(request.text), (text) => Edge.exceedsDepth(text) ? Effect.fail(Edge.tooDeep) : edge)
      }).pipe(
        HttpIncomingMessage.withMaxBodySize(Option.some(config.bodyLimit)),
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause)
            ? Effect.failCause(cause)
            : Effect.map(Edge.answerFailure(translate(cause, request, config.bodyLimit), request), (answer) => Edge.response(answer))
        ),
        Effect.ensuring(Effect.suspend(() => Edge.slowLog(request, start, config.slowRequestMs) ?? Effect.void)),
        Edge.annotateRequest(request)
      )
      return observe === undefined ? handled : observe(request)(handled)
    }) as unknown as HttpApp.Default<never, never>
  )
}

/** Options that tests and embedders may override. */
export interface Overrides {
  readonly store?: Layer.Layer<Store.Ports, unknown> | undefined
  readonly botCheck?: Layer.Layer<BotCheck.BotCheck> | undefined
  /** Skip seeding and the sweep (a store the caller prepared). */
  readonly seed?: boolean | undefined
  /** Serve the hot basket routes through the fast path or only the general app; the configuration's choice by default. */
  readonly fastPath?: boolean | undefined
}

/**
 * The use cases over the configured store (the partner reads over the read replica when one is
 * configured), with the demo seeded when asked, then the sweep and the scheduler running.
 */
export const servicesLayer = (config: ServerConfig, overrides: Overrides = {}) => {
  const store = ObservedStore.layer((overrides.store ?? Store.layer(config.store)) as Layer.Layer<Store.Ports, Store.StoreStartError>, Metrics.observationOf(config))
  const seed = overrides.seed ?? config.store.seedDemo
  const reads = overrides.store === undefined ? Store.readLayer(config.store) : undefined
  const prepare = Layer.mergeAll(Store.sweepExpired(config.store.sweepInterval), Scheduler.layer(config.schedulerInterval), Webhooks.layer(config.webhooks)).pipe(
    Layer.provide(CatalogFile.layer(config.store.catalogFile)),
    Layer.provide(seed ? Layer.effectDiscard(Effect.orDie(Store.seedDemo)) : Layer.empty)
  )
  const botCheck = overrides.botCheck ??
    (config.botCheck.kind === "accept-all"
      ? BotCheck.layerAcceptAll
      : Recaptcha.layer({
        verifyUrl: config.botCheck.verifyUrl,
        secret: Option.getOrThrow(config.botCheck.secret),
        minScore: config.botCheck.minScore,
        timeout: config.botCheck.timeout
      }))
  return prepare.pipe(
    Layer.provideMerge(Layer.mergeAll(
      SubscriptionCheckout.Default,
      BillGroupAmendments.Default,
      reads === undefined ? PartnerSubscriptions.Default : PartnerSubscriptions.Default.pipe(Layer.provide(reads)),
      PendingChanges.Default,
      ScheduledChanges.Default,
      CatalogAdmin.Default,
      PriceMigrations.Default
    )),
    Layer.provide([Pricing.layer(), Ids.layerRandom]),
    Layer.provideMerge(store),
    Layer.merge(Layer.merge(botCheck, Layer.succeed(Webhooks.Settings, config.webhooks)))
  )
}

/**
 * What both the general app and the fast path authenticate with, read cookies with and answer
 * baskets with: one value, so a server builds it once for both.
 */
const edgeLayer = (config: ServerConfig) =>
  Layer.merge(
    Auth.layerIdentities(config),
    Handlers.BasketHandlers.layer.pipe(
      Layer.provideMerge(Layer.succeed(BasketCookie.Cookies, BasketCookie.make(config.cookie.secret, config.cookie.secure)))
    )
  )

/** The API with its handlers, authentication and guards, over the given services. */
export const apiLayer = (config: ServerConfig, edge = edgeLayer(config)) =>
  HttpApiBuilder.api(SubshiftApi).pipe(
    Layer.provide([Handlers.layer, Withdrawals.layer, Admin.groups]),
    Layer.provide([Auth.CustomerAuthLive, Auth.PartnerAuthLive, Auth.PartnerMmaAuthLive, Admin.middlewares(config)]),
    Layer.provide(edge)
  )

/** The requests a Node server is answering, for a graceful close. */
interface InFlight {
  count: number
  draining: boolean
  server: NodeServer | undefined
  onIdle: (() => void) | undefined
}

/**
 * A Node server whose request listeners ask the fast path first, then the change-plan page. The
 * platform attaches its listener with `on("request")`; wrapping that (and `off`) keeps the
 * platform's own lifecycle. It counts the requests in flight; once draining, every answer closes
 * its connection. The server listens before the store and the app are built (opening the
 * embedded store takes seconds), so until the platform attaches its listener every request is
 * answered 503 with `Retry-After` rather than left without an answer.
 */
const withFastPath = (server: NodeServer, fast: Edge.Slot, page: Edge.Slot, inFlight: InFlight, metrics: boolean): NodeServer => {
  type Listener = (request: IncomingMessage, response: ServerResponse) => void
  const wrapped = new Map<Listener, Listener>()
  const on = server.on.bind(server) as (event: string, listener: (...args: Array<any>) => void) => NodeServer
  const off = server.off.bind(server) as (event: string, listener: (...args: Array<any>) => void) => NodeServer
  const notYet: Listener = (request, response) => {
    Edge.tagRequest(request, response)
    Edge.send(response, Edge.starting, Edge.answerHeaders(request.url))
  }
  on("request", notYet)
  server.on = ((event: string, listener: (...args: Array<any>) => void) => {
    if (event !== "request") return on(event, listener)
    off("request", notYet)
    const first: Listener = (request, response) => {
      Edge.tagRequest(request, response)
      inFlight.count++
      let done = false
      const started = metrics ? performance.now() : 0
      let route: string | undefined
      const finished = () => {
        if (done) return
        done = true
        if (metrics) Metrics.recordRequest(request, response, started, route)
        inFlight.count--
        if (inFlight.count === 0) inFlight.onIdle?.()
      }
      response.once("finish", finished)
      response.once("close", finished)
      if (inFlight.draining) response.setHeader("connection", "close")
      for (const [name, value] of Object.entries(Edge.answerHeaders(request.url))) response.setHeader(name, value)
      if (fast.current?.handle(request, response) === true) {
        route = FastPath.PATH
        return
      }
      // The page serves fixed paths only: each is its own route.
      if (page.current?.handle(request, response) === true) {
        if (metrics) route = request.url!.split("?")[0]!
        return
      }
      ;(listener as Listener)(request, response)
    }
    wrapped.set(listener as Listener, first)
    return on(event, first)
  }) as NodeServer["on"]
  server.off = ((event: string, listener: (...args: Array<any>) => void) =>
    off(event, (event === "request" ? wrapped.get(listener as Listener) : undefined) ?? listener)) as NodeServer["off"]
  inFlight.server = server
  return server
}

/**
 * Released before the app and the store: stops accepting connections and closes the idle ones,
 * then waits for the requests in flight to be answered (their connections close after the
 * answer), at most `timeout`, after which the remaining connections are closed.
 */
const gracefulClose = (inFlight: InFlight, timeout: Duration.Duration) =>
  Layer.scopedDiscard(Effect.addFinalizer(() =>
    Effect.async<void>((resume) => {
      const server = inFlight.server
      if (server === undefined) return resume(Effect.void)
      inFlight.draining = true
      if (server.listening) server.close()
      const timer = setTimeout(() => {
        inFlight.onIdle = undefined
        server.closeAllConnections()
        resume(Effect.logWarning("shutdown: requests still in flight were cut off", { requests: inFlight.count }))
      }, Duration.toMillis(timeout))
      const idle = () => {
        clearTimeout(timer)
        inFlight.onIdle = undefined
        server.closeIdleConnections()
        resume(Effect.void)
      }
      if (inFlight.count === 0) idle()
      else inFlight.onIdle = idle
    })
  ))

/**
 * The HTTP app on a Node server listening where the configuration says. With the test clock on,
 * everything runs on one shifted clock set at the root: the use cases, the scheduler, token
 * checks and cookie lifetimes all see the same time.
 */
export const layer = (config: ServerConfig, overrides: Overrides = {}) =>
  Layer.unwrapEffect(Effect.map(Effect.clock, (base) => {
    const shifted = config.testClock ? Option.some(ShiftedClock.make(base)) : Option.none()
    return serverLayer(config, overrides, shifted).pipe(
      Layer.provide(Option.match(shifted, { onNone: () => Layer.empty, onSome: ShiftedClock.layer }))
    )
  }))

const serverLayer = (config: ServerConfig, overrides: Overrides, shifted: Option.Option<ShiftedClock.ShiftedClock>) => {
  const edge = edgeLayer(config)
  const fast = Edge.slot()
  const installFastPath = !(overrides.fastPath ?? config.fastPath)
    ? Layer.empty
    : Layer.effectDiscard(Effect.map(FastPath.make(config), (path) => {
      fast.current = path
    })).pipe(Layer.provide(edge))
  const page = Edge.slot()
  const installPage = Layer.effectDiscard(Effect.map(Page.make(config), (handler) => {
    page.current = handler
  }))
  const inFlight: InFlight = { count: 0, draining: false, server: undefined, onIdle: undefined }
  return gracefulClose(inFlight, config.shutdownTimeout).pipe(Layer.provideMerge(HttpApiBuilder.serve().pipe(
    Layer.provide(docsLayer(config)),
    Layer.provide(guards(config)),
    Layer.provide(Layer.mergeAll(apiLayer(config, edge), installFastPath, installPage)),
    Layer.provide(Layer.merge(servicesLayer(config, overrides), Layer.succeed(Handlers.TestClockControl, shifted))),
    // The platform's request span is never made: it records raw paths and headers. `Tracing` makes the request's span.
    HttpMiddleware.withTracerDisabledWhen(() => true),
    Layer.provide(Tracing.layer(config.tracing)),
    Layer.provide(Layer.setTracerEnabled(Option.isSome(config.tracing))),
    Layer.provideMerge(Prometheus.layer(config.metrics)),
    Layer.provideMerge(
      NodeHttpServer.layer(() => withFastPath(ClientErrors.answer(createServer({ requestTimeout: Duration.toMillis(config.requestTimeout) })), fast, page, inFlight, Option.isSome(config.metrics)), { port: config.port, host: config.host })
    )
  )))
}

/**
 * `/docs` and `/openapi.json` when configured, describing the routes this server has: without
 * the test clock, its routes are left out.
 */
const docsLayer = (config: Pick<ServerConfig, "docs" | "testClock">) => {
  if (!config.docs) return Layer.empty
  const api = (config.testClock ? SubshiftApi : PublishedWithoutTestClock) as unknown as HttpApi.Api["Type"]["api"]
  const published = Layer.succeed(HttpApi.Api, { api, context: Context.empty() })
  return Layer.mergeAll(HttpApiSwagger.layer({ path: "/docs" }), HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })).pipe(
    Layer.provide(published)
  )
}

/** The base URL a server answers on. */
export const baseUrl = Effect.map(HttpServer.HttpServer, (server) =>
  server.address._tag === "TcpAddress"
    ? `http://${server.address.hostname === "0.0.0.0" ? "127.0.0.1" : server.address.hostname}:${server.address.port}`
    : `unix:${server.address.path}`)

/**
 * A real listening server for the end-to-end tests: the demo store (optionally one that can be
 * made unavailable), a clock the test can move, the development secrets, and helpers to mint
 * tokens and make raw requests.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Baskets } from "@subshift/core/ports/Baskets"
import * as CoreBotCheck from "@subshift/core/ports/BotCheck"
import { StoreUnavailable } from "@subshift/core/domain/Errors"
import type { Ports as StorePorts } from "../src/Store.js"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as Client from "@subshift/http-api/Client"
import * as Config from "@subshift/http-server/Config"
import * as Demo from "@subshift/http-server/Demo"
import * as Server from "@subshift/http-server/Server"
import type * as Store from "@subshift/http-server/Store"
import * as MemoryStore from "@subshift/store-memory/MemoryStore"
import * as Clock from "effect/Clock"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"

/** A clock that runs with real time plus an offset the test controls. */
export const movableClock = () => {
  let offset = 0
  const now = () => Date.now() + offset
  const base = Clock.make()
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    currentTimeMillis: Effect.sync(now),
    unsafeCurrentTimeNanos: () => BigInt(now()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now()) * 1_000_000n),
    sleep: (duration) => base.sleep(duration)
  }
  return { clock, advance: (ms: number) => void (offset += ms), now }
}

/** What a test can do to its server's store while the server runs. */
export interface StoreControls {
  /** Reads fail with `StoreUnavailable` while set. */
  down: boolean
  /** Commits touching these subscriptions wait this many milliseconds first. */
  readonly slowCommits: Map<string, number>
  /** The next commit touching one of these subscriptions dies (a defect), once. */
  readonly dyingCommits: Set<string>
  /** The store's ports, once the server has built them. */
  ports?: Context.Context<StorePorts>
}

/** Fresh store controls. */
export const storeControls = (): StoreControls => ({ down: false, slowCommits: new Map(), dyingCommits: new Set() })

/** The demo store, under the test's controls. */
export const flakyStore = (state: StoreControls) =>
  Layer.effectContext(
    Effect.map(MemoryStore.make(), (context) => {
      const subscriptions = Context.get(context, Subscriptions)
      const baskets = Context.get(context, Baskets)
      const unavailable = Effect.fail(new StoreUnavailable({ message: "the database is not answering" }))
      const controlled = context.pipe(
        Context.add(Subscriptions, {
          ...subscriptions,
          findById: (id) => (state.down ? unavailable : subscriptions.findById(id)),
          findByName: (name) => (state.down ? unavailable : subscriptions.findByName(name)),
          commit: (commit) =>
            Effect.suspend(() => {
              const ids = commit.subscriptions.map((s) => s.next.id)
              const dying = ids.find((id) => state.dyingCommits.has(id))
              if (dying !== undefined) {
                state.dyingCommits.delete(dying)
                return Effect.dieMessage(`a commit of ${dying} was made to die`)
              }
              const delay = Math.max(0, ...ids.map((id) => state.slowCommits.get(id) ?? 0))
              return delay === 0 ? subscriptions.commit(commit) : Effect.zipRight(Effect.sleep(delay), subscriptions.commit(commit))
            })
        }),
        Context.add(Baskets, { ...baskets, findById: (id) => (state.down ? unavailable : baskets.findById(id)) })
      )
      state.ports = controlled
      return controlled
    })
  )

/** The least a production start needs: real secrets, a real partner token and the reCAPTCHA secret. */
export const productionEnv = {
  NODE_ENV: "production",
  SUBSHIFT_COOKIE_SECRET: "a-production-cookie-secret-of-32-chars!",
  SUBSHIFT_JWT_SECRET: "a-production-jwt-secret-of-at-least-32-chars",
  SUBSHIFT_PARTNER_TOKENS: `partner-telco:partner+mma:${Config.hashToken("real-token")}`,
  SUBSHIFT_RECAPTCHA_SECRET: "s"
}

/** The configuration of a test server: development defaults plus `env`. */
export const configOf = (env: Record<string, string> = {}) =>
  Effect.runPromise(
    Effect.withConfigProvider(Config.load, ConfigProvider.fromMap(new Map(Object.entries({ PORT: "0", ...env }))))
  )

/** A running test server. */
export interface TestServer {
  readonly url: string
  readonly config: Config.ServerConfig
  readonly clock: ReturnType<typeof movableClock>
  readonly store: StoreControls
  /** Runs a program on the server's store, through its ports. */
  readonly run: <A, E>(program: Effect.Effect<A, E, StorePorts>) => Promise<A>
  readonly token: (claims: Demo.Claims) => Promise<string>
  readonly close: () => Promise<void>
}

/** Starts a server on a free port. */
export const start = async (
  options: {
    readonly env?: Record<string, string>
    readonly botCheck?: Layer.Layer<CoreBotCheck.BotCheck>
    readonly fastPath?: boolean
    /** Another store than the flaky demo one (its `down` switch then does nothing; `run` still reads it). */
    readonly store?: Layer.Layer<Store.Ports, unknown>
  } = {}
): Promise<TestServer> => {
  const config = await configOf(options.env)
  const clock = movableClock()
  const store = storeControls()
  const layer = Server.layer(config, {
    store: options.store === undefined ? flakyStore(store) : Layer.tap(options.store, (ports) => Effect.sync(() => {
      store.ports = ports as Context.Context<StorePorts>
    })),
    botCheck: options.botCheck ?? CoreBotCheck.layerAcceptAll,
    fastPath: options.fastPath
  }).pipe(
    Layer.provide(Layer.setClock(clock.clock))
  )
  const runtime = ManagedRuntime.make(layer)
  const url = await runtime.runPromise(Server.baseUrl)
  return {
    url,
    config,
    clock,
    store,
    run: (program) => Effect.runPromise(Effect.provide(program, store.ports!)),
    token: (claims) => Effect.runPromise(Demo.sign(config.jwt, claims).pipe(Effect.withClock(clock.clock))),
    close: () => runtime.dispose()
  }
}

/** Tokens of the demo principals. */
export const tokens = async (server: TestServer) => ({
  alice: await server.token({ subject: "cus-alice", scopes: ["checkout"] }),
  bob: await server.token({ subject: "cus-bob", scopes: ["checkout"] }),
  carol: await server.token({ subject: "cus-carol", scopes: ["checkout"] }),
  erin: await server.token({ subject: "cus-erin", scopes: ["checkout"] }),
  acme: await server.token({ subject: "cus-acme", scopes: ["checkout"] }),
  telco: await server.token({ subject: "ops@telco", partnerOrg: "partner-telco", scopes: ["partner", "mma"] }),
  telcoNoMma: await server.token({ subject: "ops@telco", partnerOrg: "partner-telco", scopes: ["partner"] }),
  otherPartner: await server.token({ subject: "ops@other", partnerOrg: "partner-other", scopes: ["partner", "mma"] }),
  expired: await server.token({ subject: "cus-alice", scopes: ["checkout"], ttlSeconds: -60 })
})

/** A raw JSON request; answers the status, headers and parsed body (or text). */
export const request = async (
  url: string,
  options: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: unknown; readonly raw?: string } = {}
) => {
  const init: RequestInit = { method: options.method ?? "GET", headers: { ...options.headers } }
  if (options.raw !== undefined) init.body = options.raw
  else if (options.body !== undefined) {
    init.body = JSON.stringify(options.body)
    ;(init.headers as Record<string, string>)["content-type"] ??= "application/json"
  }
  const response = await fetch(url, init)
  const text = await response.text()
  let body: any = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: the text is the body
  }
  return { status: response.status, headers: response.headers, body, text }
}

/** The `lmo_ls` cookie pair of a response, ready to send back. */
export const cookieOf = (headers: Headers): string => {
  const set = headers.get("set-cookie")
  if (set === null) throw new Error("no set-cookie")
  return set.split(";")[0]!
}

/** Bearer header. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** The initiate body for a subscription id. */
export const initiateBody = (id: string, tracking?: Record<string, unknown>) => ({
  order: { order_type: "update_subscription", forSubscription: { id } },
  ...(tracking === undefined ? {} : { tracking })
})

/** Runs a typed-client program against a server, with these headers on every request. */
export const withClient = <A, E>(
  server: TestServer,
  headers: Record<string, string>,
  program: (client: Effect.Effect.Success<ReturnType<typeof Client.make>>) => Effect.Effect<A, E>
) =>
  Effect.runPromise(
    Effect.flatMap(
      Client.make(server.url, { transformClient: HttpClient.mapRequest(HttpClientRequest.setHeaders(headers)) }),
      program
    ).pipe(Effect.provide(FetchHttpClient.layer))
  )

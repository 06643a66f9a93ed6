/**
 * The self-service "change my plan" page: a fixed set of static files (HTML, CSS, one vanilla
 * JavaScript module) that talks to the public API over fetch, like a customer's own site would.
 * It is answered from Node's request event in front of the general app, so the API's routes,
 * OpenAPI document and fast path are untouched. Outside production it also offers the demo
 * identities and their tokens at `/account/demo-session`, the same ones the start banner prints.
 */
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as DemoData from "@subshift/core/demo/Demo"
import { InternalError, MethodNotAllowed } from "@subshift/http-api/HttpErrors"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import { readFile } from "node:fs/promises"
import type { IncomingMessage, ServerResponse } from "node:http"
import { DEV_PARTNER_TOKEN, type ServerConfig } from "./Config.js"
import * as Demo from "./Demo.js"
import * as Edge from "./Edge.js"

/** Where the page lives. */
export const PAGE_PATH = "/account/change-plan"

/** The development-only endpoint handing the demo identities to the page. */
export const DEMO_SESSION_PATH = "/account/demo-session"

/** Answers a request for the page's files, or declines it for the router. */
export type PageHandler = Edge.RawRoute

interface Asset {
  readonly file: string
  readonly type: string
}

/** The only files served: a URL maps to one of them exactly, never to a path built from the URL. */
const assets: Readonly<Record<string, Asset>> = {
  [PAGE_PATH]: { file: "change-plan.html", type: "text/html; charset=utf-8" },
  [`${PAGE_PATH}.css`]: { file: "change-plan.css", type: "text/css; charset=utf-8" },
  [`${PAGE_PATH}.js`]: { file: "change-plan.js", type: "text/javascript; charset=utf-8" }
}

const pageDirectory = new URL("../page/", import.meta.url)

// The page's own content policy, refining the edge's; the other security headers come from the edge.
const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

/** Whether the page is served: on by configuration, which defaults to off only in production. */
export const enabled = (config: Pick<ServerConfig, "page">): boolean => config.page

/** Whether the demo identities are handed out: only with the page on, outside production, with HS256 tokens the server can sign. */
export const demoSessionEnabled = (config: Pick<ServerConfig, "page" | "production" | "jwt">): boolean =>
  enabled(config) && !config.production && config.jwt.algorithm === "HS256"

/** One identity the page can sign in as. */
export interface DemoIdentity {
  readonly id: string
  readonly label: string
  readonly kind: "customer" | "partner"
  readonly token: string
  /** A customer's own subscriptions; a partner lists its organisation's through the API. */
  readonly subscriptions: ReadonlyArray<{ readonly id: string; readonly reference: string }>
  /** What the partner initiate sends as `x-limio-recaptcha`; the development bot check accepts anything. */
  readonly botCheckToken?: string
  /** The partner API token, as an alternative to the JWT. */
  readonly partnerToken?: string
}

const customerIdentities = [
  { id: "alice", owner: DemoData.customers.alice, label: "Alice (customer)" },
  { id: "bob", owner: DemoData.customers.bob, label: "Bob (customer)" },
  { id: "erin", owner: DemoData.customers.erin, label: "Erin (customer)" },
  { id: "acme", owner: DemoData.customers.acme, label: "Acme Corp (customer)" }
] as const

/** The demo identities, with tokens signed now and valid 30 days, like the ones the start banner prints. */
export const demoIdentities = (config: ServerConfig) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const subscriptions = DemoData.subscriptions(CalendarDate.fromEpochMillis(now))
    const ttlSeconds = 30 * 86_400
    const customers = yield* Effect.forEach(customerIdentities, (c) =>
      Effect.map(Demo.sign(config.jwt, { subject: c.owner, scopes: ["checkout"], ttlSeconds }), (token): DemoIdentity => ({
        id: c.id,
        label: c.label,
        kind: "customer",
        token,
        subscriptions: subscriptions
          .filter((s) => s.owner === c.owner)
          .map((s) => ({ id: s.id, reference: s.name }))
      })))
    const partner = yield* Demo.sign(config.jwt, {
      subject: "ops@telco.example",
      partnerOrg: DemoData.partnerOrg,
      scopes: ["partner", "mma"],
      ttlSeconds
    })
    const identities: ReadonlyArray<DemoIdentity> = [
      ...customers,
      {
        id: "telco",
        label: `${DemoData.partnerOrg} (partner, acting for its customers)`,
        kind: "partner",
        token: partner,
        subscriptions: [],
        botCheckToken: "development",
        partnerToken: DEV_PARTNER_TOKEN
      }
    ]
    return identities
  })

const send = (
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string>
) => {
  response.writeHead(status, { ...securityHeaders, ...headers, "content-length": Buffer.byteLength(body) })
  response.end(request.method === "HEAD" ? undefined : body)
}

/**
 * Builds the page handler: reads the fixed files once. Without them (a bundle that left the
 * `page/` folder behind) the page is off and the server still starts.
 */
export const make = (config: ServerConfig): Effect.Effect<PageHandler> =>
  Effect.gen(function*() {
    if (!enabled(config)) return { handle: () => false }
    const loaded = yield* Effect.exit(Effect.tryPromise(() =>
      Promise.all(Object.entries(assets).map(async ([path, asset]) =>
        [path, { type: asset.type, body: await readFile(new URL(asset.file, pageDirectory)) }] as const
      ))
    ))
    if (Exit.isFailure(loaded)) {
      yield* Effect.logWarning("the change-plan page is off: its files were not found", { directory: pageDirectory.pathname })
      return { handle: () => false }
    }
    const files = new Map(loaded.value)
    const demo = demoSessionEnabled(config)
    const runtime = yield* Effect.runtime<never>()
    const runCallback = Runtime.runCallback(runtime)

    const handle = (request: IncomingMessage, response: ServerResponse): boolean => {
      const url = request.url
      if (url === undefined || !url.startsWith("/account/")) return false
      const path = url.split("?")[0]!
      const file = files.get(path)
      const isSession = demo && path === DEMO_SESSION_PATH
      if (file === undefined && !isSession) return false
      if (request.method !== "GET" && request.method !== "HEAD") {
        const refused = Edge.answerOf(new MethodNotAllowed({ message: `${path} answers GET only` }))
        send(request, response, refused.status, refused.body, { "content-type": "application/json", allow: "GET, HEAD" })
        return true
      }
      if (file !== undefined) {
        send(request, response, 200, file.body, { "content-type": file.type, "cache-control": "no-cache" })
        return true
      }
      runCallback(demoIdentities(config), {
        onExit: (exit) => {
          if (Exit.isSuccess(exit)) {
            const body = JSON.stringify({
              notice: "Development only: demo identities signed with the development secret. This endpoint does not exist in production.",
              identities: exit.value
            })
            send(request, response, 200, body, { "content-type": "application/json", "cache-control": "no-store" })
          } else {
            const failed = Edge.answerOf(new InternalError({ message: "the demo tokens could not be signed" }))
            send(request, response, failed.status, failed.body, { "content-type": "application/json" })
          }
        }
      })
      return true
    }
    return { handle }
  })

/**
 * The hot routes, GET and PUT `/api/checkout/subscription`, answered straight from Node's request
 * event instead of through the general router: a basket read or update then costs one fiber run,
 * not the router, the middleware chain and the response encoder's several. It is a dispatcher:
 * authentication, the cookie, the basket use cases and the wire shape are the handlers', and the
 * body parser, decoding, error answers, `Retry-After` and logs are the transport edge's
 * (`Edge.ts`), as for every other route. A request it does not fully recognise (a query string, a
 * chunked or non-JSON body, no Bearer token) goes to the general app untouched; the end-to-end
 * tests compare both paths answer for answer. `SUBSHIFT_FAST_PATH=off` turns it off.
 */
import * as Cookies from "@effect/platform/Cookies"
import type * as Basket from "@subshift/core/domain/Basket"
import { CurrentPrincipal } from "@subshift/core/domain/Principal"
import * as BasketWire from "@subshift/http-api/BasketWire"
import * as Wire from "@subshift/http-api/Wire"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as Auth from "./Auth.js"
import type { ServerConfig } from "./Config.js"
import * as Edge from "./Edge.js"
import * as Handlers from "./Handlers.js"
import * as Metrics from "./Metrics.js"
import * as Tracing from "./Tracing.js"

/** Answers a request of the one path, or declines it for the router. */
export type FastPath = Edge.RawRoute

/** The one path the fast path serves. */
export const PATH = "/api/checkout/subscription"

const decodeUpdate = Edge.decoder(Wire.UpdateRequest)
const decodeWriteHeaders = Edge.decoder(Wire.WriteHeaders)

/** Builds the fast path over the running services. */
export const make = (config: Pick<ServerConfig, "bodyLimit" | "slowRequestMs" | "metrics" | "tracing">) =>
  Effect.gen(function*() {
    const observation = Metrics.observationOf(config)
    const runtime = yield* Effect.runtime<never>()
    const identities = yield* Auth.Identities
    const baskets = yield* Handlers.BasketHandlers
    const runCallback = Runtime.runCallback(runtime)

    const answer = (basket: Basket.Basket): Edge.Answer => ({
      status: 200,
      body: JSON.stringify(BasketWire.encode(basket)),
      headers: { etag: Handlers.etag(basket.version) }
    })

    const read = (request: IncomingMessage) =>
      Effect.flatMap(
        Auth.decideHeaders(identities, "customer", request.headers.authorization, header(request, Auth.PARTNER_HEADER)),
        (principal) =>
          baskets.read(cookieJar(request)).pipe(
            Effect.map(answer),
            Effect.provideService(CurrentPrincipal, principal)
          )
      )

    /** Decodes a write's headers and payload; failures are the contract's 400s. */
    const writeInput = (request: IncomingMessage, text: string) =>
      Effect.flatMap(
        decodeWriteHeaders({ cookie: request.headers.cookie, "if-match": request.headers["if-match"] }),
        (headers) =>
          Effect.map(Effect.flatMap(Edge.parseJson(text), decodeUpdate), (payload) => ({
            ifMatch: headers["if-match"],
            payload
          }))
      )

    const write = (request: IncomingMessage, text: string) =>
      Effect.flatMap(
        Auth.decideHeaders(identities, "customer", request.headers.authorization, header(request, Auth.PARTNER_HEADER)),
        (principal) =>
          writeInput(request, text).pipe(
            Effect.flatMap(({ ifMatch, payload }) => baskets.updated(cookieJar(request), ifMatch, payload)),
            Effect.map(answer),
            Effect.provideService(CurrentPrincipal, principal)
          )
      )

    const finish = (
      request: IncomingMessage,
      response: ServerResponse,
      started: number,
      program: Effect.Effect<Edge.Answer, Edge.ContractError>
    ) => {
      const answered = Effect.catchAllCause(program, (cause) => Edge.answerFailure(cause, request))
      const observed = observation.tracing ? Tracing.serverSpan(request, PATH, answerStatus, noRoute)(answered) : answered
      runCallback(observed.pipe(Edge.annotateRequest(request)), {
        onExit: (exit) => {
          Edge.send(response, Exit.isSuccess(exit) ? exit.value : Edge.internal)
          const slow = Edge.slowLog(request, started, config.slowRequestMs)
          if (slow !== undefined) runCallback(slow)
        }
      })
    }

    const handle = (request: IncomingMessage, response: ServerResponse): boolean => {
      if (request.url !== PATH) return false
      const authorization = request.headers.authorization
      if (authorization === undefined || !authorization.startsWith("Bearer ")) return false
      const started = Date.now()
      // A repeated header is refused by the general app, which answers it like every refusal.
      if (Edge.repeatedHeader(request) !== undefined) return false
      if (request.method === "GET") {
        finish(request, response, started, read(request))
        return true
      }
      if (request.method !== "PUT") return false
      const length = request.headers["content-length"]
      const type = request.headers["content-type"]
      if (
        length === undefined || request.headers["transfer-encoding"] !== undefined || !(Number(length) > 0) ||
        Number(length) > config.bodyLimit || type === undefined || !Edge.isJson(type)
      ) return false
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.once("end", () => finish(request, response, started, write(request, Buffer.concat(chunks).toString("utf8"))))
      request.once("error", () => response.destroy())
      return true
    }

    return { handle } satisfies FastPath
  })

const answerStatus = (answer: Edge.Answer) => answer.status
const noRoute = () => {}

const header = (request: IncomingMessage, name: string): string | undefined => {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}

const cookieJar = (request: IncomingMessage): Readonly<Record<string, string>> => {
  const raw = request.headers.cookie
  return raw === undefined ? {} : Cookies.parseHeader(raw)
}

/**
 * The hot routes, GET and PUT `/api/checkout/subscription`, answered straight from Node's request
 * event instead of through the general router: a basket read or update then costs one fiber run,
 * not the router, the middleware chain and the response encoder's several. It implements the
 * same contract with the same pieces: the same authentication, cookie, payload schema, core use
 * cases, wire shape and error envelopes (encoded by the contract's own error schemas, with their
 * statuses). A request it does not fully recognise (a query string, a chunked or non-JSON body,
 * no Bearer token) goes to the general app untouched, so every transport error has one
 * implementation; the end-to-end tests compare both paths answer for answer.
 */
import * as Cookies from "@effect/platform/Cookies"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { InvalidInput } from "@subshift/core/Errors"
import { CurrentPrincipal } from "@subshift/core/Principal"
import * as HttpErrors from "@subshift/http-api/HttpErrors"
import * as Wire from "@subshift/http-api/Wire"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as ParseResult from "effect/ParseResult"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as Auth from "./Auth.js"
import type { ServerConfig } from "./Config.js"
import * as Handlers from "./Handlers.js"
import * as JsonDepth from "./JsonDepth.js"

/** Answers a request, or declines it (`false`) for the general app to answer. */
export interface FastPath {
  readonly handle: (request: IncomingMessage, response: ServerResponse) => boolean
}

/** Where the server finds the fast path once the services behind it are built. */
export interface Holder {
  current: FastPath | undefined
}

/** An empty holder. */
export const holder = (): Holder => ({ current: undefined })

/** The one path the fast path serves. */
export const PATH = "/api/checkout/subscription"

const decodeUpdate = Schema.decodeUnknownEither(Wire.UpdateRequest)
const decodeWriteHeaders = Schema.decodeUnknownEither(Wire.WriteHeaders)

const invalid = (error: ParseResult.ParseError): InvalidInput => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  return new InvalidInput({
    field: issue === undefined || issue.path.length === 0 ? "body" : issue.path.map(String).join("."),
    message: issue?.message ?? error.message
  })
}

const malformed = new HttpErrors.MalformedRequest({ message: "the body is not valid JSON" })

const tooDeep = new HttpErrors.MalformedRequest({ message: JsonDepth.message })

const parseJson = (text: string): Effect.Effect<unknown, HttpErrors.MalformedRequest> => {
  if (JsonDepth.exceeds(text)) return Effect.fail(tooDeep)
  try {
    return Effect.succeed(text === "" ? null : JSON.parse(text))
  } catch {
    return Effect.fail(malformed)
  }
}

/** The error schemas of the contract, by the tag of the error they encode. */
const envelopes = {
  InvalidInput: HttpErrors.InvalidInput,
  MalformedRequest: HttpErrors.Malformed,
  BasketRejected: HttpErrors.BasketRejected,
  Unauthenticated: HttpErrors.Unauthenticated,
  Forbidden: HttpErrors.Forbidden,
  SubscriptionNotFound: HttpErrors.SubscriptionNotFound,
  BasketNotFound: HttpErrors.BasketNotFound,
  NoBasket: HttpErrors.MissingBasket,
  VersionConflict: HttpErrors.VersionConflict,
  BasketCompleted: HttpErrors.BasketCompleted,
  SubscriptionInactive: HttpErrors.SubscriptionInactive,
  BasketExpired: HttpErrors.BasketExpired,
  SubscriptionLocked: HttpErrors.SubscriptionLocked,
  PricingFailed: HttpErrors.PricingFailed,
  StoreUnavailable: HttpErrors.StoreUnavailable,
  InternalError: HttpErrors.Internal
} as const

type Envelopes = typeof envelopes

/** Every error the fast path may answer with; a new one fails to compile until it has an envelope. */
type Answerable<E> = E extends { readonly _tag: infer T } ? T extends keyof Envelopes ? E : never : never

const encodeError = <E extends { readonly _tag: keyof Envelopes }>(error: E) => {
  const schema = envelopes[error._tag] as unknown as Schema.Schema<E, unknown>
  return { status: HttpApiSchema.getStatusErrorAST(schema.ast), body: JSON.stringify(Schema.encodeSync(schema)(error)) }
}

const send = (response: ServerResponse, status: number, body: string, headers: Record<string, string>) => {
  response.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  response.end(body)
}

/** Builds the fast path over the running services. */
export const make = (config: Pick<ServerConfig, "bodyLimit" | "slowRequestMs">) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const identities = yield* Auth.Identities
    const baskets = yield* Handlers.makeBasketHandlers
    const runCallback = Runtime.runCallback(runtime)

    const answer = (basket: { readonly subscriptionId: string; readonly version: number }, wire: (name: string | undefined) => unknown) =>
      Effect.map(baskets.nameOf(basket.subscriptionId), (name) => ({
        status: 200,
        body: JSON.stringify(wire(name)),
        headers: { etag: Handlers.etag(basket.version) } as Record<string, string>
      }))

    const read = (request: IncomingMessage) =>
      Effect.flatMap(
        Auth.decideHeaders(identities, "customer", request.headers.authorization, header(request, Auth.PARTNER_HEADER)),
        (principal) =>
          baskets.read(cookieJar(request)).pipe(
            Effect.flatMap((basket) => answer(basket, (name) => Handlers.toWire(basket, name))),
            Effect.provideService(CurrentPrincipal, principal)
          )
      )

    /** Decodes a write's headers and payload; failures are the contract's 400s. */
    const writeInput = (request: IncomingMessage, text: string) =>
      Effect.flatMap(
        Either.mapLeft(decodeWriteHeaders({ cookie: request.headers.cookie, "if-match": request.headers["if-match"] }), invalid),
        (headers) =>
          Effect.map(Effect.flatMap(parseJson(text), (json) => Either.mapLeft(decodeUpdate(json), invalid)), (payload) => ({
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
            Effect.flatMap((basket) => answer(basket, (name) => Handlers.toWire(basket, name))),
            Effect.provideService(CurrentPrincipal, principal)
          )
      )

    type Answer = { status: number; body: string; headers: Record<string, string> }

    /** The error answer, with `Retry-After` on a lock (counted on the Effect clock). */
    const failed = (error: { readonly _tag: keyof Envelopes }): Effect.Effect<Answer> => {
      const encoded = encodeError(error)
      if (error._tag !== "SubscriptionLocked") return Effect.succeed({ ...encoded, headers: {} })
      const date = (error as unknown as { readonly pendingChangeDate: string }).pendingChangeDate
      return Effect.map(Clock.currentTimeMillis, (now) => ({
        ...encoded,
        headers: { "retry-after": String(Math.max(1, Math.ceil((Date.parse(`${date}T00:00:00.000Z`) - now) / 1000))) }
      }))
    }

    const internalError = () => encodeError(new HttpErrors.InternalError({ message: "an unexpected error occurred; it has been logged" }))

    const finish = <E extends { readonly _tag: string }>(
      request: IncomingMessage,
      response: ServerResponse,
      started: number,
      program: Effect.Effect<Answer, Answerable<E>>
    ) => {
      runCallback(Effect.catchAll(program, failed), {
        onExit: (exit) => {
          if (Exit.isSuccess(exit)) {
            send(response, exit.value.status, exit.value.body, exit.value.headers)
          } else {
            const internal = internalError()
            send(response, internal.status, internal.body, {})
            if (!Cause.isInterruptedOnly(exit.cause)) {
              runCallback(Effect.logError("unexpected failure", { method: request.method, url: request.url, cause: Cause.pretty(exit.cause) }))
            }
          }
          // Slow requests are rare: only they pay for a log entry.
          const ms = Date.now() - started
          if (ms >= config.slowRequestMs) runCallback(Effect.logWarning("slow request", { method: request.method, url: PATH, ms }))
        }
      })
    }

    const handle = (request: IncomingMessage, response: ServerResponse): boolean => {
      if (request.url !== PATH) return false
      const authorization = request.headers.authorization
      if (authorization === undefined || !authorization.startsWith("Bearer ")) return false
      const started = Date.now()
      if (request.method === "GET") {
        finish(request, response, started, read(request))
        return true
      }
      if (request.method !== "PUT") return false
      const length = request.headers["content-length"]
      const type = request.headers["content-type"]
      if (
        length === undefined || request.headers["transfer-encoding"] !== undefined || !(Number(length) > 0) ||
        Number(length) > config.bodyLimit || type === undefined || !type.toLowerCase().includes("application/json")
      ) return false
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.once("end", () => finish(request, response, started, write(request, Buffer.concat(chunks).toString("utf8"))))
      request.once("error", () => response.destroy())
      return true
    }

    return { handle } satisfies FastPath
  })

const header = (request: IncomingMessage, name: string): string | undefined => {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}

const cookieJar = (request: IncomingMessage): Readonly<Record<string, string>> => {
  const raw = request.headers.cookie
  return raw === undefined ? {} : Cookies.parseHeader(raw)
}

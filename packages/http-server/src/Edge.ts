/**
 * The transport edge: what every HTTP route shares between Node's socket and the handlers,
 * whichever way a request comes in (the general router, the fast path, the change-plan page,
 * Node's own refusals, the answer while the server starts). One JSON parser with the depth limit;
 * one field-path style for `InvalidInput` (`@subshift/core/domain/Input`'s: `offerings[1].items[0].productId`);
 * error answers derived from the contract's error schemas and statuses only; one `Retry-After`;
 * one log of unexpected failures and slow requests.
 */
import type * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { InvalidInput, StoreUnavailable } from "@subshift/core/domain/Errors"
import type * as Idempotency from "@subshift/core/ports/Idempotency"
import * as Input from "@subshift/core/domain/Input"
import { strict, SubshiftApi } from "@subshift/http-api/Api"
import * as HttpErrors from "@subshift/http-api/HttpErrors"
import * as Security from "@subshift/http-api/Security"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { type BlockList, isIP } from "node:net"
import * as BasketCookie from "./BasketCookie.js"

/** A route on the raw Node request: answers a request, or declines it (`false`) for the router. */
export interface RawRoute {
  readonly handle: (request: IncomingMessage, response: ServerResponse) => boolean
}

/** Where the server finds a raw route once the services behind it are built. */
export interface Slot {
  current: RawRoute | undefined
}

/** An empty slot. */
export const slot = (): Slot => ({ current: undefined })

/** An answer as it travels: status, JSON body and headers. */
export type Answer = Idempotency.StoredResult

/**
 * The deepest nesting of arrays and objects a request body may have. Bodies are refused above it
 * before any schema sees them: a schema refusing a value formats the value into its message,
 * recursively, and a value nested thousands of levels deep overflows the stack there.
 */
export const MAX_DEPTH = 64

/** Whether the JSON text nests arrays and objects more than `max` levels deep (strings are skipped). */
export const exceedsDepth = (text: string, max: number = MAX_DEPTH): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > max) return true
    } else if (c === 93 || c === 125) depth--
  }
  return false
}

/** The refusal of a body nested deeper than `MAX_DEPTH`. */
export const tooDeep = new HttpErrors.MalformedRequest({ message: `the body is nested more than ${MAX_DEPTH} levels deep` })

/** The refusal of a body that is not JSON. */
export const notJson = new HttpErrors.MalformedRequest({ message: "the body is not valid JSON" })

// NUL, or half of a UTF-16 surrogate pair: text no store can keep as it was sent (Postgres refuses
// NUL in text and JSON, and a lone surrogate has no UTF-8 form), so no input may hold it.
const UNKEEPABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Whether a string holds text no store can keep: NUL or a lone surrogate. */
export const unkeepable = (text: string): boolean => UNKEEPABLE.test(text)

const unkeepableMessage = "must not contain NUL or an unpaired UTF-16 surrogate"

/** The path of the first key or string in a parsed JSON value that holds unkeepable text; `undefined` for none. */
const unkeepableAt = (value: unknown, path: Array<PropertyKey>): Array<PropertyKey> | undefined => {
  if (typeof value === "string") return unkeepable(value) ? path : undefined
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unkeepableAt(value[i], [...path, i])
      if (found !== undefined) return found
    }
  } else if (value !== null && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      if (unkeepable(key)) return path
      const found = unkeepableAt(v, [...path, key])
      if (found !== undefined) return found
    }
  }
  return undefined
}

/**
 * The one JSON parser of request bodies: the depth limit, then `JSON.parse`, then the text rule
 * (no NUL, no lone surrogate, in any key or string: an `InvalidInput` naming the field); an empty
 * body is `null`.
 */
export const parseJson = (text: string): Either.Either<unknown, HttpErrors.MalformedRequest | InvalidInput> => {
  if (exceedsDepth(text)) return Either.left(tooDeep)
  if (text === "") return Either.right(null)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return Either.left(notJson)
  }
  const at = unkeepableAt(value, [])
  return at === undefined ? Either.right(value) : Either.left(new InvalidInput({ field: Input.fieldPath(at), message: unkeepableMessage }))
}

/** The endpoints' paths of the contract, as segments (`:name` for a path parameter). */
const contractPaths: ReadonlyArray<ReadonlyArray<string>> = Object.values((SubshiftApi as unknown as HttpApi.HttpApi.AnyWithProps).groups)
  .flatMap((group) => Object.values(group.endpoints).map((endpoint) => endpoint.path.split("/")))

/**
 * The text rule on a request's URL: a path parameter of a contract route or a query value that
 * decodes to NUL or a lone surrogate is an `InvalidInput` naming the parameter; `undefined` when
 * the URL holds none.
 */
export const unkeepableInUrl = (url: string): InvalidInput | undefined => {
  const mark = url.indexOf("?")
  const path = mark === -1 ? url : url.slice(0, mark)
  if (path.includes("%")) {
    const segments = path.split("/")
    for (const route of contractPaths) {
      if (route.length !== segments.length || !route.every((s, i) => s.startsWith(":") || s === segments[i])) continue
      for (let i = 0; i < route.length; i++) {
        if (route[i]!.startsWith(":") && unkeepable(decoded(segments[i]!))) {
          return new InvalidInput({ field: route[i]!.slice(1), message: unkeepableMessage })
        }
      }
    }
  }
  if (mark === -1) return undefined
  for (const [key, value] of new URLSearchParams(url.slice(mark + 1))) {
    if (unkeepable(key) || unkeepable(value)) return new InvalidInput({ field: unkeepable(key) ? "query" : key, message: unkeepableMessage })
  }
  return undefined
}

const decoded = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/**
 * Decodes unknown data with a schema as the contract does (a key the schema does not declare is
 * refused); a refusal is an `InvalidInput` naming the first field in the one path style.
 */
export const decoder = <A, I>(schema: Schema.Schema<A, I, never>) => {
  const decode = Schema.decodeUnknownEither(strict(schema), { errors: "first" })
  return (input: unknown): Either.Either<A, InvalidInput> => Either.mapLeft(decode(input), (e) => Input.toInvalidInput(e))
}

/** Whether a `Content-Type` is the one the API reads: `application/json`, optionally `charset=utf-8`, in any case. */
export const isJson = (type: string): boolean => /^application\/json[ \t]*(;[ \t]*charset[ \t]*=[ \t]*("utf-8"|utf-8)[ \t]*)?$/i.test(type)

/** The refusal of a body of another type. */
export const notJsonType = (type: string) =>
  new HttpErrors.MalformedRequest({ message: `the body must be application/json (charset utf-8), not ${type.slice(0, 80)}` })

/**
 * A header sent twice where the API reads one, as an `InvalidInput` naming it: the partner token,
 * or the basket cookie in more than one `Cookie` header. Refused rather than taking the first, so
 * that no proxy and server disagree on which one counts.
 */
export const repeatedHeader = (request: IncomingMessage): InvalidInput | undefined => {
  const headers = request.headersDistinct
  if ((headers[PARTNER_HEADER]?.length ?? 0) > 1) return new InvalidInput({ field: PARTNER_HEADER, message: "sent more than once" })
  const cookies = headers.cookie
  if (cookies !== undefined && cookies.length > 1 && cookies.filter((line) => BASKET_COOKIE.test(line)).length > 1) {
    return new InvalidInput({ field: "cookie", message: "the basket cookie is sent in more than one Cookie header" })
  }
  return undefined
}

/**
 * The client's address: walking `X-Forwarded-For` from the right, starting at the socket's peer,
 * the first hop that is not a trusted proxy. From an untrusted peer the header is ignored, so a
 * client cannot name its own address (`6.6.6.6, 127.0.0.1` from anyone but a proxy is the peer).
 */
export const clientAddress = (peer: string | undefined, forwarded: string | undefined, trusted: BlockList): string | undefined => {
  const hops = forwarded === undefined ? [] : forwarded.split(",").map((hop) => hop.trim()).filter((hop) => hop !== "")
  let address = peer
  while (address !== undefined && hops.length > 0 && isTrusted(address, trusted)) address = hops.pop()
  return address?.slice(0, 256)
}

const isTrusted = (address: string, trusted: BlockList): boolean => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
  const plain = mapped ?? address
  const family = isIP(plain)
  return family !== 0 && trusted.check(plain, family === 4 ? "ipv4" : "ipv6")
}

/**
 * The headers of every answer, set in this one place for every way a request comes in: no type
 * sniffing, no referrer, no framing; and no caching of the API's answers, which carry personal
 * data (baskets, subscriptions, orders, amendments). The page refines the policy with its own.
 */
export const answerHeaders = (url: string | undefined): Readonly<Record<string, string>> =>
  url !== undefined && url.startsWith("/api/") ? apiHeaders : baseHeaders

const baseHeaders = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "frame-ancestors 'none'"
}
const apiHeaders = { ...baseHeaders, "cache-control": "no-store" }

const PARTNER_HEADER = Security.PARTNER_TOKEN_HEADER.toLowerCase()
const BASKET_COOKIE = new RegExp(`(^|;)\\s*(${BasketCookie.NAME}|${BasketCookie.LEGACY_NAME})=`)

/** The `InvalidInput` of the first issue the platform reports for a request it could not decode. */
export const invalidIssue = (
  issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>,
  fallback: string
): InvalidInput => {
  const issue = issues[0]
  return new InvalidInput({ field: issue === undefined ? "body" : Input.fieldPath(issue.path), message: issue?.message ?? fallback })
}

/**
 * The answer the API gives for an error: the same search the platform does over the whole
 * contract (the first error schema whose type matches), so an answer is byte for byte the one the
 * platform would encode. `extra` adds schemas of the contract that no endpoint declares.
 * `undefined` for an error the contract does not declare.
 */
export const errorAnswers = (api: HttpApi.HttpApi.Any, extra: ReadonlyArray<Schema.Schema.Any> = []) => {
  const schemas = new Set<Schema.Schema.Any>()
  const withProps = api as unknown as HttpApi.HttpApi.AnyWithProps
  HttpApiSchema.deunionize(schemas, withProps.errorSchema)
  for (const group of Object.values(withProps.groups)) {
    for (const endpoint of Object.values(group.endpoints)) HttpApiSchema.deunionize(schemas, endpoint.errorSchema)
    HttpApiSchema.deunionize(schemas, group.errorSchema)
  }
  for (const schema of extra) schemas.add(schema)
  const members = Array.from(schemas, (schema) => ({
    is: Schema.is(schema),
    encode: Schema.encodeSync(schema as Schema.Schema<unknown, unknown>),
    status: HttpApiSchema.getStatusErrorAST(schema.ast)
  }))
  return (error: unknown): Answer | undefined => {
    const member = members.find((m) => m.is(error))
    return member === undefined ? undefined : { status: member.status, body: JSON.stringify(member.encode(error)), headers: {} }
  }
}

type Groups = typeof SubshiftApi extends HttpApi.HttpApi<infer _Id, infer G, infer _E, infer _R> ? G : never
type TopLevel = typeof SubshiftApi extends HttpApi.HttpApi<infer _Id, infer _G, infer E, infer _R> ? E : never

/** Every error the contract declares: each has an answer, so a route failing with another does not compile. */
export type ContractError =
  | TopLevel
  | HttpApiGroup.HttpApiGroup.Error<Groups>
  | HttpApiEndpoint.HttpApiEndpoint.Error<HttpApiGroup.HttpApiGroup.Endpoints<Groups>>
  | HttpErrors.MethodNotAllowed

/** The answer the contract gives for an error, or `undefined` for one it does not declare. */
export const contract = errorAnswers(SubshiftApi, [HttpErrors.NotAllowed])

/** The answer to an unexpected failure: a 500 without details (those are in the log). */
export const internal: Answer = contract(new HttpErrors.InternalError({ message: "an unexpected error occurred; it has been logged" }))!

/** The answer to an error of the contract, without `Retry-After` (see `answerFailure`). */
export const answerOf = (error: ContractError): Answer => contract(error) ?? internal

/** Seconds from `now` until the start (UTC) of `date`; at least 1. */
export const secondsUntil = (date: string, now: number): number =>
  Math.max(1, Math.ceil((Date.parse(`${date}T00:00:00.000Z`) - now) / 1000))

/**
 * The answer with the one `Retry-After` rule: a 423 (a pending change) is retried at the start of
 * its `pendingChangeDate`, counted from `now`. Applied when an answer is sent, so a replayed 423
 * counts from the time of the replay.
 */
export const withRetryAfter = (answer: Answer, now: number): Answer => {
  if (answer.status !== 423) return answer
  const date = (JSON.parse(answer.body) as { readonly pendingChangeDate?: unknown }).pendingChangeDate
  return typeof date === "string"
    ? { ...answer, headers: { ...answer.headers, "retry-after": String(secondsUntil(date, now)) } }
    : answer
}

/** The answer while the server listens but does not serve yet (its store is opening): retry in a second. */
export const starting: Answer = {
  ...answerOf(new StoreUnavailable({ message: "the server is starting; retry in a moment" })),
  headers: { "retry-after": "1" }
}

/** What the logs say of a request. */
export interface RequestLine {
  readonly method?: string | undefined
  readonly url?: string | undefined
  readonly headers?: Readonly<Record<string, string | ReadonlyArray<string> | undefined>> | undefined
}

/** The header that names a request, in the request, its answer and every log line about it. */
export const REQUEST_ID = "x-request-id"

const saneRequestId = /^[A-Za-z0-9._-]{1,64}$/

/** The id of a request: the client's own `x-request-id` when sane (1 to 64 of `A-Za-z0-9._-`), else a new one. */
export const requestId = (given: string | ReadonlyArray<string> | undefined): string =>
  typeof given === "string" && saneRequestId.test(given) ? given : randomUUID()

/**
 * Names a request as it arrives, before any route sees it: the id replaces the request's own
 * header (so every route reads the same one) and is set on the answer, whoever writes it.
 */
export const tagRequest = (request: IncomingMessage, response: ServerResponse): string => {
  const id = requestId(request.headers[REQUEST_ID])
  request.headers[REQUEST_ID] = id
  response.setHeader(REQUEST_ID, id)
  return id
}

/** Annotates every log line of `effect` with the id `tagRequest` gave the request. */
export const annotateRequest = (request: RequestLine) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const id = request.headers?.[REQUEST_ID]
  return typeof id === "string" ? Effect.annotateLogs(effect, "requestId", id) : effect
}

/** Logs an unexpected failure: its cause goes to the log, never to the client. */
const logUnexpected = (request: RequestLine, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  Effect.logError("unexpected failure", { method: request.method, url: request.url, cause: Cause.pretty(cause) }).pipe(annotateRequest(request))

/** The log entry of a request that took `slowMs` or more since `started`, by path; `undefined` for a request in time. */
export const slowLog = (request: RequestLine, started: number, slowMs: number): Effect.Effect<void> | undefined => {
  const ms = Date.now() - started
  // Slow requests are rare: only they pay for a log entry.
  return ms >= slowMs
    ? Effect.logWarning("slow request", { method: request.method, url: request.url?.split("?")[0], ms }).pipe(annotateRequest(request))
    : undefined
}

/**
 * The answer to a request that failed: an error the contract declares gets its answer (with
 * `Retry-After` on a 423, on the Effect clock); anything else, a defect included, is logged and
 * answered 500 without details.
 */
export const answerFailure = (cause: Cause.Cause<unknown>, request: RequestLine): Effect.Effect<Answer> => {
  const failure = Cause.failureOption(cause)
  const answer = Option.isSome(failure) ? contract(failure.value) : undefined
  if (answer !== undefined) {
    return answer.status === 423 ? Effect.map(Clock.currentTimeMillis, (now) => withRetryAfter(answer, now)) : Effect.succeed(answer)
  }
  return Cause.isInterruptedOnly(cause) ? Effect.succeed(internal) : Effect.as(logUnexpected(request, cause), internal)
}

/** The platform's response of an answer. */
export const response = (answer: Answer, headers: Readonly<Record<string, string>> = {}): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(answer.body, {
    status: answer.status,
    contentType: "application/json",
    headers: { ...answer.headers, ...headers }
  })

/** Writes an answer on Node's response, with `headers` added. */
export const send = (to: ServerResponse, answer: Answer, headers: Readonly<Record<string, string>> = {}): void => {
  to.writeHead(answer.status, {
    ...headers,
    ...answer.headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(answer.body)
  })
  to.end(answer.body)
}

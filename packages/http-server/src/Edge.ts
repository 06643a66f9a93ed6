/**
 * The transport edge: what every HTTP route shares between Node's socket and the handlers,
 * whichever way a request comes in (the general router, the fast path, the change-plan page,
 * Node's own refusals, the answer while the server starts). One JSON parser with the depth limit;
 * one field-path style for `InvalidInput` (`@subshift/core/Input`'s: `offerings[1].items[0].productId`);
 * error answers derived from the contract's error schemas and statuses only; one `Retry-After`;
 * one log of unexpected failures and slow requests.
 */
import type * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { InvalidInput, StoreUnavailable } from "@subshift/core/Errors"
import type * as Idempotency from "@subshift/core/Idempotency"
import * as Input from "@subshift/core/Input"
import { SubshiftApi } from "@subshift/http-api/Api"
import * as HttpErrors from "@subshift/http-api/HttpErrors"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { ServerResponse } from "node:http"

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

/** The one JSON parser of request bodies: the depth limit, then `JSON.parse`; an empty body is `null`. */
export const parseJson = (text: string): Either.Either<unknown, HttpErrors.MalformedRequest> => {
  if (exceedsDepth(text)) return Either.left(tooDeep)
  if (text === "") return Either.right(null)
  try {
    return Either.right(JSON.parse(text))
  } catch {
    return Either.left(notJson)
  }
}

/** Decodes unknown data with a schema; a refusal is an `InvalidInput` naming the first field in the one path style. */
export const decoder = <A, I>(schema: Schema.Schema<A, I, never>) => Input.decode(schema)

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

const contract = errorAnswers(SubshiftApi, [HttpErrors.NotAllowed])

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
}

/** Logs an unexpected failure: its cause goes to the log, never to the client. */
const logUnexpected = (request: RequestLine, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  Effect.logError("unexpected failure", { method: request.method, url: request.url, cause: Cause.pretty(cause) })

/** The log entry of a request that took `slowMs` or more since `started`, by path; `undefined` for a request in time. */
export const slowLog = (request: RequestLine, started: number, slowMs: number): Effect.Effect<void> | undefined => {
  const ms = Date.now() - started
  // Slow requests are rare: only they pay for a log entry.
  return ms >= slowMs ? Effect.logWarning("slow request", { method: request.method, url: request.url?.split("?")[0], ms }) : undefined
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

/**
 * How every failure travels over HTTP: the status of each core error (one table, checked by the
 * compiler), the JSON envelopes (`{ error: { code, message, details? } }` for the checkout API,
 * `{ operation, error: { errorCode, details, context? } }` for the amend API), and the few errors
 * that only exist at the transport (malformed body, body too large, unknown route…).
 *
 * Each error is encoded by one schema object shared by every endpoint, because the server encodes
 * a failure with the first schema of the whole API whose type matches it.
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as CoreErrors from "@subshift/core/domain/Errors"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** The body was not JSON, or not of a content type the endpoint reads. */
export class MalformedRequest extends Schema.TaggedError<MalformedRequest>()("MalformedRequest", {
  message: Schema.String
}) {}

/** The body is larger than the configured limit. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  limit: Schema.Int
}) {
  override get message() {
    return `the request body is larger than ${this.limit} bytes`
  }
}

/** No route answers this method and path. */
export class RouteNotFound extends Schema.TaggedError<RouteNotFound>()("RouteNotFound", {
  method: Schema.String,
  path: Schema.String
}) {
  override get message() {
    return `no endpoint ${this.method} ${this.path}`
  }
}

/** The path exists but does not answer this method (the change-plan page's files answer GET and HEAD only). */
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()("MethodNotAllowed", {
  message: Schema.String
}) {}

/** The request carries no valid basket cookie (missing, unsigned or tampered) and no checkout id. */
export class NoBasket extends Schema.TaggedError<NoBasket>()("NoBasket", {
  message: Schema.String
}) {}

/** Something failed on the server's side; the details are in the server's log, never in the response. */
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  message: Schema.String
}) {}

/** The checkout error envelope, as it travels. */
export interface Envelope {
  readonly error: { readonly code: string; readonly message: string; readonly details?: unknown }
  readonly pendingChangeDate?: string
}

interface ErrorClass<Self> {
  new(props: any): Self
  readonly _tag: string
  readonly fields: Schema.Struct.Fields
}

/**
 * The envelope schema of an error class: `{ error: { code: <_tag>, message, details } }` where
 * `details` holds the class's fields, decoded back into an instance of the class by the client.
 * `lift` copies some details to the top level (`pendingChangeDate` of a 423, as the guide reads it).
 */
export const envelope = <Self extends { readonly _tag: string; readonly message: string }>(
  Class: ErrorClass<Self>,
  status: number,
  description: string,
  lift: ReadonlyArray<string> = []
): Schema.Schema<Self, Envelope> => {
  const tag = Class._tag
  const { _tag: _, message: messageField, ...rest } = Class.fields
  const keys = Object.keys(rest)
  const liftedFields: Record<string, Schema.Schema.Any> = {}
  for (const key of lift) liftedFields[key] = Schema.String
  const Body = Schema.Struct({
    error: Schema.Struct({
      code: Schema.Literal(tag),
      message: Schema.String,
      ...(keys.length > 0 ? { details: Schema.Struct(rest) } : {})
    }),
    ...liftedFields
  }).annotations({ identifier: `${tag}Error`, description })
  const Instance = Schema.declare((u: unknown): u is Self => u instanceof Class, { identifier: tag })
  const schema = Schema.transformOrFail(Body, Instance, {
    strict: false,
    decode: (body: any, _, ast) =>
      ParseResult.try({
        try: () =>
          new Class({ ...(body.error.details ?? {}), ...(messageField === undefined ? {} : { message: body.error.message }) }),
        catch: (e) => new ParseResult.Type(ast, body, String(e))
      }),
    encode: (error: any) => {
      const details: Record<string, unknown> = {}
      for (const key of keys) if (error[key] !== undefined) details[key] = error[key]
      const lifted: Record<string, unknown> = {}
      for (const key of lift) lifted[key] = error[key]
      return ParseResult.succeed({
        error: { code: tag, message: error.message, ...(keys.length > 0 ? { details } : {}) },
        ...lifted
      })
    }
  }).annotations(HttpApiSchema.annotations({ status }))
  return schema as unknown as Schema.Schema<Self, Envelope>
}

/** 400: a field of the body, path, query or headers is invalid; `details.field` names it. */
export const InvalidInput = envelope(CoreErrors.InvalidInput, 400, "A field of the request is invalid.")
/** 400: the body is not JSON or not of a content type the endpoint reads. */
export const Malformed = envelope(MalformedRequest, 400, "The request body could not be read.")
/**
 * 422: the change is well-formed but breaks a basket rule (an offer that is not a configured path,
 * an incompatible add-on, two offer adds…); the basket is left as it was.
 */
export const BasketRejected = envelope(CoreErrors.BasketRejected, 422, "The basket update breaks a rule; nothing changed.")
/** 401: credentials are missing, expired or invalid. */
export const Unauthenticated = envelope(CoreErrors.Unauthenticated, 401, "Credentials are missing or invalid.")
/** 403: the caller is known but may not use this endpoint (scope), or failed the bot check. */
export const Forbidden = envelope(CoreErrors.Forbidden, 403, "The caller may not do this.")
/** 404: the subscription does not exist or is not the caller's (never told apart). */
export const SubscriptionNotFound = envelope(CoreErrors.SubscriptionNotFound, 404, "No such subscription for this caller.")
/** 404: the basket does not exist or is not the caller's. */
export const BasketNotFound = envelope(CoreErrors.BasketNotFound, 404, "No such basket for this caller.")
/** 404: no basket cookie (or a tampered one) and no checkout id. */
export const MissingBasket = envelope(NoBasket, 404, "The request names no basket.")
/** 404: no such endpoint. */
export const NotFound = envelope(RouteNotFound, 404, "No such endpoint.")
/**
 * 405: the path answers other methods. Not an error of any API endpoint (the router answers an
 * unknown method with 404), only of the routes served in front of it, so it is not in the API.
 */
export const NotAllowed = envelope(MethodNotAllowed, 405, "The path does not answer this method.")
/** 409: the `If-Match` version (or a concurrent writer) no longer matches. */
export const VersionConflict = envelope(CoreErrors.VersionConflict, 409, "The object changed since it was read.")
/** 409: the basket was committed and is read-only. */
export const BasketCompleted = envelope(CoreErrors.BasketCompleted, 409, "The basket is completed.")
/** 409: the subscription is not active. */
export const SubscriptionInactive = envelope(CoreErrors.SubscriptionInactive, 409, "The subscription is not active.")
/** 409: there is no scheduled change to withdraw (none, withdrawn already, or in effect: `details.appliedOn`). */
export const NoPendingChange = envelope(
  CoreErrors.NoPendingChange,
  409,
  "The subscription has no scheduled change to withdraw: none was scheduled, it was withdrawn, or it has taken effect."
)
/** 410: the basket is past its expiry. */
export const BasketExpired = envelope(CoreErrors.BasketExpired, 410, "The basket expired.")
/** 413: the body is over the limit. */
export const TooLarge = envelope(PayloadTooLarge, 413, "The request body is too large.")
/** 409: the basket's quote no longer holds (`details.reason`: `catalog_changed`, `period_changed`); nothing was charged. */
export const QuoteChanged = envelope(
  CoreErrors.QuoteChanged,
  409,
  "The catalog or the billing period changed since the basket was priced; nothing was charged. Update the basket to see the new quote."
)
/** 422: the `Idempotency-Key` was first used with a different request. */
export const IdempotencyKeyMismatch = envelope(
  CoreErrors.IdempotencyKeyMismatch,
  422,
  "The Idempotency-Key was first used with a different request (method, path, body, If-Match or basket)."
)
/** 409: the first request with this `Idempotency-Key` is still running; retry shortly. */
export const IdempotencyKeyInFlight = envelope(
  CoreErrors.IdempotencyKeyInFlight,
  409,
  "A request with this Idempotency-Key is still being processed; retry shortly."
)
/** 423: the subscription has a pending change; `pendingChangeDate` says until when (also in `Retry-After`). */
export const SubscriptionLocked = envelope(
  CoreErrors.SubscriptionLocked,
  423,
  "The subscription has a pending change and is locked until pendingChangeDate.",
  ["pendingChangeDate"]
)
/** 500: an unexpected server fault; never carries a stack trace. */
export const Internal = envelope(InternalError, 500, "Unexpected server error.")
/** 502: the pricing backend could not price the change. */
export const PricingFailed = envelope(CoreErrors.PricingFailed, 502, "The pricing backend failed.")
/** 503: the store could not be reached; safe to retry. */
export const StoreUnavailable = envelope(CoreErrors.StoreUnavailable, 503, "The store is unavailable; retry later.")
/** 503: the bot check service could not be reached. */
export const BotCheckUnavailable = envelope(CoreErrors.BotCheckUnavailable, 503, "The bot check is unavailable; retry later.")

/** The statuses an amend error code may take. */
export type AmendStatus = 400 | 404 | 409

/**
 * The HTTP status of each amend error code. Request faults are 400, an unknown (or someone else's)
 * bill group 404, and states that forbid the change, including a concurrent amendment, 409. The
 * core raises the two `*_FAILURE` codes only for such states, never for a server fault (those are
 * `StoreUnavailable`, 503).
 */
export const amendStatus: Readonly<Record<CoreErrors.AmendErrorCode, AmendStatus>> = {
  INVALID_OFFERINGS: 400,
  INVALID_RATES: 400,
  ACCOUNT_RATE_MISMATCH: 400,
  INVALID_SUBSCRIPTION_TIMING: 400,
  INVALID_BILL_GROUP_SUBSCRIPTIONS: 400,
  INVALID_BILL_GROUP: 404,
  NO_ACTIVE_BILL_GROUP_CONTRACT: 409,
  SUBSCRIPTION_UPDATE_FAILURE: 409,
  AMENDMENT_FAILURE: 409
}

/** The operation name the amend envelope carries. */
export const AMEND_OPERATION = "amendSubscriptions"

/** The amend error envelope, as it travels. */
export interface AmendEnvelope {
  readonly operation: string
  readonly error: { readonly errorCode: string; readonly details: string; readonly context?: unknown }
}

const amendEnvelope = (status: AmendStatus): Schema.Schema<CoreErrors.AmendRejected, AmendEnvelope> => {
  const codes = (Object.keys(amendStatus) as Array<CoreErrors.AmendErrorCode>).filter((c) => amendStatus[c] === status)
  const Body = Schema.Struct({
    operation: Schema.Literal(AMEND_OPERATION),
    error: Schema.Struct({
      errorCode: Schema.Literal(...codes),
      details: Schema.String,
      context: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
    })
  }).annotations({ identifier: `AmendError${status}` })
  const Instance = Schema.declare(
    (u: unknown): u is CoreErrors.AmendRejected =>
      u instanceof CoreErrors.AmendRejected && amendStatus[u.errorCode] === status,
    { identifier: `AmendRejected${status}` }
  )
  return Schema.transformOrFail(Body, Instance, {
    strict: false,
    decode: (body, _, ast) =>
      ParseResult.try({
        try: () =>
          new CoreErrors.AmendRejected({
            errorCode: body.error.errorCode,
            details: body.error.details,
            ...(body.error.context === undefined ? {} : { context: body.error.context })
          }),
        catch: (e) => new ParseResult.Type(ast, body, String(e))
      }),
    encode: (e) =>
      ParseResult.succeed({
        operation: AMEND_OPERATION,
        error: {
          errorCode: e.errorCode as any,
          details: e.details,
          ...(e.context === undefined ? {} : { context: e.context })
        }
      })
  }).annotations(HttpApiSchema.annotations({ status })) as unknown as Schema.Schema<CoreErrors.AmendRejected, AmendEnvelope>
}

/** Amend rejections that are the request's fault (400). */
export const AmendBadRequest = amendEnvelope(400)
/** Amend rejections for an unknown bill group (404). */
export const AmendNotFound = amendEnvelope(404)
/** Amend rejections for a bill group or subscription in a state that forbids the change (409). */
export const AmendConflict = amendEnvelope(409)

/** The amend error codes of the idempotency failures, with their statuses. */
export const amendIdempotencyStatus = {
  IDEMPOTENCY_KEY_MISMATCH: 422,
  IDEMPOTENCY_KEY_IN_FLIGHT: 409
} as const

/** An amend error code of an idempotency failure. */
export type AmendIdempotencyCode = keyof typeof amendIdempotencyStatus

/**
 * An idempotency failure of the amend API. The core's `IdempotencyKeyMismatch` and
 * `IdempotencyKeyInFlight` travel in the checkout envelope on the order endpoints; the amend API
 * answers every error in its own envelope, and a class has one encoding across the whole API, so
 * the amend endpoint carries them as this class.
 */
export class AmendIdempotencyRejected extends Schema.TaggedError<AmendIdempotencyRejected>()("AmendIdempotencyRejected", {
  errorCode: Schema.Literal("IDEMPOTENCY_KEY_MISMATCH", "IDEMPOTENCY_KEY_IN_FLIGHT"),
  key: Schema.String,
  details: Schema.String
}) {
  override get message() {
    return this.details
  }
}

/** The amend form of a core idempotency failure. */
export const amendIdempotencyRejected = (
  error: CoreErrors.IdempotencyKeyMismatch | CoreErrors.IdempotencyKeyInFlight
): AmendIdempotencyRejected =>
  new AmendIdempotencyRejected({
    errorCode: error._tag === "IdempotencyKeyMismatch" ? "IDEMPOTENCY_KEY_MISMATCH" : "IDEMPOTENCY_KEY_IN_FLIGHT",
    key: error.key,
    details: error.message
  })

const amendIdempotencyEnvelope = <const C extends AmendIdempotencyCode>(
  code: C,
  description: string
): Schema.Schema<AmendIdempotencyRejected, AmendEnvelope> => {
  const Body = Schema.Struct({
    operation: Schema.Literal(AMEND_OPERATION),
    error: Schema.Struct({
      errorCode: Schema.Literal(code),
      details: Schema.String,
      context: Schema.Struct({ key: Schema.String })
    })
  }).annotations({ identifier: `AmendError${code}`, description })
  const Instance = Schema.declare(
    (u: unknown): u is AmendIdempotencyRejected => u instanceof AmendIdempotencyRejected && u.errorCode === code,
    { identifier: `AmendIdempotencyRejected${amendIdempotencyStatus[code]}` }
  )
  return Schema.transformOrFail(Body, Instance, {
    strict: false,
    decode: (body) =>
      ParseResult.succeed(new AmendIdempotencyRejected({ errorCode: code, key: body.error.context.key, details: body.error.details })),
    encode: (e) =>
      ParseResult.succeed({ operation: AMEND_OPERATION, error: { errorCode: code, details: e.details, context: { key: e.key } } })
  }).annotations(HttpApiSchema.annotations({ status: amendIdempotencyStatus[code] })) as unknown as Schema.Schema<
    AmendIdempotencyRejected,
    AmendEnvelope
  >
}

/** Amend with an `Idempotency-Key` first used with a different request (422, `IDEMPOTENCY_KEY_MISMATCH`). */
export const AmendIdempotencyMismatch = amendIdempotencyEnvelope(
  "IDEMPOTENCY_KEY_MISMATCH",
  "The Idempotency-Key was first used with a different amend request."
)
/** Amend with an `Idempotency-Key` whose first request is still running (409, `IDEMPOTENCY_KEY_IN_FLIGHT`). */
export const AmendIdempotencyInFlight = amendIdempotencyEnvelope(
  "IDEMPOTENCY_KEY_IN_FLIGHT",
  "An amend request with this Idempotency-Key is still being processed; retry shortly."
)

/** Authentication failures any protected endpoint may answer. */
export const AuthFailure = Schema.Union(Unauthenticated, Forbidden)

/**
 * Idempotent commits over the core's `Idempotency` port, so they work on every store: a request
 * sent with an `Idempotency-Key` claims the key for its caller with a hash of the request; the
 * first answer (a success, or a 4xx error) is stored as it travelled and replayed, marked
 * `idempotent-replayed: true`, for the same key and caller for `RETENTION_HOURS`. The same key
 * with another request is a 422, and a second request while the first runs is a 409. A 5xx, a
 * defect or an interruption releases the claim, so a retry runs the request again.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { IdempotencyKeyInFlight, IdempotencyKeyMismatch, type StoreUnavailable } from "@subshift/core/domain/Errors"
import * as Idempotency from "@subshift/core/ports/Idempotency"
import * as Instant from "@subshift/core/domain/Instant"
import { REPLAYED_HEADER } from "@subshift/http-api/Wire"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { createHash } from "node:crypto"
import * as Edge from "./Edge.js"

/** An answer as it travels: status, JSON body and the headers worth replaying. */
export type Answer = Edge.Answer

/** What a key is bound to: the request's hash is kept, never the request. */
export interface Fingerprint {
  readonly method: string
  readonly path: string
  /** The caller, e.g. `customer:cus-alice`. */
  readonly owner: string
  /** The decoded body. */
  readonly body: unknown
  readonly ifMatch?: string | undefined
  /** What else the request acts on, such as the basket its cookie names. */
  readonly target?: string | undefined
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v
    const sorted: Record<string, unknown> = {}
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key]
    return sorted
  }) ?? "null"

/** The SHA-256 of a request's fingerprint. */
export const requestHash = (fingerprint: Fingerprint): string =>
  createHash("sha256")
    .update(canonicalJson([
      fingerprint.method.toUpperCase(),
      fingerprint.path,
      fingerprint.owner,
      fingerprint.body ?? null,
      fingerprint.ifMatch?.trim() ?? null,
      fingerprint.target ?? null
    ]))
    .digest("hex")


/** The response of an answer; a replay is marked as one. */
export const respond = (answer: Answer, replayed = false): HttpServerResponse.HttpServerResponse =>
  Edge.response(answer, replayed ? { [REPLAYED_HEADER]: "true" } : {})

/** How one request is made idempotent. */
export interface Options<E> {
  /** The operation the key protects, e.g. `order`. */
  readonly scope: string
  /** The `Idempotency-Key`; without one the request simply runs. */
  readonly key: string | undefined
  readonly fingerprint: Fingerprint
  /** The answer the API gives for a failure of the request. */
  readonly encodeError: (error: E) => Answer | undefined
}

/** The runner of idempotent requests over the store's `Idempotency` port. */
export const make = Effect.gen(function*() {
  const port = yield* Idempotency.Idempotency

  const forget = (what: string, effect: Effect.Effect<void, StoreUnavailable>) =>
    Effect.catchAll(effect, (error) => Effect.logWarning(`the idempotency record could not be ${what}`, { error: error.message }))

  const settle = <E>(key: Idempotency.Key, options: Options<E>, exit: Exit.Exit<Answer, E>) => {
    if (Exit.isSuccess(exit)) return Effect.as(forget("stored", port.complete(key, exit.value)), respond(exit.value))
    const failure = Cause.failureOption(exit.cause)
    const answer = Option.isSome(failure) && !Cause.isDie(exit.cause) && !Cause.isInterrupted(exit.cause)
      ? options.encodeError(failure.value)
      : undefined
    // A 5xx says nothing about the request, only about the server at that moment: a retry runs again.
    const keep = answer !== undefined && answer.status < 500
    return Effect.zipRight(
      keep ? forget("stored", port.complete(key, answer)) : forget("released", port.release(key)),
      Effect.failCause(exit.cause)
    )
  }

  /**
   * Runs a request under its key. The request runs to its end even if the client goes away, so
   * that the client's retry finds the stored answer rather than a half-known outcome.
   */
  const run = <E, R>(
    options: Options<E>,
    request: Effect.Effect<Answer, E, R>
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E | IdempotencyKeyMismatch | IdempotencyKeyInFlight | StoreUnavailable, R> => {
    const text = options.key
    if (text === undefined) return Effect.map(request, (answer) => respond(answer))
    const key: Idempotency.Key = { scope: options.scope, owner: options.fingerprint.owner, key: text }
    return Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const claim = yield* port.claim(key, {
        requestHash: requestHash(options.fingerprint),
        now: Instant.fromEpochMillis(now),
        expiresAt: Instant.fromEpochMillis(now + Idempotency.RETENTION_HOURS * 3_600_000),
        staleBefore: Instant.fromEpochMillis(now - Idempotency.STALE_AFTER_SECONDS * 1000)
      })
      switch (claim._tag) {
        case "Replay":
          // Stored without it: a replayed 423's Retry-After counts from now, as a fresh one's would.
          return respond(Edge.withRetryAfter(claim.result, now), true)
        case "Mismatch":
          return yield* new IdempotencyKeyMismatch({ key: text })
        case "Running":
          return yield* new IdempotencyKeyInFlight({ key: text })
        case "Claimed":
          return yield* Effect.flatMap(Effect.exit(request), (exit) => settle(key, options, exit))
      }
    }).pipe(Effect.uninterruptible)
  }

  return { run } as const
})

/**
 * The `Idempotency` port: the first result of a request sent with an `Idempotency-Key` is kept
 * with a hash of the request and replayed for the same key and caller, so a retried commit never
 * applies twice.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { StoreUnavailable } from "../domain/Errors.js"
import type { Instant } from "../domain/Instant.js"

/** How long a result is kept. */
export const RETENTION_HOURS = 24

/** A running claim older than this is taken to be abandoned (its process died) and may be taken over. */
export const STALE_AFTER_SECONDS = 120

/** The longest key accepted. */
export const MAX_KEY_LENGTH = 255

/** A key, scoped to what it protects and to the caller that sent it. */
export interface Key {
  /** The operation, e.g. `order` or `amend`. */
  readonly scope: string
  /** The caller, e.g. `customer:cus-alice`. */
  readonly owner: string
  readonly key: string
}

/** A stored result: what the transport answered. */
export interface StoredResult {
  readonly status: number
  readonly body: string
  readonly headers: Readonly<Record<string, string>>
}

/** The outcome of claiming a key. */
export type Claim =
  | { readonly _tag: "Claimed" }
  | { readonly _tag: "Running" }
  | { readonly _tag: "Mismatch" }
  | { readonly _tag: "Replay"; readonly result: StoredResult }

/** What claiming needs to know. */
export interface ClaimRequest {
  readonly requestHash: string
  readonly now: Instant
  /** When the record may be forgotten. */
  readonly expiresAt: Instant
  /** A running claim started before this is taken over. */
  readonly staleBefore: Instant
}

/** The idempotency port. */
export class Idempotency extends Context.Tag("@subshift/core/Idempotency")<
  Idempotency,
  {
    /**
     * Claims a key for a request: `Claimed` when the caller should run it (a new key, an expired
     * record or an abandoned claim), else what the first request left.
     */
    readonly claim: (key: Key, request: ClaimRequest) => Effect.Effect<Claim, StoreUnavailable>
    /** Stores the result of a claimed request. */
    readonly complete: (key: Key, result: StoredResult) => Effect.Effect<void, StoreUnavailable>
    /** Forgets a claim whose request could not produce a result (a defect, an interruption). */
    readonly release: (key: Key) => Effect.Effect<void, StoreUnavailable>
    /** Deletes the records that expired before `now`; answers how many. */
    readonly sweep: (now: Instant) => Effect.Effect<number, StoreUnavailable>
  }
>() {}

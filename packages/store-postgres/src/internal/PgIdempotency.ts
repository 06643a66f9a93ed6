/** The `Idempotency` port: one row per key, its result stored as JSON once the request completes. */
import type { SqlError } from "@effect/sql/SqlError"
import * as Idempotency from "@subshift/core/ports/Idempotency"
import * as Effect from "effect/Effect"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { PortContext } from "./Edge.js"
import { decoder, encodeJson } from "./Rows.js"

const StoredResult = Schema.Struct({
  status: Schema.Int,
  body: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.String })
})
const encodeStoredResult = encodeJson(StoredResult)
const decodeStoredResult = decoder(StoredResult)

/** Builds the `Idempotency` port. */
export const make = ({ edge, sql }: PortContext) => {
  // Inserts a new record, or takes over one that expired or whose request was abandoned; answers
  // a row only when the caller now holds the key. Concurrent claimers of one key queue on its
  // index entry and re-check the condition on the row the winner left, so exactly one gets a row.
  const takeKey = (key: Idempotency.Key, request: Idempotency.ClaimRequest) =>
    sql`INSERT INTO subshift_idempotency (scope, owner, key, request_hash, started_at, expires_at)
      VALUES (${key.scope}, ${key.owner}, ${key.key}, ${request.requestHash},
        ${request.now}::timestamptz, ${request.expiresAt}::timestamptz)
      ON CONFLICT (scope, owner, key) DO UPDATE SET request_hash = excluded.request_hash,
        started_at = excluded.started_at, expires_at = excluded.expires_at, result = NULL
      WHERE subshift_idempotency.expires_at <= ${request.now}::timestamptz
        OR (subshift_idempotency.result IS NULL AND subshift_idempotency.started_at < ${request.staleBefore}::timestamptz)
      RETURNING 1 AS claimed`.withoutTransform

  const keyRecord = (key: Idempotency.Key) =>
    sql<{ readonly request_hash: string; readonly result: string | null }>`SELECT request_hash, result::text AS result
      FROM subshift_idempotency WHERE scope = ${key.scope} AND owner = ${key.owner} AND key = ${key.key}`.withoutTransform

  // The record is read in a statement of its own, whose snapshot includes the claim that beat
  // this one; when it was released or swept in between, the key is free and claimed again.
  const claim = (
    key: Idempotency.Key,
    request: Idempotency.ClaimRequest
  ): Effect.Effect<Idempotency.Claim, SqlError | ParseResult.ParseError> =>
    Effect.flatMap(takeKey(key, request), (taken) => {
      if (taken.length > 0) return Effect.succeed<Idempotency.Claim>({ _tag: "Claimed" })
      return Effect.flatMap(keyRecord(key), (rows): Effect.Effect<Idempotency.Claim, SqlError | ParseResult.ParseError> => {
        const record = rows[0]
        if (record === undefined) return claim(key, request)
        if (record.request_hash !== request.requestHash) return Effect.succeed({ _tag: "Mismatch" })
        if (record.result === null) return Effect.succeed({ _tag: "Running" })
        return Effect.map(decodeStoredResult(record.result), (result) => ({ _tag: "Replay", result }))
      })
    })

  return Idempotency.Idempotency.of({
    claim: (key, request) => claim(key, request).pipe(edge("Idempotency.claim")),
    complete: (key, result) =>
      encodeStoredResult(result).pipe(
        Effect.flatMap((json) =>
          sql`UPDATE subshift_idempotency SET result = ${json}::jsonb
            WHERE scope = ${key.scope} AND owner = ${key.owner} AND key = ${key.key}`.withoutTransform
        ),
        Effect.asVoid,
        edge("Idempotency.complete")
      ),
    release: (key) =>
      sql`DELETE FROM subshift_idempotency
        WHERE scope = ${key.scope} AND owner = ${key.owner} AND key = ${key.key} AND result IS NULL`.withoutTransform.pipe(
        Effect.asVoid,
        edge("Idempotency.release")
      ),
    sweep: (now) =>
      sql<{ readonly deleted: number }>`WITH d AS (
          DELETE FROM subshift_idempotency WHERE expires_at <= ${now}::timestamptz RETURNING 1
        )
        SELECT count(*)::int AS deleted FROM d`.withoutTransform.pipe(
        Effect.map((rows) => rows[0]?.deleted ?? 0),
        edge("Idempotency.sweep")
      )
  })
}

/**
 * The audit of operator writes: every admin handler that changes something calls `record` after
 * the write, naming what it did and to what; the entry names the request's key (its name and id,
 * never the secret) and the reason given in `X-Subshift-Reason`. `actor` gives the same key and
 * reason for the events a write records in its own transaction.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { InvalidInput } from "@subshift/core/domain/Errors"
import * as Instant from "@subshift/core/domain/Instant"
import { CurrentOperator } from "@subshift/core/domain/Operator"
import { AuditLog } from "@subshift/core/ports/AuditLog"
import { Ids } from "@subshift/core/ports/Ids"
import { REASON_HEADER } from "@subshift/http-api/AdminSecurity"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

const HEADER = REASON_HEADER.toLowerCase()
const MAX_REASON = 500

/** The reason the request gives, if any: at most 500 characters of printable text. */
export const reason: Effect.Effect<string | undefined, InvalidInput, HttpServerRequest.HttpServerRequest> = Effect.flatMap(
  HttpServerRequest.HttpServerRequest,
  (request) => {
    const value = request.headers[HEADER]?.trim()
    if (value === undefined || value === "") return Effect.succeed(undefined)
    if (value.length > MAX_REASON || /[\u0000-\u001f\u007f]/.test(value)) {
      return Effect.fail(new InvalidInput({ field: HEADER, message: `a reason is at most ${MAX_REASON} printable characters` }))
    }
    return Effect.succeed(value)
  }
)

/** The key and reason of the current admin request, as events and audit entries name them. */
export const actor = Effect.all({ operator: CurrentOperator, reason })

/** Records an operator write in the audit log. */
export const record = (action: string, target: string, outcome?: string) =>
  Effect.gen(function*() {
    const { operator, reason: given } = yield* actor
    const audit = yield* AuditLog
    const id = yield* Effect.flatMap(Ids, (ids) => ids.eventId)
    const now = yield* Clock.currentTimeMillis
    yield* audit.record({
      id: id.replace(/^evt-/, "aud-"),
      occurredAt: Instant.fromEpochMillis(now),
      key: { id: operator.keyId, name: operator.name },
      action,
      target,
      ...(given === undefined ? {} : { reason: given }),
      ...(outcome === undefined ? {} : { outcome })
    })
  })

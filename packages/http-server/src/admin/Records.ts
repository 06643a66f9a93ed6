/**
 * The operator's records: subscription and bill group upserts (`ETag` = version; 201 when
 * created, 200 when replaced or unchanged), a subscription's detail and the scheduled changes.
 * A write that changed something leaves an audit entry.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { InvalidInput } from "@subshift/core/domain/Errors"
import { OperatorRecords, type Outcome } from "@subshift/core/usecases/OperatorRecords"
import { PendingChanges } from "@subshift/core/usecases/PendingChanges"
import { SubshiftApi } from "@subshift/http-api/Api"
import * as Effect from "effect/Effect"
import * as Audit from "./Audit.js"
import * as Import from "./Import.js"

/** `"3"`, `W/"3"` or `3` → 3; absent → undefined. */
export const parseVersion = (value: string | undefined): Effect.Effect<number | undefined, InvalidInput> => {
  if (value === undefined) return Effect.succeed(undefined)
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(value)
  return match === null
    ? Effect.fail(new InvalidInput({ field: "if-match", message: "If-Match is the record's version, as its ETag gives it" }))
    : Effect.succeed(Number(match[1]))
}

/** The author of a write: the operator's key as the event's actor, and their reason. */
export const author = Effect.map(Audit.actor, ({ operator, reason }) => ({
  actor: { kind: "operator" as const, id: operator.keyId, name: operator.name },
  reason
}))

const answer = (body: { readonly version: number }, outcome: Outcome) =>
  HttpServerResponse.unsafeJson(body, { status: outcome === "created" ? 201 : 200, headers: { etag: `"${body.version}"` } })

/** The handlers of `adminRecords`. */
export const RecordsLive = HttpApiBuilder.group(SubshiftApi, "adminRecords", (handlers) =>
  Effect.map(Effect.all([OperatorRecords, PendingChanges]), ([records, pendingChanges]) =>
    handlers
      .handle("putSubscription", ({ headers, path, payload }) =>
        Effect.gen(function*() {
          const ifMatch = yield* parseVersion(headers["if-match"])
          const result = yield* records.putSubscription(payload, { id: path.id, ifMatch, requireIfMatch: true }, yield* author)
          if (result.outcome !== "unchanged") yield* Audit.record("subscription.put", path.id, result.outcome)
          return answer(result.subscription, result.outcome)
        }))
      .handle("getSubscription", ({ path }) =>
        Effect.map(records.detail(path.id), (detail) =>
          HttpServerResponse.unsafeJson(
            { ...detail, pendingChange: detail.subscription.pendingChange ?? null },
            { headers: { etag: `"${detail.subscription.version}"` } }
          )))
      .handle("putBillGroup", ({ headers, path, payload }) =>
        Effect.gen(function*() {
          const ifMatch = yield* parseVersion(headers["if-match"])
          const result = yield* records.putBillGroup(payload, { id: path.id, ifMatch, requireIfMatch: true })
          if (result.outcome !== "unchanged") yield* Audit.record("bill_group.put", path.id, result.outcome)
          return answer(result.billGroup, result.outcome)
        }))
      .handle("importSubscriptions", ({ request }) => Import.handle(request))
      .handle("withdrawPendingChange", ({ path }) =>
        Effect.gen(function*() {
          const { operator, reason } = yield* Audit.actor
          const done = yield* pendingChanges.withdraw(path.id, { by: operator, reason })
          yield* Audit.record("pending_change.withdraw", path.id, done.withdrawn.amendmentId)
          return done
        }))
      .handle("listPending", ({ urlParams }) =>
        Effect.map(
          records.listPending({ dueBefore: urlParams.dueBefore, queryMore: urlParams.queryMore, limit: urlParams.limit ?? 100 }),
          (page) => ({
            items: page.items.map((s) => ({
              subscriptionId: s.id,
              owner: s.owner,
              ...(s.partnerOrg === undefined ? {} : { partnerOrg: s.partnerOrg }),
              amendmentId: s.pendingChange!.amendmentId,
              effectiveDate: s.pendingChange!.effectiveDate,
              actions: s.pendingChange!.actions,
              subscriptionVersion: s.version
            })),
            ...(page.queryMore === undefined ? {} : { queryMore: page.queryMore })
          })
        ))))

/**
 * The operator's records: subscriptions and bill groups from the system of record (create or
 * replace, one at a time or as an NDJSON import), a subscription with its history, and the
 * scheduled changes. Bodies are decoded by the core, which reports every problem at once with
 * its path (`InvalidRecord`), so the contract declares them as documented JSON.
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { Amendment } from "@subshift/core/domain/Amendment"
import { BillGroup } from "@subshift/core/domain/BillGroup"
import { CalendarDate } from "@subshift/core/domain/CalendarDate"
import { StoredEvent } from "@subshift/core/domain/Event"
import { Problem } from "@subshift/core/domain/Operator"
import { Subscription } from "@subshift/core/domain/Subscription"
import { BillGroupRecord, SubscriptionRecord } from "@subshift/core/usecases/OperatorRecords"
import * as JSONSchema from "effect/JSONSchema"
import * as Schema from "effect/Schema"
import * as AdminErrors from "./AdminErrors.js"
import * as AdminSecurity from "./AdminSecurity.js"
import * as HttpErrors from "./HttpErrors.js"
import * as Wire from "./Wire.js"

type Json = { readonly [key: string]: unknown }

/**
 * A JSON Schema with its `$defs` written in place: the OpenAPI generator moves an annotated
 * schema into `components` as it is, where `#/$defs/…` references would not resolve.
 */
const inlined = (root: JSONSchema.JsonSchema7Root): Json => {
  const defs = (root.$defs ?? {}) as Record<string, unknown>
  const go = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(go)
    if (node === null || typeof node !== "object") return node
    const ref = (node as Json)["$ref"]
    if (typeof ref === "string" && ref.startsWith("#/$defs/")) return go(defs[ref.slice("#/$defs/".length)])
    return Object.fromEntries(Object.entries(node).filter(([key]) => key !== "$schema" && key !== "$defs").map(([key, value]) => [key, go(value)]))
  }
  return go(root) as Json
}

/** A JSON body the core decodes, documented with its schema. */
const documented = <A, I>(schema: Schema.Schema<A, I>, identifier: string) =>
  Schema.Unknown.annotations({ identifier, jsonSchema: inlined(JSONSchema.make(schema)) })

/** Headers of a record write. */
export const RecordWriteHeaders = Schema.Struct({
  /** The version last read (the `ETag`); required to replace a record that exists. */
  "if-match": Schema.optional(Schema.String.pipe(Schema.maxLength(32))),
  /** Why the operator makes the write, kept in the audit log and the event. */
  "x-subshift-reason": Schema.optional(Schema.String.pipe(Schema.maxLength(500)))
})

/** A subscription with what is still to come and what happened to it. */
export const SubscriptionDetail = Schema.Struct({
  subscription: Subscription,
  pendingChange: Schema.NullOr(Subscription.fields.pendingChange.from),
  amendments: Schema.Array(Amendment),
  events: Schema.Array(StoredEvent)
}).annotations({ identifier: "AdminSubscriptionDetail" })

/** The page query of the scheduled changes. */
export const PendingParams = Schema.Struct({
  dueBefore: Schema.optional(CalendarDate),
  queryMore: Schema.optional(Schema.String.pipe(Schema.maxLength(512))),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500)))
})

/** A scheduled change, with the subscription it belongs to. */
export const PendingItem = Schema.Struct({
  subscriptionId: Schema.String,
  owner: Schema.String,
  partnerOrg: Schema.optional(Schema.String),
  amendmentId: Schema.String,
  effectiveDate: CalendarDate,
  actions: Schema.Array(Schema.Unknown),
  subscriptionVersion: Schema.Int
}).annotations({ identifier: "PendingChangeItem" })

/** A page of scheduled changes; `queryMore` is absent on the last page. */
export const PendingPage = Schema.Struct({
  items: Schema.Array(PendingItem),
  queryMore: Schema.optional(Schema.String)
}).annotations({ identifier: "PendingChangePage" })

/** One line of an import report. */
export const ImportLine = Schema.Struct({
  line: Schema.Int,
  id: Schema.optional(Schema.String),
  status: Schema.Literal("created", "updated", "unchanged", "rejected"),
  problems: Schema.optional(Schema.Array(Problem))
}).annotations({ identifier: "ImportLine" })

/** The report of an import: every line, and the totals. */
export const ImportReport = Schema.Struct({
  lines: Schema.Array(ImportLine),
  totals: Schema.Struct({
    lines: Schema.Int,
    created: Schema.Int,
    updated: Schema.Int,
    unchanged: Schema.Int,
    rejected: Schema.Int
  })
}).annotations({ identifier: "ImportReport" })

/** A withdrawn scheduled change, and the subscription without it. */
export const WithdrawnChange = Schema.Struct({
  subscription: Subscription,
  withdrawn: Subscription.fields.pendingChange.from
}).annotations({ identifier: "WithdrawnChange" })

const recordId = HttpApiSchema.param("id", Wire.Id)

/** Subscriptions, bill groups and scheduled changes from the system of record. */
export class AdminRecordsGroup extends HttpApiGroup.make("adminRecords")
  .add(
    HttpApiEndpoint.put("putSubscription")`/api/admin/subscriptions/${recordId}`
      .setPayload(documented(SubscriptionRecord, "SubscriptionRecord"))
      .setHeaders(RecordWriteHeaders)
      .addSuccess(Subscription)
      .addSuccess(Subscription, { status: 201 })
      .addError(AdminErrors.InvalidRecord)
      .addError(AdminErrors.PreconditionRequired)
      .addError(AdminErrors.PendingChangeConflict)
      .addError(HttpErrors.VersionConflict)
      .middleware(AdminSecurity.SubscriptionsWrite)
      .annotate(OpenApi.Summary, "Create (201) or replace (200, If-Match required) a subscription; the same record again is 200 and writes nothing")
  )
  .add(
    HttpApiEndpoint.get("getSubscription")`/api/admin/subscriptions/${recordId}`
      .addSuccess(SubscriptionDetail)
      .addError(HttpErrors.SubscriptionNotFound)
      .middleware(AdminSecurity.AdminRead)
      .annotate(OpenApi.Summary, "A subscription with its pending change, its amendments and its latest events")
  )
  .add(
    HttpApiEndpoint.put("putBillGroup")`/api/admin/bill-groups/${recordId}`
      .setPayload(documented(BillGroupRecord, "BillGroupRecord"))
      .setHeaders(RecordWriteHeaders)
      .addSuccess(BillGroup)
      .addSuccess(BillGroup, { status: 201 })
      .addError(AdminErrors.InvalidRecord)
      .addError(AdminErrors.PreconditionRequired)
      .addError(HttpErrors.VersionConflict)
      .middleware(AdminSecurity.SubscriptionsWrite)
      .annotate(OpenApi.Summary, "Create (201) or replace (200, If-Match required) a bill group")
  )
  .add(
    HttpApiEndpoint.post("importSubscriptions", "/api/admin/subscriptions/import")
      .setHeaders(Schema.Struct({
        "content-type": Schema.optional(Schema.String),
        "x-subshift-reason": Schema.optional(Schema.String.pipe(Schema.maxLength(500)))
      }))
      .addSuccess(ImportReport)
      .addError(HttpErrors.Malformed)
      .middleware(AdminSecurity.SubscriptionsWrite)
      .annotate(OpenApi.Summary, "Import subscriptions from an NDJSON body (application/x-ndjson), one record per line, each upserted on its own")
      .annotate(
        OpenApi.Description,
        "The body is read as a stream, so any number of lines imports in flat memory; it has no size limit. Each line is a SubscriptionRecord, created or replaced without If-Match; the same line twice is `unchanged` and writes nothing; a rejected line stores nothing and lists its problems, with paths; a line that would drop a pending change is rejected unless it says pendingChange: \"discard\". The report lists every line and the totals."
      )
  )
  .add(
    HttpApiEndpoint.del("withdrawPendingChange")`/api/admin/subscriptions/${recordId}/pending-change`
      .setHeaders(Schema.Struct({ "x-subshift-reason": Schema.optional(Schema.String.pipe(Schema.maxLength(500))) }))
      .addSuccess(WithdrawnChange)
      .addError(HttpErrors.SubscriptionNotFound)
      .addError(HttpErrors.NoPendingChange)
      .addError(HttpErrors.VersionConflict)
      .middleware(AdminSecurity.SubscriptionsWrite)
      .annotate(OpenApi.Summary, "Withdraw a subscription's scheduled change: the lock lifts at once; the event names the operator and reason")
  )
  .add(
    HttpApiEndpoint.get("listPending", "/api/admin/pending-changes")
      .setUrlParams(PendingParams)
      .addSuccess(PendingPage)
      .middleware(AdminSecurity.AdminRead)
      .annotate(OpenApi.Summary, "Scheduled changes by subscription id, optionally only those due before a day, by pages")
  )
  .annotate(OpenApi.Title, "Operator records")
  .annotate(OpenApi.Description, "Subscriptions and bill groups from the system of record, and the scheduled changes.")
{}

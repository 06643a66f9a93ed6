/**
 * Subscriptions and bill groups from the operator's system of record: each record is created or
 * replaced as a whole (an upsert keyed by id), validated with every problem reported at once with
 * its path, checked against the catalog, and written with a version check so that a concurrent
 * writer is never overwritten. Writing the same record twice is `unchanged` and writes nothing.
 * A write never silently drops a subscription's pending change: it must carry the same change or
 * say `pendingChange: "discard"`. Every subscription write records a `subscription.imported`
 * event, naming the operator and their reason, in the same transaction.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { PendingChange } from "../domain/Amendment.js"
import { BillGroup } from "../domain/BillGroup.js"
import type { BillGroup as BillGroupType } from "../domain/BillGroup.js"
import type { StoreUnavailable } from "../domain/Errors.js"
import { VersionConflict } from "../domain/Errors.js"
import * as Event from "../domain/Event.js"
import * as Input from "../domain/Input.js"
import type { Offer } from "../domain/Offer.js"
import { InvalidRecord, PendingChangeConflict, PreconditionRequired, type Problem } from "../domain/Operator.js"
import * as Subscription from "../domain/Subscription.js"
import * as Clock from "../internal/clock.js"
import { BillGroups } from "../ports/BillGroups.js"
import { Catalog } from "../ports/Catalog.js"
import { Ids } from "../ports/Ids.js"
import { Subscriptions } from "../ports/Subscriptions.js"
import { Amendments } from "../ports/Amendments.js"
import { Events } from "../ports/Events.js"
import { SubscriptionNotFound } from "../domain/Errors.js"
import type { CalendarDate } from "../domain/CalendarDate.js"
import { decodeCursor, encodeCursor } from "./PartnerSubscriptions.js"

/** How many of a subscription's events its detail shows: the latest ones. */
export const RECENT_EVENTS = 20
/** How many events the detail reads to find the latest ones. */
const EVENTS_READ = 1000

const { pendingChange: _pending, updatedAt: _updatedAt, version: _version, ...subscriptionFields } = Subscription.Subscription.fields

/**
 * A subscription as the system of record sends it: every field of a subscription but its
 * `version` and `updatedAt`, which the store keeps. `pendingChange` is the change still to come
 * (the same as the stored one keeps it), or `"discard"` to drop the stored one.
 */
export const SubscriptionRecord = Schema.Struct({
  ...subscriptionFields,
  pendingChange: Schema.optional(Schema.Union(PendingChange, Schema.Literal("discard")))
}).annotations({ identifier: "SubscriptionRecord" })
export type SubscriptionRecord = typeof SubscriptionRecord.Type

const { version: _bgVersion, ...billGroupFields } = BillGroup.fields

/** A bill group as the system of record sends it: every field but its `version`. */
export const BillGroupRecord = Schema.Struct(billGroupFields).annotations({ identifier: "BillGroupRecord" })
export type BillGroupRecord = typeof BillGroupRecord.Type

/** What a write did. */
export type Outcome = "created" | "updated" | "unchanged"

/** Who writes, and why: the event's actor and the operator's reason. */
export interface Author {
  readonly actor: Event.Actor
  readonly reason?: string | undefined
}

/** How a record is written. */
export interface WriteOptions {
  /** The id the path names; the record's own `id`, when it has one, must be the same. */
  readonly id?: string | undefined
  /** The version the caller read (`If-Match`). */
  readonly ifMatch?: number | undefined
  /** A replace without `ifMatch` is refused (`PreconditionRequired`); an import does not ask for it. */
  readonly requireIfMatch: boolean
}

/** The failures of a record write. */
export type WriteError = InvalidRecord | PreconditionRequired | PendingChangeConflict | VersionConflict | StoreUnavailable

const decodeSubscription = Input.decodeAll(SubscriptionRecord)
const decodeBillGroup = Input.decodeAll(BillGroupRecord)

/** The record with the path's id, or a problem when the two differ. */
const withId = (input: unknown, id: string | undefined, problems: Array<Problem>): unknown => {
  if (id === undefined || typeof input !== "object" || input === null || Array.isArray(input)) return input
  const given = (input as { readonly id?: unknown }).id
  if (given === undefined) return { ...input, id }
  if (given !== id) problems.push({ path: "id", message: `the record's id ${String(given)} is not the id of the path, ${id}` })
  return input
}

/** JSON with keys in order, to compare two records whatever order their keys were written in. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
      : v)

/** The subscription write of a checked record, as `Subscriptions.commit` takes it. */
export const writeOf = (prepared: Prepared & { readonly event: Event.Event }) => ({
  next: prepared.subscription,
  expectedVersion: prepared.expectedVersion
})

const sameSubscription = (a: Subscription.Subscription, b: Subscription.Subscription) => {
  const { updatedAt: _a, version: _va, ...left } = a
  const { updatedAt: _b, version: _vb, ...right } = b
  return canonical(left) === canonical(right)
}

/** Reads catalog offers by id. */
export type OffersOf = (ids: Iterable<string>) => Effect.Effect<ReadonlyMap<string, Offer>, StoreUnavailable>

/**
 * Reads stored subscriptions by id and by name, and bill groups by id: the store's, or answers
 * read ahead for a batch (bill groups from the store unless `findBillGroup` is given).
 */
export interface StoredOf {
  readonly findById: (id: string) => Effect.Effect<Option.Option<Subscription.Subscription>, StoreUnavailable>
  readonly findByName: (name: string) => Effect.Effect<Option.Option<Subscription.Subscription>, StoreUnavailable>
  readonly findBillGroup?: (id: string) => Effect.Effect<Option.Option<BillGroupType>, StoreUnavailable>
}

/** A checked subscription write: `unchanged`, or what to commit. */
export type Prepared =
  | { readonly outcome: "unchanged"; readonly subscription: Subscription.Subscription; readonly event?: undefined; readonly expectedVersion?: undefined }
  | {
    readonly outcome: "created" | "updated"
    readonly subscription: Subscription.Subscription
    readonly expectedVersion: number | undefined
    readonly event: Event.Event
  }

/** The operator's record writes. */
export class OperatorRecords extends Effect.Service<OperatorRecords>()("@subshift/core/OperatorRecords", {
  effect: Effect.gen(function*() {
    const subscriptions = yield* Subscriptions
    const billGroups = yield* BillGroups
    const catalog = yield* Catalog
    const ids = yield* Ids

    // The per-record steps are generators defined once, taking the record as an argument: a
    // generator whose function closes over a call's data keeps it alive past the young
    // generation, which an import of many records pays for in memory (docs/MEMORY.md).

    /** Every problem of a decoded subscription against the store: catalog, bill group, name. */
    const subscriptionProblems = Effect.fnUntraced(function*(record: Subscription.Subscription, offersOf: OffersOf, stored: StoredOf) {
      const offers = yield* offersOf([record.offer.offerId, ...record.addOns.map((l) => l.offerId)])
      const problems: Array<Problem> = Subscription.problems(record, offers.values()).map((p) => ({ path: p.field, message: p.message }))
      const seen = new Set<string>()
      for (const [i, line] of record.addOns.entries()) {
        const offer = offers.get(line.offerId)
        if (offer !== undefined && offer.kind !== "add_on") problems.push({ path: `addOns[${i}].offerId`, message: `${line.offerId} is not an add-on` })
        if (seen.has(line.offerId)) problems.push({ path: `addOns[${i}].offerId`, message: `${line.offerId} appears twice` })
        seen.add(line.offerId)
      }
      const main = offers.get(record.offer.offerId)
      if (main !== undefined && main.kind !== "subscription") {
        problems.push({ path: "offer.offerId", message: `${record.offer.offerId} is an add-on, not a subscription offer` })
      }
      if (record.billGroupId !== undefined) {
        const group = yield* (stored.findBillGroup ?? billGroups.findById)(record.billGroupId)
        if (Option.isNone(group)) problems.push({ path: "billGroupId", message: `no bill group ${record.billGroupId}` })
        else if (group.value.currency !== record.currency) {
          problems.push({ path: "billGroupId", message: `bill group ${record.billGroupId} bills in ${group.value.currency}, the subscription in ${record.currency}` })
        }
      }
      const named = yield* stored.findByName(record.name)
      if (Option.isSome(named) && named.value.id !== record.id) {
        problems.push({ path: "name", message: `subscription ${named.value.id} already has the name ${record.name}` })
      }
      return problems
    })

    /**
     * Everything a subscription write checks, without writing: the record decoded and checked,
     * the precondition and the pending change; `unchanged`, or the subscription and event to commit.
     */
    const prepare = Effect.fnUntraced(function*(input: unknown, options: WriteOptions, author: Author, offersOf: OffersOf, storedOf: StoredOf = subscriptions) {
      const problems: Array<Problem> = []
      const decoded = decodeSubscription(withId(input, options.id, problems))
      if (Either.isLeft(decoded)) return yield* new InvalidRecord({ entity: "subscription", problems: [...problems, ...decoded.left] })
      const record = decoded.right
      const clock = yield* Clock.now
      const stored = Option.getOrUndefined(yield* storedOf.findById(record.id))
      const { pendingChange: given, ...fields } = record
      const pendingChange = given === "discard" ? undefined : given
      const next: Subscription.Subscription = {
        ...fields,
        ...(pendingChange === undefined ? {} : { pendingChange }),
        version: stored === undefined ? 1 : stored.version + 1,
        updatedAt: clock.now
      }
      problems.push(...(yield* subscriptionProblems(next, offersOf, storedOf)))
      if (problems.length > 0) return yield* new InvalidRecord({ entity: "subscription", problems })
      yield* precondition("subscription", record.id, stored?.version, options)
      if (stored?.pendingChange !== undefined && given === undefined) {
        return yield* new PendingChangeConflict({
          subscriptionId: stored.id,
          amendmentId: stored.pendingChange.amendmentId,
          effectiveDate: stored.pendingChange.effectiveDate
        })
      }
      if (stored !== undefined && sameSubscription(stored, next)) return { outcome: "unchanged", subscription: stored } as Prepared
      const eventId = yield* ids.eventId
      const event = Event.imported({ id: eventId, occurredAt: clock.now, actor: author.actor, reason: author.reason, before: stored, after: next })
      return { outcome: stored === undefined ? "created" : "updated", subscription: next, expectedVersion: stored?.version, event } as Prepared
    })


    /** Creates or replaces a subscription. */
    const putSubscription = Effect.fn("OperatorRecords.putSubscription")(function*(
      input: unknown,
      options: WriteOptions,
      author: Author
    ) {
      const prepared = yield* prepare(input, options, author, catalog.getMany)
      if (prepared.event !== undefined) {
        yield* subscriptions.commit({ amendments: [], events: [prepared.event], subscriptions: [writeOf({ ...prepared, event: prepared.event })] })
      }
      return { outcome: prepared.outcome, subscription: prepared.subscription }
    })

    /** Creates or replaces a bill group. */
    const putBillGroup = Effect.fn("OperatorRecords.putBillGroup")(function*(input: unknown, options: WriteOptions) {
      const problems: Array<Problem> = []
      const decoded = decodeBillGroup(withId(input, options.id, problems))
      if (Either.isLeft(decoded)) return yield* new InvalidRecord({ entity: "bill group", problems: [...problems, ...decoded.left] })
      if (problems.length > 0) return yield* new InvalidRecord({ entity: "bill group", problems })
      const record = decoded.right
      const stored = Option.getOrUndefined(yield* billGroups.findById(record.id))
      yield* precondition("bill group", record.id, stored?.version, options)
      const next: BillGroupType = { ...record, version: stored === undefined ? 1 : stored.version + 1 }
      if (stored !== undefined && canonical({ ...stored, version: 0 }) === canonical({ ...next, version: 0 })) {
        return { outcome: "unchanged" as Outcome, billGroup: stored }
      }
      yield* billGroups.write(next, stored?.version)
      return { outcome: (stored === undefined ? "created" : "updated") as Outcome, billGroup: next }
    })

    const amendments = yield* Amendments
    const events = yield* Events

    /** A subscription with its pending change, its amendments and its latest events. */
    const detail = Effect.fn("OperatorRecords.detail")(function*(id: string) {
      const subscription = yield* Effect.flatMap(subscriptions.findById(id), Option.match({
        onNone: () => Effect.fail(new SubscriptionNotFound({ subscription: id })),
        onSome: Effect.succeed
      }))
      const [history, trail] = yield* Effect.all([
        amendments.listBySubscription(id),
        events.list({ subscriptionId: id, limit: EVENTS_READ })
      ], { concurrency: 2 })
      return { subscription, amendments: history, events: trail.slice(-RECENT_EVENTS) }
    })

    /** The scheduled changes, page by page in subscription id order, optionally only those due before a day. */
    const listPending = Effect.fn("OperatorRecords.listPending")(function*(query: {
      readonly dueBefore?: CalendarDate | undefined
      readonly queryMore?: string | undefined
      readonly limit: number
    }) {
      const after = query.queryMore === undefined ? undefined : yield* decodeCursor(query.queryMore, query.dueBefore)
      const rows = yield* subscriptions.listPending({ dueBefore: query.dueBefore, after, limit: query.limit + 1 })
      const items = rows.slice(0, query.limit)
      const last = items.at(-1)
      return {
        items,
        ...(rows.length > query.limit && last !== undefined ? { queryMore: encodeCursor(last.id, query.dueBefore) } : {})
      }
    })

    return { prepare, putSubscription, putBillGroup, detail, listPending } as const
  })
}) {}

/** A replace needs `If-Match` when asked to, and the version it names must be the stored one. */
const precondition = (entity: "subscription" | "bill group", id: string, stored: number | undefined, options: WriteOptions) => {
  const store = entity === "subscription" ? "subscription" as const : "bill_group" as const
  if (options.ifMatch !== undefined && options.ifMatch !== stored) {
    return Effect.fail(
      new VersionConflict({ entity: store, id, expected: options.ifMatch, ...(stored === undefined ? {} : { actual: stored }) })
    )
  }
  if (stored !== undefined && options.ifMatch === undefined && options.requireIfMatch) {
    return Effect.fail(new PreconditionRequired({ entity, id, version: stored }))
  }
  return Effect.void
}

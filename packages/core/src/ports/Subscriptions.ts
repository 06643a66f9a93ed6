/**
 * The `Subscriptions` port: reading subscriptions and committing amendments atomically.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { Amendment } from "../domain/Amendment.js"
import type { Basket } from "../domain/Basket.js"
import type { CalendarDate } from "../domain/CalendarDate.js"
import type { InvalidInput, StoreUnavailable, VersionConflict } from "../domain/Errors.js"
import type { Event } from "../domain/Event.js"
import type { Subscription } from "../domain/Subscription.js"

/** A page query over a partner's subscriptions, in id order after `after`. */
export interface PartnerQuery {
  readonly partnerOrg: string
  readonly ownerId?: string | undefined
  readonly after?: string | undefined
  readonly limit: number
}

/** A page query over subscriptions with a pending change, in id order after `after`. */
export interface PendingQuery {
  /** Only changes whose effective date is before this day. */
  readonly dueBefore?: CalendarDate | undefined
  readonly after?: string | undefined
  readonly limit: number
}

/**
 * Everything one commit writes, all or nothing: the amendments, the subscriptions each at the
 * version it was read at (`undefined` for a new one), the basket it completes, if any, and the
 * events that record it.
 */
export interface Commit {
  readonly amendments: ReadonlyArray<Amendment>
  readonly events: ReadonlyArray<Event>
  readonly subscriptions: ReadonlyArray<{
    readonly next: Subscription
    readonly expectedVersion: number | undefined
  }>
  readonly basket?: { readonly next: Basket; readonly expectedVersion: number } | undefined
}

/** The subscriptions port. */
export class Subscriptions extends Context.Tag("@subshift/core/Subscriptions")<
  Subscriptions,
  {
    readonly findById: (id: string) => Effect.Effect<Option.Option<Subscription>, StoreUnavailable>
    readonly findByName: (name: string) => Effect.Effect<Option.Option<Subscription>, StoreUnavailable>
    /** The subscriptions with any of these ids or any of these names, each once, in no particular order (one read for a whole batch). */
    readonly findMany: (
      query: { readonly ids: ReadonlyArray<string>; readonly names: ReadonlyArray<string> }
    ) => Effect.Effect<ReadonlyArray<Subscription>, StoreUnavailable>
    readonly listByOwner: (owner: string) => Effect.Effect<ReadonlyArray<Subscription>, StoreUnavailable>
    readonly listByPartner: (query: PartnerQuery) => Effect.Effect<ReadonlyArray<Subscription>, StoreUnavailable>
    readonly listByBillGroup: (billGroupId: string) => Effect.Effect<ReadonlyArray<Subscription>, StoreUnavailable>
    /** Every subscription, in id order after `after`, at most `limit`: a full scan, page by page. */
    readonly listPage: (query: { readonly after?: string | undefined; readonly limit: number }) => Effect.Effect<ReadonlyArray<Subscription>, StoreUnavailable>
    /**
     * Subscriptions with something due by `today`: a pending change whose date has come, or a
     * pending start; in id order, at most `limit`.
     */
    readonly listDue: (today: CalendarDate, limit: number) => Effect.Effect<ReadonlyArray<Subscription>, StoreUnavailable>
    /** Subscriptions with a pending change (optionally due before a day), in id order. */
    readonly listPending: (query: PendingQuery) => Effect.Effect<ReadonlyArray<Subscription>, StoreUnavailable>
    /** Inserts or replaces a subscription with no version check (seeding, imports); `InvalidInput` when it fails `Subscription.check` against the offers the catalog holds. */
    readonly put: (subscription: Subscription) => Effect.Effect<void, InvalidInput | StoreUnavailable>
    /** Writes a subscription if it is still at `expectedVersion`, with the events that record the change. */
    readonly save: (
      subscription: Subscription,
      expectedVersion: number,
      events?: ReadonlyArray<Event>
    ) => Effect.Effect<void, VersionConflict | StoreUnavailable>
    /** Writes a commit atomically; on any conflict nothing is written. */
    readonly commit: (commit: Commit) => Effect.Effect<void, VersionConflict | StoreUnavailable>
  }
>() {}

/**
 * The `Baskets` port.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { Basket } from "../domain/Basket.js"
import type { StoreUnavailable, VersionConflict } from "../domain/Errors.js"
import type { Instant } from "../domain/Instant.js"
import type { Subscription } from "../domain/Subscription.js"

/** A basket and the subscription it is for, as one read found them; none when that is gone. */
export interface BasketWithSubscription {
  readonly basket: Basket
  readonly subscription: Option.Option<Subscription>
  /**
   * Set when the store answered what it last read or wrote of this basket, without a read of its
   * own (`ReadForUpdate.recent`): only a `save` of the basket can confirm it.
   */
  readonly unconfirmed?: boolean
}

/** How a basket is read for an update. */
export interface ReadForUpdate {
  /**
   * The store may answer what it last read or wrote of this basket, with no round trip, marked
   * `unconfirmed`. A `save` of the basket that follows on the same fiber then fails with a
   * `VersionConflict` unless the basket, its subscription and the catalog are all still as that
   * answer had them, so the caller redoes the update from a fresh read. A store that keeps
   * nothing reads as usual.
   */
  readonly recent?: boolean
}

/** The baskets port. */
export class Baskets extends Context.Tag("@subshift/core/Baskets")<
  Baskets,
  {
    /** Stores a new basket; fails with a conflict if the id is taken. */
    readonly create: (basket: Basket) => Effect.Effect<void, VersionConflict | StoreUnavailable>
    readonly findById: (id: string) => Effect.Effect<Option.Option<Basket>, StoreUnavailable>
    /**
     * A basket with its subscription, read together: what updating or committing it starts from,
     * in one round trip where the store can join them, or none (`ReadForUpdate`).
     */
    readonly findWithSubscription: (
      id: string,
      options?: ReadForUpdate
    ) => Effect.Effect<Option.Option<BasketWithSubscription>, StoreUnavailable>
    /** Replaces a basket if it is still at `expectedVersion`. */
    readonly save: (basket: Basket, expectedVersion: number) => Effect.Effect<void, VersionConflict | StoreUnavailable>
    /**
     * Deletes the baskets expired at `now`, writing a `basket.expired` event for each in the same
     * transaction; answers how many.
     */
    readonly deleteExpired: (now: Instant) => Effect.Effect<number, StoreUnavailable>
  }
>() {}

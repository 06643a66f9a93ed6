/**
 * The `Amendments` port: the committed history, read side. Amendments are written by
 * `Subscriptions.commit`, in the same transaction as the subscriptions they change.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { Amendment } from "../domain/Amendment.js"
import type { StoreUnavailable } from "../domain/Errors.js"

/** The amendments port. */
export class Amendments extends Context.Tag("@subshift/core/Amendments")<
  Amendments,
  {
    readonly findById: (id: string) => Effect.Effect<Option.Option<Amendment>, StoreUnavailable>
    /** A subscription's amendments, oldest first. */
    readonly listBySubscription: (subscriptionId: string) => Effect.Effect<ReadonlyArray<Amendment>, StoreUnavailable>
  }
>() {}

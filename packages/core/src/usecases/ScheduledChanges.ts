/**
 * Scheduled changes apply themselves: a committed amendment with future-dated actions is the
 * subscription's pending change until its date; `applyDue` applies every change whose date has
 * come (and starts subscriptions whose first period began), each exactly once even when several
 * processes run it at the same time, with a `subscription.changed` event in the same write.
 * A run applies a few changes at a time, in an order of its own.
 */
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import { Ids } from "../ports/Ids.js"
import { Subscriptions } from "../ports/Subscriptions.js"
import { catchUp } from "../internal/catchUp.js"
import * as Clock from "../internal/clock.js"

/** How many due changes one run applies at a time. */
export const APPLY_CONCURRENCY = 4

/** How many subscriptions one run looks at when not told. */
export const DEFAULT_BATCH = 500

/** What a run did. */
export interface Run {
  /** Subscriptions found due. */
  readonly examined: number
  /** Changes this run applied (the others were applied by someone else meanwhile). */
  readonly applied: number
}

/** The scheduler use case. */
export class ScheduledChanges extends Effect.Service<ScheduledChanges>()("@subshift/core/ScheduledChanges", {
  effect: Effect.gen(function*() {
    const subscriptions = yield* Subscriptions
    const ids = yield* Ids
    const apply = catchUp(subscriptions, ids)

    const applyDue = Effect.fn("ScheduledChanges.applyDue")(function*(options: { readonly limit?: number } = {}) {
      const clock = yield* Clock.now
      const listed = yield* subscriptions.listDue(clock.today, options.limit ?? DEFAULT_BATCH)
      // Several at a time, each its own versioned write, and in an order of this run's own, so
      // that runs of other processes over the same list do not queue behind each other's writes
      // subscription by subscription.
      const due = yield* Random.shuffle(listed)
      const done = yield* Effect.forEach(due, (subscription) =>
        apply(subscription, clock).pipe(
          Effect.catchTag("VersionConflict", () => Effect.succeed(undefined))
        ), { concurrency: APPLY_CONCURRENCY })
      const run: Run = { examined: listed.length, applied: done.filter((s) => s !== undefined).length }
      return run
    })

    return { applyDue } as const
  })
}) {}

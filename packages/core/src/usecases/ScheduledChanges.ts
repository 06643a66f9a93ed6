/**
 * Scheduled changes apply themselves: a committed amendment with future-dated actions is the
 * subscription's pending change until its date; `applyDue` applies every change whose date has
 * come (and starts subscriptions whose first period began), each exactly once even when several
 * processes run it at the same time, with a `subscription.changed` event in the same write.
 */
import * as Effect from "effect/Effect"
import { Ids } from "../ports/Ids.js"
import { Subscriptions } from "../ports/Subscriptions.js"
import { catchUp } from "../internal/catchUp.js"
import * as Clock from "../internal/clock.js"

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
      const due = yield* subscriptions.listDue(clock.today, options.limit ?? DEFAULT_BATCH)
      let applied = 0
      for (const subscription of due) {
        const done = yield* apply(subscription, clock).pipe(
          Effect.catchTag("VersionConflict", () => Effect.succeed(undefined))
        )
        if (done !== undefined) applied++
      }
      const run: Run = { examined: due.length, applied }
      return run
    })

    return { applyDue } as const
  })
}) {}

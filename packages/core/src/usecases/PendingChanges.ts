/**
 * Taking back a scheduled change. A committed amendment with future-dated actions leaves the
 * subscription a pending change, and locks it until its date; `withdraw` removes that pending
 * change at once, so the lock lifts. The actions that already took effect when the amendment was
 * committed stay as they are: only what was still waiting is dropped. The subscription is written
 * at the version it was read at, with a `subscription.pending_change_withdrawn` event in the same
 * write, so a withdrawal racing the scheduler applying the same change has exactly one winner.
 *
 * A customer withdraws from their own subscriptions, a partner organisation from the ones it sold,
 * an operator from any; anyone else's subscription is not found.
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { PendingChange } from "../domain/Amendment.js"
import type * as CalendarDate from "../domain/CalendarDate.js"
import { InvalidInput, NoPendingChange, SubscriptionNotFound, type VersionConflict } from "../domain/Errors.js"
import * as Event from "../domain/Event.js"
import { hasIdLength, MAX_ID_LENGTH } from "../domain/Id.js"
import type * as Instant from "../domain/Instant.js"
import { Operator } from "../domain/Operator.js"
import * as Principal from "../domain/Principal.js"
import type * as Subscription from "../domain/Subscription.js"
import { Ids } from "../ports/Ids.js"
import { Subscriptions } from "../ports/Subscriptions.js"
import { catchUp } from "../internal/catchUp.js"
import * as Clock from "../internal/clock.js"

/** Who takes a change back: the subscriber, the partner that sold it, or an operator. */
export type Withdrawer = Principal.Principal | Operator

/** What a withdrawal takes besides the subscription id. */
export interface WithdrawRequest {
  readonly by: Withdrawer
  /** Why, recorded on the event (an operator's audit reason, for instance). */
  readonly reason?: string | undefined
}

/** What a withdrawal did: the subscription as it now stands, and the change taken back. */
export interface Withdrawn {
  readonly subscription: Subscription.Subscription
  readonly withdrawn: PendingChange
}

/** Another write got in first; `seen` is the pending change this withdrawal set out to take back. */
class Retry extends Data.Class<{ readonly conflict: VersionConflict; readonly seen: PendingChange | undefined }> {}

/** How many times a withdrawal re-reads after another write got in between. */
const ATTEMPTS = 5

/** The actor a withdrawer is recorded as on the event. */
export const actorOf = (by: Withdrawer): Event.Actor =>
  by instanceof Operator ? { kind: "operator", id: by.keyId, name: by.name } : Principal.toRef(by)

/** Whether a withdrawer may see and change a subscription. */
export const mayWithdraw = (by: Withdrawer, subscription: Subscription.Subscription): boolean =>
  by instanceof Operator || Principal.canAccess(by, subscription)

/** The subscription without its pending change, as written on withdrawal: nothing else changes. */
export const withoutPendingChange = (subscription: Subscription.Subscription, now: Instant.Instant): Subscription.Subscription => {
  const { pendingChange: _, ...rest } = subscription
  return { ...rest, version: subscription.version + 1, updatedAt: now }
}

/** The pending change use cases. */
export class PendingChanges extends Effect.Service<PendingChanges>()("@subshift/core/PendingChanges", {
  effect: Effect.gen(function*() {
    const subscriptions = yield* Subscriptions
    const ids = yield* Ids
    const applyDue = catchUp(subscriptions, ids)

    const find = (id: string, by: Withdrawer) =>
      Effect.flatMap(subscriptions.findById(id), (found) =>
        Option.isSome(found) && mayWithdraw(by, found.value)
          ? Effect.succeed(found.value)
          : Effect.fail(new SubscriptionNotFound({ subscription: id })))

    /**
     * One attempt: read, bring up to today (a change whose date has come takes effect, as the
     * scheduler would apply it), and write the subscription without its pending change. `seen` is
     * the change a previous attempt found pending: if another one is pending now, that one is gone.
     * Answers `Retry` when someone else wrote the subscription in between.
     */
    const attempt = (
      id: string,
      request: WithdrawRequest,
      clock: { readonly now: Instant.Instant; readonly today: CalendarDate.CalendarDate },
      seen: PendingChange | undefined
    ) =>
      Effect.gen(function*() {
        const read = yield* find(id, request.by)
        const retry = (conflict: VersionConflict) => Effect.succeed(new Retry({ conflict, seen: seen ?? read.pendingChange }))
        const caughtUp = yield* applyDue(read, clock).pipe(Effect.catchTag("VersionConflict", retry))
        if (caughtUp instanceof Retry) return caughtUp
        const subscription = caughtUp ?? read
        const pending = subscription.pendingChange
        if (pending === undefined || (seen !== undefined && pending.amendmentId !== seen.amendmentId)) {
          // This very call applied it when its date had come: say when it took effect.
          const applied = caughtUp !== undefined ? read.pendingChange : undefined
          return yield* new NoPendingChange({
            subscriptionId: id,
            ...(applied === undefined ? {} : { appliedOn: applied.effectiveDate })
          })
        }
        const next = withoutPendingChange(subscription, clock.now)
        const event = Event.pendingChangeWithdrawn({
          id: yield* ids.eventId,
          occurredAt: clock.now,
          actor: actorOf(request.by),
          before: subscription,
          after: next,
          reason: request.reason
        })
        const done: Withdrawn = { subscription: next, withdrawn: pending }
        return yield* subscriptions.save(next, subscription.version, [event]).pipe(
          Effect.as(done),
          Effect.catchTag("VersionConflict", retry)
        )
      })

    const withdraw = Effect.fn("PendingChanges.withdraw")(function*(id: string, request: WithdrawRequest) {
      if (!hasIdLength(id)) {
        return yield* new InvalidInput({ field: "id", message: `a subscription id is 1 to ${MAX_ID_LENGTH} characters` })
      }
      const clock = yield* Clock.now
      let seen: PendingChange | undefined
      for (let i = 1;; i++) {
        const outcome = yield* attempt(id, request, clock, seen)
        if (!(outcome instanceof Retry)) return outcome
        // Someone else wrote the subscription in between (the scheduler applying this change, a
        // commit): read again and decide on what is stored now.
        if (i >= ATTEMPTS) return yield* outcome.conflict
        seen = outcome.seen
      }
    })

    return { withdraw } as const
  })
}) {}

import * as Effect from "effect/Effect"
import type * as CalendarDate from "../domain/CalendarDate.js"
import type { StoreUnavailable, VersionConflict } from "../domain/Errors.js"
import * as Event from "../domain/Event.js"
import type { Ids } from "../ports/Ids.js"
import type * as Instant from "../domain/Instant.js"
import * as Subscription from "../domain/Subscription.js"
import type { Subscriptions } from "../ports/Subscriptions.js"

/**
 * Brings a stored subscription up to today (a pending change whose date has come, a pending
 * start) and saves it with its `subscription.changed` event, at the version it was read at: of
 * several processes doing it at once, exactly one succeeds and the others see a conflict.
 * Answers the caught-up subscription, or `undefined` when nothing was due.
 */
export const catchUp = (subscriptions: Subscriptions["Type"], ids: Ids["Type"]) =>
(
  subscription: Subscription.Subscription,
  clock: { readonly now: Instant.Instant; readonly today: CalendarDate.CalendarDate }
): Effect.Effect<Subscription.Subscription | undefined, VersionConflict | StoreUnavailable> => {
  const next = Subscription.catchUp(subscription, clock.today, clock.now)
  if (next === undefined) return Effect.succeed(undefined)
  return Effect.flatMap(ids.eventId, (id) =>
    Effect.as(
      subscriptions.save(next, subscription.version, [Event.changed({ id, occurredAt: clock.now, before: subscription, after: next })]),
      next
    ))
}

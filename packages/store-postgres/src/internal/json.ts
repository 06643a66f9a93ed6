import type { Basket } from "@subshift/core/domain/Basket"
import type { Event } from "@subshift/core/domain/Event"
import type { Subscription } from "@subshift/core/domain/Subscription"
import type * as Effect from "effect/Effect"
import * as EffectModule from "effect/Effect"

/**
 * A basket as the JSON its column holds. Baskets are written on every update, and their Schema
 * applies no transformation on the way out (every field encodes to itself), so serialising the
 * value directly gives the Schema's encoding without walking it; a test checks the two agree.
 */
export const basketJson = (basket: Basket): Effect.Effect<string> => EffectModule.sync(() => JSON.stringify(basket))

/**
 * A subscription, and events, as the JSON their columns hold. Their Schemas apply no
 * transformation on the way out either (an `Instant` encodes to itself), so a batch of imported
 * subscriptions is serialised without walking each value through the Schema twice (once for the
 * row, once for the event's state of it); a test checks these agree with the Schemas.
 */
export const subscriptionJson = (subscription: Subscription): string => JSON.stringify(subscription)

/** Events as the JSON array the events insert takes. */
export const eventsJson = (events: ReadonlyArray<Event>): string => JSON.stringify(events)

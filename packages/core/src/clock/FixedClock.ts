/**
 * A clock that stands still at an instant the embedder chooses, past or future, and moves only
 * when told: for a demo, a replay or a test that needs "today" to be a given day.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Instant from "../domain/Instant.js"

/** A fixed clock and its controls. */
export interface FixedClock {
  readonly clock: Clock.Clock
  /** Puts the clock at an instant, earlier or later than where it stands. */
  readonly set: (instant: Instant.Instant) => Effect.Effect<void>
  /** Moves the clock by a duration (forward; `Duration` is never negative). */
  readonly advance: (duration: Duration.DurationInput) => Effect.Effect<void>
  /** The instant the clock stands at. */
  readonly instant: Effect.Effect<Instant.Instant>
}

/** A clock standing at `instant` until set or advanced; sleeping uses `base` (the default clock unless given). */
export const make = (instant: Instant.Instant, base: Clock.Clock = Clock.make()): FixedClock => {
  let millis = Instant.toEpochMillis(instant)
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => millis,
    currentTimeMillis: Effect.sync(() => millis),
    unsafeCurrentTimeNanos: () => BigInt(millis) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(millis) * 1_000_000n),
    sleep: (duration) => base.sleep(duration)
  }
  return {
    clock,
    set: (to) => Effect.sync(() => { millis = Instant.toEpochMillis(to) }),
    advance: (duration) => Effect.sync(() => { millis += Math.round(Duration.toMillis(Duration.decode(duration))) }),
    instant: Effect.sync(() => Instant.fromEpochMillis(millis))
  }
}

/** Runs everything in the layer's scope on a clock standing at `instant`. */
export const layer = (instant: Instant.Instant): Layer.Layer<never> => Layer.setClock(make(instant).clock)

/** Runs everything in the layer's scope on a settable fixed clock. */
export const layerOf = (fixed: FixedClock): Layer.Layer<never> => Layer.setClock(fixed.clock)

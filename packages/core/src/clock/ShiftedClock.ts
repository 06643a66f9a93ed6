/**
 * A clock that runs with real time shifted forward by an offset that only grows: a test clock for
 * a running server or an embedding host, so that a user can watch a change scheduled for next
 * period apply (as billing providers' test clocks allow). Never for production.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** A shifted clock and its controls. */
export interface ShiftedClock {
  readonly clock: Clock.Clock
  /** Moves the clock forward; a negative or zero duration is refused. */
  readonly advance: (duration: Duration.DurationInput) => Effect.Effect<void, RangeError>
  /** How far ahead of real time the clock runs. */
  readonly offset: Effect.Effect<Duration.Duration>
}

/** A clock starting at real time, over `base` (the default clock unless given). */
export const make = (base: Clock.Clock = Clock.make()): ShiftedClock => {
  let offset = 0
  const millis = () => base.unsafeCurrentTimeMillis() + offset
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: millis,
    currentTimeMillis: Effect.sync(millis),
    unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos() + BigInt(offset) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => base.unsafeCurrentTimeNanos() + BigInt(offset) * 1_000_000n),
    sleep: (duration) => base.sleep(duration)
  }
  return {
    clock,
    advance: (duration) =>
      Effect.suspend(() => {
        const ms = Duration.toMillis(Duration.decode(duration))
        if (!(ms > 0) || !Number.isFinite(ms)) return Effect.fail(new RangeError("the clock only moves forward"))
        offset += Math.round(ms)
        return Effect.void
      }),
    offset: Effect.sync(() => Duration.millis(offset))
  }
}

/** Runs everything in the layer's scope on the shifted clock. */
export const layer = (shifted: ShiftedClock): Layer.Layer<never> => Layer.setClock(shifted.clock)

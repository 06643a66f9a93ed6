import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as CalendarDate from "../domain/CalendarDate.js"
import * as Instant from "../domain/Instant.js"

/** The current instant and UTC date, from Effect's `Clock`. */
export const now: Effect.Effect<{ readonly now: Instant.Instant; readonly today: CalendarDate.CalendarDate }> = Effect.map(
  Clock.currentTimeMillis,
  (millis) => {
    const now = Instant.fromEpochMillis(millis)
    return { now, today: CalendarDate.ofInstant(now) }
  }
)

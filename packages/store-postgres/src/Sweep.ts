/**
 * The expired-basket sweep: baskets live 14 days and nothing reads them afterwards, so the rows
 * are deleted in the background. Works over any `Baskets` adapter.
 */
import { Baskets } from "@subshift/core/ports/Baskets"
import type { StoreUnavailable } from "@subshift/core/domain/Errors"
import * as Instant from "@subshift/core/domain/Instant"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/** Deletes the baskets expired by now (Effect's `Clock`); answers how many. */
export const sweepOnce: Effect.Effect<number, StoreUnavailable, Baskets> = Effect.gen(function*() {
  const baskets = yield* Baskets
  const now = Instant.fromEpochMillis(yield* Clock.currentTimeMillis)
  return yield* baskets.deleteExpired(now)
}).pipe(Effect.withSpan("Sweep.sweepOnce"))

/**
 * Sweeps now and then every `interval`, forever; a sweep that fails (the store is unavailable)
 * is logged and the next one runs on time. Fork it for the life of the server.
 */
export const sweepEvery = (interval: Duration.DurationInput): Effect.Effect<never, never, Baskets> =>
  sweepOnce.pipe(
    Effect.tap((deleted) => (deleted > 0 ? Effect.logDebug(`deleted ${deleted} expired baskets`) : Effect.void)),
    Effect.catchAll((error) => Effect.logWarning("expired-basket sweep failed", error)),
    Effect.repeat(Schedule.spaced(Duration.decode(interval))),
    Effect.zipRight(Effect.never)
  )

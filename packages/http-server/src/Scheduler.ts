/**
 * The scheduler in the server: applies the scheduled changes that came due, once at start (to
 * catch up on what fell due while the server was down) and then every
 * `SUBSHIFT_SCHEDULER_INTERVAL`. Each change applies exactly once even when several servers run
 * it at the same time; a failed run is logged and the next one tries again. Every run counts into
 * `subshift_scheduler_runs_total` by outcome, and its changes into `subshift_scheduler_changes_applied_total`.
 */
import { PriceMigrations } from "@subshift/core/usecases/PriceMigrations"
import { ScheduledChanges } from "@subshift/core/usecases/ScheduledChanges"
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Metrics from "./Metrics.js"

/** One run of the scheduler that logs what it did and never fails: scheduled changes, then price migrations. */
export const runOnce: Effect.Effect<void, never, ScheduledChanges | PriceMigrations> = Effect.zipRight(
  Effect.flatMap(ScheduledChanges, (scheduler) =>
  scheduler.applyDue().pipe(
    Effect.tap((run) => Metrics.recordSchedulerRun(run.applied)),
    Effect.tap((run) => (run.applied > 0 ? Effect.logInfo("scheduled changes applied", { ...run }) : Effect.void)),
    Effect.catchAll((error) =>
      Effect.zipRight(
        Metrics.recordSchedulerRun("failed"),
        Effect.logWarning("the scheduler run failed; the next run tries again", { error: error.message })
      )
    ),
    Effect.catchAllDefect((defect) =>
      Effect.zipRight(
        Metrics.recordSchedulerRun("failed"),
        Effect.logError("the scheduler run failed unexpectedly; the next run tries again", { cause: Cause.pretty(Cause.die(defect)) })
      )
    ),
    Effect.asVoid
  )),
  Effect.flatMap(PriceMigrations, (migrations) =>
    migrations.applyDue().pipe(
      Effect.tap((run) => (run.migrated > 0 ? Effect.logInfo("price migrations applied", { ...run }) : Effect.void)),
      Effect.catchAll((error) => Effect.logWarning("the price migration run failed; the next run tries again", { error: error.message })),
      Effect.catchAllDefect((defect) =>
        Effect.logError("the price migration run failed unexpectedly; the next run tries again", { cause: Cause.pretty(Cause.die(defect)) })
      ),
      Effect.asVoid
    ))
)

/** Runs the scheduler every `every`, for as long as the layer lives. */
export const layer = (every: Duration.Duration): Layer.Layer<never, never, ScheduledChanges | PriceMigrations> =>
  Layer.scopedDiscard(Effect.forkScoped(Effect.repeat(runOnce, Schedule.spaced(every))))

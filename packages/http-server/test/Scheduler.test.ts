import { describe, expect, it } from "@effect/vitest"
import { StoreUnavailable } from "@subshift/core/domain/Errors"
import { PriceMigrations } from "@subshift/core/usecases/PriceMigrations"
import { ScheduledChanges } from "@subshift/core/usecases/ScheduledChanges"
import * as Scheduler from "@subshift/http-server/Scheduler"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

describe("the scheduler in the server", () => {
  it.live("runs at start and keeps running after a failed run, price migrations included", () =>
    Effect.gen(function*() {
      let runs = 0
      let migrationRuns = 0
      const migrations = PriceMigrations.make({
        applyDue: () =>
          Effect.suspend(() => {
            migrationRuns++
            return migrationRuns === 1
              ? Effect.fail(new StoreUnavailable({ message: "the database is not answering" }))
              : Effect.succeed({ version: 1, examined: 0, migrated: 0 })
          })
      })
      const scheduler = ScheduledChanges.make({
        applyDue: () =>
          Effect.suspend(() => {
            runs++
            return runs === 1
              ? Effect.fail(new StoreUnavailable({ message: "the database is not answering" }))
              : Effect.succeed({ examined: 0, applied: 0 })
          })
      })
      yield* Effect.scoped(
        Effect.gen(function*() {
          yield* Layer.buildWithScope(
            Scheduler.layer(Duration.millis(20)).pipe(Layer.provide([Layer.succeed(ScheduledChanges, scheduler), Layer.succeed(PriceMigrations, migrations)])),
            yield* Effect.scope
          )
          yield* Effect.sleep(Duration.millis(150))
        })
      )
      expect(runs).toBeGreaterThanOrEqual(3)
      expect(migrationRuns).toBeGreaterThanOrEqual(3)
      const stopped = runs
      yield* Effect.sleep(Duration.millis(60))
      expect(runs).toBe(stopped)
    }))
})

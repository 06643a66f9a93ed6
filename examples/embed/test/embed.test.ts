import { afterAll, describe, expect, it } from "@effect/vitest"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { PgStore } from "@subshift/store-postgres"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { program, render, runOn, subscription } from "../src/program.js"
import { programWithWithdrawal } from "../src/withdraw.js"

type Walk = Effect.Effect.Success<typeof program>

// 15 of 30 June days left: credit 5.00 for Starter, charge 10.00 for Team and 4.00 for SSO.
const expectUpgradeWithSso = ({ committed, picked }: Walk) => {
  expect(picked.quote.lines.map((l) => l.amount.amount)).toEqual([-500, 1000, 400])
  expect(picked.quote.dueNow).toEqual({ amount: 900, currency: "EUR" })
  expect(picked.quote.nextRecurring).toEqual({ amount: 2800, currency: "EUR" })
  expect(render(picked.quote)).toContain("      EUR 9.00  due now")
  expect(committed.subscription.offer.offerId).toBe("team")
  expect(committed.subscription.addOns.map((l) => l.offerId)).toEqual(["sso"])
  expect(committed.basket.completed).toBe(true)
}

const midJune = TestClock.setTime(Date.parse("2025-06-16T09:00:00Z"))

const storedSubscription = (store: Layer.Layer<StorePorts, unknown>) =>
  Effect.flatMap(Subscriptions, (subscriptions) => subscriptions.findById(subscription.id)).pipe(Effect.provide(store))

describe("examples/embed", () => {
  it.effect("upgrades Starter to Team with single sign-on mid-June and commits the priced change", () =>
    Effect.gen(function*() {
      yield* midJune
      expectUpgradeWithSso(yield* program)
    }))

  describe("on the embedded Postgres store", () => {
    const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "subshift-embed-"))
    afterAll(() => Fs.rmSync(dataDir, { recursive: true, force: true }))

    it.effect(
      "runs the same walk inside the store's layer, which is released after it with the change committed",
      () =>
        Effect.gen(function*() {
          yield* midJune
          expectUpgradeWithSso(yield* runOn(PgStore.layerEmbedded({ dataDir })))
          // The data directory's lock is held while a store is open: reopening it succeeds only
          // because the walk's store was released once the walk was done.
          const stored = yield* storedSubscription(PgStore.layerEmbedded({ dataDir }))
          expect(Option.map(stored, (s) => [s.offer.offerId, s.addOns.map((l) => l.offerId)])).toEqual(
            Option.some(["team", ["sso"]])
          )
        }),
      120_000
    )
  })
})

describe("examples/embed: taking back a scheduled change", () => {
  it.effect("a downgrade to Starter scheduled for July locks the subscription; withdrawing it lifts the lock and leaves Team with SSO", () =>
    Effect.gen(function*() {
      yield* midJune
      const [walked, { locked, reopened, scheduled, withdrawn }] = yield* programWithWithdrawal
      expect(scheduled.subscription.pendingChange?.effectiveDate).toBe("2025-07-01")
      expect(locked).toMatchObject({ _tag: "SubscriptionLocked", pendingChangeDate: "2025-07-01" })
      expect(withdrawn.withdrawn).toEqual(scheduled.subscription.pendingChange)
      const { pendingChange: _, ...unchanged } = scheduled.subscription
      expect(withdrawn.subscription).toEqual({ ...unchanged, version: scheduled.subscription.version + 1 })
      expect(withdrawn.subscription.offer).toEqual(walked.committed.subscription.offer)
      expect(withdrawn.subscription.addOns).toEqual(walked.committed.subscription.addOns)
      expect(reopened.forSubscriptionOffer.offerId).toBe("team")
    }))
})

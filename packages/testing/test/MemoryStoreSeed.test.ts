import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { MemoryStore } from "@subshift/store-memory"
import { Demo, Fixtures } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

const TODAY = CalendarDate.make("2025-03-16")

/** The failure of building a store seeded with the demo catalog and these subscriptions. */
const seedFailure = (subscriptions: ReadonlyArray<ReturnType<typeof Fixtures.subscription>>) =>
  Effect.flip(Layer.build(MemoryStore.layer({ offers: Demo.offers, subscriptions })).pipe(Effect.scoped))

describe("MemoryStore seeding", () => {
  it.effect("a EUR subscription holding a USD-priced line fails the layer with InvalidInput naming the line", () =>
    Effect.gen(function*() {
      const alice = Demo.subscriptions(TODAY).find((s) => s.id === "sub-alice")!
      const error = yield* seedFailure([{ ...alice, currency: "EUR" }])
      expect(error).toMatchObject({ _tag: "InvalidInput", field: "offer.unitPrice.currency" })
    }))

  it.effect("a monthly subscription with a 19-day stored period fails with InvalidInput on the period", () =>
    Effect.gen(function*() {
      const alice = Demo.subscriptions(TODAY).find((s) => s.id === "sub-alice")!
      const error = yield* seedFailure([{ ...alice, currentPeriod: { start: CalendarDate.make("2025-03-01"), end: CalendarDate.make("2025-03-20") } }])
      expect(error).toMatchObject({ _tag: "InvalidInput", field: "currentPeriod.end" })
    }))

  it.effect("a line on a rate its catalog offer does not have fails with InvalidInput on the rate", () =>
    Effect.gen(function*() {
      const alice = Demo.subscriptions(TODAY).find((s) => s.id === "sub-alice")!
      const error = yield* seedFailure([{ ...alice, offer: { ...alice.offer, rateId: "ledger-basic-usd-annual" } }])
      expect(error).toMatchObject({ _tag: "InvalidInput", field: "offer.rateId" })
    }))

  it.effect("the demo seed passes the check and is stored as given", () =>
    Effect.gen(function*() {
      const seeded = Demo.subscriptions(TODAY)
      const stored = yield* Effect.forEach(seeded, (s) => Effect.flatMap(Subscriptions, (subs) => subs.findById(s.id)))
      expect(stored).toEqual(seeded.map(Option.some))
    }).pipe(Effect.provide(MemoryStore.layer(Demo.seed(TODAY)))))
})

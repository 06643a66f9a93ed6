import * as FixedClock from "@subshift/core/clock/FixedClock"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Instant from "@subshift/core/domain/Instant"
import { CurrentPrincipal, Customer } from "@subshift/core/domain/Principal"
import * as Ids from "@subshift/core/ports/Ids"
import * as Pricing from "@subshift/core/ports/Pricing"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { MemoryStore } from "@subshift/store-memory"
import { Demo } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const DAY = CalendarDate.make("2012-04-21")

const checkout = SubscriptionCheckout.Default.pipe(
  Layer.provideMerge(Layer.mergeAll(MemoryStore.layer(Demo.seed(DAY)), Pricing.layer(), Ids.layerSequential))
)

const asAlice = Effect.provideService(CurrentPrincipal, new Customer({ customerId: "cus-alice" }))

const upgradeToStandard = Effect.gen(function*() {
  const service = yield* SubscriptionCheckout
  const basket = yield* service.initiate({ forSubscription: { id: "sub-alice" } })
  return yield* service.update(basket.id, [{ action: "add", type: "offer", offerId: "ledger-standard" }])
})

describe("FixedClock", () => {
  // Live: no test clock underneath, so only the fixed clock can put "today" in 2012.
  it.live("a checkout under FixedClock.layer prices as of the day the clock stands at, in the past", () =>
    Effect.gen(function*() {
      const basket = yield* upgradeToStandard
      expect(basket.createdAt).toBe("2012-04-21T10:00:00.000Z")
      expect(basket.quote.pricedAt).toBe("2012-04-21T10:00:00.000Z")
      expect(basket.quote.effectiveDates).toEqual(["2012-04-21"])
      expect(basket.quote.nextBillingDate).toBe("2012-05-01")
      expect(basket.quote.lines.map((l) => l.proration)).toEqual([0, 1].map(() => ({
        convention: "actual-days",
        days: 10,
        periodDays: 30,
        from: "2012-04-21",
        periodStart: "2012-04-01",
        periodEnd: "2012-05-01"
      })))
    }).pipe(asAlice, Effect.provide(checkout), Effect.provide(FixedClock.layer(Instant.make("2012-04-21T10:00:00Z")))))

  it.live("a settable fixed clock moves back and forward, and the checkout follows it", () => {
    const fixed = FixedClock.make(Instant.make("2012-04-21T10:00:00Z"))
    return Effect.gen(function*() {
      const first = yield* upgradeToStandard
      expect(first.quote.lines[0]!.proration).toMatchObject({ from: "2012-04-21", days: 10 })

      yield* fixed.set(Instant.make("2012-04-11T10:00:00Z"))
      expect(yield* fixed.instant).toBe("2012-04-11T10:00:00.000Z")
      const earlier = yield* upgradeToStandard
      expect(earlier.createdAt).toBe("2012-04-11T10:00:00.000Z")
      expect(earlier.quote.effectiveDates).toEqual(["2012-04-11"])
      expect(earlier.quote.lines[0]!.proration).toMatchObject({ from: "2012-04-11", days: 20, periodDays: 30 })

      yield* fixed.advance("1 day")
      expect(yield* Clock.currentTimeMillis).toBe(Date.parse("2012-04-12T10:00:00Z"))
    }).pipe(asAlice, Effect.provide(checkout), Effect.provide(FixedClock.layerOf(fixed)))
  })
})

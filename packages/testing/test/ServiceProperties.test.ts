import { describe, expect, it } from "@effect/vitest"
import { Baskets } from "@subshift/core/ports/Baskets"
import * as Ids from "@subshift/core/ports/Ids"
import * as Instant from "@subshift/core/domain/Instant"
import * as Pricing from "@subshift/core/ports/Pricing"
import { Customer, CurrentPrincipal } from "@subshift/core/domain/Principal"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { MemoryStore } from "@subshift/store-memory"
import { Arbitraries } from "@subshift/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const storeFor = (s: Arbitraries.Scenario) =>
  SubscriptionCheckout.Default.pipe(
    Layer.provideMerge(MemoryStore.layer({ offers: s.offers, subscriptions: [s.subscription] })),
    Layer.provide(Pricing.layer()),
    Layer.provide(Ids.layerSequential)
  )

describe("checkout service properties", () => {
  it.effect.prop("a rejected update leaves the stored basket unchanged", [Arbitraries.scenario], ([s]) =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Instant.toEpochMillis(s.now))
      const checkout = yield* SubscriptionCheckout
      const baskets = yield* Baskets
      const basket = yield* checkout.initiate({ forSubscription: { id: s.subscription.id } })
      const outcome = yield* Effect.either(checkout.update(basket.id, s.items))
      const stored = Option.getOrThrow(yield* baskets.findById(basket.id))
      if (outcome._tag === "Left") {
        expect(outcome.left._tag).toBe("BasketRejected")
        expect(stored).toEqual(basket)
      } else {
        expect(stored).toEqual(outcome.right)
        expect(stored.version).toBe(basket.version + 1)
      }
    }).pipe(
      Effect.provide(storeFor(s)),
      Effect.provideService(CurrentPrincipal, new Customer({ customerId: s.subscription.owner }))
    ), { fastCheck: { numRuns: 150 } })

  it.effect.prop("the same update sent twice gives the same basket but for its version", [Arbitraries.scenario], ([s]) =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Instant.toEpochMillis(s.now))
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: s.subscription.id } })
      const first = yield* Effect.either(checkout.update(basket.id, s.items))
      if (first._tag === "Left") return
      const second = yield* checkout.update(basket.id, s.items)
      expect({ ...second, version: 0 }).toEqual({ ...first.right, version: 0 })
      expect(second.version).toBe(first.right.version + 1)
    }).pipe(
      Effect.provide(storeFor(s)),
      Effect.provideService(CurrentPrincipal, new Customer({ customerId: s.subscription.owner }))
    ), { fastCheck: { numRuns: 150 } })
})

import { describe, expect, it } from "@effect/vitest"
import * as Ids from "@subshift/core/ports/Ids"
import * as Pricing from "@subshift/core/ports/Pricing"
import { Customer, CurrentPrincipal } from "@subshift/core/domain/Principal"
import { Events } from "@subshift/core/ports/Events"
import { PendingChanges } from "@subshift/core/usecases/PendingChanges"
import { ScheduledChanges } from "@subshift/core/usecases/ScheduledChanges"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { MemoryStore } from "@subshift/store-memory"
import { Demo } from "@subshift/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { at, TODAY } from "./support.js"

const Services = Layer.mergeAll(SubscriptionCheckout.Default, ScheduledChanges.Default, PendingChanges.Default).pipe(
  Layer.provideMerge(MemoryStore.layer(Demo.seed(TODAY))),
  Layer.provide(Pricing.layer()),
  Layer.provide(Ids.layerSequential)
)

const erin = new Customer({ customerId: "cus-erin" })

/**
 * Erin (Standard with Archive, billed on the 1st) downgrades to Basic and adds Crossword: the
 * add-on applies today; the downgrade, and the removal of Archive that Basic does not accept,
 * wait for April 1st.
 */
const downgradeWithAddOn = Effect.gen(function*() {
  const checkout = yield* SubscriptionCheckout
  const basket = yield* checkout.initiate({ forSubscription: { id: "sub-erin" } })
  yield* checkout.update(basket.id, [
    { action: "add", type: "offer", offerId: "ledger-basic" },
    { action: "add", type: "add_on", offerId: "addon-crossword" }
  ])
  return yield* checkout.commit(basket.id)
}).pipe(Effect.provideService(CurrentPrincipal, erin))

describe("withdrawing a scheduled change", () => {
  it.effect("keeps what already took effect, drops what was waiting, and lifts the lock at once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(`${TODAY}T10:00:00Z`))
      const committed = yield* downgradeWithAddOn
      expect(committed.subscription.addOns.map((l) => l.offerId)).toEqual(["addon-archive", "addon-crossword"])
      expect(committed.subscription.pendingChange?.effectiveDate).toBe("2025-04-01")
      const locked = yield* Effect.flip(
        (yield* SubscriptionCheckout).initiate({ forSubscription: { id: "sub-erin" } }).pipe(Effect.provideService(CurrentPrincipal, erin))
      )
      expect(locked._tag).toBe("SubscriptionLocked")

      const done = yield* (yield* PendingChanges).withdraw("sub-erin", { by: erin })
      expect(done.withdrawn).toEqual(committed.subscription.pendingChange)
      const { pendingChange: _, ...rest } = committed.subscription
      expect(done.subscription).toEqual({ ...rest, version: committed.subscription.version + 1 })
      expect(done.subscription.offer.offerId).toBe("ledger-standard")
      expect(done.subscription.addOns.map((l) => l.offerId)).toEqual(["addon-archive", "addon-crossword"])

      const basket = yield* (yield* SubscriptionCheckout).initiate({ forSubscription: { id: "sub-erin" } }).pipe(
        Effect.provideService(CurrentPrincipal, erin)
      )
      expect(basket.forSubscriptionOffer.offerId).toBe("ledger-standard")

      yield* TestClock.setTime(at("2025-04-01T00:05:00Z"))
      expect(yield* (yield* ScheduledChanges).applyDue()).toEqual({ examined: 0, applied: 0 })
      const stored = Option.getOrThrow(yield* (yield* Subscriptions).findById("sub-erin"))
      expect(stored.offer.offerId).toBe("ledger-standard")
      const events = yield* (yield* Events).list({ subscriptionId: "sub-erin", limit: 10 })
      expect(events.map((e) => [e.type, e.actor.kind, e.amendmentId])).toEqual([
        ["amendment.committed", "customer", committed.amendment.id],
        ["subscription.pending_change_withdrawn", "customer", committed.amendment.id]
      ])
    }).pipe(Effect.provide(Services)))

  it.effect("refuses an id longer than any subscription's as invalid input", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip((yield* PendingChanges).withdraw(`sub-${"x".repeat(80)}`, { by: erin }))
      expect(error).toMatchObject({ _tag: "InvalidInput", field: "id" })
    }).pipe(Effect.provide(Services)))
})

/**
 * Taking back a scheduled change, after the walk: the customer, now on Team with single sign-on,
 * schedules a downgrade to Starter for the next period, which locks the subscription until then;
 * they change their mind and withdraw it with `PendingChanges.withdraw`. The lock lifts at once,
 * and the subscription is exactly as the walk left it.
 */
import { Customer, CurrentPrincipal } from "@subshift/core/domain/Principal"
import * as Ids from "@subshift/core/ports/Ids"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { PendingChanges } from "@subshift/core/usecases/PendingChanges"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { MemoryStore } from "@subshift/store-memory"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { layer, subscription, walk } from "./program.js"

const customer = new Customer({ customerId: subscription.owner })

/** Schedule a downgrade, meet the lock, withdraw the downgrade, open a basket again. */
export const withdrawal = Effect.gen(function*() {
  const checkout = yield* SubscriptionCheckout
  const open = checkout.initiate({ forSubscription: { id: subscription.id } })
  const basket = yield* open
  const picked = yield* checkout.update(basket.id, [{ action: "add", type: "offer", offerId: basket.nextActions.downgrades[0]!.offerId }])
  const scheduled = yield* checkout.commit(picked.id)
  const locked = yield* open.pipe(
    Effect.as(undefined),
    Effect.catchTag("SubscriptionLocked", (e) => Effect.succeed(e))
  )
  const withdrawn = yield* (yield* PendingChanges).withdraw(subscription.id, { by: customer })
  const reopened = yield* open
  return { scheduled, locked, withdrawn, reopened }
}).pipe(Effect.provideService(CurrentPrincipal, customer))

/** The walk's services and the pending changes use case, over one store. */
export const layerWithWithdrawal = <E>(store: Layer.Layer<StorePorts, E>) =>
  PendingChanges.Default.pipe(Layer.provideMerge(layer(store)), Layer.provide(Ids.layerRandom))

/** The walk, then the withdrawal, on a store, within the store's layer. */
export const runWithWithdrawalOn = <E>(store: Layer.Layer<StorePorts, E>) =>
  Effect.provide(Effect.zip(walk, withdrawal), layerWithWithdrawal(store))

/** The walk and the withdrawal on the in-memory store. */
export const programWithWithdrawal = runWithWithdrawalOn(MemoryStore.layer())

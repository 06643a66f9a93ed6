/**
 * A seat change: a team on Team with 5 seats goes to 8 in the middle of the month. The basket
 * names the held offer with an `update` item and the new quantity; the engine keeps the rate and
 * the price the team pays, charges the 3 extra seats for the days left, and the commit applies
 * them today (fewer seats would wait for the next period start and lock the subscription until
 * then).
 */
import * as Catalog from "@subshift/core/ports/Catalog"
import { Customer, CurrentPrincipal } from "@subshift/core/domain/Principal"
import type { Subscription } from "@subshift/core/domain/Subscription"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { MemoryStore } from "@subshift/store-memory"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { catalogFile, layer, subscription } from "./program.js"

/** A team of 5 on Team, billed on the 1st, for customer cus-43. */
export const teamSubscription: Subscription = {
  ...subscription,
  id: "sub-43",
  name: "EMBED0000043",
  owner: "cus-43",
  offer: { offerId: "team", rateId: "team-eur", quantity: 5, unitPrice: { amount: 2000, currency: "EUR" } }
}

/** The seat change over whatever store `layer` was given: 5 → 8 seats on Team, quoted, then committed. */
export const seatChange = Effect.gen(function*() {
  yield* (yield* Catalog.Catalog).put(yield* Catalog.decode(catalogFile))
  yield* (yield* Subscriptions).put(teamSubscription)
  const checkout = yield* SubscriptionCheckout
  const basket = yield* checkout.initiate({ forSubscription: { id: teamSubscription.id } })
  const seats = basket.nextActions.quantityChanges.find((q) => q.type === "offer")!
  const priced = yield* checkout.update(basket.id, [{ action: "update", type: "offer", offerId: seats.offerId, quantity: 8 }])
  const committed = yield* checkout.commit(priced.id)
  return { seats, priced, committed }
}).pipe(Effect.provideService(CurrentPrincipal, new Customer({ customerId: teamSubscription.owner })))

/** The seat change on a store, run within the store's layer. */
export const seatChangeOn = <E>(store: Layer.Layer<StorePorts, E>) => Effect.provide(seatChange, layer(store))

/** The seat change on the in-memory store. */
export const seatProgram = seatChangeOn(MemoryStore.layer())

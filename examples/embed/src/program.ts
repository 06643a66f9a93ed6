/**
 * Embedding Subshift: a host service validates its catalog, seeds a store, opens a basket on a
 * subscription, picks an upgrade and an add-on, shows the quote and commits. Only
 * `@subshift/core` and a store are used: `@subshift/store-memory` here, and any other store's
 * layer works the same way (the tests also run it on the embedded Postgres store).
 */
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Catalog from "@subshift/core/ports/Catalog"
import * as Ids from "@subshift/core/ports/Ids"
import * as Instant from "@subshift/core/domain/Instant"
import * as Money from "@subshift/core/domain/Money"
import * as Pricing from "@subshift/core/ports/Pricing"
import { Customer, CurrentPrincipal } from "@subshift/core/domain/Principal"
import type { Quote } from "@subshift/core/domain/Quote"
import type { Subscription } from "@subshift/core/domain/Subscription"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { MemoryStore } from "@subshift/store-memory"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The host's catalog, as it would arrive from a file or an admin API: unknown data. */
export const catalogFile: unknown = {
  offers: [
    {
      id: "starter",
      name: "Starter",
      kind: "subscription",
      rates: [{ id: "starter-eur", amount: 1000, currency: "EUR", interval: { count: 1, unit: "month" } }],
      upgrades: ["team"],
      addOns: ["support"]
    },
    {
      id: "team",
      name: "Team",
      kind: "subscription",
      rates: [{ id: "team-eur", amount: 2000, currency: "EUR", interval: { count: 1, unit: "month" } }],
      downgrades: ["starter"],
      addOns: ["support", "sso"]
    },
    { id: "support", name: "Priority support", kind: "add_on", rates: [{ id: "support-eur", amount: 500, currency: "EUR", interval: { count: 1, unit: "month" } }] },
    { id: "sso", name: "Single sign-on", kind: "add_on", rates: [{ id: "sso-eur", amount: 800, currency: "EUR", interval: { count: 1, unit: "month" } }] }
  ]
}

/** The subscription being changed: Starter, billed on the 1st, for customer cus-42. */
export const subscription: Subscription = {
  id: "sub-42",
  name: "EMBED0000042",
  owner: "cus-42",
  status: "active",
  currency: "EUR",
  interval: { count: 1, unit: "month" },
  anchorDay: 1,
  offer: { offerId: "starter", rateId: "starter-eur", quantity: 1, unitPrice: { amount: 1000, currency: "EUR" } },
  addOns: [],
  currentPeriod: { start: CalendarDate.make("2025-06-01"), end: CalendarDate.make("2025-07-01") },
  version: 1,
  updatedAt: Instant.make("2025-06-01T00:00:00.000Z")
}

/** Renders a quote as text lines. */
export const render = (quote: Quote): Array<string> => [
  ...quote.lines.map((l) => `  ${Money.format(l.amount).padStart(12)}  ${l.description}`),
  `  ${Money.format(quote.dueNow).padStart(12)}  due now`,
  `  ${Money.format(quote.nextRecurring).padStart(12)}  from ${quote.nextBillingDate}, every month`
]

/**
 * The services the walk needs, over a store: the checkout and the store's own ports. The walk
 * runs inside this layer, so the store stays open until the walk is done and is released after.
 */
export const layer = <E>(store: Layer.Layer<StorePorts, E>) =>
  SubscriptionCheckout.Default.pipe(
    Layer.provideMerge(store),
    Layer.provide(Pricing.layer()),
    Layer.provide(Ids.layerRandom)
  )

/** The walk over whatever store `layer` was given: validate, seed, open, pick, quote, commit. */
export const walk = Effect.gen(function*() {
  const offers = yield* Catalog.decode(catalogFile)
  yield* (yield* Catalog.Catalog).put(offers)
  yield* (yield* Subscriptions).put(subscription)
  const checkout = yield* SubscriptionCheckout
  const basket = yield* checkout.initiate({ forSubscription: { id: subscription.id } })
  const picked = yield* checkout.update(basket.id, [
    { action: "add", type: "offer", offerId: basket.nextActions.upgrades[0]!.offerId },
    { action: "add", type: "add_on", offerId: "sso" }
  ])
  const committed = yield* checkout.commit(picked.id)
  return { basket, picked, committed }
}).pipe(Effect.provideService(CurrentPrincipal, new Customer({ customerId: subscription.owner })))

/** The walk on a store, run entirely within the store's layer. */
export const runOn = <E>(store: Layer.Layer<StorePorts, E>) => Effect.provide(walk, layer(store))

/** The whole walk on the in-memory store. */
export const program = runOn(MemoryStore.layer())

// Embedding Subshift from plain Node ESM, against the installed packages: validate a catalog, seed
// the memory store, open a basket, pick an upgrade and an add-on, print the quote, commit.
import { Catalog, Ids, Money, Pricing, Principal, SubscriptionCheckout } from "@subshift/core"
import { MemoryStore } from "@subshift/store-memory"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const rate = (id, amount) => [{ id, amount, currency: "EUR", interval: { count: 1, unit: "month" } }]
const catalogFile = {
  offers: [
    { id: "starter", name: "Starter", kind: "subscription", rates: rate("starter-eur", 1000), upgrades: ["team"], addOns: ["support"] },
    { id: "team", name: "Team", kind: "subscription", rates: rate("team-eur", 2000), downgrades: ["starter"], addOns: ["support", "sso"] },
    { id: "support", name: "Priority support", kind: "add_on", rates: rate("support-eur", 500) },
    { id: "sso", name: "Single sign-on", kind: "add_on", rates: rate("sso-eur", 800) }
  ]
}
const subscription = {
  id: "sub-42",
  name: "EMBED0000042",
  owner: "cus-42",
  status: "active",
  currency: "EUR",
  interval: { count: 1, unit: "month" },
  anchorDay: 1,
  offer: { offerId: "starter", rateId: "starter-eur", quantity: 1, unitPrice: { amount: 1000, currency: "EUR" } },
  addOns: [],
  currentPeriod: { start: "2025-06-01", end: "2025-07-01" },
  version: 1,
  updatedAt: "2025-06-01T00:00:00.000Z"
}

const program = Effect.gen(function*() {
  const offers = yield* Catalog.decode(catalogFile)
  const checkout = yield* SubscriptionCheckout.SubscriptionCheckout.pipe(
    Effect.provide(
      SubscriptionCheckout.SubscriptionCheckout.Default.pipe(
        Layer.provide(MemoryStore.layer({ offers, subscriptions: [subscription] })),
        Layer.provide(Pricing.layer()),
        Layer.provide(Ids.layerRandom)
      )
    )
  )
  return yield* Effect.gen(function*() {
    const basket = yield* checkout.initiate({ forSubscription: { id: subscription.id } })
    const picked = yield* checkout.update(basket.id, [
      { action: "add", type: "offer", offerId: basket.nextActions.upgrades[0].offerId },
      { action: "add", type: "add_on", offerId: "sso" }
    ])
    const committed = yield* checkout.commit(picked.id)
    return { basket, picked, committed }
  }).pipe(Effect.provideService(Principal.CurrentPrincipal, new Principal.Customer({ customerId: subscription.owner })))
})

const { basket, picked, committed } = await Effect.runPromise(program)
console.log(`opened ${basket.id} on ${basket.subscriptionId}; upgrades: ${basket.nextActions.upgrades.map((o) => o.offerId).join(",")}`)
for (const line of picked.quote.lines) console.log(`line ${Money.format(line.amount)} ${line.description}`)
console.log(`due now ${Money.format(picked.quote.dueNow)}`)
console.log(`recurring ${Money.format(picked.quote.nextRecurring)}`)
console.log(`committed ${committed.amendment.id} offer=${committed.subscription.offer.offerId} addOns=${committed.subscription.addOns.map((a) => a.offerId).join(",")} version=${committed.subscription.version}`)

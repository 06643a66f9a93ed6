/**
 * Core throughput: basket updates per second through `SubscriptionCheckout.update` with the
 * in-memory store, on one core, for catalogs of 10 to 10,000 offers. The baseline, measured in
 * the same run, is the pure rules and pricing alone (no Effect runtime, no store), so the ratio
 * shows what the service layer costs.
 */
import * as BasketRules from "@subshift/core/rules/BasketRules"
import type { OrderItem } from "@subshift/core/domain/Basket"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Ids from "@subshift/core/ports/Ids"
import * as Instant from "@subshift/core/domain/Instant"
import type { Offer } from "@subshift/core/domain/Offer"
import * as Pricing from "@subshift/core/ports/Pricing"
import { Customer, CurrentPrincipal } from "@subshift/core/domain/Principal"
import * as Subscription from "@subshift/core/domain/Subscription"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { MemoryStore } from "@subshift/store-memory"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { cell, median, num, ratio, type Section, spread, table, verdict } from "./report.js"

const monthly = { count: 1, unit: "month" } as const
const SIZES = [10, 100, 1_000, 10_000]
const ROUNDS = 3
const UPDATES = 20_000

/** A catalog of `size` offers: nine tiers in ten, each with paths to its neighbours, and add-ons. */
export const catalogOf = (size: number): Array<Offer> => {
  const addOns = Math.max(3, Math.floor(size / 10))
  const tiers = size - addOns
  const tier = (i: number) => `tier-${i}`
  const addOn = (i: number) => `addon-${i}`
  return [
    ...Array.from({ length: tiers }, (_, i): Offer => ({
      id: tier(i),
      name: `Tier ${i}`,
      kind: "subscription",
      rates: [
        { id: `${tier(i)}-usd`, amount: 1000 + i * 100, currency: "USD", interval: monthly },
        { id: `${tier(i)}-gbp`, amount: 900 + i * 90, currency: "GBP", interval: monthly }
      ],
      upgrades: [1, 2, 3].map((d) => i + d).filter((j) => j < tiers).map(tier),
      downgrades: [1, 2, 3].map((d) => i - d).filter((j) => j >= 0).map(tier),
      addOns: [0, 1, 2, 3, 4].map((d) => addOn((i + d) % addOns)),
      sellable: {}
    })),
    ...Array.from({ length: addOns }, (_, i): Offer => ({
      id: addOn(i),
      name: `Add-on ${i}`,
      kind: "add_on",
      rates: [{ id: `${addOn(i)}-usd`, amount: 200 + i, currency: "USD", interval: monthly }],
      upgrades: [],
      downgrades: [],
      addOns: [],
      sellable: {}
    }))
  ]
}

const subscriptionOn = (offers: ReadonlyArray<Offer>): Subscription.Subscription => {
  const current = offers[Math.min(3, offers.length - 1)]!
  return {
    id: "sub-bench",
    name: "BENCH0000001",
    owner: "cus-bench",
    status: "active",
    currency: "USD",
    interval: monthly,
    anchorDay: 1,
    offer: { offerId: current.id, rateId: `${current.id}-usd`, quantity: 1, unitPrice: { amount: current.rates[0]!.amount, currency: "USD" } },
    addOns: [{ offerId: current.addOns[0]!, rateId: `${current.addOns[0]}-usd`, quantity: 1, unitPrice: { amount: 200, currency: "USD" } }],
    currentPeriod: { start: CalendarDate.make("2025-01-01"), end: CalendarDate.make("2025-02-01") },
    version: 1,
    updatedAt: Instant.make("2025-01-01T00:00:00.000Z")
  }
}

/** Two alternating requests: an upgrade with an add-on, and a downgrade alone. */
const requestsFor = (offers: ReadonlyArray<Offer>, subscription: Subscription.Subscription): Array<Array<OrderItem>> => {
  const current = offers.find((o) => o.id === subscription.offer.offerId)!
  const up = offers.find((o) => o.id === current.upgrades[0])!
  return [
    [
      { action: "add", type: "offer", offerId: up.id },
      { action: "add", type: "add_on", offerId: up.addOns.find((a) => a !== subscription.addOns[0]!.offerId)! }
    ],
    [{ action: "add", type: "offer", offerId: current.downgrades[0]! }]
  ]
}

const throughput = async (size: number, updates: number): Promise<number> => {
  const offers = catalogOf(size)
  const subscription = subscriptionOn(offers)
  const requests = requestsFor(offers, subscription)
  const runtime = ManagedRuntime.make(
    SubscriptionCheckout.Default.pipe(
      Layer.provide(MemoryStore.layer({ offers, subscriptions: [subscription] })),
      Layer.provide(Pricing.layer()),
      Layer.provide(Ids.layerRandom)
    )
  )
  const principal = new Customer({ customerId: subscription.owner })
  const loop = (n: number) =>
    Effect.gen(function*() {
      const checkout = yield* SubscriptionCheckout
      const basket = yield* checkout.initiate({ forSubscription: { id: subscription.id } })
      for (let i = 0; i < n; i++) yield* checkout.update(basket.id, requests[i % 2]!)
    }).pipe(Effect.provideService(CurrentPrincipal, principal))
  await runtime.runPromise(loop(2_000))
  const started = performance.now()
  await runtime.runPromise(loop(updates))
  const seconds = (performance.now() - started) / 1000
  await runtime.dispose()
  return updates / seconds
}

const baseline = (size: number, updates: number): number => {
  const offers = catalogOf(size)
  const byId = new Map(offers.map((o) => [o.id, o]))
  const subscription = subscriptionOn(offers)
  const requests = requestsFor(offers, subscription)
  const now = Instant.fromEpochMillis(Date.now())
  const today = CalendarDate.ofInstant(now)
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const items = requests[i % 2]!
      const ctx = {
        subscription,
        current: byId.get(subscription.offer.offerId)!,
        offers: byId,
        now,
        today,
        period: Subscription.periodOn(subscription, today),
        partner: undefined
      }
      const outcome = Either.getOrThrow(BasketRules.update(ctx, items))
      Pricing.price({ subscription, actions: outcome.actions, now, today })
    }
  }
  run(2_000)
  const started = performance.now()
  run(updates)
  return updates / ((performance.now() - started) / 1000)
}

/** Runs the section: rounds interleaved (every size, service then baseline, per round). */
export const run = async (): Promise<Section> => {
  const service = new Map<number, Array<number>>(SIZES.map((s) => [s, []]))
  const pure = new Map<number, Array<number>>(SIZES.map((s) => [s, []]))
  for (let round = 0; round < ROUNDS; round++) {
    for (const size of SIZES) {
      pure.get(size)!.push(baseline(size, UPDATES))
      service.get(size)!.push(await throughput(size, UPDATES))
    }
  }
  const at = (size: number) => spread(service.get(size)!)
  const at100 = at(100).median
  const rows = SIZES.map((size) => {
    const s = at(size)
    const p = spread(pure.get(size)!)
    return [num(size), cell(s), cell(p), ratio(s.median, p.median), ratio(s.median, at100)]
  })
  const large = at(10_000).median / at100
  const markdown = [
    `## Core: basket updates per second`,
    "",
    `\`SubscriptionCheckout.update\` on the in-memory store, one core, ${num(UPDATES)} updates per run after a warm-up; ` +
    `median (min – max) of ${ROUNDS} interleaved runs. The baseline is the pure rules and pricing alone (no Effect runtime, ` +
    "no store) on the same catalog and requests, so its ratio is what the service layer costs.",
    "",
    table(["offers", "updates/s", "pure rules baseline/s", "ratio to baseline", "ratio to 100 offers"], rows),
    "",
    `Targets: at least 50,000 updates/s at 100 offers: ${num(at100)} ${verdict(at100 >= 50_000)}; ` +
    `at 10,000 offers at least 0.20 of the 100-offer figure: ${large.toFixed(2)} ${verdict(large >= 0.2)}.`
  ].join("\n")
  console.log(markdown)
  return {
    markdown,
    chart: {
      title: "Core: updates/s against catalog size",
      xLabel: "offers in the catalog",
      yLabel: "basket updates per second",
      xs: SIZES,
      series: [
        { name: "SubscriptionCheckout.update (memory store)", values: SIZES.map((size) => at(size).median) },
        { name: "pure rules and pricing (baseline)", values: SIZES.map((size) => median(pure.get(size)!)), dashed: true, color: 0 }
      ]
    }
  }
}

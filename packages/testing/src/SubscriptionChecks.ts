/**
 * The contract of `Subscriptions.put` on what it is given: a store keeps only a subscription that
 * passes `Subscription.check` against the offers its catalog holds, and a refused put changes
 * nothing. Part of the store contract; every test uses its own ids.
 */
import { expect, it } from "@effect/vitest"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import type { InvalidInput } from "@subshift/core/domain/Errors"
import type { Subscription } from "@subshift/core/domain/Subscription"
import { Catalog } from "@subshift/core/ports/Catalog"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Fixtures from "./Fixtures.js"

const d = CalendarDate.make
const usd = (amount: number) => ({ amount, currency: "USD" })

/** The failure of a put, as its tag and field, and whether the subscription is stored afterwards. */
const refusal = (subscription: Subscription) =>
  Effect.gen(function*() {
    const subscriptions = yield* Subscriptions
    const error = yield* Effect.flip(subscriptions.put(subscription))
    const stored = yield* subscriptions.findById(subscription.id)
    return { tag: error._tag, field: (error as InvalidInput).field, stored: Option.isSome(stored) }
  })

/** Registers the subscription-check contract. */
export const suite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`Subscription checks on put: ${name}`, (it) => {
    it.effect("a line priced in another currency than the subscription's is InvalidInput on that line, and nothing is stored", () =>
      Effect.gen(function*() {
        const eur = Fixtures.subscription({ currency: "EUR" })
        expect(yield* refusal(eur)).toEqual({ tag: "InvalidInput", field: "offer.unitPrice.currency", stored: false })
        const addOn = Fixtures.subscription({
          addOns: [{ offerId: "addon-x", rateId: "addon-x-eur", quantity: 1, unitPrice: { amount: 100, currency: "EUR" } }]
        })
        expect(yield* refusal(addOn)).toEqual({ tag: "InvalidInput", field: "addOns[0].unitPrice.currency", stored: false })
      }))

    it.effect("a period its interval and anchor day do not give is InvalidInput on the period", () =>
      Effect.gen(function*() {
        // A monthly period of 19 days.
        const short = Fixtures.subscription({ currentPeriod: { start: d("2025-03-01"), end: d("2025-03-20") } })
        expect(yield* refusal(short)).toEqual({ tag: "InvalidInput", field: "currentPeriod.end", stored: false })
        // A month long, but not starting on the anchor day.
        const offAnchor = Fixtures.subscription({ anchorDay: 1, currentPeriod: { start: d("2025-03-10"), end: d("2025-04-10") } })
        expect(yield* refusal(offAnchor)).toEqual({ tag: "InvalidInput", field: "currentPeriod.start", stored: false })
      }))

    it.effect("an end-of-month anchor clamped to a short month is consistent and stored", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const feb = Fixtures.subscription({ anchorDay: 31, currentPeriod: { start: d("2025-02-28"), end: d("2025-03-31") } })
        yield* subscriptions.put(feb)
        expect(yield* subscriptions.findById(feb.id)).toEqual(Option.some(feb))
      }))

    it.effect("a rate the catalog's offer lacks, or one billed at another interval, is InvalidInput on its rateId", () =>
      Effect.gen(function*() {
        const offer = Fixtures.offer({
          rates: [
            { id: `rate-m-${Fixtures.unique()}`, amount: 1000, currency: "USD", interval: { count: 1, unit: "month" } },
            { id: `rate-y-${Fixtures.unique()}`, amount: 9000, currency: "USD", interval: { count: 1, unit: "year" } }
          ]
        })
        const addOn = Fixtures.offer({ kind: "add_on" })
        yield* (yield* Catalog).put([offer, addOn])
        const [monthly, yearly] = offer.rates
        const line = (rateId: string) => ({ offerId: offer.id, rateId, quantity: 1, unitPrice: usd(1000) })

        const unknownRate = Fixtures.subscription({ offer: line("no-such-rate") })
        expect(yield* refusal(unknownRate)).toEqual({ tag: "InvalidInput", field: "offer.rateId", stored: false })
        const wrongInterval = Fixtures.subscription({ offer: line(yearly!.id) })
        expect(yield* refusal(wrongInterval)).toEqual({ tag: "InvalidInput", field: "offer.rateId", stored: false })
        const addOnRate = Fixtures.subscription({
          offer: line(monthly!.id),
          addOns: [{ offerId: addOn.id, rateId: monthly!.id, quantity: 1, unitPrice: usd(300) }]
        })
        expect(yield* refusal(addOnRate)).toEqual({ tag: "InvalidInput", field: "addOns[0].rateId", stored: false })

        const subscriptions = yield* Subscriptions
        const good = Fixtures.subscription({ offer: line(monthly!.id), addOns: [{ offerId: addOn.id, rateId: addOn.rates[0]!.id, quantity: 1, unitPrice: usd(300) }] })
        yield* subscriptions.put(good)
        expect(yield* subscriptions.findById(good.id)).toEqual(Option.some(good))
      }))

    it.effect("a refused put over a stored subscription leaves the stored one as it was", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const sub = Fixtures.subscription()
        yield* subscriptions.put(sub)
        const bad = { ...sub, version: sub.version + 1, currentPeriod: { start: d("2025-03-01"), end: d("2025-03-20") } }
        expect(yield* refusal(bad)).toEqual({ tag: "InvalidInput", field: "currentPeriod.end", stored: true })
        expect(yield* subscriptions.findById(sub.id)).toEqual(Option.some(sub))
      }))
  })

/**
 * Withdrawing a scheduled change against a store: the subscription loses its pending change and
 * nothing else, in one write with its `subscription.pending_change_withdrawn` event; a refusal
 * writes nothing; and a withdrawal racing the scheduler applying the same change has exactly one
 * winner. Part of the store contract, so every adapter runs it.
 */
import { expect, it } from "@effect/vitest"
import * as FixedClock from "@subshift/core/clock/FixedClock"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Instant from "@subshift/core/domain/Instant"
import { Operator } from "@subshift/core/domain/Operator"
import { Customer, Partner } from "@subshift/core/domain/Principal"
import type { Subscription } from "@subshift/core/domain/Subscription"
import { Events } from "@subshift/core/ports/Events"
import * as Ids from "@subshift/core/ports/Ids"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { PendingChanges, type Withdrawer } from "@subshift/core/usecases/PendingChanges"
import { ScheduledChanges } from "@subshift/core/usecases/ScheduledChanges"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Fixtures from "./Fixtures.js"

const on = (instant: string) => Effect.withClock(FixedClock.make(Instant.make(instant)).clock)

/** A subscription with a downgrade scheduled for the start of its next period. */
const scheduled = (overrides: Partial<Subscription> = {}, effectiveDate = CalendarDate.make("2025-04-01")): Subscription =>
  Fixtures.subscription({
    addOns: [{ offerId: "addon-a", rateId: "addon-a-usd", quantity: 2, unitPrice: { amount: 300, currency: "USD" } }],
    pendingChange: {
      amendmentId: `amd-${Fixtures.unique()}`,
      effectiveDate,
      actions: [
        Fixtures.action({ offerId: "offer-lite", rateId: "offer-lite-usd", unitPrice: { amount: 500, currency: "USD" }, timing: "NEXT_PERIOD_START", effectiveDate, prorate: false })
      ]
    },
    ...overrides
  })

const stored = (id: string) => Effect.flatMap(Subscriptions, (s) => Effect.map(s.findById(id), Option.getOrThrow))
const eventsOf = (id: string) => Effect.flatMap(Events, (e) => e.list({ subscriptionId: id, limit: 100 }))
const failureOf = <A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) => Effect.flip(self)

/** Registers the withdrawal contract. */
export const pendingChangesSuite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(
    Layer.mergeAll(PendingChanges.Default, ScheduledChanges.Default).pipe(Layer.provideMerge(layer), Layer.provide(Ids.layerRandom)),
    { timeout: "60 seconds" }
  )(`Pending changes contract: ${name}`, (it) => {
    it.effect("the owner withdraws: the pending change goes, nothing else changes, and the event records it in the same write", () =>
      Effect.gen(function*() {
        const sub = scheduled()
        yield* (yield* Subscriptions).put(sub)
        const done = yield* (yield* PendingChanges).withdraw(sub.id, { by: new Customer({ customerId: sub.owner }) }).pipe(
          on("2025-03-16T10:00:00.000Z")
        )
        const { pendingChange, ...unchanged } = sub
        const expected = { ...unchanged, version: 2, updatedAt: Instant.make("2025-03-16T10:00:00.000Z") }
        expect(done).toEqual({ subscription: expected, withdrawn: pendingChange })
        expect(yield* stored(sub.id)).toEqual(expected)
        const events = yield* eventsOf(sub.id)
        expect(events.map((e) => [e.type, e.actor, e.amendmentId])).toEqual([
          ["subscription.pending_change_withdrawn", { kind: "customer", id: sub.owner }, pendingChange!.amendmentId]
        ])
        expect(events[0]!.before?.pendingChange).toEqual({ amendmentId: pendingChange!.amendmentId, effectiveDate: "2025-04-01" })
        expect(events[0]!.after?.pendingChange).toBeUndefined()
        expect(events[0]!.after?.offer).toEqual(sub.offer)
        expect(events[0]!.after?.addOns).toEqual(sub.addOns)
        expect(events[0]!.amounts?.nextRecurring).toEqual({ amount: 1600, currency: "USD" })
      }))

    it.effect("an operator's withdrawal records the key's id and name and the reason given", () =>
      Effect.gen(function*() {
        const sub = scheduled()
        yield* (yield* Subscriptions).put(sub)
        yield* (yield* PendingChanges).withdraw(sub.id, {
          by: new Operator({ keyId: "key-7", name: "ops", scopes: ["subscriptions:write"] }),
          reason: "customer called support"
        }).pipe(on("2025-03-16T10:00:00.000Z"))
        const [event] = yield* eventsOf(sub.id)
        expect(event?.actor).toEqual({ kind: "operator", id: "key-7", name: "ops" })
        expect(event?.reason).toBe("customer called support")
      }))

    it.effect("the partner that sold it may withdraw; another customer or partner is told it does not exist, and nothing is written", () =>
      Effect.gen(function*() {
        const sub = scheduled({ partnerOrg: "partner-a" })
        yield* (yield* Subscriptions).put(sub)
        const service = yield* PendingChanges
        const strangers: ReadonlyArray<Withdrawer> = [
          new Customer({ customerId: `cus-${Fixtures.unique()}` }),
          new Partner({ partnerOrg: "partner-b", scopes: ["partner"] })
        ]
        for (const by of strangers) {
          const error = yield* failureOf(service.withdraw(sub.id, { by }).pipe(on("2025-03-16T10:00:00.000Z")))
          expect(error).toMatchObject({ _tag: "SubscriptionNotFound", subscription: sub.id })
        }
        const unknown = yield* failureOf(service.withdraw(`sub-${Fixtures.unique()}`, { by: strangers[0]! }))
        expect(unknown._tag).toBe("SubscriptionNotFound")
        expect(yield* stored(sub.id)).toEqual(sub)
        expect(yield* eventsOf(sub.id)).toEqual([])
        const done = yield* service.withdraw(sub.id, { by: new Partner({ partnerOrg: "partner-a", scopes: ["partner"] }) }).pipe(
          on("2025-03-16T10:00:00.000Z")
        )
        expect(done.subscription.pendingChange).toBeUndefined()
        expect((yield* eventsOf(sub.id)).map((e) => e.actor)).toEqual([{ kind: "partner", id: "partner-a" }])
      }))

    it.effect("with nothing scheduled, or withdrawn already, it is NoPendingChange and nothing is written", () =>
      Effect.gen(function*() {
        const service = yield* PendingChanges
        const plain = Fixtures.subscription()
        const sub = scheduled()
        yield* Effect.forEach([plain, sub], (yield* Subscriptions).put)
        const by = (s: Subscription) => ({ by: new Customer({ customerId: s.owner }) })
        const none = yield* failureOf(service.withdraw(plain.id, by(plain)).pipe(on("2025-03-16T10:00:00.000Z")))
        expect(none).toMatchObject({ _tag: "NoPendingChange", subscriptionId: plain.id })
        expect(yield* stored(plain.id)).toEqual(plain)
        yield* service.withdraw(sub.id, by(sub)).pipe(on("2025-03-16T10:00:00.000Z"))
        const after = yield* stored(sub.id)
        const again = yield* failureOf(service.withdraw(sub.id, by(sub)).pipe(on("2025-03-16T11:00:00.000Z")))
        expect(again._tag).toBe("NoPendingChange")
        expect(yield* stored(sub.id)).toEqual(after)
        expect((yield* eventsOf(sub.id)).length).toBe(1)
        expect(yield* eventsOf(plain.id)).toEqual([])
      }))

    it.effect("once its date has come the change takes effect instead, and the answer says when", () =>
      Effect.gen(function*() {
        const sub = scheduled()
        yield* (yield* Subscriptions).put(sub)
        const error = yield* failureOf(
          (yield* PendingChanges).withdraw(sub.id, { by: new Customer({ customerId: sub.owner }) }).pipe(on("2025-04-01T00:00:01.000Z"))
        )
        expect(error).toMatchObject({ _tag: "NoPendingChange", appliedOn: "2025-04-01" })
        const now = yield* stored(sub.id)
        expect(now.offer.offerId).toBe("offer-lite")
        expect(now.pendingChange).toBeUndefined()
        expect((yield* eventsOf(sub.id)).map((e) => e.type)).toEqual(["subscription.changed"])
      }))

    it.effect("withdrawals racing the scheduler applying the same changes: exactly one wins on each subscription", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const service = yield* PendingChanges
        const scheduler = yield* ScheduledChanges
        // Dates long past keep other tests' subscriptions out of the scheduler's run.
        const effectiveDate = CalendarDate.make("1985-02-01")
        const period = { start: CalendarDate.make("1985-01-01"), end: effectiveDate }
        const subs = Array.from({ length: 12 }, () => scheduled({ currentPeriod: period }, effectiveDate))
        yield* Effect.forEach(subs, subscriptions.put)
        const [, withdrawals] = yield* Effect.all([
          scheduler.applyDue({ limit: 1000 }).pipe(on("1985-02-01T00:00:00.000Z")),
          Effect.all(
            subs.map((s) =>
              Effect.exit(service.withdraw(s.id, { by: new Customer({ customerId: s.owner }) }).pipe(on("1985-01-31T23:59:59.000Z")))
            ),
            { concurrency: "unbounded" }
          )
        ], { concurrency: "unbounded" })
        for (const [i, sub] of subs.entries()) {
          const exit = withdrawals[i]!
          const now = yield* stored(sub.id)
          const types = (yield* eventsOf(sub.id)).map((e) => e.type)
          expect(now.pendingChange).toBeUndefined()
          expect(now.version).toBe(2)
          if (Exit.isSuccess(exit)) {
            expect(types).toEqual(["subscription.pending_change_withdrawn"])
            expect(now.offer).toEqual(sub.offer)
          } else {
            expect(Exit.causeOption(exit).pipe(Option.map(String), Option.getOrElse(() => ""))).toContain("NoPendingChange")
            expect(types).toEqual(["subscription.changed"])
            expect(now.offer.offerId).toBe("offer-lite")
          }
        }
      }))
  })

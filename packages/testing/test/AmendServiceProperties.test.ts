import { describe, expect, it } from "@effect/vitest"
import { Amendments } from "@subshift/core/ports/Amendments"
import { BillGroupAmendments } from "@subshift/core/usecases/BillGroupAmendments"
import { Events } from "@subshift/core/ports/Events"
import * as Ids from "@subshift/core/ports/Ids"
import * as Instant from "@subshift/core/domain/Instant"
import * as Pricing from "@subshift/core/ports/Pricing"
import { Customer, CurrentPrincipal } from "@subshift/core/domain/Principal"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { MemoryStore } from "@subshift/store-memory"
import { AmendArbitraries } from "@subshift/testing"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

type Scenario = AmendArbitraries.AmendScenario

const serviceRuns = { fastCheck: { numRuns: 25 } }

const seedOf = (s: Scenario) => ({ offers: s.offers, subscriptions: s.subscriptions, billGroups: [s.billGroup] })

const serviceFor = (s: Scenario) =>
  BillGroupAmendments.Default.pipe(Layer.provideMerge(Layer.mergeAll(MemoryStore.layer(seedOf(s)), Pricing.layer(), Ids.layerSequential)))

/** A store whose commit finds a subscription it is about to write changed by someone else in between. */
const racingServiceFor = (s: Scenario) =>
  BillGroupAmendments.Default.pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        Layer.effectContext(Effect.map(MemoryStore.make(seedOf(s)), (ctx) => {
          const real = Context.get(ctx, Subscriptions)
          return Context.add(ctx, Subscriptions, {
            ...real,
            commit: (commit) =>
              Effect.gen(function*() {
                const target = commit.subscriptions.find((x) => x.expectedVersion !== undefined)
                if (target !== undefined) {
                  const stored = Option.getOrThrow(yield* real.findById(target.next.id))
                  yield* Effect.orDie(real.put({ ...stored, version: stored.version + 1 }))
                }
                return yield* real.commit(commit)
              })
          })
        })),
        Pricing.layer(),
        Ids.layerSequential
      )
    )
  )

/** Everything the account has stored: its subscriptions, their amendments and every event. */
const snapshot = Effect.gen(function*() {
  const subscriptions = yield* (yield* Subscriptions).listByOwner(AmendArbitraries.ACCOUNT)
  const amendments = yield* Effect.forEach(subscriptions, (s) => Effect.flatMap(Amendments, (a) => a.listBySubscription(s.id)))
  const events = yield* (yield* Events).list({ limit: 10_000 })
  return { subscriptions, amendments, events }
})

/** Runs the amend service on a scenario as its caller, on its day, answering the outcome and the store before and after. */
const amendOn = (s: Scenario) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(Instant.toEpochMillis(s.now))
    const before = yield* snapshot
    const outcome = yield* Effect.either((yield* BillGroupAmendments).amend(s.request))
    const after = yield* snapshot
    return { outcome, before, after }
  }).pipe(Effect.provideService(CurrentPrincipal, new Customer({ customerId: s.customerId })))

const isEmpty = (s: Scenario) =>
  [s.request.subscriptionUpdates, s.request.subscriptionRemovals, s.request.offerings].every((x) => (x?.length ?? 0) === 0)

describe("amend service properties", () => {
  it.effect.prop("a rejected request writes nothing", [AmendArbitraries.spoiled], ([{ code, scenario }]) =>
    Effect.gen(function*() {
      const { after, before, outcome } = yield* amendOn(scenario)
      const refusal = Either.isLeft(outcome) && (outcome.left._tag === "AmendRejected" ? outcome.left.errorCode : outcome.left._tag)
      // An empty request is refused as input before the rules run.
      expect(refusal).toBe(isEmpty(scenario) ? "InvalidInput" : code)
      expect(after).toEqual(before)
    }).pipe(Effect.provide(serviceFor(scenario))), serviceRuns)

  it.effect.prop("a subscription changed while amending is AMENDMENT_FAILURE and writes nothing", [
    AmendArbitraries.validScenario.filter((s) => (s.request.subscriptionUpdates?.length ?? 0) + (s.request.subscriptionRemovals?.length ?? 0) > 0)
  ], ([s]) =>
    Effect.gen(function*() {
      const { after, before, outcome } = yield* amendOn(s)
      expect(Either.isLeft(outcome) && outcome.left._tag === "AmendRejected" && outcome.left.errorCode).toBe("AMENDMENT_FAILURE")
      // The racing write bumped one version; nothing of the amendment is there.
      expect(after.amendments).toEqual(before.amendments)
      expect(after.events).toEqual(before.events)
      expect(after.subscriptions.map((x) => ({ ...x, version: 0 }))).toEqual(before.subscriptions.map((x) => ({ ...x, version: 0 })))
    }).pipe(Effect.provide(racingServiceFor(s))), serviceRuns)

  it.effect.prop("the amount per period equals the sum of the lines, and the store holds what was answered", [
    AmendArbitraries.validScenario
  ], ([s]) =>
    Effect.gen(function*() {
      const { after, outcome } = yield* amendOn(s)
      if (Either.isLeft(outcome)) {
        // Only an empty request is refused when the rules accept.
        expect([outcome.left._tag, isEmpty(s)]).toEqual(["InvalidInput", true])
        return
      }
      const { creations, removals, updates } = outcome.right
      for (const { amendment, subscription } of [...updates, ...creations]) {
        const lines = [subscription.offer, ...subscription.addOns].map((l) => l.unitPrice.amount * l.quantity)
        expect(amendment.quote.nextRecurring.amount).toBe(lines.reduce((sum, x) => sum + x, 0))
        expect(after.subscriptions.map((x) => x.id)).toContain(subscription.id)
      }
      for (const { effectiveDate, subscription } of removals) {
        const stored = after.subscriptions.find((x) => x.id === subscription.id)!
        expect(stored.endDate ?? stored.pendingChange?.effectiveDate).toBe(effectiveDate)
      }
    }).pipe(Effect.provide(serviceFor(s))), serviceRuns)
})

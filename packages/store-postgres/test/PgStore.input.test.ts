/**
 * Text the database cannot hold, should it reach the store, fails as the caller's input: a NUL
 * in a key read or in stored JSON is an `InvalidInput` (SQLSTATE 22021 / 22P05), never a defect,
 * and nothing is stored.
 */
import { describe, expect, it } from "@effect/vitest"
import { Baskets } from "@subshift/core/ports/Baskets"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { Fixtures } from "@subshift/testing"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as TestDatabase from "./TestDatabase.js"

const database = TestDatabase.register()

/** How an exit failed: the tag of its typed failure, or `defect`; `success` when it did not. */
const outcome = (exit: Exit.Exit<unknown, { readonly _tag: string }>) =>
  Exit.isSuccess(exit)
    ? "success"
    : Option.match(Cause.failureOption(exit.cause), { onNone: () => "defect", onSome: (e) => e._tag })

describe(`text the database cannot hold (${database.kind})`, () => {
  it.effect("a NUL in an id read is InvalidInput, not a defect", () =>
    Effect.gen(function*() {
      const subscriptions = yield* Subscriptions
      const baskets = yield* Baskets
      expect(outcome(yield* Effect.exit(subscriptions.findById("sub-alice\u0000")))).toBe("InvalidInput")
      expect(outcome(yield* Effect.exit(baskets.findById("basket\u0000")))).toBe("InvalidInput")
    }).pipe(Effect.provide(database.layer)), 60_000)

  it.effect("a NUL in a stored value is InvalidInput, and nothing is stored", () =>
    Effect.gen(function*() {
      const subscriptions = yield* Subscriptions
      const subscription = Fixtures.subscription({ id: "sub-nul-test", name: "a\u0000b" })
      expect(outcome(yield* Effect.exit(subscriptions.put(subscription)))).toBe("InvalidInput")
      expect(Option.isNone(yield* subscriptions.findById("sub-nul-test"))).toBe(true)
    }).pipe(Effect.provide(database.layer)), 60_000)
})

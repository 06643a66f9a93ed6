import { describe, expect, it } from "@effect/vitest"
import * as Ids from "@subshift/core/ports/Ids"
import { Events } from "@subshift/core/ports/Events"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { OperatorRecords } from "@subshift/core/usecases/OperatorRecords"
import { type LineReport, SubscriptionImport } from "@subshift/core/usecases/SubscriptionImport"
import { MemoryStore } from "@subshift/store-memory"
import { Demo } from "@subshift/testing"
import { subscriptionRecord } from "@subshift/testing/Records"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { at, TODAY } from "./support.js"

const Services = SubscriptionImport.Default.pipe(
  Layer.provide(OperatorRecords.Default),
  Layer.provideMerge(MemoryStore.layer(Demo.seed(TODAY))),
  Layer.provide(Ids.layerSequential)
)

const author = { actor: { kind: "operator" as const, id: "key-ops", name: "ops" } }

const line = (id: string, name: string) =>
  JSON.stringify(subscriptionRecord(id, { name, addOns: [], currentPeriod: { start: "2025-03-01", end: "2025-04-01" } }))

describe("importing subscriptions in chunks, each committed while the next is checked", () => {
  it.effect("every line sees the lines before it, in earlier chunks too: names taken and freed, repeats unchanged", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(at(`${TODAY}T10:00:00Z`))
      const reports: Array<LineReport> = []
      const lines = [
        line("sub-imp-x", "IMPN1"),
        line("sub-imp-y", "IMPN2"),
        line("sub-imp-z", "IMPN1"), // N1 belongs to x, written in the chunk before
        line("sub-imp-x", "IMPN3"), // x renamed, freeing N1
        line("sub-imp-w", "IMPN1"), // N1 is free again
        line("sub-imp-x", "IMPN3") // the same line again
      ]
      yield* (yield* SubscriptionImport).importLines(Stream.fromIterable(lines), author, (r) => reports.push(r), { chunk: 2 })
      expect(reports.map((r) => [r.line, r.id, r.status])).toEqual([
        [1, "sub-imp-x", "created"],
        [2, "sub-imp-y", "created"],
        [3, "sub-imp-z", "rejected"],
        [4, "sub-imp-x", "updated"],
        [5, "sub-imp-w", "created"],
        [6, "sub-imp-x", "unchanged"]
      ])
      expect(reports[2]!.problems).toEqual([{ path: "name", message: "subscription sub-imp-x already has the name IMPN1" }])
      const subscriptions = yield* Subscriptions
      expect(Option.isNone(yield* subscriptions.findById("sub-imp-z"))).toBe(true)
      expect(Option.getOrThrow(yield* subscriptions.findByName("IMPN1")).id).toBe("sub-imp-w")
      expect(Option.getOrThrow(yield* subscriptions.findById("sub-imp-x")).name).toBe("IMPN3")
      const events = yield* Events
      expect((yield* events.list({ subscriptionId: "sub-imp-x", limit: 10 })).map((e) => e.type)).toEqual([
        "subscription.imported",
        "subscription.imported"
      ])
    }).pipe(Effect.provide(Services)))
})

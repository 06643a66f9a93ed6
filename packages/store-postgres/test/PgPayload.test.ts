/**
 * Where a delivery's payload lives on Postgres: a delivery fanned out from the outbox keeps no
 * copy of its event, and its claim builds the payload from the event; a delivery of an event that
 * is not in the outbox (an endpoint's test event) keeps its own. Either way the claim answers the
 * payload the store contract asks for.
 */
import * as Fixtures from "@subshift/testing/Fixtures"
import { at, claim, committed, endpoint, enqueue, testEvent, withEndpoints } from "@subshift/testing/WebhookSteps"
import type { StoreUnavailable } from "@subshift/core/domain/Errors"
import { WebhookDeliveries } from "@subshift/core/ports/Webhooks"
import type { PgStore } from "@subshift/store-postgres"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as TestDatabase from "./TestDatabase.js"

const database = TestDatabase.register()

let runtime: ManagedRuntime.ManagedRuntime<PgStore.Ports, StoreUnavailable>

beforeAll(() => {
  runtime = ManagedRuntime.make(database.layer)
})
afterAll(() => runtime.dispose())

const payloadsOf = (ids: ReadonlyArray<string>) =>
  TestDatabase.admin<{ readonly id: string; readonly stored: boolean }>(
    database.url(),
    "SELECT id, payload IS NOT NULL AS stored FROM subshift_webhook_deliveries WHERE id = ANY($1::text[]) ORDER BY id",
    [ids]
  )

describe("webhook payloads on Postgres", () => {
  it("a delivery fanned out from the outbox keeps no copy of its event; its claim builds the payload from the event", async () => {
    const hook = endpoint([committed])
    const [s1, s2] = [Fixtures.subscription(), Fixtures.subscription()]
    const { claimed, events } = await runtime.runPromise(withEndpoints([hook], Effect.gen(function*() {
      const events = yield* enqueue([[s1, committed], [s2, committed], [s1, committed]])
      return { events, claimed: yield* claim(at(1)) }
    })))
    const ours = claimed.filter((c) => c.delivery.endpointId === hook.id)
    expect(ours.map((c) => c.payload)).toEqual([
      { type: committed, id: events[0]!.id, timestamp: events[0]!.occurredAt, sequence: 1, data: events[0] },
      { type: committed, id: events[1]!.id, timestamp: events[1]!.occurredAt, sequence: 1, data: events[1] }
    ])
    const rows = await payloadsOf(ours.map((c) => c.delivery.id))
    expect(rows.map((r) => r.stored)).toEqual([false, false])
  })

  it("a delivery of an event that is not in the outbox keeps its payload, and is claimed with it", async () => {
    const hook = endpoint(["webhook.test"])
    const test = testEvent("webhook.test", `webhook-endpoint/${hook.id}`)
    const { claimed, id } = await runtime.runPromise(withEndpoints([hook], Effect.gen(function*() {
      const deliveries = yield* WebhookDeliveries
      const id = Option.getOrThrow(yield* deliveries.enqueueFor(hook.id, test, at(0)))
      return { id, claimed: yield* claim(at(1)) }
    })))
    expect(claimed.find((c) => c.delivery.id === id)!.payload).toEqual({
      type: "webhook.test", id: test.id, timestamp: test.timestamp, sequence: 1, data: test.data
    })
    expect((await payloadsOf([id])).map((r) => r.stored)).toEqual([true])
  })
})

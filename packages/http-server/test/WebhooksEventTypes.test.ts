/**
 * Every documented event type reaches an endpoint subscribed to it, over a running server and a
 * real receiver that verifies each delivery with the `standardwebhooks` package: a catalog
 * published through the admin API, a basket the store's sweep expires, the subscription events
 * as commits write them, and the event of an endpoint the worker disabled on a 410.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Demo from "@subshift/core/demo/Demo"
import * as Event from "@subshift/core/domain/Event"
import * as Instant from "@subshift/core/domain/Instant"
import { Baskets } from "@subshift/core/ports/Baskets"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as ApiKeys from "@subshift/http-server/admin/ApiKeys"
import { Fixtures } from "@subshift/testing"
import * as Effect from "effect/Effect"
import { adminKeys } from "./AdminHarness.js"
import { request, start, type TestServer } from "./Harness.js"
import { eventually, startReceiver, verify, writeEvents } from "./webhooks/Support.js"

const keys = adminKeys()
const hooks = ApiKeys.generate("hooks", ["webhooks:write"])
let server: TestServer
let secret = ""
let receiver: Awaited<ReturnType<typeof startReceiver>>
let gone: Awaited<ReturnType<typeof startReceiver>>

beforeAll(async () => {
  receiver = await startReceiver(() => secret)
  gone = await startReceiver(() => "", (_request, res) => (res.writeHead(410).end(), "handled"))
  server = await start({ env: { SUBSHIFT_API_KEYS: [keys.env.SUBSHIFT_API_KEYS, hooks.entry].join(",") } })
})
afterAll(async () => {
  await server.close()
  await receiver.close()
  await gone.close()
})

const admin = (path: string, key: string, method: string, body: unknown) =>
  request(`${server.url}/api/admin${path}`, { method, headers: { authorization: `Bearer ${key}`, "x-subshift-reason": "event types" }, body })

describe("webhook event types", () => {
  it("delivers every documented event type to an endpoint subscribed to it, each verifying with standardwebhooks", async () => {
    const types: ReadonlyArray<string> = Event.EventType.literals
    const created = await admin("/webhooks", hooks.key, "POST", { url: receiver.url, eventTypes: types })
    expect(created.status).toBe(201)
    secret = created.body.secret
    const goneEndpoint = await admin("/webhooks", hooks.key, "POST", { url: gone.url, eventTypes: ["amendment.committed"] })
    expect(goneEndpoint.status).toBe(201)

    // A catalog version published through the admin API.
    const published = await admin("/catalog", keys.catalog, "PUT", { offers: Demo.offers })
    expect(published.status).toBe(201)
    // A basket past its expiry, removed by the store's sweep.
    const sub = Fixtures.subscription()
    const basket = Fixtures.basket({ subscriptionId: sub.id, expiresAt: Instant.make("2002-01-01T00:00:00.000Z") })
    await server.run(Effect.gen(function*() {
      yield* (yield* Subscriptions).put(sub)
      yield* (yield* Baskets).create(basket)
      expect(yield* (yield* Baskets).deleteExpired(Instant.make("2002-01-01T00:00:01.000Z"))).toBe(1)
    }))
    // The subscription events, as the commits that make them write them; the amendment also
    // reaches the endpoint that answers 410, which the worker then disables.
    const subscriptionTypes = types.filter((t) => t.startsWith("subscription.") || t === "amendment.committed") as ReadonlyArray<Event.EventType>
    for (const type of subscriptionTypes) await server.run(writeEvents(sub.id, 1, type))

    await eventually("every type applied", () => new Set(receiver.applied.map((e) => e.type)).size === types.length, 15_000)
    expect(new Set(receiver.applied.map((e) => e.type))).toEqual(new Set(types))
    for (const request of receiver.requests) expect(verify(secret, request)).toBeTruthy()
    const byType = new Map(receiver.applied.map((e) => [e.type, e.data]))
    expect(byType.get("catalog.published")).toMatchObject({
      catalogVersion: published.body.version,
      effectiveFrom: published.body.effectiveFrom,
      actor: { kind: "operator", name: "catalog-bot" },
      reason: "event types"
    })
    expect(byType.get("basket.expired")).toMatchObject({ subscriptionId: sub.id, basketId: basket.id })
    expect(byType.get("webhook.endpoint_disabled")).toMatchObject({
      endpointId: goneEndpoint.body.endpoint.id,
      reason: "the endpoint answered 410 Gone",
      actor: { kind: "system", id: "webhooks" }
    })
    expect(byType.get("subscription.imported")).toMatchObject({ subscriptionId: sub.id })
  })
})

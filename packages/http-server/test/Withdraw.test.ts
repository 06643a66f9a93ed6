/**
 * Taking back a scheduled change over a real listening server, on each store (memory, and
 * Postgres: the server at TEST_DATABASE_URL on a fresh schema when set, else the embedded
 * engine): the subscriber through the checkout API, a partner through its self-service API. The
 * lock lifts at once; someone else's subscription is a 404 and nothing scheduled (or a change
 * already in effect) a 409, each leaving the store as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { NoPendingChange } from "@subshift/core/domain/Errors"
import { Events } from "@subshift/core/ports/Events"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { bearer, cookieOf, initiateBody, request, start, type TestServer, tokens, withClient } from "./Harness.js"
import { databaseUrl, embeddedStore, type PgStoreUnderTest, schemaStore } from "./PgStores.js"

const memory = (): PgStoreUnderTest | undefined => undefined
const postgres = (): PgStoreUnderTest | undefined =>
  databaseUrl !== undefined ? schemaStore(databaseUrl, "subshift_withdraw") : embeddedStore("subshift-withdraw")

const stores: ReadonlyArray<readonly [string, () => PgStoreUnderTest | undefined]> = [
  ["memory", memory],
  [databaseUrl !== undefined ? "Postgres" : "embedded Postgres", postgres]
]

const downgradeTo = (id: string) => ({ order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id } }] } })

for (const [storeName, makeStore] of stores) {
  describe.sequential(`withdrawing a scheduled change on the ${storeName} store`, () => {
    let server: TestServer
    let t: Awaited<ReturnType<typeof tokens>>
    const store = makeStore()

    beforeAll(async () => {
      const layer = await store?.layer()
      server = await start({ env: { SUBSHIFT_TEST_CLOCK: "on" }, ...(layer === undefined ? {} : { store: layer }) })
      t = await tokens(server)
    }, 120_000)
    afterAll(async () => {
      await server?.close()
      await store?.cleanup()
    }, 60_000)

    const stored = (id: string) => server.run(Effect.map(Effect.flatMap(Subscriptions, (s) => s.findById(id)), Option.getOrThrow))
    const eventsOf = (id: string) => server.run(Effect.flatMap(Events, (e) => e.list({ subscriptionId: id, limit: 100 })))
    const withdraw = (path: string, headers: Record<string, string>) => request(`${server.url}${path}`, { method: "DELETE", headers })
    const checkoutRoute = (id: string) => `/api/checkout/subscriptions/${id}/pending-change`
    const partnerRoute = (id: string) => `/api/partner/mma/subscriptions/${id}/pending-change`

    /** Opens a basket at `base`, picks the downgrade and orders it at `orderPath`; answers the order. */
    const schedule = async (base: string, orderPath: string, headers: Record<string, string>, subscriptionId: string, offerId: string) => {
      const opened = await request(`${server.url}${base}`, { method: "POST", headers: { ...headers, "x-limio-recaptcha": "t" }, body: initiateBody(subscriptionId) })
      expect(opened.status).toBe(200)
      const cookie = cookieOf(opened.headers)
      expect((await request(`${server.url}${base}`, { method: "PUT", headers: { ...headers, cookie }, body: downgradeTo(offerId) })).status).toBe(200)
      const ordered = await request(`${server.url}${orderPath}`, { method: "POST", headers: { ...headers, cookie }, body: {} })
      expect(ordered.status).toBe(200)
      expect(ordered.body.pendingChangeDate).toBeDefined()
      return ordered.body
    }

    /** Sends a withdrawal that must be refused with `status` and `code`, and leave the subscription and its events as they were. */
    const refused = async (path: string, headers: Record<string, string>, id: string, status: number, code: string) => {
      const before = await stored(id)
      const events = (await eventsOf(id)).length
      const r = await withdraw(path, headers)
      expect(r.status).toBe(status)
      expect(r.body.error.code).toBe(code)
      expect(await stored(id)).toEqual(before)
      expect((await eventsOf(id)).length).toBe(events)
      return r
    }

    it("the subscriber withdraws a downgrade: the 423 lifts at once, the plan stays, and the event names them", async () => {
      const erin = bearer(t.erin)
      const ordered = await schedule("/api/checkout/subscription", "/api/order", erin, "sub-erin", "ledger-basic")
      const locked = await request(`${server.url}/api/checkout/subscription`, { method: "POST", headers: erin, body: initiateBody("sub-erin") })
      expect(locked.status).toBe(423)
      expect(locked.body.pendingChangeDate).toBe(ordered.pendingChangeDate)

      await refused(checkoutRoute("sub-erin"), bearer(t.bob), "sub-erin", 404, "SubscriptionNotFound")
      await refused(partnerRoute("sub-erin"), bearer(t.telco), "sub-erin", 404, "SubscriptionNotFound")
      await refused(checkoutRoute("sub-nobody"), erin, "sub-erin", 404, "SubscriptionNotFound")
      expect((await withdraw(checkoutRoute("sub-erin"), {})).status).toBe(401)
      expect((await withdraw(checkoutRoute("sub-erin"), bearer(t.telco))).status).toBe(403)

      const before = await stored("sub-erin")
      const done = await withdraw(checkoutRoute("sub-erin"), erin)
      expect(done.status).toBe(200)
      expect(done.body.withdrawn).toEqual({ ...before.pendingChange, actions: done.body.withdrawn.actions })
      expect(done.body.withdrawn.actions.map((a: { offerId: string }) => a.offerId)).toContain("ledger-basic")
      expect(done.body.subscription.pendingChange).toBeUndefined()
      const { pendingChange: _, ...unchanged } = before
      expect(await stored("sub-erin")).toEqual({ ...unchanged, version: before.version + 1, updatedAt: done.body.subscription.updatedAt })
      expect(done.body.subscription.offer.offerId).toBe("ledger-standard")

      const reopened = await request(`${server.url}/api/checkout/subscription`, { method: "POST", headers: erin, body: initiateBody("sub-erin") })
      expect(reopened.status).toBe(200)
      expect(reopened.body.forSubscriptionOffer.id).toBe("ledger-standard")

      const events = await eventsOf("sub-erin")
      expect(events.at(-1)).toMatchObject({
        type: "subscription.pending_change_withdrawn",
        actor: { kind: "customer", id: "cus-erin" },
        amendmentId: ordered.id
      })
      await refused(checkoutRoute("sub-erin"), erin, "sub-erin", 409, "NoPendingChange")
    }, 60_000)

    it("the partner that sold it withdraws through its self-service API; another partner or a partner without mma cannot", async () => {
      const telco = bearer(t.telco)
      await schedule("/api/partner/mma/checkout", "/api/partner/order", telco, "sub-dave", "ledger-standard")
      await refused(partnerRoute("sub-dave"), bearer(t.otherPartner), "sub-dave", 404, "SubscriptionNotFound")
      await refused(partnerRoute("sub-dave"), bearer(t.telcoNoMma), "sub-dave", 403, "Forbidden")
      const done = await withdraw(partnerRoute("sub-dave"), telco)
      expect(done.status).toBe(200)
      expect(done.body.subscription.offer.offerId).toBe("ledger-premium")
      expect((await stored("sub-dave")).pendingChange).toBeUndefined()
      expect((await eventsOf("sub-dave")).at(-1)).toMatchObject({
        type: "subscription.pending_change_withdrawn",
        actor: { kind: "partner", id: "partner-telco" }
      })
      await refused(partnerRoute("sub-dave"), telco, "sub-dave", 409, "NoPendingChange")
    }, 60_000)

    it("a change that has already taken effect cannot be withdrawn: 409, and the typed client decodes it", async () => {
      // A token that outlives the clock's jump.
      const carol = bearer(await server.token({ subject: "cus-carol", scopes: ["checkout"], ttlSeconds: 400 * 86_400 }))
      const ordered = await schedule("/api/checkout/subscription", "/api/order", carol, "sub-carol", "ledger-basic")
      const advanced = await request(`${server.url}/api/test-clock/advance`, { method: "POST", body: { days: 40 } })
      expect(advanced.status).toBe(200)
      expect(advanced.body.today >= ordered.pendingChangeDate).toBe(true)
      expect((await stored("sub-carol")).offer.offerId).toBe("ledger-basic")
      await refused(checkoutRoute("sub-carol"), carol, "sub-carol", 409, "NoPendingChange")
      const error = await withClient(server, carol, (client) =>
        Effect.flip(client.checkoutPendingChange.withdraw({ path: { id: "sub-carol" } })))
      expect(error).toBeInstanceOf(NoPendingChange)
      expect((await stored("sub-carol")).offer.offerId).toBe("ledger-basic")
    }, 60_000)
  })
}

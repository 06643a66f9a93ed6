/**
 * Seat changes over a real listening server, on the memory store and on Postgres (the server at
 * TEST_DATABASE_URL on a fresh schema when it is set, else the embedded engine): the worked
 * example 5 → 8 seats at $10 with 15 of 30 days left (+$15.00), range refusals naming the path,
 * and fewer seats scheduled for the next period start, locking the subscription (423) until the
 * server's scheduler applies them.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { BillGroups } from "@subshift/core/ports/BillGroups"
import { Catalog } from "@subshift/core/ports/Catalog"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import type * as Store from "@subshift/http-server/Store"
import * as MemoryStore from "@subshift/store-memory/MemoryStore"
import { Seats } from "@subshift/testing"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { bearer, cookieOf, initiateBody, request, start, type TestServer } from "./Harness.js"
import { databaseUrl, embeddedStore, type PgStoreUnderTest, schemaStore } from "./PgStores.js"

const YEAR = 2026
const LONG_TTL = 400 * 86_400
const PARTNER = "partner-telco"

/** The team subscription, sold through the demo partner so that its events can be read, and billed through a bill group. */
const teamSubscription = { ...Seats.subscription(YEAR), partnerOrg: PARTNER, billGroupId: "bg-team" }
const teamGroup = { id: "bg-team", accountId: Seats.owner, currency: "USD", contractStatus: "ACTIVE", anchorDay: 1, version: 1 } as const

/** A store with the seat catalog and the team subscription in it. */
const seeded = (store: Layer.Layer<Store.Ports, unknown>) =>
  Layer.tap(store, (ports) =>
    Effect.gen(function*() {
      yield* (yield* Catalog).put(Seats.offers)
      yield* (yield* BillGroups).put(teamGroup)
      yield* (yield* Subscriptions).put(teamSubscription)
    }).pipe(Effect.provide(ports)))

const memory: PgStoreUnderTest = { layer: async () => MemoryStore.layer(), cleanup: async () => {} }
const postgres = () => databaseUrl !== undefined ? schemaStore(databaseUrl, "subshift_seats") : embeddedStore("subshift-seats")

const stores: ReadonlyArray<readonly [string, () => PgStoreUnderTest]> = [
  ["memory", () => memory],
  [databaseUrl !== undefined ? "Postgres" : "embedded Postgres", postgres]
]

const items = (...orderItems: ReadonlyArray<Record<string, unknown>>) => ({ order: { orderItems } })
const seats = (id: string, quantity?: number, type = "offer") =>
  ({ orderItemActionType: "update", type, offer: { id }, ...(quantity === undefined ? {} : { quantity }) })

for (const [storeName, makeStore] of stores) {
  describe.sequential(`seat changes over HTTP on the ${storeName} store`, () => {
    let server: TestServer
    let owner: Record<string, string>
    let partner: Record<string, string>
    const store = makeStore()
    const api = () => `${server.url}/api/checkout/subscription`

    beforeAll(async () => {
      server = await start({ store: seeded(await store.layer()), env: { SUBSHIFT_SCHEDULER_INTERVAL: "1 second" } })
      // Mid-November: 15 of the period's 30 days are left.
      server.clock.advance(Date.parse(Seats.midPeriod(YEAR)) - server.clock.now())
      owner = bearer(await server.token({ subject: Seats.owner, scopes: ["checkout"], ttlSeconds: LONG_TTL }))
      partner = bearer(await server.token({ subject: "ops@telco", partnerOrg: PARTNER, scopes: ["partner"], ttlSeconds: LONG_TTL }))
    }, 120_000)
    afterAll(async () => {
      await server?.close()
      await store.cleanup()
    }, 60_000)

    const open = async () => {
      const opened = await request(api(), { method: "POST", headers: owner, body: initiateBody("sub-team") })
      return { opened, cookie: opened.status === 200 ? cookieOf(opened.headers) : "" }
    }

    it("the basket lists the seats each held line may have, and when more or fewer would apply", async () => {
      const { opened } = await open()
      expect(opened.status).toBe(200)
      const listed = opened.body.nextActions.quantityChanges.map((q: any) =>
        [q.type, q.offerId, q.quantity, q.minQuantity, q.maxQuantity, q.increase.timing, q.increase.effectiveDate, q.decrease.timing, q.decrease.effectiveDate]
      )
      expect(listed).toEqual([
        ["offer", "team", 5, 2, 50, "TODAY", `${YEAR}-11-16`, "NEXT_PERIOD_START", `${YEAR}-12-01`],
        ["add_on", "seat-support", 5, 1, 20, "TODAY", `${YEAR}-11-16`, "NEXT_PERIOD_START", `${YEAR}-12-01`]
      ])
      expect(opened.body.nextActions.upgrades.map((o: any) => [o.offerId, o.minQuantity])).toEqual([["team-plus", 5]])
    })

    it("a quantity outside the offer's range is a 422 naming the item's quantity, on the fast path and the router alike; the basket stays as it was", async () => {
      const { cookie } = await open()
      for (const url of [api(), `${api()}?via=router`]) {
        const tooMany = await request(url, { method: "PUT", headers: { ...owner, cookie }, body: items(seats("team", 51)) })
        expect([tooMany.status, tooMany.body.error.code, tooMany.body.error.details]).toEqual([
          422,
          "BasketRejected",
          { code: "quantity_out_of_range", offerId: "team", field: "order.orderItems[0].quantity" }
        ])
        expect(tooMany.body.error.message).toBe("Team allows a quantity from 2 to 50, not 51")
        const tooFew = await request(url, { method: "PUT", headers: { ...owner, cookie }, body: items(seats("team", 6), seats("seat-support", 21, "add_on")) })
        expect([tooFew.status, tooFew.body.error.details.field, tooFew.body.error.details.offerId]).toEqual([422, "order.orderItems[1].quantity", "seat-support"])
        const belowMin = await request(url, { method: "PUT", headers: { ...owner, cookie }, body: items(seats("team", 1)) })
        expect([belowMin.status, belowMin.body.error.details.field]).toEqual([422, "order.orderItems[0].quantity"])
        const noQuantity = await request(url, { method: "PUT", headers: { ...owner, cookie }, body: items(seats("team")) })
        expect([noQuantity.status, noQuantity.body.error.code, noQuantity.body.error.details.field]).toEqual([400, "InvalidInput", "order.orderItems[0].quantity"])
        const zero = await request(url, { method: "PUT", headers: { ...owner, cookie }, body: items(seats("team", 0)) })
        expect([zero.status, zero.body.error.details.field]).toEqual([400, "order.orderItems[0].quantity"])
      }
      const read = await request(api(), { headers: { ...owner, cookie } })
      expect([read.body.version, read.body.order.orderItems]).toEqual([1, []])
    })

    it("the amend API holds the same range: a 400 INVALID_OFFERINGS naming the item's quantity", async () => {
      const amend = await request(`${server.url}/api/selfService/checkout/amend`, {
        method: "POST",
        headers: owner,
        body: { billGroupId: "bg-team", subscriptionUpdates: [{ subscriptionId: "sub-team", timing: "TODAY", items: [{ productId: "team", quantity: 51 }] }] }
      })
      expect([amend.status, amend.body.error.errorCode, amend.body.error.context]).toEqual([
        400,
        "INVALID_OFFERINGS",
        { field: "subscriptionUpdates[0].items[0].quantity", productId: "team", quantity: 51 }
      ])
      const opened = await open()
      expect([opened.opened.status, opened.opened.body.forSubscriptionOffer.quantity]).toEqual([200, 5])
    })

    it("5 → 8 seats at $10 with 15 of 30 days left: the PUT quotes +$15.00 with the seats before and after, and the order applies it today", async () => {
      const { cookie } = await open()
      const put = await request(api(), { method: "PUT", headers: { ...owner, cookie }, body: items(seats("team", 8)) })
      expect(put.status).toBe(200)
      expect(put.body.order.orderItems).toEqual([{ orderItemActionType: "update", type: "offer", offer: { id: "team", name: "Team" }, quantity: 8 }])
      expect(put.body.quote.lines).toEqual([{
        kind: "change_quantity",
        type: "offer",
        offerId: "team",
        description: `Team quantity 5 → 8 from ${YEAR}-11-16 (15 of 30 days)`,
        effectiveDate: `${YEAR}-11-16`,
        amount: { amount: 1500, currency: "USD" },
        recurringDelta: { amount: 3000, currency: "USD" },
        proration: { convention: "actual-days", days: 15, periodDays: 30, from: `${YEAR}-11-16`, periodStart: `${YEAR}-11-01`, periodEnd: `${YEAR}-12-01` },
        quantity: { before: 5, after: 8 }
      }])
      expect([put.body.quote.dueNow.amount, put.body.quote.charges.amount, put.body.quote.nextRecurring.amount]).toEqual([1500, 1500, 9500])
      const order = await request(`${server.url}/api/order`, { method: "POST", headers: { ...owner, cookie, "if-match": put.headers.get("etag")! }, body: {} })
      expect(order.status).toBe(200)
      expect(order.body.quote.dueNow).toEqual({ amount: 1500, currency: "USD" })
      expect(order.body.actions.map((a: any) => [a.kind, a.offerId, a.quantity, a.effectiveDate])).toEqual([["change_quantity", "team", 8, `${YEAR}-11-16`]])
      expect(order.body.pendingChangeDate).toBeUndefined()
      const again = await open()
      expect([again.opened.status, again.opened.body.forSubscriptionOffer.quantity]).toEqual([200, 8])
    })

    it("8 → 3 seats wait for December 1st: the order schedules them, checkout is 423 until then, and the server's scheduler applies them", async () => {
      const { cookie } = await open()
      const put = await request(api(), { method: "PUT", headers: { ...owner, cookie }, body: items(seats("team", 3)) })
      expect(put.status).toBe(200)
      expect(put.body.quote.lines.map((l: any) => [l.effectiveDate, l.amount.amount, l.recurringDelta.amount, l.quantity])).toEqual([
        [`${YEAR}-12-01`, 0, -5000, { before: 8, after: 3 }]
      ])
      const order = await request(`${server.url}/api/order`, { method: "POST", headers: { ...owner, cookie }, body: {} })
      expect([order.status, order.body.pendingChangeDate, order.body.quote.dueNow.amount]).toEqual([200, `${YEAR}-12-01`, 0])

      const locked = await open()
      expect([locked.opened.status, locked.opened.body.pendingChangeDate, locked.opened.body.error.code]).toEqual([423, `${YEAR}-12-01`, "SubscriptionLocked"])
      expect(Number(locked.opened.headers.get("retry-after"))).toBeGreaterThan(0)

      server.clock.advance(Date.parse(`${YEAR}-12-01T00:10:00Z`) - server.clock.now())
      const applied = async () => {
        const page = await request(`${server.url}/api/partner/events?limit=100`, { headers: partner })
        return page.body.items.find((e: any) => e.type === "subscription.changed" && e.subscriptionId === "sub-team")
      }
      let changed = await applied()
      for (let waited = 0; changed === undefined; waited += 100) {
        expect(waited).toBeLessThan(15_000)
        await new Promise((resolve) => setTimeout(resolve, 100))
        changed = await applied()
      }
      expect(changed).toMatchObject({ actor: { kind: "system", id: "scheduler" }, amendmentId: order.body.id, before: { offer: { quantity: 8 } }, after: { offer: { quantity: 3 } } })
      const reopened = await open()
      expect([reopened.opened.status, reopened.opened.body.forSubscriptionOffer.quantity]).toEqual([200, 3])
      expect(reopened.opened.body.quote.currentRecurring.amount).toBe(4500)
    }, 30_000)
  })
}

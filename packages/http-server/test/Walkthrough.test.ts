import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { bearer, cookieOf, initiateBody, request, start, type TestServer, tokens, withClient } from "./Harness.js"

let server: TestServer
let t: Awaited<ReturnType<typeof tokens>>
beforeAll(async () => {
  server = await start()
  t = await tokens(server)
})
afterAll(() => server.close())

const upgradeWithArchive = {
  order: {
    orderItems: [
      { orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard", name: "Standard", rates: [] } },
      { orderItemActionType: "add", type: "add_on", offer: { id: "addon-archive" } },
      { orderItemActionType: "remove", type: "add_on", offer: { id: "addon-podcasts" } }
    ]
  }
}

describe("the walkthrough", () => {
  it("initiate, upgrade, add an add-on, read after refresh, commit, then a second initiate is locked", async () => {
    const api = `${server.url}/api/checkout/subscription`
    const auth = bearer(t.alice)
    const opened = await request(api, { method: "POST", headers: { ...auth, "x-forwarded-for": "203.0.113.7, 10.0.0.1", referer: "https://shop.example/account" }, body: initiateBody("sub-alice", { campaign: "spring" }) })
    expect(opened.status).toBe(200)
    expect(opened.headers.get("etag")).toBe('"1"')
    const setCookie = opened.headers.get("set-cookie")!
    expect(setCookie).toMatch(/^lmo_ls=basket-[0-9a-f-]+\.[A-Za-z0-9_-]+; Max-Age=\d+; Path=\/api; HttpOnly; SameSite=Lax$/)
    expect(opened.body.order).toEqual({ order_type: "update_subscription", forSubscription: { id: "sub-alice", name: "3V053CN9SFIG" }, orderItems: [] })
    expect(opened.body.forSubscriptionOffer.id).toBe("ledger-basic")
    expect(opened.body.nextActions.upgrades.map((o: any) => o.offerId)).toEqual(["ledger-standard", "ledger-premium"])
    expect(opened.body).not.toHaveProperty("tracking")
    const cookie = cookieOf(opened.headers)

    const upgraded = await request(api, {
      method: "PUT",
      headers: { ...auth, cookie },
      body: { order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } }] } }
    })
    expect(upgraded.status).toBe(200)
    expect(upgraded.headers.get("etag")).toBe('"2"')
    const auto = upgraded.body.order.orderItems.filter((i: any) => i.auto === true)
    expect(auto).toEqual([
      expect.objectContaining({ orderItemActionType: "remove", type: "offer", offer: { id: "ledger-basic", name: "Basic" }, reason: expect.objectContaining({ code: "replaced_by_new_offer" }) })
    ])
    expect(upgraded.body.quote.lines.every((l: any) => Number.isInteger(l.amount.amount))).toBe(true)
    // Basic → Standard today: a credit for Basic, a charge for Standard, and the totals beside dueNow.
    const { charges, credits, dueNow } = upgraded.body.quote
    expect(credits.amount).toBeLessThan(0)
    expect(charges.amount).toBeGreaterThan(0)
    expect(charges.amount + credits.amount).toBe(dueNow.amount)
    expect([charges.currency, credits.currency]).toEqual(["USD", "USD"])

    const withAddOn = await request(api, { method: "PUT", headers: { ...auth, cookie, "if-match": '"2"' }, body: upgradeWithArchive })
    expect(withAddOn.status).toBe(200)
    expect(withAddOn.body.version).toBe(3)
    expect(withAddOn.body.order.orderItems.filter((i: any) => !i.auto).map((i: any) => i.offer.id)).toEqual(["ledger-standard", "addon-archive", "addon-podcasts"])

    const refreshed = await request(api, { headers: { ...auth, cookie } })
    expect(refreshed.status).toBe(200)
    expect(refreshed.body).toEqual(withAddOn.body)
    expect(refreshed.headers.get("etag")).toBe('"3"')

    const committed = await request(`${server.url}/api/order`, { method: "POST", headers: { ...auth, cookie, "if-match": '"3"' }, body: {} })
    expect(committed.status).toBe(200)
    expect(committed.body).toMatchObject({ status: "complete", checkoutId: opened.body.checkoutId, subscriptionId: "sub-alice", subscriptionReference: "3V053CN9SFIG", owner: "cus-alice" })
    expect(committed.body.id).toMatch(/^amd-/)
    expect(committed.body.pendingChangeDate).toMatch(/^\d{4}-\d{2}-\d{2}$/)

    const again = await request(api, { method: "POST", headers: auth, body: initiateBody("sub-alice") })
    expect(again.status).toBe(423)
    expect(again.body.error.code).toBe("SubscriptionLocked")
    expect(again.body.pendingChangeDate).toBe(committed.body.pendingChangeDate)
    const retryAfter = Number(again.headers.get("retry-after"))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(32 * 86_400)

    const completed = await request(api, { headers: { ...auth, cookie } })
    expect(completed.body.completed).toBe(true)
    const stale = await request(api, { method: "PUT", headers: { ...auth, cookie }, body: upgradeWithArchive })
    expect(stale.status).toBe(409)
    expect(stale.body.error.code).toBe("BasketCompleted")
  })

  it("the typed client opens a basket and decodes NoBasket and BasketRejected answers into their classes", async () => {
    const result = await withClient(server, bearer(t.erin), (client) =>
      Effect.gen(function*() {
        const basket = yield* client.checkout.initiate({ payload: { order: { order_type: "update_subscription", forSubscription: { name: "3R1NSTANDARD" } } }, headers: {} })
        // An unsigned cookie names no basket.
        const read = yield* client.checkout.get({ headers: { cookie: `lmo_ls=${basket.checkoutId}` } }).pipe(Effect.flip)
        const order = yield* client.checkout.order({
          payload: { checkoutId: basket.checkoutId },
          headers: {}
        }).pipe(Effect.flip)
        return { basket, read, order }
      }))
    expect(result.basket.order.forSubscription).toEqual({ id: "sub-erin", name: "3R1NSTANDARD" })
    expect(result.read._tag).toBe("NoBasket")
    expect(result.order._tag).toBe("BasketRejected")
  })

  it("an Idempotency-Key replays the first commit, and the same key on another checkout is a 422", async () => {
    const api = `${server.url}/api/partner/checkout/subscription`
    const auth = { ...bearer(t.telco), "x-limio-recaptcha": "token" }
    const opened = await request(api, { method: "POST", headers: auth, body: initiateBody("sub-carol") })
    expect(opened.status).toBe(200)
    const cookie = cookieOf(opened.headers)
    const put = await request(api, {
      method: "PUT",
      headers: { ...auth, cookie },
      body: { order: { orderItems: [{ orderItemActionType: "add", offer: { id: "addon-crossword" } }] } }
    })
    expect(put.status).toBe(200)
    expect(put.body.order.orderItems[0].type).toBe("add_on")
    const first = await request(`${server.url}/api/partner/order`, { method: "POST", headers: { ...auth, cookie, "idempotency-key": "k-1" }, body: {} })
    expect(first.status).toBe(200)
    const replay = await request(`${server.url}/api/partner/order`, { method: "POST", headers: { ...auth, cookie, "idempotency-key": "k-1" }, body: {} })
    expect(replay.status).toBe(200)
    expect(replay.body).toEqual(first.body)
    expect(replay.headers.get("idempotent-replayed")).toBe("true")
    const dave = await request(api, { method: "POST", headers: auth, body: initiateBody("sub-dave") })
    const reused = await request(`${server.url}/api/partner/order`, { method: "POST", headers: { ...auth, cookie: cookieOf(dave.headers), "idempotency-key": "k-1" }, body: {} })
    expect(reused.status).toBe(422)
    expect(reused.body.error.code).toBe("IdempotencyKeyMismatch")
  })

  it("a stale If-Match is a 409 and leaves the basket unchanged", async () => {
    const api = `${server.url}/api/checkout/subscription`
    const auth = bearer(t.bob)
    const opened = await request(api, { method: "POST", headers: auth, body: initiateBody("sub-bob") })
    const cookie = cookieOf(opened.headers)
    const stale = await request(api, {
      method: "PUT",
      headers: { ...auth, cookie, "if-match": '"7"' },
      body: { order: { orderItems: [{ orderItemActionType: "add", type: "add_on", offer: { id: "addon-crossword" } }] } }
    })
    expect(stale.status).toBe(409)
    expect(stale.body.error).toMatchObject({ code: "VersionConflict", details: { entity: "basket", expected: 7, actual: 1 } })
    const order = await request(`${server.url}/api/order`, { method: "POST", headers: { ...auth, cookie, "if-match": "W/\"9\"" }, body: {} })
    expect(order.status).toBe(409)
    const read = await request(api, { headers: { ...auth, cookie } })
    expect(read.body.version).toBe(1)
  })
})

import * as Http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { bearer, cookieOf, initiateBody, request, start, type TestServer, tokens } from "./Harness.js"

let server: TestServer
let t: Awaited<ReturnType<typeof tokens>>
beforeAll(async () => {
  server = await start()
  t = await tokens(server)
})
afterAll(() => server.close())

const noStack = (text: string) => expect(text).not.toMatch(/at .*\.(ts|js):\d+|stack/i)

describe("bad input is a 4xx with the error envelope, never a 500 or a stack trace", () => {
  const api = () => `${server.url}/api/checkout/subscription`

  it("malformed JSON is a 400 MalformedRequest", async () => {
    const r = await request(api(), { method: "POST", headers: { ...bearer(t.alice), "content-type": "application/json" }, raw: '{"order": {' })
    expect(r.status).toBe(400)
    expect(r.body.error.code).toBe("MalformedRequest")
    noStack(r.text)
  })

  it("a body that is not application/json is a 400", async () => {
    const r = await request(api(), { method: "POST", headers: { ...bearer(t.alice), "content-type": "text/plain" }, raw: "order" })
    expect(r.status).toBe(400)
    expect(r.body.error.code).toBe("MalformedRequest")
    const form = await request(api(), { method: "PUT", headers: { ...bearer(t.alice), "content-type": "multipart/form-data; boundary=x" }, raw: "--x--" })
    expect(form.status).toBe(400)
  })

  it("a body of the wrong shape is a 400 InvalidInput naming the field", async () => {
    const r = await request(api(), { method: "POST", headers: bearer(t.alice), body: { order: { order_type: "new_subscription", forSubscription: { id: "sub-alice" } } } })
    expect(r.status).toBe(400)
    expect(r.body.error.code).toBe("InvalidInput")
    expect(r.body.error.details.field).toBe("order.order_type")
    const items = await request(api(), { method: "PUT", headers: bearer(t.alice), body: { order: { orderItems: [{ orderItemActionType: "swap", offer: { id: "x" } }] } } })
    expect(items.status).toBe(400)
  })

  it("a field inside an array is named with bracketed indices, alike on the fast path, the router and the amend route", async () => {
    const opened = await request(api(), { method: "POST", headers: bearer(t.alice), body: initiateBody("sub-alice") })
    const headers = { ...bearer(t.alice), cookie: cookieOf(opened.headers) }
    const items = [
      { orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } },
      { orderItemActionType: "replace", type: "add_on", offer: { id: "addon-archive" } }
    ]
    const fast = await request(api(), { method: "PUT", headers, body: { order: { orderItems: items } } })
    // A query string sends the same request through the general router.
    const routed = await request(`${api()}?via=router`, { method: "PUT", headers, body: { order: { orderItems: items } } })
    for (const r of [fast, routed]) {
      expect(r.status).toBe(400)
      expect(r.body.error.code).toBe("InvalidInput")
      expect(r.body.error.details.field).toBe("order.orderItems[1].orderItemActionType")
    }
    expect(routed.text).toBe(fast.text)
    const amend = await request(`${server.url}/api/selfService/checkout/amend`, {
      method: "POST",
      headers: bearer(t.acme),
      body: { billGroupId: "bg-acme", subscriptionUpdates: [{ subscriptionId: "sub-acme-1", timing: "NEXT_PERIOD_START", items: [{ productId: "addon-archive", quantity: "two" }] }] }
    })
    expect(amend.status).toBe(400)
    expect(amend.body.error.details.field).toBe("subscriptionUpdates[0].items[0].quantity")
  })

  it("tracking data with a prototype key is a 400 naming tracking, and no basket is opened", async () => {
    const raw = '{"order":{"order_type":"update_subscription","forSubscription":{"id":"sub-alice"}},"tracking":{"campaign":{"__proto__":{"admin":true}}}}'
    const r = await request(api(), { method: "POST", headers: { ...bearer(t.alice), "content-type": "application/json" }, raw })
    expect(r.status).toBe(400)
    expect(r.body.error.code).toBe("InvalidInput")
    expect(r.body.error.details.field).toBe("tracking")
    expect(r.body.error.message).toContain("__proto__")
    expect(r.headers.get("set-cookie")).toBeNull()
  })

  it("an id over 64 characters is a 400, in the body and in the path", async () => {
    const long = "sub-" + "x".repeat(70)
    const body = await request(api(), { method: "POST", headers: bearer(t.alice), body: initiateBody(long) })
    expect(body.status).toBe(400)
    expect(body.body.error.details.field).toBe("order.forSubscription.id")
    const path = await request(`${server.url}/api/partner/mma/subscriptions/${long}`, { headers: bearer(t.telco) })
    expect(path.status).toBe(400)
    expect(path.body.error.code).toBe("InvalidInput")
  })

  it("a body over 64 KiB is a 413, with or without a content length", async () => {
    const big = JSON.stringify({ order: { order_type: "update_subscription", forSubscription: { id: "sub-alice" } }, tracking: { pad: "x".repeat(70_000) } })
    const r = await request(api(), { method: "POST", headers: { ...bearer(t.alice), "content-type": "application/json" }, raw: big })
    expect(r.status).toBe(413)
    expect(r.body.error).toMatchObject({ code: "PayloadTooLarge", details: { limit: 65536 } })
    // A chunked body has no length to check up front: the limit applies while reading it.
    const chunked = await new Promise<{ status: number }>((resolve, reject) => {
      const req = Http.request(api(), { method: "POST", headers: { ...bearer(t.alice), "content-type": "application/json" } }, (res) => {
        res.resume()
        resolve({ status: res.statusCode ?? 0 })
      })
      req.on("error", reject)
      req.write(big.slice(0, 40_000))
      req.end(big.slice(40_000))
    })
    expect(chunked.status).toBe(413)
  })

  it("an unknown route is a 404 RouteNotFound", async () => {
    const r = await request(`${server.url}/api/nothing-here`)
    expect(r.status).toBe(404)
    expect(r.body.error.code).toBe("RouteNotFound")
  })

  it("an unknown subscription is a 404", async () => {
    const r = await request(api(), { method: "POST", headers: bearer(t.alice), body: initiateBody("sub-nobody") })
    expect(r.status).toBe(404)
    expect(r.body.error).toMatchObject({ code: "SubscriptionNotFound", details: { subscription: "sub-nobody" } })
  })

  it("a basket update that breaks a rule is a 422 and changes nothing", async () => {
    const opened = await request(api(), { method: "POST", headers: bearer(t.bob), body: initiateBody("sub-bob") })
    const cookie = cookieOf(opened.headers)
    const r = await request(api(), {
      method: "PUT",
      headers: { ...bearer(t.bob), cookie },
      body: { order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-basic" } }, { orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } }] } }
    })
    expect(r.status).toBe(422)
    expect(r.body.error.code).toBe("BasketRejected")
    expect(r.body.error.details.code).toBe("too_many_offer_adds")
    const read = await request(api(), { headers: { ...bearer(t.bob), cookie } })
    expect(read.body.version).toBe(1)
  })
})

describe("the basket cookie", () => {
  const api = () => `${server.url}/api/checkout/subscription`

  it("a tampered, unsigned or missing cookie is no basket (404 NoBasket); limio_state is accepted", async () => {
    const opened = await request(api(), { method: "POST", headers: bearer(t.carol), body: initiateBody("sub-carol") })
    expect(opened.status).toBe(200)
    const cookie = cookieOf(opened.headers)
    const [name, value] = cookie.split("=") as [string, string]
    const [id, signature] = value.split(".") as [string, string]
    const flipped = id.slice(0, -1) + (id.endsWith("0") ? "1" : "0")
    for (const bad of [`${name}=${flipped}.${signature}`, `${name}=${id}`, `${name}=${id}.${signature.slice(1)}x`, "other=1"]) {
      const r = await request(api(), { headers: { ...bearer(t.carol), cookie: bad } })
      expect(r.status).toBe(404)
      expect(r.body.error.code).toBe("NoBasket")
    }
    const none = await request(api(), { headers: bearer(t.carol) })
    expect(none.status).toBe(404)
    const legacy = await request(api(), { headers: { ...bearer(t.carol), cookie: `limio_state=${value}` } })
    expect(legacy.status).toBe(200)
    expect(legacy.body.checkoutId).toBe(id)
  })

  it("an order whose checkoutId differs from the cookie's basket is a 400", async () => {
    const opened = await request(api(), { method: "POST", headers: bearer(t.carol), body: initiateBody("sub-carol") })
    const r = await request(`${server.url}/api/order`, {
      method: "POST",
      headers: { ...bearer(t.carol), cookie: cookieOf(opened.headers) },
      body: { checkoutId: "basket-00000000-0000-4000-8000-000000000001" }
    })
    expect(r.status).toBe(400)
    expect(r.body.error.details.field).toBe("checkoutId")
  })

  it("the cookie is Secure when configured", async () => {
    const secure = await start({ env: { SUBSHIFT_COOKIE_SECURE: "true" } })
    try {
      const token = await secure.token({ subject: "cus-alice", scopes: ["checkout"] })
      const r = await request(`${secure.url}/api/checkout/subscription`, { method: "POST", headers: bearer(token), body: initiateBody("sub-alice") })
      expect(r.headers.get("set-cookie")).toMatch(/; HttpOnly; SameSite=Lax; Secure$/)
    } finally {
      await secure.close()
    }
  })
})

describe("time and the store", () => {
  it("a basket past its 14 days is a 410 (controllable clock)", async () => {
    const own = await start()
    try {
      const token = await own.token({ subject: "cus-erin", scopes: ["checkout"], ttlSeconds: 60 * 86_400 })
      const api = `${own.url}/api/checkout/subscription`
      const opened = await request(api, { method: "POST", headers: bearer(token), body: initiateBody("sub-erin") })
      const cookie = cookieOf(opened.headers)
      own.clock.advance(15 * 86_400_000)
      const read = await request(api, { headers: { ...bearer(token), cookie } })
      expect(read.status).toBe(410)
      expect(read.body.error).toMatchObject({ code: "BasketExpired", details: { basketId: opened.body.checkoutId } })
      const put = await request(api, { method: "PUT", headers: { ...bearer(token), cookie }, body: { order: { orderItems: [] } } })
      expect(put.status).toBe(410)
    } finally {
      await own.close()
    }
  })

  it("an unavailable store is a 503 on the API and on /ready, while /health still answers", async () => {
    const own = await start()
    try {
      const token = await own.token({ subject: "cus-alice", scopes: ["checkout"] })
      expect((await request(`${own.url}/ready`)).status).toBe(200)
      own.store.down = true
      const r = await request(`${own.url}/api/checkout/subscription`, { method: "POST", headers: bearer(token), body: initiateBody("sub-alice") })
      expect(r.status).toBe(503)
      expect(r.body.error.code).toBe("StoreUnavailable")
      noStack(r.text)
      expect((await request(`${own.url}/ready`)).status).toBe(503)
      expect((await request(`${own.url}/api/ready`)).status).toBe(503)
      expect((await request(`${own.url}/health`)).body).toEqual({ status: "ok" })
      expect((await request(`${own.url}/api/health`)).body).toEqual({ status: "ok" })
    } finally {
      await own.close()
    }
  })
})

describe("contract documents", () => {
  it("/openapi.json is OpenAPI 3.1 with every endpoint the server has (the test clock's only when it is on), and /docs serves the interactive docs", async () => {
    const spec = await request(`${server.url}/openapi.json`)
    expect(spec.body.openapi).toBe("3.1.0")
    const withoutTestClock = [
      "/api/admin/audit",
      "/api/admin/bill-groups/{id}",
      "/api/admin/catalog",
      "/api/admin/catalog/schema",
      "/api/admin/catalog/validate",
      "/api/admin/catalog/versions",
      "/api/admin/catalog/versions/{version}",
      "/api/admin/pending-changes",
      "/api/admin/subscriptions/import",
      "/api/admin/subscriptions/{id}",
      "/api/admin/subscriptions/{id}/pending-change",
      "/api/admin/webhooks",
      "/api/admin/webhooks/{id}",
      "/api/admin/webhooks/{id}/deliveries",
      "/api/admin/webhooks/{id}/deliveries/{deliveryId}/retry",
      "/api/admin/webhooks/{id}/rotate-secret",
      "/api/admin/webhooks/{id}/test",
      "/api/admin/whoami",
      "/api/checkout/subscription",
      "/api/checkout/subscriptions/{id}/pending-change",
      "/api/health",
      "/api/order",
      "/api/partner/checkout/subscription",
      "/api/partner/events",
      "/api/partner/mma/checkout",
      "/api/partner/mma/subscriptions",
      "/api/partner/mma/subscriptions/{id}",
      "/api/partner/mma/subscriptions/{id}/pending-change",
      "/api/partner/order",
      "/api/ready",
      "/api/selfService/checkout/amend",
      "/health",
      "/ready"
    ]
    expect(Object.keys(spec.body.paths).sort()).toEqual(withoutTestClock)
    const clocked = await start({ env: { SUBSHIFT_TEST_CLOCK: "on" } })
    try {
      const full = await request(`${clocked.url}/openapi.json`)
      expect(Object.keys(full.body.paths).sort()).toEqual([...withoutTestClock, "/api/test-clock", "/api/test-clock/advance"].sort())
    } finally {
      await clocked.close()
    }
    expect(Object.keys(spec.body.paths["/api/checkout/subscription"].post.responses)).toEqual(
      expect.arrayContaining(["200", "400", "401", "403", "404", "409", "413", "422", "423", "503"])
    )
    expect(Object.keys(spec.body.paths["/api/checkout/subscriptions/{id}/pending-change"].delete.responses)).toEqual(
      expect.arrayContaining(["200", "400", "401", "403", "404", "409", "503"])
    )
    const docs = await fetch(`${server.url}/docs`)
    expect(docs.status).toBe(200)
    expect(docs.headers.get("content-type")).toMatch(/text\/html/)
  })
})

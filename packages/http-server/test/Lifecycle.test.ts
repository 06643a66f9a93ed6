/**
 * The lifecycle of a change over a real listening server on the memory store: idempotent orders
 * and amends through the store's `Idempotency` port, QuoteChanged, the partner events API, the
 * scheduler in the server and the test clock.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Amendments } from "@subshift/core/ports/Amendments"
import { Catalog } from "@subshift/core/ports/Catalog"
import { Events } from "@subshift/core/ports/Events"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { hashToken } from "@subshift/http-server/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { bearer, cookieOf, initiateBody, request, start, type TestServer, tokens } from "./Harness.js"

const DAY_SECONDS = 86_400
const LONG_TTL = 400 * DAY_SECONDS

const addOffer = (id: string) => ({ order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id } }] } })
const addAddOn = (id: string) => ({ order: { orderItems: [{ orderItemActionType: "add", type: "add_on", offer: { id } }] } })

/** Opens a basket and updates it; answers the cookie and the basket. */
const basketWith = async (
  server: TestServer,
  options: { readonly base: string; readonly headers: Record<string, string>; readonly subscriptionId: string; readonly update?: unknown }
) => {
  const api = `${server.url}${options.base}`
  const opened = await request(api, { method: "POST", headers: options.headers, body: initiateBody(options.subscriptionId) })
  expect(opened.status).toBe(200)
  const cookie = cookieOf(opened.headers)
  if (options.update === undefined) return { cookie, basket: opened.body }
  const updated = await request(api, { method: "PUT", headers: { ...options.headers, cookie }, body: options.update })
  expect(updated.status).toBe(200)
  return { cookie, basket: updated.body }
}

const eventsOf = (server: TestServer, subscriptionId: string) =>
  server.run(Effect.flatMap(Events, (events) => events.list({ subscriptionId, limit: 100 })))

const amendmentsOf = (server: TestServer, subscriptionId: string) =>
  server.run(Effect.flatMap(Amendments, (amendments) => amendments.listBySubscription(subscriptionId)))

describe("idempotent orders and amends", () => {
  let server: TestServer
  let t: Awaited<ReturnType<typeof tokens>>
  beforeAll(async () => {
    server = await start()
    t = await tokens(server)
  })
  afterAll(() => server.close())

  const order = (path: string, headers: Record<string, string>, body: unknown = {}) =>
    request(`${server.url}${path}`, { method: "POST", headers, body })

  it("the same key twice commits once and replays the identical answer marked idempotent-replayed", async () => {
    const auth = bearer(t.alice)
    const { cookie } = await basketWith(server, { base: "/api/checkout/subscription", headers: auth, subscriptionId: "sub-alice", update: addOffer("ledger-standard") })
    const first = await order("/api/order", { ...auth, cookie, "if-match": '"2"', "idempotency-key": "alice-order-1" })
    expect(first.status).toBe(200)
    expect(first.headers.get("idempotent-replayed")).toBeNull()
    const again = await order("/api/order", { ...auth, cookie, "if-match": '"2"', "idempotency-key": "alice-order-1" })
    expect(again.status).toBe(200)
    expect(again.text).toBe(first.text)
    expect(again.headers.get("etag")).toBe(first.headers.get("etag"))
    expect(again.headers.get("idempotent-replayed")).toBe("true")
    expect((await amendmentsOf(server, "sub-alice")).map((a) => a.id)).toEqual([first.body.id])
    expect((await eventsOf(server, "sub-alice")).filter((e) => e.type === "amendment.committed").length).toBe(1)
  })

  it("a stored 422 is replayed for its key even after the basket was fixed, while a new key commits", async () => {
    const auth = bearer(t.bob)
    const { cookie } = await basketWith(server, { base: "/api/checkout/subscription", headers: auth, subscriptionId: "sub-bob" })
    const empty = await order("/api/order", { ...auth, cookie, "idempotency-key": "bob-order-1" })
    expect(empty.status).toBe(422)
    expect(empty.body.error.code).toBe("BasketRejected")
    const fixed = await request(`${server.url}/api/checkout/subscription`, { method: "PUT", headers: { ...auth, cookie }, body: addAddOn("addon-crossword") })
    expect(fixed.status).toBe(200)
    const replayed = await order("/api/order", { ...auth, cookie, "idempotency-key": "bob-order-1" })
    expect(replayed.status).toBe(422)
    expect(replayed.text).toBe(empty.text)
    expect(replayed.headers.get("idempotent-replayed")).toBe("true")
    const fresh = await order("/api/order", { ...auth, cookie, "idempotency-key": "bob-order-2" })
    expect(fresh.status).toBe(200)
    expect(fresh.headers.get("idempotent-replayed")).toBeNull()
  })

  it("the same key with a different body is a 422 IdempotencyKeyMismatch and commits nothing more", async () => {
    const auth = bearer(t.erin)
    const { cookie, basket } = await basketWith(server, { base: "/api/checkout/subscription", headers: auth, subscriptionId: "sub-erin", update: addAddOn("addon-crossword") })
    const first = await order("/api/order", { ...auth, cookie, "idempotency-key": "erin-order-1" })
    expect(first.status).toBe(200)
    const other = await order("/api/order", { ...auth, cookie, "idempotency-key": "erin-order-1" }, { checkoutId: basket.checkoutId })
    expect(other.status).toBe(422)
    expect(other.body.error).toEqual({
      code: "IdempotencyKeyMismatch",
      message: "the Idempotency-Key erin-order-1 was first used with a different request",
      details: { key: "erin-order-1" }
    })
    expect((await amendmentsOf(server, "sub-erin")).length).toBe(1)
  })

  it("a second request while the first is still running is a 409 IdempotencyKeyInFlight; the first commits and is then replayed", async () => {
    const auth = { ...bearer(t.telco), "x-limio-recaptcha": "token" }
    const { cookie } = await basketWith(server, { base: "/api/partner/checkout/subscription", headers: auth, subscriptionId: "sub-carol", update: addOffer("ledger-premium") })
    server.store.slowCommits.set("sub-carol", 1_500)
    const headers = { ...auth, cookie, "idempotency-key": "carol-order-1" }
    const slow = order("/api/partner/order", headers)
    await new Promise((resolve) => setTimeout(resolve, 400))
    const meanwhile = await order("/api/partner/order", headers)
    expect(meanwhile.status).toBe(409)
    expect(meanwhile.body.error).toMatchObject({ code: "IdempotencyKeyInFlight", details: { key: "carol-order-1" } })
    const first = await slow
    server.store.slowCommits.delete("sub-carol")
    expect(first.status).toBe(200)
    const replay = await order("/api/partner/order", headers)
    expect(replay.text).toBe(first.text)
    expect(replay.headers.get("idempotent-replayed")).toBe("true")
    expect((await amendmentsOf(server, "sub-carol")).length).toBe(1)
  })

  it("a defect releases the claim, so a retry with the same key runs the order again", async () => {
    const auth = { ...bearer(t.telco), "x-limio-recaptcha": "token" }
    const { cookie } = await basketWith(server, { base: "/api/partner/checkout/subscription", headers: auth, subscriptionId: "sub-dave", update: addAddOn("addon-crossword") })
    server.store.dyingCommits.add("sub-dave")
    const headers = { ...auth, cookie, "idempotency-key": "dave-order-1" }
    const failed = await order("/api/partner/order", headers)
    expect(failed.status).toBe(500)
    expect(failed.body.error.code).toBe("InternalError")
    const retried = await order("/api/partner/order", headers)
    expect(retried.status).toBe(200)
    expect(retried.headers.get("idempotent-replayed")).toBeNull()
    expect((await amendmentsOf(server, "sub-dave")).length).toBe(1)
  })

  it("an amend with a key replays its first answer; another body under the key is IDEMPOTENCY_KEY_MISMATCH (422) in the amend envelope", async () => {
    const amend = (body: unknown, key: string) =>
      request(`${server.url}/api/selfService/checkout/amend`, { method: "POST", headers: { ...bearer(t.acme), "idempotency-key": key }, body })
    const body = {
      billGroupId: "bg-acme",
      subscriptionUpdates: [{ subscriptionId: "sub-acme-1", timing: "NEXT_PERIOD_START", items: [{ productId: "addon-crossword", quantity: 2 }] }]
    }
    const first = await amend(body, "acme-amend-1")
    expect(first.status).toBe(200)
    const replay = await amend(body, "acme-amend-1")
    expect(replay.status).toBe(200)
    expect(replay.text).toBe(first.text)
    expect(replay.headers.get("idempotent-replayed")).toBe("true")
    expect((await amendmentsOf(server, "sub-acme-1")).length).toBe(1)
    const other = await amend({ ...body, subscriptionUpdates: [{ ...body.subscriptionUpdates[0], items: [{ productId: "addon-crossword", quantity: 3 }] }] }, "acme-amend-1")
    expect(other.status).toBe(422)
    expect(other.body).toEqual({
      operation: "amendSubscriptions",
      error: {
        errorCode: "IDEMPOTENCY_KEY_MISMATCH",
        details: "the Idempotency-Key acme-amend-1 was first used with a different request",
        context: { key: "acme-amend-1" }
      }
    })
    expect((await amendmentsOf(server, "sub-acme-1")).length).toBe(1)
  })

  it("an amend while the first with its key runs is IDEMPOTENCY_KEY_IN_FLIGHT (409) in the amend envelope", async () => {
    const headers = { ...bearer(t.acme), "idempotency-key": "acme-amend-2" }
    const body = { billGroupId: "bg-acme", subscriptionRemovals: [{ subscriptionId: "sub-acme-2", timing: "CURRENT_PERIOD_END" }] }
    server.store.slowCommits.set("sub-acme-2", 1_500)
    const slow = request(`${server.url}/api/selfService/checkout/amend`, { method: "POST", headers, body })
    await new Promise((resolve) => setTimeout(resolve, 400))
    const meanwhile = await request(`${server.url}/api/selfService/checkout/amend`, { method: "POST", headers, body })
    expect(meanwhile.status).toBe(409)
    expect(meanwhile.body.operation).toBe("amendSubscriptions")
    expect(meanwhile.body.error).toMatchObject({ errorCode: "IDEMPOTENCY_KEY_IN_FLIGHT", context: { key: "acme-amend-2" } })
    expect((await slow).status).toBe(200)
    server.store.slowCommits.delete("sub-acme-2")
  })

  it("a replayed 423 carries Retry-After until the pending change, as the first answer did", async () => {
    const amend = (body: unknown, key: string) =>
      request(`${server.url}/api/selfService/checkout/amend`, { method: "POST", headers: { ...bearer(t.acme), "idempotency-key": key }, body })
    const change = (quantity: number) => ({
      billGroupId: "bg-acme",
      subscriptionUpdates: [{ subscriptionId: "sub-acme-1", timing: "NEXT_PERIOD_START", items: [{ productId: "addon-crossword", quantity }] }]
    })
    // The change that locks sub-acme-1 (replayed when the amend test above already made it).
    expect((await amend(change(2), "acme-amend-1")).status).toBe(200)
    const locked = await amend(change(4), "acme-amend-locked")
    expect(locked.status).toBe(423)
    expect(locked.body.error.code).toBe("SubscriptionLocked")
    const retryAfter = Number(locked.headers.get("retry-after"))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(32 * DAY_SECONDS)
    const replay = await amend(change(4), "acme-amend-locked")
    expect(replay.status).toBe(423)
    expect(replay.text).toBe(locked.text)
    expect(replay.headers.get("idempotent-replayed")).toBe("true")
    expect(Math.abs(Number(replay.headers.get("retry-after")) - retryAfter)).toBeLessThanOrEqual(2)
  })

  it("an Idempotency-Key over 255 characters is a 400 on every endpoint that takes one", async () => {
    const key = "k".repeat(256)
    const customer = await order("/api/order", { ...bearer(t.alice), "idempotency-key": key })
    const partner = await order("/api/partner/order", { ...bearer(t.telco), "idempotency-key": key })
    const amend = await order("/api/selfService/checkout/amend", { ...bearer(t.acme), "idempotency-key": key }, { billGroupId: "bg-acme" })
    for (const answer of [customer, partner, amend]) {
      expect(answer.status).toBe(400)
      expect(answer.body.error.code).toBe("InvalidInput")
    }
  })

  it("without SUBSHIFT_TEST_CLOCK the test clock's routes are a 404 like any unknown route", async () => {
    const read = await request(`${server.url}/api/test-clock`)
    const advance = await request(`${server.url}/api/test-clock/advance`, { method: "POST", body: { days: 31 } })
    const invalid = await request(`${server.url}/api/test-clock/advance`, { method: "POST", body: { days: -1 } })
    for (const answer of [read, advance, invalid]) {
      expect(answer.status).toBe(404)
      expect(answer.body.error.code).toBe("RouteNotFound")
    }
  })
})

describe("preview equals commit over HTTP", () => {
  let server: TestServer
  let t: Awaited<ReturnType<typeof tokens>>
  beforeAll(async () => {
    server = await start()
    t = await tokens(server)
  })
  afterAll(() => server.close())

  it("a price change between the quote and the order is a 409 QuoteChanged, replayed for its key after the price is back, and nothing is charged", async () => {
    const auth = bearer(t.alice)
    const { cookie } = await basketWith(server, { base: "/api/checkout/subscription", headers: auth, subscriptionId: "sub-alice", update: addOffer("ledger-premium") })
    const premium = (await server.run(Effect.flatMap(Catalog, (catalog) => catalog.getMany(["ledger-premium"])))).get("ledger-premium")!
    await server.run(Effect.flatMap(Catalog, (catalog) => catalog.put([{ ...premium, rates: premium.rates.map((r) => ({ ...r, amount: r.amount + 100 })) }])))
    const headers = { ...auth, cookie, "idempotency-key": "alice-quote-1" }
    const refused = await request(`${server.url}/api/order`, { method: "POST", headers, body: {} })
    expect(refused.status).toBe(409)
    expect(refused.body.error).toMatchObject({ code: "QuoteChanged", details: { reason: "catalog_changed" } })
    expect((await amendmentsOf(server, "sub-alice")).length).toBe(0)
    expect(await eventsOf(server, "sub-alice")).toEqual([])

    await server.run(Effect.flatMap(Catalog, (catalog) => catalog.put([premium])))
    const replayed = await request(`${server.url}/api/order`, { method: "POST", headers, body: {} })
    expect(replayed.status).toBe(409)
    expect(replayed.text).toBe(refused.text)
    expect(replayed.headers.get("idempotent-replayed")).toBe("true")
    const committed = await request(`${server.url}/api/order`, { method: "POST", headers: { ...headers, "idempotency-key": "alice-quote-2" }, body: {} })
    expect(committed.status).toBe(200)
  })
})

describe("partner events", () => {
  let server: TestServer
  let telco: string
  let other: string
  beforeAll(async () => {
    server = await start({ env: { SUBSHIFT_SCHEDULER_INTERVAL: "1 second" } })
    telco = await server.token({ subject: "ops@telco", partnerOrg: "partner-telco", scopes: ["partner"], ttlSeconds: LONG_TTL })
    other = await server.token({ subject: "ops@other", partnerOrg: "partner-other", scopes: ["partner"], ttlSeconds: LONG_TTL })
  })
  afterAll(() => server.close())

  const readAll = async (token: string, limit: number) => {
    const pages: Array<{ items: Array<any>; next: number; hasMore: boolean }> = []
    let after = 0
    for (;;) {
      const page = await request(`${server.url}/api/partner/events?after=${after}&limit=${limit}`, { headers: bearer(token) })
      expect(page.status).toBe(200)
      pages.push(page.body)
      after = page.body.next
      if (!page.body.hasMore) return pages
    }
  }

  it("a partner reads its subscriptions' commits and applied changes page by page, never another partner's", async () => {
    const dave = Option.getOrThrow(await server.run(Effect.flatMap(Subscriptions, (s) => s.findById("sub-dave"))))
    await server.run(Effect.flatMap(Subscriptions, (s) => s.put({ ...dave, id: "sub-olga", name: "OLGAOTHER001", owner: "cus-olga", partnerOrg: "partner-other" })))
    const telcoAuth = { ...bearer(telco), "x-limio-recaptcha": "token" }
    const otherAuth = { ...bearer(other), "x-limio-recaptcha": "token" }
    const base = "/api/partner/checkout/subscription"
    const carol = await basketWith(server, { base, headers: telcoAuth, subscriptionId: "sub-carol", update: addAddOn("addon-crossword") })
    expect((await request(`${server.url}/api/partner/order`, { method: "POST", headers: { ...telcoAuth, cookie: carol.cookie }, body: {} })).status).toBe(200)
    const downgrade = await basketWith(server, { base, headers: telcoAuth, subscriptionId: "sub-dave", update: addOffer("ledger-basic") })
    const scheduled = await request(`${server.url}/api/partner/order`, { method: "POST", headers: { ...telcoAuth, cookie: downgrade.cookie }, body: {} })
    expect(scheduled.status).toBe(200)
    const olga = await basketWith(server, { base, headers: otherAuth, subscriptionId: "sub-olga", update: addAddOn("addon-crossword") })
    expect((await request(`${server.url}/api/partner/order`, { method: "POST", headers: { ...otherAuth, cookie: olga.cookie }, body: {} })).status).toBe(200)

    // The scheduler running in the server applies Dave's downgrade once its date has come.
    server.clock.advance((Date.parse(`${scheduled.body.pendingChangeDate}T00:00:00Z`) - server.clock.now()) + 60_000)
    for (let waited = 0; !(await eventsOf(server, "sub-dave")).some((e) => e.type === "subscription.changed"); waited += 100) {
      expect(waited).toBeLessThan(10_000)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }

    const pages = await readAll(telco, 1)
    const items = pages.flatMap((p) => p.items)
    expect(items.map((e) => [e.type, e.subscriptionId])).toEqual([
      ["amendment.committed", "sub-carol"],
      ["amendment.committed", "sub-dave"],
      ["subscription.changed", "sub-dave"]
    ])
    expect(pages.map((p) => p.items.length)).toEqual([1, 1, 1])
    expect(items.map((e) => e.sequence)).toEqual([...items.map((e) => e.sequence)].sort((a, b) => a - b))
    expect(items[0]).toMatchObject({ actor: { kind: "partner", id: "partner-telco" }, owner: "cus-carol", partnerOrg: "partner-telco" })
    expect(items[0].before.addOns.map((l: any) => l.offerId)).toEqual(["addon-podcasts"])
    expect(items[0].after.addOns.map((l: any) => l.offerId)).toEqual(["addon-podcasts", "addon-crossword"])
    expect(items[2]).toMatchObject({ actor: { kind: "system", id: "scheduler" }, amendmentId: scheduled.body.id, after: { offer: { offerId: "ledger-basic" } } })
    const end = await request(`${server.url}/api/partner/events?after=${pages.at(-1)!.next}`, { headers: bearer(telco) })
    expect(end.body).toEqual({ items: [], next: pages.at(-1)!.next, hasMore: false })

    const theirs = (await readAll(other, 50)).flatMap((p) => p.items)
    expect(theirs.map((e) => [e.type, e.subscriptionId])).toEqual([["amendment.committed", "sub-olga"]])
  })

  it("the events API is for partners: a customer credential is a 403", async () => {
    const customer = await server.token({ subject: "cus-carol", scopes: ["checkout"], ttlSeconds: LONG_TTL })
    const refused = await request(`${server.url}/api/partner/events`, { headers: bearer(customer) })
    expect(refused.status).toBe(403)
  })
})

describe.sequential("the test clock", () => {
  let server: TestServer
  let erin: string
  beforeAll(async () => {
    // The background scheduler is left for later so that the advance's own run is the one that applies.
    server = await start({ env: { SUBSHIFT_TEST_CLOCK: "on", SUBSHIFT_SCHEDULER_INTERVAL: "1 hour" } })
    erin = await server.token({ subject: "cus-erin", scopes: ["checkout"], ttlSeconds: LONG_TTL })
  })
  afterAll(() => server.close())

  it("a downgrade scheduled for next period applies exactly once after the clock moves past its date, and the subscription can change again", async () => {
    const auth = bearer(erin)
    const api = `${server.url}/api/checkout/subscription`
    const start = await request(`${server.url}/api/test-clock`)
    expect(start.status).toBe(200)
    expect(start.body.offsetSeconds).toBe(0)

    const { cookie } = await basketWith(server, { base: "/api/checkout/subscription", headers: auth, subscriptionId: "sub-erin", update: addOffer("ledger-basic") })
    const committed = await request(`${server.url}/api/order`, { method: "POST", headers: { ...auth, cookie }, body: {} })
    expect(committed.status).toBe(200)
    const effective: string = committed.body.pendingChangeDate
    expect(effective > start.body.today).toBe(true)
    const locked = await request(api, { method: "POST", headers: auth, body: initiateBody("sub-erin") })
    expect(locked.status).toBe(423)
    expect(locked.body.pendingChangeDate).toBe(effective)

    const seconds = Math.ceil((Date.parse(`${effective}T00:00:00Z`) - Date.parse(start.body.now)) / 1000) + 60
    const advanced = await request(`${server.url}/api/test-clock/advance`, { method: "POST", body: { seconds } })
    expect(advanced.status).toBe(200)
    expect(advanced.body.today).toBe(effective)
    expect(advanced.body.offsetSeconds).toBeGreaterThanOrEqual(seconds)
    expect(advanced.body.scheduler).toEqual({ examined: 1, applied: 1 })
    const later = await request(`${server.url}/api/test-clock/advance`, { method: "POST", body: { days: 1 } })
    expect(later.body.scheduler.applied).toBe(0)
    expect((await eventsOf(server, "sub-erin")).map((e) => e.type)).toEqual(["amendment.committed", "subscription.changed"])

    const reopened = await request(api, { method: "POST", headers: auth, body: initiateBody("sub-erin") })
    expect(reopened.status).toBe(200)
    expect(reopened.body.forSubscriptionOffer.id).toBe("ledger-basic")
    // The cookie's lifetime is counted on the shifted clock, as the basket's expiry is.
    const maxAge = Number(/Max-Age=(\d+)/.exec(reopened.headers.get("set-cookie")!)![1])
    expect(maxAge).toBeGreaterThan(14 * DAY_SECONDS - 60)
    expect(maxAge).toBeLessThanOrEqual(14 * DAY_SECONDS)
  })

  it("moving the clock by zero or backwards is a 400, and the clock stays where it was", async () => {
    const before = await request(`${server.url}/api/test-clock`)
    for (const body of [{ days: 0 }, { seconds: -5 }, {}]) {
      const refused = await request(`${server.url}/api/test-clock/advance`, { method: "POST", body })
      expect(refused.status).toBe(400)
      expect(refused.body.error.code).toBe("InvalidInput")
    }
    const after = await request(`${server.url}/api/test-clock`)
    expect(after.body.offsetSeconds).toBe(before.body.offsetSeconds)
  })
})

describe("the test clock in production", () => {
  it("npm start with NODE_ENV=production and SUBSHIFT_TEST_CLOCK=on refuses to start, naming the variable", async () => {
    const { DATABASE_URL: _url, ...env } = process.env
    const child = spawn(process.execPath, ["--conditions=@subshift/source", "--import", "tsx", "packages/http-server/src/bin.ts"], {
      cwd: fileURLToPath(new URL("../../..", import.meta.url)),
      env: {
        ...env,
        NODE_ENV: "production",
        PORT: "0",
        SUBSHIFT_STORE: "memory",
        SUBSHIFT_COOKIE_SECRET: "a-production-cookie-secret-of-32-chars!",
        SUBSHIFT_JWT_SECRET: "a-production-jwt-secret-of-at-least-32-chars",
        SUBSHIFT_PARTNER_TOKENS: `telco:partner:${hashToken("real-token")}`,
        SUBSHIFT_RECAPTCHA_SECRET: "s",
        SUBSHIFT_TEST_CLOCK: "on"
      },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (chunk) => (output += chunk))
    child.stderr.on("data", (chunk) => (output += chunk))
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    expect(code).toBe(1)
    expect(output).toContain("Subshift cannot start: bad configuration")
    expect(output).toContain("NODE_ENV=production refuses the test clock")
  })
})

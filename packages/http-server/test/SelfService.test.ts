import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { amendStatus } from "@subshift/http-api/HttpErrors"
import * as Effect from "effect/Effect"
import { bearer, request, start, type TestServer, tokens, withClient } from "./Harness.js"

let server: TestServer
let t: Awaited<ReturnType<typeof tokens>>
beforeAll(async () => {
  server = await start()
  t = await tokens(server)
})
afterAll(() => server.close())

const amend = (body: unknown, token = t.acme) =>
  request(`${server.url}/api/selfService/checkout/amend`, { method: "POST", headers: bearer(token), body })

describe("the amend API", () => {
  it("amends a bill group and answers the MonetizeNow shape in integer minor units", async () => {
    const r = await amend({
      billGroupId: "bg-acme",
      subscriptionUpdates: [{ subscriptionId: "sub-acme-1", timing: "NEXT_PERIOD_START", items: [{ productId: "addon-crossword", quantity: 2 }] }]
    })
    expect(r.status).toBe(200)
    expect(r.body.billGroupId).toBe("bg-acme")
    expect(r.body.subscriptionUpdates).toHaveLength(1)
    const update = r.body.subscriptionUpdates[0]
    expect(update).toMatchObject({ subscriptionId: "sub-acme-1", currency: "USD", billingFrequency: "MONTHLY" })
    expect(Number.isInteger(update.amountPerPeriod)).toBe(true)
    expect(update.items).toContainEqual({ productId: "addon-crossword", quantity: 2, amountPerPeriod: 598 })
    expect(r.body.subscriptionCreations).toEqual([])
    expect(r.body.subscriptionRemovals).toEqual([])
  })

  it("answers each error code with its documented status and the amend envelope", async () => {
    const cases: Array<[unknown, string]> = [
      [{ billGroupId: "bg-nope", subscriptionRemovals: [{ subscriptionId: "sub-acme-2", timing: "TODAY" }] }, "INVALID_BILL_GROUP"],
      [{ billGroupId: "bg-acme-old", subscriptionRemovals: [{ subscriptionId: "sub-acme-old", timing: "TODAY" }] }, "NO_ACTIVE_BILL_GROUP_CONTRACT"],
      [{ billGroupId: "bg-acme", subscriptionRemovals: [{ subscriptionId: "sub-acme-2", timing: "TOMORROW" }] }, "INVALID_SUBSCRIPTION_TIMING"],
      [{ billGroupId: "bg-acme", subscriptionRemovals: [{ subscriptionId: "sub-alice", timing: "TODAY" }] }, "INVALID_BILL_GROUP_SUBSCRIPTIONS"],
      [{ billGroupId: "bg-acme", offerings: [{ offeringId: "no-such-offer", rateId: "x", timing: "TODAY", items: [] }] }, "INVALID_OFFERINGS"],
      [{ billGroupId: "bg-acme", offerings: [{ offeringId: "ledger-basic", rateId: "no-such-rate", timing: "TODAY", items: [] }] }, "INVALID_RATES"]
    ]
    for (const [body, code] of cases) {
      const r = await amend(body)
      expect(r.status, code).toBe(amendStatus[code as keyof typeof amendStatus])
      expect(r.body.operation).toBe("amendSubscriptions")
      expect(r.body.error.errorCode).toBe(code)
      expect(typeof r.body.error.details).toBe("string")
    }
  })

  it("someone else's bill group is INVALID_BILL_GROUP (404), as if it did not exist", async () => {
    const r = await amend({ billGroupId: "bg-acme", subscriptionRemovals: [{ subscriptionId: "sub-acme-2", timing: "TODAY" }] }, t.alice)
    expect(r.status).toBe(404)
    expect(r.body.error.errorCode).toBe("INVALID_BILL_GROUP")
    expect(r.text).not.toContain("cus-acme")
  })

  it("the typed client decodes an amend rejection into AmendRejected with its code", async () => {
    const error = await withClient(server, bearer(t.acme), (client) =>
      client.selfService.amend({
        payload: { billGroupId: "bg-acme-old", subscriptionUpdates: [], offerings: [], subscriptionRemovals: [{ subscriptionId: "sub-acme-old", timing: "TODAY" }] },
        headers: {}
      }).pipe(Effect.flip))
    expect(error._tag).toBe("AmendRejected")
    expect(error._tag === "AmendRejected" && error.errorCode).toBe("NO_ACTIVE_BILL_GROUP_CONTRACT")
  })
})

describe("partner subscriptions", () => {
  const list = (query: string, token = t.telco) => request(`${server.url}/api/partner/mma/subscriptions${query}`, { headers: bearer(token) })

  it("lists the organisation's subscriptions page by page with queryMore", async () => {
    const first = await list("?limit=1")
    expect(first.status).toBe(200)
    expect(first.body.items.map((s: any) => s.id)).toEqual(["sub-carol"])
    expect(typeof first.body.queryMore).toBe("string")
    const second = await list(`?limit=1&queryMore=${encodeURIComponent(first.body.queryMore)}`)
    expect(second.body.items.map((s: any) => s.id)).toEqual(["sub-dave"])
    expect(second.body.queryMore).toBeUndefined()
    const owned = await list("?ownerId=cus-dave")
    expect(owned.body.items.map((s: any) => s.id)).toEqual(["sub-dave"])
  })

  it("a bad limit or cursor is a 400", async () => {
    expect((await list("?limit=0")).status).toBe(400)
    expect((await list("?limit=abc")).status).toBe(400)
    expect((await list("?queryMore=garbage")).status).toBe(400)
  })

  it("the detail carries subscription, schedule, offers and add-ons", async () => {
    const r = await request(`${server.url}/api/partner/mma/subscriptions/sub-carol`, { headers: bearer(t.telco) })
    expect(r.status).toBe(200)
    expect(r.body.subscription.id).toBe("sub-carol")
    expect(r.body.schedule.length).toBeGreaterThan(0)
    expect(r.body.offers.map((o: any) => o.id)).toEqual(["ledger-standard"])
    expect(r.body.addOns.map((o: any) => o.id)).toEqual(["addon-podcasts"])
  })
})

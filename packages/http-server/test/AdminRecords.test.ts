import { describe, expect, it } from "@effect/vitest"
import { adminServer, key, pendingChange } from "./AdminHarness.js"
import { subscriptionRecord } from "@subshift/testing/Records"
import { bearer, request } from "./Harness.js"

const admin = adminServer()
const keys = admin.keys

const url = (path: string) => `${admin.server.url}${path}`
const put = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(url(path), { method: "PUT", headers: { ...key(keys.ops), ...headers }, body })
const get = (path: string, k = keys.ops) => request(url(path), { headers: key(k) })
const detail = (id: string) => get(`/api/admin/subscriptions/${id}`)
const audit = async () => (await get("/api/admin/audit?limit=100")).body.items as Array<any>

describe("PUT /api/admin/subscriptions/{id}", () => {
  it("creates (201, ETag), replaces only with If-Match, and the same record again is unchanged and writes nothing", async () => {
    const id = "sub-put-1"
    const created = await put(`/api/admin/subscriptions/${id}`, subscriptionRecord(id), { "x-subshift-reason": "migrating from the old billing system" })
    expect(created.status).toBe(201)
    expect(created.headers.get("etag")).toBe(`"1"`)
    expect(created.body).toMatchObject({ id, version: 1, offer: { offerId: "ledger-basic" } })

    const read = await detail(id)
    expect(read.status).toBe(200)
    expect(read.body.pendingChange).toBeNull()
    expect(read.body.amendments).toEqual([])
    expect(read.body.events.map((e: any) => [e.type, e.actor, e.reason])).toEqual([
      ["subscription.imported", { kind: "operator", id: keys.idOf(keys.ops), name: "ops" }, "migrating from the old billing system"]
    ])
    const entry = (await audit()).find((e) => e.target === id)
    expect(entry).toMatchObject({ action: "subscription.put", outcome: "created", key: { id: keys.idOf(keys.ops), name: "ops" }, reason: "migrating from the old billing system" })
    expect(JSON.stringify(entry)).not.toContain(keys.ops)

    // A replace without If-Match: 428, nothing changes.
    const changed = subscriptionRecord(id, { offer: { offerId: "ledger-basic", rateId: "ledger-basic-usd-monthly", quantity: 3, unitPrice: { amount: 999, currency: "USD" } } })
    const noMatch = await put(`/api/admin/subscriptions/${id}`, changed)
    expect(noMatch.status).toBe(428)
    expect(noMatch.body.error).toMatchObject({ code: "PreconditionRequired", details: { entity: "subscription", id, version: 1 } })
    // A stale If-Match: 409, nothing changes.
    const stale = await put(`/api/admin/subscriptions/${id}`, changed, { "if-match": `"7"` })
    expect(stale.status).toBe(409)
    expect(stale.body.error.code).toBe("VersionConflict")
    expect((await detail(id)).body.subscription).toEqual(created.body)

    // The same record again: 200, unchanged, no event, no audit entry.
    const auditBefore = (await audit()).length
    const same = await put(`/api/admin/subscriptions/${id}`, subscriptionRecord(id), { "if-match": `"1"` })
    expect(same.status).toBe(200)
    expect(same.body).toEqual(created.body)
    expect((await detail(id)).body.events).toHaveLength(1)
    expect(await audit()).toHaveLength(auditBefore)

    const replaced = await put(`/api/admin/subscriptions/${id}`, changed, { "if-match": `"1"` })
    expect(replaced.status).toBe(200)
    expect(replaced.headers.get("etag")).toBe(`"2"`)
    expect(replaced.body.offer.quantity).toBe(3)
    const events = (await detail(id)).body.events
    expect(events).toHaveLength(2)
    expect(events[1]).toMatchObject({ before: { version: 1 }, after: { version: 2 } })
  })

  it("names every bad field at once, with its path, and stores nothing", async () => {
    const id = "sub-put-bad"
    const decodeBad = await put(`/api/admin/subscriptions/${id}`, subscriptionRecord(id, { anchorDay: 40, status: "sleeping", owner: undefined, extra: 1 }))
    expect(decodeBad.status).toBe(400)
    expect(decodeBad.body.error.code).toBe("InvalidRecord")
    expect(decodeBad.body.error.details.problems.map((p: any) => p.path).sort()).toEqual(["anchorDay", "extra", "owner", "status"])
    expect(decodeBad.body.error.details.problems.find((p: any) => p.path === "status").message)
      .toBe(`Expected "active" | "cancelled" | "expired" | "pending", actual "sleeping"`)

    const catalogBad = await put(`/api/admin/subscriptions/${id}`, subscriptionRecord(id, {
      billGroupId: "bg-nowhere",
      offer: { offerId: "ledger-gold", rateId: "ledger-gold-usd-monthly", quantity: 1, unitPrice: { amount: 1, currency: "USD" } },
      addOns: [
        { offerId: "addon-crossword", rateId: "addon-crossword-usd-annual", quantity: 1, unitPrice: { amount: 1, currency: "USD" } },
        { offerId: "addon-podcasts", rateId: "addon-podcasts-usd-monthly", quantity: 1, unitPrice: { amount: 1, currency: "GBP" } }
      ]
    }))
    expect(catalogBad.status).toBe(400)
    expect(catalogBad.body.error.details.problems.map((p: any) => p.path).sort()).toEqual([
      "addOns[0].rateId",
      "addOns[1].unitPrice.currency",
      "billGroupId",
      "offer.offerId"
    ])
    const mismatch = await put(`/api/admin/subscriptions/${id}`, subscriptionRecord("sub-other"))
    expect(mismatch.status).toBe(400)
    expect(mismatch.body.error.details.problems).toEqual([{ path: "id", message: "the record's id sub-other is not the id of the path, sub-put-bad" }])
    const taken = await put(`/api/admin/subscriptions/${id}`, subscriptionRecord(id, { name: "3V053CN9SFIG" }))
    expect(taken.body.error.details.problems).toEqual([{ path: "name", message: "subscription sub-alice already has the name 3V053CN9SFIG" }])
    expect((await detail(id)).status).toBe(404)
  })

  it("refuses to drop a pending change silently (409), drops it with pendingChange: \"discard\"", async () => {
    const id = "sub-put-pending"
    const withChange = subscriptionRecord(id, { pendingChange: pendingChange("amd-ext-1") })
    expect((await put(`/api/admin/subscriptions/${id}`, withChange)).status).toBe(201)
    expect((await detail(id)).body.pendingChange).toMatchObject({ amendmentId: "amd-ext-1" })
    // The same record, carrying the same change, is unchanged.
    expect((await put(`/api/admin/subscriptions/${id}`, withChange, { "if-match": "1" })).body.version).toBe(1)

    const dropping = await put(`/api/admin/subscriptions/${id}`, subscriptionRecord(id), { "if-match": "1" })
    expect(dropping.status).toBe(409)
    expect(dropping.body.error).toMatchObject({ code: "PendingChangeConflict", details: { subscriptionId: id, amendmentId: "amd-ext-1" } })
    expect((await detail(id)).body.subscription.version).toBe(1)

    const discarded = await put(`/api/admin/subscriptions/${id}`, subscriptionRecord(id, { pendingChange: "discard" }), { "if-match": "1" })
    expect(discarded.status).toBe(200)
    expect(discarded.body.pendingChange).toBeUndefined()
    expect((await detail(id)).body.pendingChange).toBeNull()
  })

  it("needs subscriptions:write: 401 without a key, 403 for a reader key or a customer, and nothing is stored", async () => {
    const id = "sub-put-auth"
    const body = subscriptionRecord(id)
    expect((await request(url(`/api/admin/subscriptions/${id}`), { method: "PUT", body })).status).toBe(401)
    expect((await request(url(`/api/admin/subscriptions/${id}`), { method: "PUT", headers: key(keys.reader), body })).status).toBe(403)
    expect((await request(url(`/api/admin/subscriptions/${id}`), { method: "PUT", headers: bearer(admin.t.alice), body })).status).toBe(403)
    expect((await detail(id)).status).toBe(404)
    expect((await get(`/api/admin/subscriptions/sub-alice`, keys.catalog)).status).toBe(403)
  })

  it("GET answers 404 for an unknown subscription and shows a customer's amendments", async () => {
    expect((await detail("sub-nobody")).status).toBe(404)
    const alice = await detail("sub-alice")
    expect(alice.status).toBe(200)
    expect(alice.headers.get("etag")).toBe(`"${alice.body.subscription.version}"`)
  })
})

describe("PUT /api/admin/bill-groups/{id}", () => {
  const group = (overrides: Record<string, unknown> = {}) => ({ accountId: "cus-bg", currency: "USD", contractStatus: "ACTIVE", anchorDay: 1, ...overrides })

  it("creates, replaces with If-Match only, refuses stale versions and bad fields, and is idempotent", async () => {
    const path = "/api/admin/bill-groups/bg-put-1"
    const created = await put(path, group())
    expect(created.status).toBe(201)
    expect(created.body).toEqual({ id: "bg-put-1", ...group(), version: 1 })
    expect((await put(path, group({ contractStatus: "FINISHED" }))).status).toBe(428)
    expect((await put(path, group({ contractStatus: "FINISHED" }), { "if-match": "5" })).status).toBe(409)
    const bad = await put(path, group({ currency: "usd", anchorDay: 0, contractStatus: "OPEN" }), { "if-match": "1" })
    expect(bad.status).toBe(400)
    expect(bad.body.error.details.problems.map((p: any) => p.path).sort()).toEqual(["anchorDay", "contractStatus", "currency"])
    expect((await put(path, group(), { "if-match": "1" })).body.version).toBe(1)
    const replaced = await put(path, group({ contractStatus: "FINISHED" }), { "if-match": "1" })
    expect(replaced.status).toBe(200)
    expect(replaced.body).toMatchObject({ contractStatus: "FINISHED", version: 2 })
    expect((await audit()).filter((e) => e.target === "bg-put-1").map((e) => e.outcome)).toEqual(["created", "updated"])
    // A subscription may now name the group.
    const id = "sub-put-bg"
    expect((await put(`/api/admin/subscriptions/${id}`, subscriptionRecord(id, { billGroupId: "bg-put-1" }))).status).toBe(201)
  })
})

describe("GET /api/admin/pending-changes", () => {
  it("lists scheduled changes by cursor, optionally only those due before a day", async () => {
    for (const n of [1, 2, 3]) {
      const id = `sub-pending-list-${n}`
      expect((await put(`/api/admin/subscriptions/${id}`, subscriptionRecord(id, { pendingChange: pendingChange(`amd-list-${n}`) }))).status).toBe(201)
    }
    const seen: Array<string> = []
    let cursor: string | undefined
    do {
      const page = await get(`/api/admin/pending-changes?limit=2${cursor === undefined ? "" : `&queryMore=${cursor}`}`)
      expect(page.status).toBe(200)
      expect(page.body.items.length).toBeLessThanOrEqual(2)
      seen.push(...page.body.items.map((i: any) => i.subscriptionId))
      cursor = page.body.queryMore
    } while (cursor !== undefined)
    expect(seen.filter((id) => id.startsWith("sub-pending-list-"))).toEqual(["sub-pending-list-1", "sub-pending-list-2", "sub-pending-list-3"])
    expect([...seen].sort()).toEqual(seen)

    const effective = (await get("/api/admin/pending-changes")).body.items.find((i: any) => i.subscriptionId === "sub-pending-list-1")
    expect(effective).toMatchObject({ amendmentId: "amd-list-1", owner: "cus-sub-pending-list-1", subscriptionVersion: 1 })
    const before = await get(`/api/admin/pending-changes?dueBefore=${effective.effectiveDate}`)
    expect(before.body.items.map((i: any) => i.subscriptionId)).not.toContain("sub-pending-list-1")
    expect((await get("/api/admin/pending-changes?queryMore=not-a-cursor")).status).toBe(400)
    expect((await get("/api/admin/pending-changes?dueBefore=tomorrow")).status).toBe(400)
    expect((await get("/api/admin/pending-changes", keys.catalog)).status).toBe(403)
  })
})

describe("DELETE /api/admin/subscriptions/{id}/pending-change", () => {
  it("an operator withdraws a scheduled change: the lock lifts at once and the event names the key and reason", async () => {
    const id = "sub-withdraw-1"
    expect((await put(`/api/admin/subscriptions/${id}`, subscriptionRecord(id, { pendingChange: pendingChange("amd-wd-1") }))).status).toBe(201)
    const customer = await admin.server.token({ subject: `cus-${id}`, scopes: ["checkout"] })
    const initiate = () =>
      request(url("/api/checkout/subscription"), { method: "POST", headers: bearer(customer), body: { order: { order_type: "update_subscription", forSubscription: { id } } } })
    expect((await initiate()).status).toBe(423)

    const del = (path: string, k = keys.ops, headers: Record<string, string> = {}) =>
      request(url(path), { method: "DELETE", headers: { ...key(k), ...headers } })
    // Refusals change nothing.
    expect((await del(`/api/admin/subscriptions/${id}/pending-change`, keys.reader)).status).toBe(403)
    expect((await request(url(`/api/admin/subscriptions/${id}/pending-change`), { method: "DELETE", headers: bearer(customer) })).status).toBe(403)
    expect((await request(url(`/api/admin/subscriptions/${id}/pending-change`), { method: "DELETE" })).status).toBe(401)
    expect((await detail(id)).body.pendingChange).toMatchObject({ amendmentId: "amd-wd-1" })

    const done = await del(`/api/admin/subscriptions/${id}/pending-change`, keys.ops, { "x-subshift-reason": "customer called support" })
    expect(done.status).toBe(200)
    expect(done.body.withdrawn).toMatchObject({ amendmentId: "amd-wd-1" })
    expect(done.body.subscription.pendingChange).toBeUndefined()
    expect((await initiate()).status).toBe(200)

    const after = await detail(id)
    expect(after.body.pendingChange).toBeNull()
    expect(after.body.events.at(-1)).toMatchObject({
      type: "subscription.pending_change_withdrawn",
      actor: { kind: "operator", id: keys.idOf(keys.ops), name: "ops" },
      reason: "customer called support"
    })
    expect((await audit()).filter((e) => e.action === "pending_change.withdraw" && e.target === id)).toHaveLength(1)

    const again = await del(`/api/admin/subscriptions/${id}/pending-change`)
    expect(again.status).toBe(409)
    expect(again.body.error.code).toBe("NoPendingChange")
    expect((await del("/api/admin/subscriptions/sub-nobody/pending-change")).status).toBe(404)
  })
})

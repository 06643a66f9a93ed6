import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { adminKeys, key, pendingChange } from "./AdminHarness.js"
import { subscriptionRecord } from "@subshift/testing/Records"
import { request, start, type TestServer } from "./Harness.js"

const keys = adminKeys()
let server: TestServer
beforeAll(async () => {
  server = await start({ env: keys.env })
})
afterAll(() => server.close())

const ndjson = { "content-type": "application/x-ndjson" }
const importBody = (raw: string, headers: Record<string, string> = {}) =>
  request(`${server.url}/api/admin/subscriptions/import`, { method: "POST", headers: { ...key(keys.ops), ...ndjson, ...headers }, raw })
const detail = (id: string) => request(`${server.url}/api/admin/subscriptions/${id}`, { headers: key(keys.ops) })
const line = (value: unknown) => JSON.stringify(value)

describe("POST /api/admin/subscriptions/import", () => {
  it("reports every line of a file mixing good, bad and repeated lines; rejected lines store nothing, repeats write no event", async () => {
    const held = "sub-imp-held"
    expect((await request(`${server.url}/api/admin/subscriptions/${held}`, {
      method: "PUT",
      headers: key(keys.ops),
      body: subscriptionRecord(held, { pendingChange: pendingChange("amd-imp-held") })
    })).status).toBe(201)
    const a = subscriptionRecord("sub-imp-a")
    const file = [
      line(a),
      "{ not json",
      "",
      line(subscriptionRecord("sub-imp-bad", { anchorDay: 0, offer: { offerId: "ledger-gold", rateId: "x", quantity: 1, unitPrice: { amount: 1, currency: "USD" } } })),
      line(a),
      line({ ...a, addOns: [] }),
      line(subscriptionRecord("sub-imp-b")) + "\r",
      line(subscriptionRecord(held)),
      line(subscriptionRecord(held, { pendingChange: "discard" })),
      line([1, 2, 3])
    ].join("\n")
    const r = await importBody(file, { "x-subshift-reason": "nightly sync" })
    expect(r.status).toBe(200)
    expect(r.body.lines.map((l: any) => [l.line, l.id, l.status])).toEqual([
      [1, "sub-imp-a", "created"],
      [2, undefined, "rejected"],
      [4, "sub-imp-bad", "rejected"],
      [5, "sub-imp-a", "unchanged"],
      [6, "sub-imp-a", "updated"],
      [7, "sub-imp-b", "created"],
      [8, held, "rejected"],
      [9, held, "updated"],
      [10, undefined, "rejected"]
    ])
    expect(r.body.lines[1].problems).toEqual([{ path: "body", message: "the line is not valid JSON" }])
    expect(r.body.lines[2].problems.map((p: any) => p.path).sort()).toEqual(["anchorDay"])
    expect(r.body.lines[6].problems[0]).toMatchObject({ path: "pendingChange" })
    expect(r.body.totals).toEqual({ lines: 9, created: 2, updated: 2, unchanged: 1, rejected: 4 })

    expect((await detail("sub-imp-bad")).status).toBe(404)
    const events = (await detail("sub-imp-a")).body.events
    expect(events.map((e: any) => [e.type, e.after.addOns.length, e.reason])).toEqual([
      ["subscription.imported", 1, "nightly sync"],
      ["subscription.imported", 0, "nightly sync"]
    ])
    expect((await detail(held)).body.pendingChange).toBeNull()
    const audit = (await request(`${server.url}/api/admin/audit?limit=100`, { headers: key(keys.ops) })).body.items
    expect(audit.filter((e: any) => e.action === "subscription.import")).toEqual([
      expect.objectContaining({ target: "9 lines", outcome: "created 2, updated 2, unchanged 1, rejected 4", reason: "nightly sync" })
    ])

    // The same file again: line 1 brings Crossword back and line 6 takes it away again (both
    // updates); every other good line is unchanged, and the held subscription has no change left
    // to drop, so line 8 is unchanged too.
    const again = await importBody(file)
    expect(again.body.lines.map((l: any) => l.status)).toEqual([
      "updated", "rejected", "rejected", "unchanged", "updated", "unchanged", "unchanged", "unchanged", "rejected"
    ])
    expect(again.body.totals).toEqual({ lines: 9, created: 0, updated: 2, unchanged: 4, rejected: 3 })
    expect((await detail("sub-imp-b")).body.events).toHaveLength(1)
    expect((await detail("sub-imp-a")).body.events).toHaveLength(4)
  })

  it("reads a long body streamed in small pieces, lines split across pieces", async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => line(subscriptionRecord(`sub-imp-many-${i}`)) + "\n").join("")
    const bytes = new TextEncoder().encode(lines)
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 777) controller.enqueue(bytes.slice(at, at + 777))
        controller.close()
      }
    })
    const response = await fetch(`${server.url}/api/admin/subscriptions/import`, {
      method: "POST",
      headers: { ...key(keys.ops), ...ndjson },
      body,
      duplex: "half"
    } as RequestInit)
    expect(response.status).toBe(200)
    const report = await response.json() as any
    expect(report.totals).toEqual({ lines: 3000, created: 3000, updated: 0, unchanged: 0, rejected: 0 })
    expect(report.lines[2999]).toEqual({ line: 3000, id: "sub-imp-many-2999", status: "created" })
    expect((await detail("sub-imp-many-1234")).status).toBe(200)
  })

  it("rejects a line longer than 1 MiB and keeps going", async () => {
    const long = line(subscriptionRecord("sub-imp-long", { owner: "x".repeat(1024 * 1024 + 10) }))
    const r = await importBody([long, line(subscriptionRecord("sub-imp-after-long"))].join("\n"))
    expect(r.body.lines).toEqual([
      { line: 1, status: "rejected", problems: [{ path: "body", message: "the line is longer than 1048576 characters" }] },
      { line: 2, id: "sub-imp-after-long", status: "created" }
    ])
  })

  it("refuses another content type (400), no key (401) and a key without subscriptions:write (403), importing nothing", async () => {
    const body = line(subscriptionRecord("sub-imp-refused"))
    const json = await importBody(body, { "content-type": "application/json" })
    expect(json.status).toBe(400)
    expect(json.body.error.code).toBe("MalformedRequest")
    expect((await request(`${server.url}/api/admin/subscriptions/import`, { method: "POST", headers: ndjson, raw: body })).status).toBe(401)
    expect((await importBody(body, key(keys.reader))).status).toBe(403)
    expect((await detail("sub-imp-refused")).status).toBe(404)
  })
})

import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as ApiKeys from "@subshift/http-server/admin/ApiKeys"
import { configOf, productionEnv, request, start, type TestServer } from "./Harness.js"
import { eventually, type Received, startReceiver, verify, writeEvents } from "./webhooks/Support.js"

const hooks = ApiKeys.generate("hooks", ["webhooks:write"])
const reader = ApiKeys.generate("reader", ["admin:read", "subscriptions:write"])
const auth = (key: string) => ({ authorization: `Bearer ${key}`, "x-subshift-reason": "billing integration" })
let server: TestServer
let secret = ""
let failNext = 0
let receiver: Awaited<ReturnType<typeof startReceiver>>

beforeAll(async () => {
  receiver = await startReceiver(() => secret, (_request, res) => (failNext-- > 0 ? (res.writeHead(500).end(), "handled") : "pass"))
  server = await start({ env: { SUBSHIFT_API_KEYS: [hooks.entry, reader.entry].join(",") } })
})
afterAll(async () => {
  await server.close()
  await receiver.close()
})

const api = (path: string, options: { readonly method?: string; readonly body?: unknown; readonly key?: string } = {}) =>
  request(`${server.url}/api/admin/webhooks${path}`, { method: options.method ?? "GET", headers: auth(options.key ?? hooks.key), body: options.body })

describe("webhook endpoints over the admin API (scope webhooks:write)", () => {
  it("registers an endpoint, shows its secret once, and lists, reads, changes and removes it", async () => {
    const created = await api("", { method: "POST", body: { url: receiver.url, eventTypes: ["amendment.committed"], description: "ledger" } })
    expect(created.status).toBe(201)
    expect(created.body.secret).toMatch(/^whsec_/)
    const id: string = created.body.endpoint.id
    expect(created.body.endpoint).toMatchObject({ url: receiver.url, eventTypes: ["amendment.committed"], description: "ledger" })
    expect(created.body.endpoint.secrets).toEqual([{ createdAt: expect.any(String) }])
    const read = await api(`/${id}`)
    expect(read.status).toBe(200)
    expect(read.text).not.toContain(created.body.secret.slice(6))
    expect((await api("")).body.items.map((e: { id: string }) => e.id)).toContain(id)
    const patched = await api(`/${id}`, { method: "PATCH", body: { eventTypes: ["*"], disabled: true } })
    expect([patched.status, patched.body.eventTypes, patched.body.disabledReason]).toEqual([200, ["*"], "disabled by an operator"])
    expect((await api(`/${id}`, { method: "DELETE" })).status).toBe(204)
    expect((await api(`/${id}`)).body.error.code).toBe("WebhookNotFound")
    expect((await api(`/${id}`, { method: "DELETE" })).status).toBe(404)
  })

  it("refuses a bad URL or body with every problem's path, and a key without the scope", async () => {
    const bad = await api("", { method: "POST", body: { url: "ftp://billing.example/hook", eventTypes: ["*"] } })
    expect([bad.status, bad.body.error.code, bad.body.error.details.problems]).toEqual([400, "InvalidRecord", [{ path: "url", message: "must be an http(s) URL" }]])
    const empty = await api("", { method: "POST", body: { url: receiver.url, eventTypes: [] } })
    expect(empty.status).toBe(400)
    const extra = await api("", { method: "POST", body: { url: receiver.url, eventTypes: ["*"], secret: "mine" } })
    expect(extra.status).toBe(400)
    const forbidden = await api("", { method: "POST", key: reader.key, body: { url: receiver.url, eventTypes: ["*"] } })
    expect(forbidden.status).toBe(403)
    expect((await api("/whk_unknown/test", { method: "POST" })).status).toBe(404)
  })

  it("sends a test event, rotates the secret (both verify during the overlap), logs attempts and redelivers on retry", async () => {
    const created = await api("", { method: "POST", body: { url: receiver.url, eventTypes: ["amendment.committed"] } })
    const id: string = created.body.endpoint.id
    secret = created.body.secret
    const test = await api(`/${id}/test`, { method: "POST" })
    expect(test.status).toBe(202)
    await eventually("the test event applied", () => receiver.applied.some((e) => e.type === "webhook.test"))
    expect(receiver.applied.find((e) => e.type === "webhook.test")!.data).toEqual({ endpointId: id })

    const rotated = await api(`/${id}/rotate-secret`, { method: "POST" })
    expect(rotated.status).toBe(200)
    expect(rotated.body.endpoint.secrets.length).toBe(2)
    const before = receiver.requests.length
    failNext = 1
    const [event] = await server.run(writeEvents(`sub-${globalThis.crypto.randomUUID()}`, 1))
    await eventually("the event failed once", () => receiver.requests.length > before)
    const log = await api(`/${id}/deliveries?status=pending`)
    expect(log.status).toBe(200)
    const pending = log.body.items.find((d: { eventId: string }) => d.eventId === event!.id)
    expect(pending.log[0]).toMatchObject({ statusCode: 500, error: "the endpoint answered 500" })
    expect(pending.nextAttemptAt).toEqual(expect.any(String))
    const retried = await api(`/${id}/deliveries/${pending.id}/retry`, { method: "POST" })
    expect([retried.status, retried.body.status]).toEqual([200, "pending"])
    await eventually("the event applied", () => receiver.applied.some((e) => e.id === event!.id))
    const signed: Received = receiver.requests.at(-1)!
    expect(verify(created.body.secret, signed)).toBeTruthy()
    expect(verify(rotated.body.secret, signed)).toBeTruthy()
    // The receiver applies the event before the worker records the answer.
    let delivered: ReadonlyArray<{ readonly eventId: string }> = []
    await eventually("recorded delivered", () => delivered.some((d) => d.eventId === event!.id), 5_000, async () => {
      delivered = (await api(`/${id}/deliveries?status=delivered`)).body.items
    })
    expect((await api(`/${id}/deliveries/dlv_000000999999/retry`, { method: "POST" })).status).toBe(404)
  })
})

describe("the webhook key in production", () => {
  const production = { ...productionEnv, SUBSHIFT_API_KEYS: hooks.entry }

  it("without SUBSHIFT_WEBHOOK_KEY, registering an endpoint is refused, naming the variable; a malformed key stops the start", async () => {
    const own = await start({ env: production })
    try {
      const refused = await request(`${own.url}/api/admin/webhooks`, {
        method: "POST", headers: auth(hooks.key), body: { url: "https://billing.example.com/hook", eventTypes: ["*"] }
      })
      expect([refused.status, refused.body.error.details.problems[0].path]).toEqual([400, "SUBSHIFT_WEBHOOK_KEY"])
    } finally {
      await own.close()
    }
    const bad = await configOf({ ...production, SUBSHIFT_WEBHOOK_KEY: "too-short" }).then(() => "started", String)
    expect(bad).toContain("SUBSHIFT_WEBHOOK_KEY")
    const good = await configOf({ ...production, SUBSHIFT_WEBHOOK_KEY: "ab".repeat(32) })
    expect(good.webhooks.key._tag).toBe("Some")
    expect(good.webhooks.policy).toEqual({ production: true, allowPrivate: false })
  })
})

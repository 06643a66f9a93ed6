/**
 * The fast path answers GET and PUT /api/checkout/subscription exactly as the general app does:
 * the same scenario is played against a server with it and one without it, and every answer
 * (status, body, and the headers a client relies on) must match once ids and instants are
 * normalised.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { bearer, cookieOf, initiateBody, request, start, type TestServer, tokens } from "./Harness.js"

let fast: TestServer
let general: TestServer

beforeAll(async () => {
  ;[fast, general] = await Promise.all([start({ fastPath: true }), start({ fastPath: false })])
})
afterAll(async () => {
  await Promise.all([fast.close(), general.close()])
})

const PATH = "/api/checkout/subscription"

/** Replaces what legitimately differs between two servers: basket ids, amendment ids and instants. */
const normalise = (text: string) =>
  text
    .replace(/basket-[0-9a-f-]{36}/g, "basket-ID")
    .replace(/amd-[0-9a-f-]{36}/g, "amd-ID")
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, "INSTANT")

type Step = (server: TestServer, t: Awaited<ReturnType<typeof tokens>>, cookie: string) => Promise<Awaited<ReturnType<typeof request>>>

const put = (items: unknown, extra: Record<string, string> = {}): Step => (server, t, cookie) =>
  request(`${server.url}${PATH}`, { method: "PUT", headers: { ...bearer(t.alice), cookie, ...extra }, body: { order: { orderItems: items } } })

const steps: ReadonlyArray<[string, Step]> = [
  ["read", (server, t, cookie) => request(`${server.url}${PATH}`, { headers: { ...bearer(t.alice), cookie } })],
  ["upgrade with an add-on", put([
    { orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } },
    { orderItemActionType: "add", type: "add_on", offer: { id: "addon-archive" } }
  ])],
  ["untyped item resolved from the catalog", put([{ orderItemActionType: "add", offer: { id: "ledger-premium", name: "Premium" } }])],
  ["stale If-Match", put([], { "if-match": "\"1\"" })],
  ["bad If-Match", put([], { "if-match": "yesterday" })],
  ["rule rejection", put([{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-family" } }])],
  ["invalid payload", put([{ orderItemActionType: "replace", type: "offer", offer: { id: "ledger-basic" } }])],
  ["negative quantity", put([{ orderItemActionType: "add", type: "add_on", offer: { id: "addon-archive" }, quantity: -1 }])],
  ["malformed JSON", (server, t, cookie) =>
    request(`${server.url}${PATH}`, { method: "PUT", headers: { ...bearer(t.alice), cookie, "content-type": "application/json" }, raw: "{\"order\":" })],
  ["no cookie", (server, t) => request(`${server.url}${PATH}`, { headers: bearer(t.alice) })],
  ["tampered cookie", (server, t, cookie) => request(`${server.url}${PATH}`, { headers: { ...bearer(t.alice), cookie: `${cookie.slice(0, -3)}AAA` } })],
  ["another customer's basket", (server, t, cookie) => request(`${server.url}${PATH}`, { headers: { ...bearer(t.bob), cookie } })],
  ["expired token", (server, t, cookie) => request(`${server.url}${PATH}`, { headers: { ...bearer(t.expired), cookie } })],
  ["a partner credential on a customer route", (server, t, cookie) => request(`${server.url}${PATH}`, { headers: { ...bearer(t.telco), cookie } })],
  ["read after the updates", (server, t, cookie) => request(`${server.url}${PATH}`, { headers: { ...bearer(t.alice), cookie } })]
]

describe("fast path", () => {
  it("answers every step of a checkout exactly as the general app", async () => {
    const sessions = await Promise.all([fast, general].map(async (server) => {
      const t = await tokens(server)
      const opened = await request(`${server.url}${PATH}`, { method: "POST", headers: bearer(t.alice), body: initiateBody("sub-alice") })
      expect(opened.status).toBe(200)
      return { server, t, cookie: cookieOf(opened.headers) }
    }))
    for (const [name, step] of steps) {
      const [a, b] = await Promise.all(sessions.map(({ cookie, server, t }) => step(server, t, cookie)))
      expect({ step: name, status: a!.status }).toEqual({ step: name, status: b!.status })
      expect(normalise(a!.text), name).toEqual(normalise(b!.text))
      for (const header of ["content-type", "etag", "retry-after"]) {
        expect(a!.headers.get(header), `${name}: ${header}`).toEqual(b!.headers.get(header))
      }
    }
  })

  it("answers a locked subscription with 423 and the same Retry-After as the general app", async () => {
    const answers = await Promise.all([fast, general].map(async (server) => {
      const t = await tokens(server)
      const headers = bearer(t.erin)
      const first = cookieOf((await request(`${server.url}${PATH}`, { method: "POST", headers, body: initiateBody("sub-erin") })).headers)
      const second = cookieOf((await request(`${server.url}${PATH}`, { method: "POST", headers, body: initiateBody("sub-erin") })).headers)
      const downgrade = await request(`${server.url}${PATH}`, {
        method: "PUT",
        headers: { ...headers, cookie: first },
        body: { order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-basic" } }] } }
      })
      expect(downgrade.status).toBe(200)
      expect((await request(`${server.url}/api/order`, { method: "POST", headers: { ...headers, cookie: first }, body: {} })).status).toBe(200)
      return request(`${server.url}${PATH}`, {
        method: "PUT",
        headers: { ...headers, cookie: second },
        body: { order: { orderItems: [] } }
      })
    }))
    const [a, b] = answers
    expect(a!.status).toBe(423)
    expect(b!.status).toBe(423)
    expect(normalise(a!.text)).toEqual(normalise(b!.text))
    expect(Math.abs(Number(a!.headers.get("retry-after")) - Number(b!.headers.get("retry-after")))).toBeLessThanOrEqual(2)
  })
})

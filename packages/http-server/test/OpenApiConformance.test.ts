/**
 * Live answers conform to the document the server serves: over the walkthrough and the errors
 * around it, every answer's status is declared for its operation, its JSON body validates (Ajv,
 * JSON Schema 2020-12) against the declared schema, and every header a client relies on that the
 * answer carries (ETag, Set-Cookie, Retry-After, idempotent-replayed) is declared for it.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import Ajv2020Module from "ajv/dist/2020.js"
import { bearer, cookieOf, initiateBody, request, start, type TestServer, tokens } from "./Harness.js"

// A CommonJS module: its class is the default export's `default`.
const Ajv2020 = Ajv2020Module.default

let server: TestServer
let t: Awaited<ReturnType<typeof tokens>>
let spec: any
let ajv: InstanceType<typeof Ajv2020>

beforeAll(async () => {
  server = await start()
  t = await tokens(server)
  spec = (await request(`${server.url}/openapi.json`)).body
  ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true })
  ajv.addSchema(spec, "served")
})
afterAll(() => server.close())

const pointer = (s: string) => s.replaceAll("~", "~0").replaceAll("/", "~1")
const SENT_HEADERS = ["etag", "set-cookie", "retry-after", "idempotent-replayed"]
const checked: Array<string> = []

/** Sends a request and checks its answer against the operation `template` (an OpenAPI path) declares. */
const conform = async (
  template: string,
  url: string,
  options: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: unknown; readonly raw?: string } = {}
) => {
  const method = (options.method ?? "GET").toLowerCase()
  const r = await request(`${server.url}${url}`, options)
  const label = `${method.toUpperCase()} ${url} → ${r.status}`
  const response = spec.paths[template]?.[method]?.responses?.[String(r.status)]
  expect(response, `${label} is declared`).toBeDefined()
  const at = `served#/paths/${pointer(template)}/${method}/responses/${r.status}/content/${pointer("application/json")}/schema`
  const validate = ajv.getSchema(at) ?? ajv.compile({ $ref: at })
  expect(validate(r.body), `${label}: ${JSON.stringify(validate.errors)?.slice(0, 600)} in ${r.text.slice(0, 300)}`).toBe(true)
  for (const name of SENT_HEADERS) {
    if (r.headers.get(name) === null) continue
    const declared = Object.keys(response.headers ?? {}).map((h) => h.toLowerCase())
    expect(declared, `${label} sends ${name}`).toContain(name)
  }
  checked.push(`${r.status}`)
  return r
}

describe("live answers against the served OpenAPI document", () => {
  it("the walkthrough's answers and every error status around it validate against the document", async () => {
    const basket = "/api/checkout/subscription"
    const alice = bearer(t.alice)
    const opened = await conform(basket, basket, { method: "POST", headers: { ...alice, "x-limio-recaptcha": "t" }, body: initiateBody("sub-alice", { campaign: "spring" }) })
    expect(opened.status).toBe(200)
    const cookie = cookieOf(opened.headers)
    const upgrade = { order: { orderItems: [
      { orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } },
      { orderItemActionType: "add", type: "add_on", offer: { id: "addon-archive" } },
      { orderItemActionType: "remove", type: "add_on", offer: { id: "addon-podcasts" } }
    ] } }
    expect((await conform(basket, basket, { method: "PUT", headers: { ...alice, cookie }, body: upgrade })).status).toBe(200)
    expect((await conform(basket, basket, { headers: { ...alice, cookie } })).status).toBe(200)
    expect((await conform(basket, basket, { method: "PUT", headers: { ...alice, cookie, "if-match": "\"1\"" }, body: upgrade })).status).toBe(409)
    expect((await conform(basket, basket, { method: "PUT", headers: { ...alice, cookie }, body: { order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-family" } }] } } })).status).toBe(422)
    expect((await conform(basket, basket, { method: "PUT", headers: { ...alice, cookie }, body: { order: {} } })).status).toBe(400)
    expect((await conform(basket, basket, { method: "PUT", headers: { ...alice, cookie, "content-type": "application/json" }, raw: "{" })).status).toBe(400)
    expect((await conform(basket, basket, { method: "PUT", headers: { ...alice, cookie, "content-type": "application/json" }, raw: JSON.stringify({ x: "y".repeat(70_000) }) })).status).toBe(413)
    expect((await conform(basket, basket)).status).toBe(401)
    expect((await conform(basket, basket, { headers: { ...bearer(t.telco), cookie } })).status).toBe(403)
    expect((await conform(basket, basket, { headers: alice })).status).toBe(404)

    const order = await conform("/api/order", "/api/order", { method: "POST", headers: { ...alice, cookie, "idempotency-key": "conformance-1" }, body: {} })
    expect(order.status).toBe(200)
    const replay = await conform("/api/order", "/api/order", { method: "POST", headers: { ...alice, cookie, "idempotency-key": "conformance-1" }, body: {} })
    expect(replay.headers.get("idempotent-replayed")).toBe("true")
    expect((await conform("/api/order", "/api/order", { method: "POST", headers: { ...alice, cookie, "idempotency-key": "conformance-1" }, body: { checkoutId: "basket-other" } })).status).toBe(422)
    const locked = await conform(basket, basket, { method: "POST", headers: { ...alice, "x-limio-recaptcha": "t" }, body: initiateBody("sub-alice") })
    expect([locked.status, locked.headers.get("retry-after") !== null]).toEqual([423, true])
    const withdrawal = "/api/checkout/subscriptions/{id}/pending-change"
    const withdraw = (id: string) => conform(withdrawal, `/api/checkout/subscriptions/${id}/pending-change`, { method: "DELETE", headers: alice })
    expect((await withdraw("sub-bob")).status).toBe(404)
    expect((await withdraw("sub-alice")).status).toBe(200)
    expect((await withdraw("sub-alice")).status).toBe(409)

    const partner = bearer(t.telco)
    expect((await conform("/api/partner/mma/subscriptions", "/api/partner/mma/subscriptions", { headers: partner })).status).toBe(200)
    expect((await conform("/api/partner/mma/subscriptions/{id}", "/api/partner/mma/subscriptions/sub-dave", { headers: partner })).status).toBe(200)
    expect((await conform("/api/partner/mma/subscriptions/{id}", "/api/partner/mma/subscriptions/sub-nobody", { headers: partner })).status).toBe(404)
    expect((await conform("/api/partner/events", "/api/partner/events", { headers: partner })).status).toBe(200)

    const amend = "/api/selfService/checkout/amend"
    const acme = bearer(t.acme)
    expect((await conform(amend, amend, { method: "POST", headers: acme, body: { billGroupId: "bg-acme", subscriptionRemovals: [{ subscriptionId: "sub-acme-1", timing: "SOMEDAY" }] } })).status).toBe(400)
    expect((await conform(amend, amend, { method: "POST", headers: acme, body: { billGroupId: "bg-nobody", subscriptionRemovals: [{ subscriptionId: "sub-acme-1", timing: "CURRENT_PERIOD_END" }] } })).status).toBe(404)
    expect((await conform(amend, amend, { method: "POST", headers: acme, body: { billGroupId: "bg-acme", subscriptionRemovals: [{ subscriptionId: "sub-acme-1", timing: "CURRENT_PERIOD_END" }] } })).status).toBe(200)

    expect((await conform("/health", "/health")).status).toBe(200)
    server.store.down = true
    try {
      expect((await conform(basket, basket, { headers: { ...alice, cookie } })).status).toBe(503)
      expect((await conform("/ready", "/ready")).status).toBe(503)
    } finally {
      server.store.down = false
    }
    expect(new Set(checked)).toEqual(new Set(["200", "400", "401", "403", "404", "409", "413", "422", "423", "503"]))
  })
})

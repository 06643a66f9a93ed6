/**
 * Traces over OTLP/HTTP: a local receiver (a Node HTTP server accepting `POST /v1/traces`, JSON)
 * gets one server span per request, on the router and the fast path, with its route template and
 * status, store calls as its descendants, the caller's `traceparent` as its parent, the configured
 * headers and resource; and not one token, customer id, subscription id or cookie anywhere.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as CoreBotCheck from "@subshift/core/ports/BotCheck"
import * as Demo from "@subshift/http-server/Demo"
import * as Server from "@subshift/http-server/Server"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { createServer, type IncomingHttpHeaders, type Server as NodeServer } from "node:http"
import type { AddressInfo } from "node:net"
import { bearer, configOf, cookieOf, flakyStore, initiateBody, request, storeControls, type TestServer, tokens } from "./Harness.js"

interface KeyValue {
  readonly key: string
  readonly value: { readonly stringValue?: string; readonly intValue?: string | number; readonly boolValue?: boolean }
}

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly attributes: ReadonlyArray<KeyValue>
  readonly status: { readonly code: number; readonly message?: string }
}

interface Export {
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly resource: ReadonlyArray<KeyValue>
  readonly spans: ReadonlyArray<OtlpSpan>
}

/** A local OTLP/HTTP receiver of JSON traces. */
const receiver = async () => {
  const exports: Array<Export> = []
  const server: NodeServer = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces" || req.headers["content-type"] !== "application/json") {
        res.writeHead(404).end()
        return
      }
      const body = Buffer.concat(chunks).toString("utf8")
      const data = JSON.parse(body) as {
        resourceSpans: Array<{ resource: { attributes: Array<KeyValue> }; scopeSpans: Array<{ spans: Array<OtlpSpan> }> }>
      }
      for (const resourceSpans of data.resourceSpans) {
        exports.push({
          headers: req.headers,
          body,
          resource: resourceSpans.resource.attributes,
          spans: resourceSpans.scopeSpans.flatMap((s) => s.spans)
        })
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { exports, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(r)) }
}

const attribute = (attributes: ReadonlyArray<KeyValue>, key: string) => {
  const value = attributes.find((a) => a.key === key)?.value
  return value?.stringValue ?? (value?.intValue === undefined ? value?.boolValue : Number(value.intValue))
}

let otlp: Awaited<ReturnType<typeof receiver>>
let runtime: ManagedRuntime.ManagedRuntime<unknown, unknown>
let url = ""
let t: Awaited<ReturnType<typeof tokens>>

beforeAll(async () => {
  otlp = await receiver()
  const config = await configOf({
    OTEL_EXPORTER_OTLP_ENDPOINT: `${otlp.url}/`,
    OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=receiver%20secret",
    OTEL_SERVICE_NAME: "subshift-under-test",
    OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=test",
    OTEL_BSP_SCHEDULE_DELAY: "50"
  })
  runtime = ManagedRuntime.make(Server.layer(config, { store: flakyStore(storeControls()), botCheck: CoreBotCheck.layerAcceptAll })) as never
  url = await runtime.runPromise(Server.baseUrl as Effect.Effect<string, never, never>)
  t = await tokens({ token: (claims: Demo.Claims) => Effect.runPromise(Demo.sign(config.jwt, claims)) } as TestServer)
})

afterAll(async () => {
  await runtime.dispose()
  await otlp.close()
})

const PATH = "/api/checkout/subscription"
const CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
const CALLER_SPAN = "b7ad6b7169203331"

/** Waits until the receiver holds a span that `found` accepts. */
const eventually = async (found: (spans: ReadonlyArray<OtlpSpan>) => boolean) => {
  for (let i = 0; i < 100; i++) {
    const spans = otlp.exports.flatMap((e) => e.spans)
    if (found(spans)) return spans
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`the spans expected did not arrive; got ${otlp.exports.flatMap((e) => e.spans.map((s) => s.name)).join(", ")}`)
}

describe("OTLP traces", () => {
  it("exports one server span per request with route and status, store calls as descendants, the caller as parent", async () => {
    const auth = bearer(t.alice)
    const opened = await request(`${url}${PATH}`, {
      method: "POST",
      headers: { ...auth, traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01`, "x-request-id": "trace-test-1" },
      body: initiateBody("sub-alice")
    })
    expect(opened.status).toBe(200)
    const cookie = cookieOf(opened.headers)
    const updated = await request(`${url}${PATH}`, {
      method: "PUT",
      headers: { ...auth, cookie, "x-request-id": "trace-test-2" },
      body: { order: { orderItems: [{ orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } }] } }
    })
    expect(updated.status).toBe(200)
    const again = await request(`${url}${PATH}`, { method: "PUT", headers: { ...auth, cookie, "x-request-id": "trace-test-3" }, body: { order: { orderItems: [] } } })
    expect(again.status).toBe(200)
    expect((await request(`${url}/api/order`, { method: "POST", headers: { ...auth, cookie, "if-match": "\"1\"", "x-request-id": "trace-test-4" }, body: {} })).status).toBe(409)
    expect((await request(`${url}/api/partner/mma/subscriptions/sub-carol`, { headers: { ...bearer(t.telco), "x-request-id": "trace-test-5" } })).status).toBe(200)

    const byRequest = (id: string) => (spans: ReadonlyArray<OtlpSpan>) =>
      spans.find((s) => s.kind === 2 && attribute(s.attributes, "http.request.header.x-request-id") === id)
    const spans = await eventually((spans) => ["trace-test-1", "trace-test-2", "trace-test-3", "trace-test-4", "trace-test-5"].every((id) => byRequest(id)(spans) !== undefined))
    const server = (id: string) => byRequest(id)(spans)!

    const initiate = server("trace-test-1")
    expect(initiate.name).toBe("http.server POST")
    expect(attribute(initiate.attributes, "http.route")).toBe(PATH)
    expect(attribute(initiate.attributes, "http.response.status_code")).toBe(200)
    expect(initiate.traceId).toBe(CALLER_TRACE)
    expect(initiate.parentSpanId).toBe(CALLER_SPAN)

    // The fast path's PUT, the router's 409 and a route with an id: templates and statuses.
    expect(attribute(server("trace-test-2").attributes, "http.route")).toBe(PATH)
    expect(server("trace-test-2").name).toBe("http.server PUT")
    expect(attribute(server("trace-test-4").attributes, "http.route")).toBe("/api/order")
    expect(attribute(server("trace-test-4").attributes, "http.response.status_code")).toBe(409)
    expect(attribute(server("trace-test-5").attributes, "http.route")).toBe("/api/partner/mma/subscriptions/:id")

    // Store calls are descendants of their request's span, in its trace.
    const byId = new Map(spans.map((s) => [s.spanId, s]))
    const serverOf = (span: OtlpSpan): OtlpSpan | undefined => {
      let current: OtlpSpan | undefined = span
      while (current !== undefined && current.kind !== 2) current = current.parentSpanId === undefined ? undefined : byId.get(current.parentSpanId)
      return current
    }
    const storeSpans = spans.filter((s) => s.name.startsWith("store "))
    for (const id of ["trace-test-1", "trace-test-2", "trace-test-4", "trace-test-5"]) {
      const own = storeSpans.filter((s) => serverOf(s)?.spanId === server(id).spanId)
      expect(own.length, id).toBeGreaterThan(0)
      for (const span of own) expect(span.traceId).toBe(server(id).traceId)
    }
    const fastPathCalls = storeSpans.filter((s) => serverOf(s)?.spanId === server("trace-test-2").spanId).map((s) => s.name)
    expect(fastPathCalls.some((name) => name.startsWith("store Baskets.find"))).toBe(true)
    expect(fastPathCalls).toContain("store Baskets.save")
    const initiateStoreSpan = storeSpans.find((s) => serverOf(s)?.spanId === initiate.spanId)!
    expect(initiateStoreSpan.kind).toBe(3)

    // The export carries the configured headers and resource.
    const first = otlp.exports[0]!
    expect(first.headers["x-api-key"]).toBe("receiver secret")
    expect(attribute(first.resource, "service.name")).toBe("subshift-under-test")
    expect(attribute(first.resource, "deployment.environment")).toBe("test")
  })

  it("a failed span names the failure's type only, and no export holds a token, an id or a cookie", async () => {
    const auth = bearer(t.bob)
    const opened = await request(`${url}${PATH}`, { method: "POST", headers: auth, body: initiateBody("sub-bob") })
    const cookie = cookieOf(opened.headers)
    // A stale order: the use case fails with a version conflict whose message names the basket.
    const conflict = await request(`${url}/api/order`, {
      method: "POST",
      headers: { ...auth, cookie, "if-match": "\"7\"", "x-request-id": "trace-test-6" },
      body: {}
    })
    expect(conflict.status).toBe(409)
    const spans = await eventually((spans) => spans.some((s) => attribute(s.attributes, "http.request.header.x-request-id") === "trace-test-6"))
    const request6 = spans.find((s) => attribute(s.attributes, "http.request.header.x-request-id") === "trace-test-6")!
    const failed = spans.filter((s) => s.status.code === 2 && s.traceId === request6.traceId)
    expect(failed.map((s) => [s.name, s.status.message])).toContainEqual(["SubscriptionCheckout.commit", "VersionConflict (details are not exported)"])

    const everything = otlp.exports.map((e) => e.body).join("\n")
    const secrets = [t.alice, t.bob, t.telco, cookie.split("=")[1]!, "cus-alice", "cus-bob", "sub-alice", "sub-bob", "sub-carol", "ops@telco", "partner-telco"]
    for (const secret of secrets) expect(everything).not.toContain(secret)
    expect(everything).not.toMatch(/basket-[0-9a-f-]{36}/)
  })
})

/**
 * What the contract does not allow is refused, on the fast path and on the general app alike: a
 * key no schema declares (400 InvalidInput naming it, nothing committed), a body of another type
 * than `application/json` with an optional `charset=utf-8` (400 MalformedRequest), and the
 * partner token or the basket cookie sent in two headers (400 InvalidInput naming the header).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Net from "node:net"
import { bearer, cookieOf, initiateBody, request, start, type TestServer, tokens } from "./Harness.js"

/** A request on a raw socket, whose headers may repeat (an array value is sent as that many header lines). */
const send = (url: string, method: string, headers: Record<string, string | Array<string>>, body = "") =>
  new Promise<{ status: number; body: any }>((resolve, reject) => {
    const { hostname, port, pathname } = new URL(url)
    const lines = Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v) => `${name}: ${v}`))
    const socket = Net.connect(Number(port), hostname)
    const chunks: Array<Buffer> = []
    socket.on("data", (c: Buffer) => chunks.push(c))
    socket.on("error", reject)
    socket.on("close", () => {
      const [head = "", ...rest] = Buffer.concat(chunks).toString("utf8").split("\r\n\r\n")
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body: JSON.parse(rest.join("\r\n\r\n")) })
    })
    socket.write(`${method} ${pathname} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${lines.join("\r\n")}\r\n\r\n${body}`)
  })

const upgrade = [
  { orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } },
  { orderItemActionType: "add", type: "add_on", offer: { id: "addon-archive" } }
]
const addOn = { order: { orderItems: upgrade } }

for (const fastPath of [true, false]) {
  describe(`strict input ${fastPath ? "with" : "without"} the fast path`, () => {
    let server: TestServer
    let t: Awaited<ReturnType<typeof tokens>>
    let cookie: string
    let partnerCookie: string
    beforeAll(async () => {
      server = await start({ fastPath })
      t = await tokens(server)
      const opened = await request(`${server.url}/api/checkout/subscription`, { method: "POST", headers: bearer(t.alice), body: initiateBody("sub-alice") })
      cookie = cookieOf(opened.headers)
      const partner = await request(`${server.url}/api/partner/checkout/subscription`, { method: "POST", headers: { ...bearer(t.telco), "x-limio-recaptcha": "t" }, body: initiateBody("sub-carol") })
      partnerCookie = cookieOf(partner.headers)
    })
    afterAll(() => server.close())

    const put = (raw: string, type = "application/json", extra: Record<string, string> = {}) =>
      request(`${server.url}/api/checkout/subscription`, { method: "PUT", headers: { ...bearer(t.alice), cookie, "content-type": type, ...extra }, raw })

    it("an unknown key anywhere in a body is a 400 InvalidInput naming it, and the order is not placed", async () => {
      const order = await request(`${server.url}/api/partner/order`, {
        method: "POST",
        headers: { ...bearer(t.telco), cookie: partnerCookie, "content-type": "application/json" },
        raw: "{\"q\": 9007199254740993}"
      })
      expect(order.status).toBe(400)
      expect(order.body.error.code).toBe("InvalidInput")
      expect(order.body.error.details.field).toBe("q")
      const basket = await request(`${server.url}/api/partner/checkout/subscription`, { headers: { ...bearer(t.telco), cookie: partnerCookie } })
      expect(basket.status).toBe(200)
      expect(basket.body.status).not.toBe("completed")

      const stray = await put(JSON.stringify({ ...addOn, stray: 1 }))
      expect([stray.status, stray.body.error.code, stray.body.error.details.field]).toEqual([400, "InvalidInput", "stray"])
      const nested = await put(JSON.stringify({ order: { orderItems: [{ ...addOn.order.orderItems[0], extra: true }] } }))
      expect([nested.status, nested.body.error.details.field]).toEqual([400, "order.orderItems[0].extra"])
      const initiate = await request(`${server.url}/api/checkout/subscription`, {
        method: "POST",
        headers: bearer(t.alice),
        body: { ...initiateBody("sub-alice"), order: { ...initiateBody("sub-alice").order, channel: "web" } }
      })
      expect([initiate.status, initiate.body.error.details.field]).toEqual([400, "order.channel"])
      const amend = await request(`${server.url}/api/selfService/checkout/amend`, {
        method: "POST",
        headers: bearer(t.acme),
        body: { billGroupId: "bg-acme", subscriptionRemovals: [{ subscriptionId: "sub-acme-1", timing: "END_OF_PERIOD", force: true }] }
      })
      expect([amend.status, amend.body.error.details.field]).toEqual([400, "subscriptionRemovals[0].force"])
      // An offer reference is free-form (a full offer object is accepted): its other keys are not refused.
      expect((await put(JSON.stringify({ order: { orderItems: [upgrade[0], { ...upgrade[1], offer: { id: "addon-archive", name: "Archive" } }] } }))).status).toBe(200)
    })

    it("only application/json, optionally with charset=utf-8 in any case, is read as a body", async () => {
      for (const type of ["application/jsonx", "application/json-patch+json", "application/json, text/plain", "application/json; charset=utf-16", "application/json; charset=latin1", "text/json"]) {
        const r = await put(JSON.stringify(addOn), type)
        expect([type, r.status, r.body.error?.code]).toEqual([type, 400, "MalformedRequest"])
      }
      for (const type of ["application/json", "APPLICATION/JSON", "application/json; charset=utf-8", "Application/Json;Charset=UTF-8"]) {
        expect([type, (await put(JSON.stringify(addOn), type)).status]).toEqual([type, 200])
      }
    })

    it("two partner tokens, or the basket cookie in two Cookie headers, are a 400 naming the header rather than the first winning", async () => {
      const tokens2 = await send(`${server.url}/api/partner/mma/subscriptions`, "GET", { "x-partner-token": ["a", "b"] })
      expect([tokens2.status, tokens2.body.error?.code, tokens2.body.error.details.field]).toEqual([400, "InvalidInput", "x-partner-token"])
      for (const method of ["GET", "PUT"]) {
        const twice = await send(`${server.url}/api/checkout/subscription`, method, {
          authorization: `Bearer ${t.alice}`,
          "content-type": "application/json",
          cookie: [cookie, cookie.replace("lmo_ls=", "limio_state=")]
        }, method === "PUT" ? JSON.stringify(addOn) : undefined)
        expect([method, twice.status, twice.body.error.code, twice.body.error.details.field]).toEqual([method, 400, "InvalidInput", "cookie"])
      }
      // One basket cookie next to another cookie in a second header is fine.
      const other = await send(`${server.url}/api/checkout/subscription`, "GET", { authorization: `Bearer ${t.alice}`, cookie: [cookie, "theme=dark"] })
      expect(other.status).toBe(200)
    })
  })
}

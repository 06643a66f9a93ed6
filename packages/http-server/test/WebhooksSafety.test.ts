import { WebhookDeliveries, WebhookEndpoints } from "@subshift/core/ports/Webhooks"
import * as WebhookAdmin from "@subshift/core/usecases/WebhookAdmin"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Network from "../src/webhooks/Network.js"
import { bench, eventually, fastConfig, startReceiver, verify, writeEvents } from "./webhooks/Support.js"

const unique = () => globalThis.crypto.randomUUID().slice(0, 8)
const endpointOf = (id: string) => Effect.map(Effect.flatMap(WebhookEndpoints, (e) => e.get(id)), Option.getOrThrow)
const deliveriesOf = (endpointId: string) => Effect.flatMap(WebhookDeliveries, (d) => d.list({ endpointId, limit: 100 }))

describe("webhook endpoints that fail, refuse or are refused", () => {
  it("disables an endpoint at once when it answers 410 Gone, and delivers nothing more to it", async () => {
    const receiver = await startReceiver(() => "", (_request, res) => (res.writeHead(410).end(), "handled"))
    const runtime = bench(fastConfig())
    try {
      const { endpoint } = await runtime.runPromise(WebhookAdmin.create({ url: receiver.url, eventTypes: ["amendment.committed"] }))
      await runtime.runPromise(writeEvents(`sub-${unique()}`, 3))
      await eventually("the endpoint disabled", () => runtime.runSync(endpointOf(endpoint.id)).disabledAt !== undefined)
      expect(runtime.runSync(endpointOf(endpoint.id)).disabledReason).toBe("the endpoint answered 410 Gone")
      await new Promise((r) => setTimeout(r, 200))
      expect(receiver.requests.length).toBe(1)
      const deliveries = runtime.runSync(deliveriesOf(endpoint.id))
      expect(deliveries.map((d) => d.status)).toEqual(["pending", "pending", "pending"])
    } finally {
      await runtime.dispose()
      await receiver.close()
    }
  })

  it("disables an endpoint that has failed every delivery for the configured span, and keeps one that recovers", async () => {
    let healthy = false
    let secret = ""
    const receiver = await startReceiver(() => secret, (_request, res) => (healthy ? "pass" : (res.writeHead(500).end(), "handled")))
    const runtime = bench(fastConfig({ schedule: Array.from({ length: 50 }, () => Duration.millis(40)) }), { disableAfter: Duration.millis(600) })
    try {
      const created = await runtime.runPromise(WebhookAdmin.create({ url: receiver.url, eventTypes: ["*"] }))
      secret = created.secret
      await runtime.runPromise(writeEvents(`sub-${unique()}`, 1))
      await eventually("the endpoint failing", () => runtime.runSync(endpointOf(created.endpoint.id)).failingSince !== undefined)
      await eventually("the endpoint disabled", () => runtime.runSync(endpointOf(created.endpoint.id)).disabledAt !== undefined, 5_000)
      const disabled = runtime.runSync(endpointOf(created.endpoint.id))
      expect(disabled.disabledReason).toMatch(/^every delivery failed for/)
      expect(Date.parse(disabled.disabledAt!) - Date.parse(disabled.failingSince!)).toBeGreaterThanOrEqual(600)
      // Enabled again by an operator, it gets the waiting delivery once it answers well.
      healthy = true
      await runtime.runPromise(Effect.flatMap(WebhookEndpoints, (e) => e.update(created.endpoint.id, { disabled: false }, disabled.disabledAt!)))
      await eventually("delivered after enabling", () => receiver.applied.length === 1)
      await eventually("streak ended", () => runtime.runSync(endpointOf(created.endpoint.id)).failingSince === undefined)
    } finally {
      await runtime.dispose()
      await receiver.close()
    }
  })

  it("logs every attempt (status, latency, error, next attempt), fails after the schedule, and redelivers on a manual retry", async () => {
    let failing = true
    let secret = ""
    const receiver = await startReceiver(() => secret, (_request, res) => (failing ? (res.writeHead(502).end(), "handled") : "pass"))
    const runtime = bench(fastConfig({ schedule: [Duration.millis(50)] }))
    try {
      const created = await runtime.runPromise(WebhookAdmin.create({ url: receiver.url, eventTypes: ["amendment.committed"] }))
      secret = created.secret
      const [event] = await runtime.runPromise(writeEvents(`sub-${unique()}`, 1))
      await eventually("the delivery failed", () => runtime.runSync(deliveriesOf(created.endpoint.id))[0]?.status === "failed")
      const failed = runtime.runSync(deliveriesOf(created.endpoint.id))[0]!
      expect(failed.eventId).toBe(event!.id)
      expect(failed.attempts).toBe(2)
      expect(failed.log.map((a) => [a.statusCode, a.error])).toEqual([[502, "the endpoint answered 502"], [502, "the endpoint answered 502"]])
      expect(failed.log.every((a) => a.latencyMs >= 0 && a.latencyMs < 1000)).toBe(true)
      expect(Date.parse(failed.log[1]!.at) - Date.parse(failed.log[0]!.at)).toBeGreaterThanOrEqual(40)
      expect(failed.nextAttemptAt).toBeUndefined()
      failing = false
      const retried = Option.getOrThrow(await runtime.runPromise(Effect.flatMap(WebhookDeliveries, (d) => d.retry(failed.id, failed.log[1]!.at))))
      expect(retried.status).toBe("pending")
      await eventually("redelivered", () => receiver.applied.length === 1)
      expect(verify(secret, receiver.requests[2]!)).toBeTruthy()
      expect(receiver.requests.map((r) => r.headers["webhook-id"])).toEqual([event!.id, event!.id, event!.id])
      await eventually("delivered", () => runtime.runSync(deliveriesOf(created.endpoint.id))[0]!.status === "delivered")
    } finally {
      await runtime.dispose()
      await receiver.close()
    }
  })

  it("honours Retry-After on a 429", async () => {
    let secret = ""
    let first = true
    const receiver = await startReceiver(() => secret, (_request, res) => {
      if (!first) return "pass"
      first = false
      res.writeHead(429, { "retry-after": "1" }).end()
      return "handled"
    })
    const runtime = bench(fastConfig())
    try {
      secret = (await runtime.runPromise(WebhookAdmin.create({ url: receiver.url, eventTypes: ["*"] }))).secret
      await runtime.runPromise(writeEvents(`sub-${unique()}`, 1))
      await eventually("delivered", () => receiver.applied.length === 1, 5_000)
      const gap = receiver.requests[1]!.at - receiver.requests[0]!.at
      expect(gap).toBeGreaterThanOrEqual(950)
    } finally {
      await runtime.dispose()
      await receiver.close()
    }
  })

  it("in production, refuses plain http and names that resolve to loopback, private, link-local or metadata addresses, unless allowed", async () => {
    const production = { production: true, allowPrivate: false }
    expect(await Network.check(production, "http://billing.example.com/hook")).toBe("must be https in production")
    for (const url of ["https://127.0.0.1/h", "https://localhost/h", "https://10.1.2.3/h", "https://192.168.0.9/h", "https://172.20.0.1/h",
      "https://169.254.169.254/latest/meta-data", "https://[::1]/h", "https://[fd00:ec2::254]/h", "https://[::ffff:127.0.0.1]/h", "https://100.64.0.1/h"]) {
      expect(await Network.check(production, url), url).toMatch(/private, loopback, link-local or metadata/)
    }
    expect(await Network.check(production, "https://93.184.215.14/hook")).toBeUndefined()
    expect(await Network.check(production, "https://user:pw@93.184.215.14/hook")).toBe("must not carry credentials")
    expect(await Network.check({ production: true, allowPrivate: true }, "http://127.0.0.1:8080/h")).toBeUndefined()
    expect(await Network.check({ production: false, allowPrivate: false }, "http://127.0.0.1:8080/h")).toBeUndefined()
  })

  it("in production, refuses at delivery time an endpoint whose name now resolves to a private address, and never connects", async () => {
    const receiver = await startReceiver(() => "")
    // https, so the scheme passes; `localhost` resolves to loopback, as a rebound name would.
    const runtime = bench(fastConfig({ policy: { production: true, allowPrivate: false }, schedule: [] }))
    try {
      const { endpoint } = await runtime.runPromise(WebhookAdmin.create({ url: `https://localhost:${receiver.port}/hook`, eventTypes: ["*"] }))
      const literal = await runtime.runPromise(WebhookAdmin.create({ url: `https://127.0.0.1:${receiver.port}/hook`, eventTypes: ["*"] }))
      await runtime.runPromise(writeEvents(`sub-${unique()}`, 1))
      for (const id of [endpoint.id, literal.endpoint.id]) {
        await eventually("the delivery failed", () => runtime.runSync(deliveriesOf(id))[0]?.status === "failed")
        expect(runtime.runSync(deliveriesOf(id))[0]!.log[0]!.error).toMatch(/refused: .*(127\.0\.0\.1|::1).* private address/)
      }
      expect(receiver.requests.length).toBe(0)
    } finally {
      await runtime.dispose()
      await receiver.close()
    }
  })
})

import * as Webhook from "@subshift/core/domain/Webhook"
import { WebhookDeliveries, WebhookEndpoints } from "@subshift/core/ports/Webhooks"
import * as WebhookAdmin from "@subshift/core/usecases/WebhookAdmin"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Prometheus from "@subshift/http-server/Prometheus"
import parse from "parse-prometheus-text-format"
import { bench, eventually, fastConfig, type Received, startReceiver, verify, writeEvents } from "./webhooks/Support.js"

const unique = () => globalThis.crypto.randomUUID().slice(0, 8)

const create = (url: string, eventTypes: ReadonlyArray<string> = ["amendment.committed", "subscription.changed"]) =>
  WebhookAdmin.create({ url, eventTypes, description: "billing" })

const attempts = (endpointId: string) =>
  Effect.flatMap(WebhookDeliveries, (d) => d.list({ endpointId, limit: 100 }))

describe("webhook delivery to a real receiver verifying with standardwebhooks", () => {
  it("runs the receiver the README shows, character for character", () => {
    const root = Path.resolve(import.meta.dirname, "../../..")
    const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
    const section = readme.slice(readme.indexOf("## Receive changes in your billing system"))
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
    expect(block).toBe(Fs.readFileSync(Path.join(import.meta.dirname, "webhooks/Receiver.ts"), "utf8"))
  })

  it("signs every delivery so that the receiver verifies it, with the event id as webhook-id and a per-subscription sequence", async () => {
    let secret = ""
    const receiver = await startReceiver(() => secret)
    const runtime = bench(fastConfig())
    try {
      const created = await runtime.runPromise(create(receiver.url))
      secret = created.secret
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/)
      const sub = `sub-${unique()}`
      const events = await runtime.runPromise(writeEvents(sub, 3))
      await runtime.runPromise(writeEvents(sub, 1, "basket.expired"))
      await eventually("three events applied", () => receiver.applied.length === 3)
      expect(receiver.applied.map((e) => [e.type, e.id, e.sequence])).toEqual(events.map((e, i) => ["amendment.committed", e.id, i + 1]))
      expect(receiver.applied[0]!.data).toMatchObject({ subscriptionId: sub, amendmentId: events[0]!.amendmentId, amounts: events[0]!.amounts })
      for (const request of receiver.requests) {
        expect(verify(secret, request)).toBeTruthy()
        expect(request.headers["webhook-id"]).toBe(JSON.parse(request.body).id)
        expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
      }
      // The stored secret is sealed: nothing stored holds the secret's text.
      const stored = await runtime.runPromise(Effect.flatMap(WebhookEndpoints, (e) => e.get(created.endpoint.id)))
      expect(JSON.stringify(stored)).not.toContain(secret.slice(6))
      await new Promise((r) => setTimeout(r, 150))
      expect(receiver.requests.length).toBe(3)
    } finally {
      await runtime.dispose()
      await receiver.close()
    }
  })

  it("retries after a 500, a timeout and a refused connection, with the same webhook-id, until delivered", async () => {
    let secret = ""
    const seen = new Map<string, number>()
    const receiver = await startReceiver(() => secret, (request, res) => {
      const id = String(request.headers["webhook-id"])
      const n = (seen.get(id) ?? 0) + 1
      seen.set(id, n)
      if (n === 1 && JSON.parse(request.body).sequence === 1) return res.writeHead(500).end("boom"), "handled"
      if (n === 1 && JSON.parse(request.body).sequence === 2) return "handled" // never answered: the attempt times out
      return "pass"
    })
    const runtime = bench(fastConfig({ timeout: Duration.millis(300) }))
    try {
      const created = await runtime.runPromise(create(receiver.url))
      secret = created.secret
      const events = await runtime.runPromise(writeEvents(`sub-${unique()}`, 2))
      await eventually("both events applied", () => receiver.applied.length === 2)
      expect(receiver.applied.map((e) => e.id)).toEqual(events.map((e) => e.id))
      const perEvent = events.map((e) => receiver.requests.filter((r) => r.headers["webhook-id"] === e.id).length)
      expect(perEvent).toEqual([2, 2])
      for (const request of receiver.requests) expect(verify(secret, request)).toBeTruthy()
      // The receiver applies an event before the worker records its answer.
      await eventually("both recorded delivered", () =>
        runtime.runSync(attempts(created.endpoint.id)).filter((d) => d.status === "delivered").length === 2)
      const log = await runtime.runPromise(attempts(created.endpoint.id))
      const first = log.find((d) => d.eventId === events[0]!.id)!
      const second = log.find((d) => d.eventId === events[1]!.id)!
      expect(first.log.map((a) => [a.statusCode, a.error])).toEqual([[500, "the endpoint answered 500"], [204, undefined]])
      expect(second.log[0]!.error).toMatch(/no answer within/)
      expect(second.log[0]!.latencyMs).toBeGreaterThanOrEqual(290)
      expect([first.status, second.status]).toEqual(["delivered", "delivered"])

      // A refused connection: the endpoint's port closes, then listens again.
      await receiver.close()
      const more = await runtime.runPromise(writeEvents(`sub-${unique()}`, 1))
      // A connection kept alive from before the close may first answer with a reset; a new one is refused.
      await eventually("a refused attempt logged", () => {
        const d = runtime.runSync(attempts(created.endpoint.id)).find((x) => x.eventId === more[0]!.id)
        return d !== undefined && d.log.some((a) => /ECONNREFUSED/.test(a.error ?? ""))
      })
      const refused = runtime.runSync(attempts(created.endpoint.id)).find((x) => x.eventId === more[0]!.id)!
      expect(refused.log.every((a) => a.statusCode === undefined)).toBe(true)
      expect(refused.status).toBe("pending")
      const again = await startReceiver(() => secret, () => "pass", receiver.port)
      try {
        await eventually("the refused event delivered", () => again.applied.length === 1)
        expect(again.applied[0]!.id).toBe(more[0]!.id)
        expect(again.requests[0]!.headers["webhook-id"]).toBe(more[0]!.id)
      } finally {
        await again.close()
      }
    } finally {
      await runtime.dispose()
      await receiver.close()
    }
  })

  it("keeps commit order per subscription under retries, while other subscriptions do not wait", async () => {
    let secret = ""
    let failuresLeft = 3
    const subA = `sub-a-${unique()}`
    const receiver = await startReceiver(() => secret, (request, res) => {
      const body = JSON.parse(request.body)
      if (body.data.subscriptionId === subA && body.sequence === 1 && failuresLeft-- > 0) return res.writeHead(503).end(), "handled"
      return "pass"
    })
    const runtime = bench(fastConfig())
    try {
      secret = (await runtime.runPromise(create(receiver.url))).secret
      const a = await runtime.runPromise(writeEvents(subA, 5))
      const b = await runtime.runPromise(writeEvents(`sub-b-${unique()}`, 5))
      await eventually("ten events applied", () => receiver.applied.length === 10)
      const ofA = receiver.applied.filter((e) => e.data.subscriptionId === subA)
      expect(ofA.map((e) => e.id)).toEqual(a.map((e) => e.id))
      expect(ofA.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5])
      // Subscription B was all delivered before A's first event got through.
      const firstOfA = receiver.applied.findIndex((e) => e.data.subscriptionId === subA)
      expect(receiver.applied.slice(0, firstOfA).map((e) => e.id)).toEqual(b.map((e) => e.id))
      // No later event of A reached the receiver before the first was delivered.
      const requestsOfA = receiver.requests.map((r) => JSON.parse(r.body)).filter((body) => body.data.subscriptionId === subA)
      expect(requestsOfA.map((body) => body.sequence)).toEqual([1, 1, 1, 1, 2, 3, 4, 5])
    } finally {
      await runtime.dispose()
      await receiver.close()
    }
  })

  it("after a rotation, signs with both secrets during the overlap, each verifying on its own", async () => {
    const receiver = await startReceiver(() => "", (_request, res) => (res.writeHead(204).end(), "handled"))
    const runtime = bench(fastConfig())
    try {
      const created = await runtime.runPromise(create(receiver.url))
      const rotated = Option.getOrThrow(await runtime.runPromise(WebhookAdmin.rotateSecret(created.endpoint.id)))
      expect(rotated.secret).not.toBe(created.secret)
      expect(rotated.endpoint.secrets.length).toBe(2)
      const overlap = Date.parse(rotated.endpoint.secrets[0]!.expiresAt!) - Date.parse(rotated.endpoint.secrets[1]!.createdAt)
      expect(overlap).toBe(Duration.toMillis(Webhook.rotationOverlap))
      await runtime.runPromise(writeEvents(`sub-${unique()}`, 1))
      await eventually("one request", () => receiver.requests.length >= 1)
      const request: Received = receiver.requests[0]!
      expect(String(request.headers["webhook-signature"]).split(" ").length).toBe(2)
      expect(verify(created.secret, request)).toBeTruthy()
      expect(verify(rotated.secret, request)).toBeTruthy()
      expect(() => verify(`whsec_${Buffer.from("not the secret at all!!!").toString("base64")}`, request)).toThrow()
    } finally {
      await runtime.dispose()
      await receiver.close()
    }
  })
  it("counts delivery attempts by outcome in the /metrics exposition", async () => {
    const delivered = () => {
      const family = parse(Prometheus.render()).find((f) => f.name === "subshift_webhook_attempts_total")
      const sample = family?.metrics.find((m) => m.labels?.["outcome"] === "delivered")
      return sample === undefined ? 0 : Number(sample.value)
    }
    let secret = ""
    const receiver = await startReceiver(() => secret)
    const runtime = bench(fastConfig())
    try {
      const before = delivered()
      secret = (await runtime.runPromise(create(receiver.url))).secret
      await runtime.runPromise(writeEvents(`sub-${unique()}`, 2))
      await eventually("two events applied", () => receiver.applied.length === 2)
      await eventually("two attempts counted as delivered", () => delivered() - before === 2)
      expect(delivered() - before).toBe(2)
    } finally {
      await runtime.dispose()
      await receiver.close()
    }
  })
})

import * as Webhook from "@subshift/core/domain/Webhook"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as fc from "effect/FastCheck"

const millis = (o: Option.Option<Duration.Duration>) => Option.map(o, Duration.toMillis)

describe("webhook backoff", () => {
  it("waits 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h, without jitter at the middle draw", () => {
    const delays = [1, 2, 3, 4, 5, 6, 11].map((n) => Option.getOrThrow(millis(Webhook.backoff(n, 0.5))))
    expect(delays).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000])
  })

  it("spreads each delay over [0.8, 1.2) of the scheduled one", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 11 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
      const base = Duration.toMillis(Webhook.schedule[n - 1]!)
      const delay = Option.getOrThrow(millis(Webhook.backoff(n, r)))
      return delay >= Math.round(base * 0.8) && delay <= Math.round(base * 1.2)
    }))
  })

  it("gives up after the schedule, about three days of retries in all", () => {
    expect(Webhook.backoff(Webhook.schedule.length + 1, 0.5)).toEqual(Option.none())
    expect(Webhook.backoff(0, 0.5)).toEqual(Option.none())
    const total = Webhook.schedule.reduce((sum, d) => sum + Duration.toMillis(d), 0)
    expect(total / 3_600_000).toBeGreaterThan(60)
    expect(total / 3_600_000).toBeLessThan(80)
  })

  it("reads Retry-After as seconds or an HTTP date, capped and never negative", () => {
    const now = Date.parse("2026-01-01T00:00:00Z")
    const cap = Duration.hours(1)
    expect(millis(Webhook.retryAfter("120", now, cap))).toEqual(Option.some(120_000))
    expect(millis(Webhook.retryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now, cap))).toEqual(Option.some(30_000))
    expect(millis(Webhook.retryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now, cap))).toEqual(Option.some(0))
    expect(millis(Webhook.retryAfter("99999", now, cap))).toEqual(Option.some(3_600_000))
    expect(Webhook.retryAfter("soon", now, cap)).toEqual(Option.none())
    expect(Webhook.retryAfter(undefined, now, cap)).toEqual(Option.none())
  })

  it("signs with the secrets that have not expired, and subscribes by type or *", () => {
    const at = "2026-01-01T00:00:00.000Z"
    const endpoint = {
      id: "e", url: "https://x", eventTypes: ["amendment.committed"], createdAt: at,
      secrets: [{ sealed: "old", createdAt: at, expiresAt: "2026-01-02T00:00:00.000Z" }, { sealed: "new", createdAt: at }]
    } as unknown as Webhook.Endpoint
    expect(Webhook.activeSecrets(endpoint, "2026-01-01T12:00:00.000Z" as never).map((s) => s.sealed)).toEqual(["old", "new"])
    expect(Webhook.activeSecrets(endpoint, "2026-01-02T00:00:00.000Z" as never).map((s) => s.sealed)).toEqual(["new"])
    expect(Webhook.subscribes(endpoint, "amendment.committed")).toBe(true)
    expect(Webhook.subscribes(endpoint, "basket.expired")).toBe(false)
    expect(Webhook.subscribes({ eventTypes: ["*"] }, "basket.expired")).toBe(true)
  })
})

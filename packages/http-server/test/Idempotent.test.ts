import { describe, expect, it } from "@effect/vitest"
import * as Idempotent from "@subshift/http-server/Idempotent"

const fingerprint: Idempotent.Fingerprint = {
  method: "POST",
  path: "/api/order",
  owner: "customer:cus-alice",
  body: { checkoutId: "basket-1", nested: { b: 1, a: [2, { d: 4, c: 3 }] } },
  ifMatch: '"3"',
  target: "basket-1"
}

describe("request fingerprints", () => {
  it("the same body with its keys in another order is the same request", () => {
    const reordered = { ...fingerprint, body: { nested: { a: [2, { c: 3, d: 4 }], b: 1 }, checkoutId: "basket-1" } }
    expect(Idempotent.canonicalJson(reordered.body)).toBe(Idempotent.canonicalJson(fingerprint.body))
    expect(Idempotent.requestHash(reordered)).toBe(Idempotent.requestHash(fingerprint))
  })

  it("a different method, path, caller, body, If-Match or basket is a different request", () => {
    const hash = Idempotent.requestHash(fingerprint)
    const variants: Array<Partial<Idempotent.Fingerprint>> = [
      { method: "PUT" },
      { path: "/api/partner/order" },
      { owner: "customer:cus-bob" },
      { body: { checkoutId: "basket-2" } },
      { ifMatch: '"4"' },
      { ifMatch: undefined },
      { target: "basket-2" }
    ]
    for (const variant of variants) expect(Idempotent.requestHash({ ...fingerprint, ...variant })).not.toBe(hash)
  })
})

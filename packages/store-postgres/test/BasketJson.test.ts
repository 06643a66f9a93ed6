import { describe, expect, it } from "@effect/vitest"
import { Basket } from "@subshift/core/domain/Basket"
import { Arbitraries, Fixtures } from "@subshift/testing"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { basketJson } from "../src/internal/json.js"

const viaSchema = Schema.encodeSync(Schema.parseJson(Basket))

describe("basket JSON", () => {
  it.effect("the direct serialisation equals the Schema's encoding, optional fields absent or present", () =>
    Effect.gen(function*() {
      const full = Fixtures.basket({ amendmentId: "amd-1", completed: true })
      const { tracking: _, ...bare } = Fixtures.basket({ systemItems: [] })
      for (const basket of [full, { ...bare, tracking: {} }]) {
        expect(JSON.parse(yield* basketJson(basket))).toEqual(JSON.parse(viaSchema(basket)))
        expect(yield* basketJson(basket)).toEqual(viaSchema(basket))
      }
    }))

  it.prop("the direct serialisation equals the Schema's encoding for generated baskets", [Arbitraries.basket], ([basket]) => {
    expect(JSON.stringify(basket)).toEqual(viaSchema(basket))
  }, { fastCheck: { numRuns: 100 } })
})

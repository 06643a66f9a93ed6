import { describe, expect, it } from "@effect/vitest"
import * as Input from "@subshift/core/domain/Input"
import { Instant } from "@subshift/core/domain/Instant"
import { SubscriptionRecord } from "@subshift/core/usecases/OperatorRecords"
import { subscriptionRecord } from "@subshift/testing/Records"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const decode = Input.decodeAll(SubscriptionRecord)
/** The schema's own decoder, every problem reported, as `decodeAll` answered before it had a plain walk. */
const reference = (input: unknown) =>
  Either.mapLeft(Schema.decodeUnknownEither(SubscriptionRecord, { errors: "all", onExcessProperty: "error" })(input), (e) => Input.problemsOf(e))

const valid = subscriptionRecord("sub-decode-1", {
  pendingChange: {
    amendmentId: "amd-1",
    effectiveDate: "2030-01-01",
    actions: [{
      kind: "remove",
      type: "add_on",
      offerId: "addon-crossword",
      name: "Crossword",
      rateId: "addon-crossword-usd-monthly",
      quantity: 1,
      unitPrice: { amount: 299, currency: "USD" },
      timing: "CURRENT_PERIOD_END",
      effectiveDate: "2030-01-01",
      prorate: false
    }]
  },
  endDate: "2030-01-01"
})

describe("decodeAll", () => {
  it("decodes a valid record to what the schema's decoder gives, keys in the schema's order", () => {
    const shuffled = Object.fromEntries(Object.entries(valid).reverse())
    const got = decode(shuffled)
    expect(got).toEqual(reference(shuffled))
    expect(Object.keys(Either.getOrThrow(got))).toEqual(Object.keys(Either.getOrThrow(reference(shuffled))))
    expect(decode({ ...valid, pendingChange: "discard" })).toEqual(reference({ ...valid, pendingChange: "discard" }))
  })

  it("reports every problem of a bad record as the schema's decoder does", () => {
    const bad: ReadonlyArray<unknown> = [
      { ...valid, extra: 1 },
      { ...valid, id: "nope", anchorDay: 0 },
      { ...valid, currentPeriod: { start: "2030-13-01", end: "x" } },
      { ...valid, offer: { ...valid.offer, quantity: 1.5 }, addOns: [{ ...valid.addOns[0], unitPrice: { amount: -1 } }] },
      { ...valid, pendingChange: "keep" },
      { ...valid, status: undefined },
      [valid],
      null,
      "text"
    ]
    for (const input of bad) {
      const got = decode(input)
      expect(Either.isLeft(got)).toBe(true)
      expect(got).toEqual(reference(input))
    }
  })

  it("still applies a schema's transformation", () => {
    const schema = Schema.Struct({ at: Instant })
    const input = { at: "2030-01-01T00:00:00Z" }
    expect(Input.decodeAll(schema)(input)).toEqual(Either.right(ParseResult.decodeUnknownSync(schema)(input)))
  })
})

import { describe, expect, it } from "@effect/vitest"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as CoreErrors from "@subshift/core/domain/Errors"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import { SubshiftApi } from "@subshift/http-api/Api"
import * as HttpErrors from "@subshift/http-api/HttpErrors"
import * as Schema from "effect/Schema"

const roundTrip = <A, I>(schema: Schema.Schema<A, I>, value: A) => {
  const encoded = Schema.encodeSync(schema)(value)
  return { encoded, decoded: Schema.decodeUnknownSync(schema)(JSON.parse(JSON.stringify(encoded))) }
}

describe("error envelopes", () => {
  it("encode a core error as { error: { code, message, details } } and decode it back into its class", () => {
    const error = new CoreErrors.VersionConflict({ entity: "basket", id: "basket-1", expected: 3, actual: 4 })
    const { decoded, encoded } = roundTrip(HttpErrors.VersionConflict, error)
    expect(encoded).toEqual({
      error: { code: "VersionConflict", message: error.message, details: { entity: "basket", id: "basket-1", expected: 3, actual: 4 } }
    })
    expect(decoded).toBeInstanceOf(CoreErrors.VersionConflict)
    expect(decoded).toEqual(error)
  })

  it("lift pendingChangeDate of a lock to the top level", () => {
    const { encoded } = roundTrip(HttpErrors.SubscriptionLocked, new CoreErrors.SubscriptionLocked({ subscriptionId: "sub-a", pendingChangeDate: CalendarDate.make("2030-01-01") }))
    expect(encoded.pendingChangeDate).toBe("2030-01-01")
  })

  it("give every amend error code a status and encode it in the amend envelope", () => {
    for (const code of CoreErrors.AmendErrorCode.literals) {
      const status = HttpErrors.amendStatus[code]
      const schema = status === 400 ? HttpErrors.AmendBadRequest : status === 404 ? HttpErrors.AmendNotFound : HttpErrors.AmendConflict
      const error = new CoreErrors.AmendRejected({ errorCode: code, details: "why", context: { field: "x" } })
      const { decoded, encoded } = roundTrip(schema, error)
      expect(encoded).toEqual({ operation: "amendSubscriptions", error: { errorCode: code, details: "why", context: { field: "x" } } })
      expect(decoded).toEqual(error)
      expect(HttpApiSchema.getStatusError(schema)).toBe(status)
    }
  })

  it("answer QuoteChanged with 409 and the idempotency failures with 422 (mismatch) and 409 (in flight)", () => {
    const cases = [
      [HttpErrors.QuoteChanged, new CoreErrors.QuoteChanged({ basketId: "basket-1", reason: "catalog_changed" }), 409],
      [HttpErrors.IdempotencyKeyMismatch, new CoreErrors.IdempotencyKeyMismatch({ key: "k-1" }), 422],
      [HttpErrors.IdempotencyKeyInFlight, new CoreErrors.IdempotencyKeyInFlight({ key: "k-1" }), 409]
    ] as const
    for (const [schema, error, status] of cases) {
      const { decoded, encoded } = roundTrip(schema as Schema.Schema<typeof error, HttpErrors.Envelope>, error)
      expect(encoded.error.code).toBe(error._tag)
      expect(encoded.error.message).toBe(error.message)
      expect(decoded).toEqual(error)
      expect(HttpApiSchema.getStatusError(schema)).toBe(status)
    }
  })

  it("carry the amend idempotency failures in the amend envelope with their own error codes", () => {
    const mismatch = HttpErrors.amendIdempotencyRejected(new CoreErrors.IdempotencyKeyMismatch({ key: "k-2" }))
    const { decoded, encoded } = roundTrip(HttpErrors.AmendIdempotencyMismatch, mismatch)
    expect(encoded).toEqual({
      operation: "amendSubscriptions",
      error: { errorCode: "IDEMPOTENCY_KEY_MISMATCH", details: new CoreErrors.IdempotencyKeyMismatch({ key: "k-2" }).message, context: { key: "k-2" } }
    })
    expect(decoded).toEqual(mismatch)
    expect(HttpApiSchema.getStatusError(HttpErrors.AmendIdempotencyMismatch)).toBe(422)
    const inFlight = HttpErrors.amendIdempotencyRejected(new CoreErrors.IdempotencyKeyInFlight({ key: "k-2" }))
    expect(roundTrip(HttpErrors.AmendIdempotencyInFlight, inFlight).encoded.error.errorCode).toBe("IDEMPOTENCY_KEY_IN_FLIGHT")
    expect(HttpApiSchema.getStatusError(HttpErrors.AmendIdempotencyInFlight)).toBe(409)
    expect(Schema.is(HttpErrors.AmendIdempotencyMismatch)(inFlight)).toBe(false)
  })

  it("document every endpoint in OpenAPI 3.1 with its error statuses", () => {
    const spec = OpenApi.fromApi(SubshiftApi)
    expect(spec.openapi).toBe("3.1.0")
    expect(Object.keys(spec.paths["/api/selfService/checkout/amend"]!.post!.responses)).toEqual(
      expect.arrayContaining(["200", "400", "401", "403", "404", "409", "423", "503"])
    )
    expect(Object.keys(spec.paths["/api/order"]!.post!.responses)).toEqual(expect.arrayContaining(["200", "400", "409", "422", "423"]))
    expect(Object.keys(spec.paths["/api/selfService/checkout/amend"]!.post!.responses)).toEqual(expect.arrayContaining(["422"]))
    expect(spec.paths["/api/partner/events"]!.get!.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(["after", "limit"]))
    expect(spec.components.securitySchemes).toHaveProperty("bearer")
    expect(spec.components.securitySchemes).toHaveProperty("partnerToken")
  })
})

/**
 * What the generated OpenAPI document cannot say from the schemas alone, added in one transform:
 * the response headers the server sends, and the documented shape of the fields the schemas type
 * as unknown (checked by the amend rules, or free-form), which the generator would otherwise
 * write as many copies of one `"$id": "/schemas/unknown"` schema.
 */
import type * as OpenApi from "@effect/platform/OpenApi"

type Json = Record<string, any>

const header = (description: string, schema: Json = { type: "string" }) => ({ description, schema })

const etag = header("The basket's version, to send back in If-Match", { type: "string", pattern: "^\"\\d+\"$" })
const setCookie = header("The signed basket cookie: lmo_ls=<basket id>.<HMAC>; Path=/api; HttpOnly; SameSite=Lax (and Secure when configured)")
const retryAfter = header("Seconds to wait before retrying", { type: "string", pattern: "^\\d+$" })
const replayed = header("`true` when the answer is the stored result of an earlier request with the same Idempotency-Key", { type: "string", enum: ["true"] })

const BASKET_PATHS = new Set(["/api/checkout/subscription", "/api/partner/checkout/subscription", "/api/partner/mma/checkout"])
const ORDER_PATHS = new Set(["/api/order", "/api/partner/order"])
const IDEMPOTENT_PATHS = new Set([...ORDER_PATHS, "/api/selfService/checkout/amend"])

/** The documented shape of a field the schemas type as unknown, by its name in its parent. */
const shapeOf = (key: string): Json => {
  switch (key) {
    case "timing":
      return {
        type: "string",
        enum: ["TODAY", "NEXT_PERIOD_START", "CURRENT_PERIOD_END"],
        description: "Updates and creations take TODAY or NEXT_PERIOD_START, removals TODAY or CURRENT_PERIOD_END; another value is INVALID_SUBSCRIPTION_TIMING"
      }
    case "TrackingData":
      return { type: "object", description: "Free-form JSON analytics data: at most 8 levels deep and 8 KiB, no prototype keys", additionalProperties: true }
    default:
      return { description: "Any JSON value" }
  }
}

const replaceUnknown = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(replaceUnknown)
  if (node === null || typeof node !== "object") return node
  const out: Json = {}
  for (const [key, value] of Object.entries(node)) {
    const isUnknown = value !== null && typeof value === "object" && (value as Json)["$id"] === "/schemas/unknown"
    out[key] = isUnknown ? shapeOf(key) : replaceUnknown(value)
  }
  return out
}

const withHeaders = (path: string, method: string, responses: Json): Json =>
  Object.fromEntries(Object.entries(responses).map(([status, response]) => {
    const headers: Json = { ...response.headers }
    if (BASKET_PATHS.has(path) && status === "200") {
      headers.ETag = etag
      if (method === "post") headers["Set-Cookie"] = setCookie
    }
    if (status === "423" || status === "503") headers["Retry-After"] = retryAfter
    if (ORDER_PATHS.has(path) && status === "200") headers.ETag = etag
    if (IDEMPOTENT_PATHS.has(path) && method === "post") headers["idempotent-replayed"] = replayed
    return [status, Object.keys(headers).length === 0 ? response : { ...response, headers }]
  }))

/** The transform of the generated document: response headers declared, unknown fields shaped. */
export const transform = (spec: Json): OpenApi.OpenAPISpec => {
  const shaped = replaceUnknown(spec) as Json
  for (const [path, item] of Object.entries(shaped.paths as Json)) {
    for (const [method, operation] of Object.entries(item as Json)) {
      if (operation?.responses !== undefined) operation.responses = withHeaders(path, method, operation.responses)
    }
  }
  return shaped as OpenApi.OpenAPISpec
}

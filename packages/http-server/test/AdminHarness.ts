/**
 * Operator keys for the end-to-end tests of `/api/admin`: a set of keys with different scopes,
 * one expired, configured through `SUBSHIFT_API_KEYS` exactly as an operator would.
 */
import * as ApiKeys from "@subshift/http-server/admin/ApiKeys"

/** Keys of every kind a test needs, and the environment that admits them. */
export const adminKeys = () => {
  const ops = ApiKeys.generate("ops", ["subscriptions:write", "admin:read"])
  const reader = ApiKeys.generate("reader", ["admin:read"])
  const catalog = ApiKeys.generate("catalog-bot", ["catalog:write"])
  const expired = ApiKeys.generate("old", ["subscriptions:write", "admin:read"], "2020-01-01T00:00:00Z")
  const entries = [ops, reader, catalog, expired].map((k) => k.entry)
  return {
    ops: ops.key,
    reader: reader.key,
    catalog: catalog.key,
    expired: expired.key,
    idOf: (key: string) => ApiKeys.idOf(key)!,
    env: { SUBSHIFT_API_KEYS: entries.join(",") }
  }
}

/** The Authorization header of a key. */
export const key = (k: string) => ({ authorization: `Bearer ${k}` })

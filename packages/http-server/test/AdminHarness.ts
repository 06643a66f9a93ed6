/**
 * Operator keys for the end-to-end tests of `/api/admin`: a set of keys with different scopes,
 * one expired, configured through `SUBSHIFT_API_KEYS` exactly as an operator would.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import * as ApiKeys from "@subshift/http-server/admin/ApiKeys"
import { monthOf } from "@subshift/testing/Records"
import { start, type TestServer, tokens } from "./Harness.js"

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

/** A pending change moving a record to Standard at the next period start. */
export const pendingChange = (amendmentId: string) => ({
  amendmentId,
  effectiveDate: monthOf().end,
  actions: [{
    kind: "add",
    type: "offer",
    offerId: "ledger-standard",
    name: "Standard",
    rateId: "ledger-standard-usd-monthly",
    quantity: 1,
    unitPrice: { amount: 1999, currency: "USD" },
    timing: "NEXT_PERIOD_START",
    effectiveDate: monthOf().end,
    prorate: false
  }]
})

/**
 * A test server admitting `adminKeys()`, started before the file's tests and closed after them,
 * with the demo principals' tokens; read `server` and `t` inside tests.
 */
export const adminServer = () => {
  const state = { keys: adminKeys() } as {
    readonly keys: ReturnType<typeof adminKeys>
    server: TestServer
    t: Awaited<ReturnType<typeof tokens>>
  }
  beforeAll(async () => {
    state.server = await start({ env: state.keys.env })
    state.t = await tokens(state.server)
  })
  afterAll(() => state.server.close())
  return state
}

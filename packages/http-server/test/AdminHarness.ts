/**
 * Operator keys for the end-to-end tests of `/api/admin`: a set of keys with different scopes,
 * one expired, configured through `SUBSHIFT_API_KEYS` exactly as an operator would.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import * as ApiKeys from "@subshift/http-server/admin/ApiKeys"
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

const pad = (n: number) => String(n).padStart(2, "0")

/** The current monthly period anchored on the 1st, from the real clock. */
export const thisMonth = (now = new Date()) => {
  const y = now.getUTCFullYear()
  const m = now.getUTCMonth() + 1
  const next = m === 12 ? { y: y + 1, m: 1 } : { y, m: m + 1 }
  return { start: `${y}-${pad(m)}-01`, end: `${next.y}-${pad(next.m)}-01` }
}

/** A subscription record of the demo catalog: Basic, monthly in USD, with Crossword. */
export const subscriptionRecord = (id: string, overrides: Record<string, unknown> = {}) => ({
  id,
  name: `N${id.replace(/[^A-Za-z0-9]/g, "").toUpperCase()}`.slice(0, 30),
  owner: `cus-${id}`,
  status: "active",
  currency: "USD",
  interval: { count: 1, unit: "month" },
  anchorDay: 1,
  offer: { offerId: "ledger-basic", rateId: "ledger-basic-usd-monthly", quantity: 1, unitPrice: { amount: 999, currency: "USD" } },
  addOns: [{ offerId: "addon-crossword", rateId: "addon-crossword-usd-monthly", quantity: 1, unitPrice: { amount: 299, currency: "USD" } }],
  currentPeriod: thisMonth(),
  ...overrides
})

/** A pending change moving a record to Standard at the next period start. */
export const pendingChange = (amendmentId: string) => ({
  amendmentId,
  effectiveDate: thisMonth().end,
  actions: [{
    kind: "add",
    type: "offer",
    offerId: "ledger-standard",
    name: "Standard",
    rateId: "ledger-standard-usd-monthly",
    quantity: 1,
    unitPrice: { amount: 1999, currency: "USD" },
    timing: "NEXT_PERIOD_START",
    effectiveDate: thisMonth().end,
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

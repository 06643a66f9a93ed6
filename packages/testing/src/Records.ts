/**
 * Subscription records as an operator's system of record sends them (`PUT
 * /api/admin/subscriptions/{id}`, one line of an import), on the demo catalog.
 */

const pad = (n: number) => String(n).padStart(2, "0")

/** The monthly period anchored on the 1st that contains `now` (the real clock's day unless given). */
export const monthOf = (now = new Date()): { readonly start: string; readonly end: string } => {
  const y = now.getUTCFullYear()
  const m = now.getUTCMonth() + 1
  const next = m === 12 ? { y: y + 1, m: 1 } : { y, m: m + 1 }
  return { start: `${y}-${pad(m)}-01`, end: `${next.y}-${pad(next.m)}-01` }
}

/**
 * A subscription record of the demo catalog: Basic, monthly in USD, with Crossword, in the
 * current month; its name and owner derived from its id. `overrides` replace whole fields.
 */
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
  currentPeriod: monthOf(),
  ...overrides
})

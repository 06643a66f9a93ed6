/**
 * The mixed load of `npm run scale`, through HAProxy: customer checkouts (initiate, PUT, GET,
 * order with an Idempotency-Key), bill-group amends, the partner listing and the partner detail.
 * Every answer is recorded with its time and classified: 2xx, 4xx by status and code, and
 * everything else (5xx, HAProxy's own error pages, connections reset) kept apart for the report.
 */
import { amendSubscriptionId, billGroupId, subscriptionId } from "./data.js"

/** One answer the load got. */
export interface Answer {
  readonly at: number
  readonly op: string
  readonly status: number
  /** The error code of a Subshift error body, HAProxy's page, or the network error. */
  readonly kind: string
}

/** What a load run saw. */
export interface Outcome {
  readonly answers: Array<Answer>
  /** Amendment ids answered 200 (orders and amends), for the database check. */
  readonly amendments: Array<string>
  /**
   * Orders and amends sent once more with their key after a lost answer, and how the second try
   * ended: its status, and for a 200 whether it was the stored first answer replayed.
   */
  readonly retries: Array<string>
}

export const newOutcome = (): Outcome => ({ answers: [], amendments: [], retries: [] })

export interface LoadOptions {
  readonly base: string
  readonly customerToken: string
  readonly amendToken: string
  readonly subscriptions: number
  readonly billGroups: number
  readonly workers: number
  readonly until: () => boolean
}

const partner = { "x-partner-token": "dev-partner-telco-token" }
const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(Math.random() * xs.length)]!
const lostAnswer = (status: number) => status === 0 || status === 502 || status === 503 || status === 504

const errorKind = (status: number, text: string): string => {
  if (status < 400) return "ok"
  try {
    const body = JSON.parse(text) as { error?: { code?: string; errorCode?: string } }
    return body.error?.code ?? body.error?.errorCode ?? "json"
  } catch {
    // HAProxy answers with an HTML page of its own when no server answered.
    return text.includes("<html>") ? "haproxy" : "text"
  }
}

/** Runs the load until `until()` is true, recording into `outcome`. */
export const run = async (options: LoadOptions, outcome: Outcome) => {
  const customer = { authorization: `Bearer ${options.customerToken}`, "x-limio-recaptcha": "token" }
  const amender = { authorization: `Bearer ${options.amendToken}` }

  const call = async (op: string, method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const init: RequestInit = { method, headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) } }
    if (body !== undefined) init.body = JSON.stringify(body)
    let status = 0
    let text = ""
    let setCookie: string | null = null
    let replayed = false
    try {
      const response = await fetch(`${options.base}${path}`, { ...init, signal: AbortSignal.timeout(30_000) })
      status = response.status
      setCookie = response.headers.get("set-cookie")
      replayed = response.headers.get("idempotent-replayed") === "true"
      text = await response.text()
    } catch (error) {
      status = 0
      const cause = (error as { cause?: { code?: string; message?: string } }).cause
      text = cause?.code ?? cause?.message ?? (error as Error).message
    }
    outcome.answers.push({ at: Date.now(), op, status, kind: status === 0 ? `network:${text}` : errorKind(status, text) })
    const parsed = status === 200 ? JSON.parse(text) : undefined
    return { status, body: parsed, cookie: setCookie?.split(";")[0], replayed }
  }

  // An order or amend whose answer was lost is sent once more with its key: the store either
  // replays the first answer or runs it for the first time, never twice.
  const keyed = async (op: string, path: string, headers: Record<string, string>, body: unknown, ids: (b: any) => ReadonlyArray<string>) => {
    const key = globalThis.crypto.randomUUID()
    let answer = await call(op, "POST", path, { ...headers, "idempotency-key": key }, body)
    if (lostAnswer(answer.status)) {
      await new Promise((resolve) => setTimeout(resolve, 300))
      answer = await call(`${op} (retry)`, "POST", path, { ...headers, "idempotency-key": key }, body)
      outcome.retries.push(`${op}: ${answer.status}${answer.status === 200 ? (answer.replayed ? " replayed" : " first run") : ""}`)
    }
    if (answer.status === 200) outcome.amendments.push(...ids(answer.body))
  }

  const checkout = async () => {
    const id = subscriptionId(Math.floor(Math.random() * options.subscriptions))
    const opened = await call("initiate", "POST", "/api/checkout/subscription", customer, {
      order: { order_type: "update_subscription", forSubscription: { id } }
    })
    if (opened.status !== 200 || opened.cookie === undefined) return
    const headers = { ...customer, cookie: opened.cookie }
    const item = pick([
      { orderItemActionType: "add", type: "offer", offer: { id: "ledger-premium" } },
      { orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } },
      { orderItemActionType: "add", type: "offer", offer: { id: "ledger-basic" } },
      { orderItemActionType: "add", type: "add_on", offer: { id: "addon-crossword" } }
    ])
    const put = await call("put", "PUT", "/api/checkout/subscription", headers, { order: { orderItems: [item] } })
    if (put.status !== 200) return
    await call("get", "GET", "/api/checkout/subscription", headers)
    await keyed("order", "/api/order", { ...headers, "if-match": `"${put.body.version}"` }, {}, (b) => [b.id])
  }

  const amend = () => {
    const i = Math.floor(Math.random() * options.billGroups)
    return keyed("amend", "/api/selfService/checkout/amend", amender, {
      billGroupId: billGroupId(i),
      subscriptionUpdates: [{
        subscriptionId: amendSubscriptionId(i),
        timing: "TODAY",
        items: [{ productId: "addon-crossword", quantity: 1 + Math.floor(Math.random() * 5) }]
      }]
    }, (b) => [...b.subscriptionUpdates, ...b.subscriptionCreations, ...b.subscriptionRemovals].map((s: { amendmentId: string }) => s.amendmentId))
  }

  const listing = () => call("partner listing", "GET", `/api/partner/mma/subscriptions?limit=20&ownerId=cus-load`, partner)
  const detail = () =>
    call("partner detail", "GET", `/api/partner/mma/subscriptions/${subscriptionId(Math.floor(Math.random() * options.subscriptions))}`, partner)

  const operations: ReadonlyArray<readonly [number, () => Promise<unknown>]> = [[50, checkout], [15, amend], [20, listing], [15, detail]]
  const total = operations.reduce((a, [w]) => a + w, 0)
  const worker = async () => {
    while (!options.until()) {
      let roll = Math.random() * total
      const [, operation] = operations.find(([w]) => (roll -= w) < 0) ?? operations[0]!
      await operation()
    }
  }
  await Promise.all(Array.from({ length: options.workers }, worker))
}

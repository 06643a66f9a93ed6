/**
 * What the sections share to drive `/api/checkout/subscription` over HTTP: a caller's token, the
 * PUT body, a basket opened for the caller, and autocannon runs reduced to the figures reported.
 */
import { createRequire } from "node:module"
import * as Jose from "jose"
import { DEV_AUDIENCE, DEV_ISSUER, DEV_JWT_SECRET } from "@subshift/http-server/Config"

/** What the sections read of autocannon (which ships no types). */
export interface LoadOptions {
  readonly url: string
  readonly method: "GET" | "PUT"
  readonly headers: Record<string, string>
  readonly body?: string
  readonly connections?: number
  readonly duration?: number
  /** Called with each connection as it is made, to give it headers of its own. */
  readonly setupClient?: (client: { setHeaders: (headers: Record<string, string>) => void }) => void
}
interface LoadResult {
  readonly requests: { readonly average: number }
  readonly latency: { readonly p50: number; readonly p99: number }
  readonly throughput: { readonly average: number }
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
}
const autocannon = createRequire(import.meta.url)("autocannon") as (options: LoadOptions) => Promise<LoadResult>

/** One load run: requests/s, latency percentiles in ms, and the requests that failed or were not 2xx. */
export interface Measured {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly errors: number
}

/** Runs `connections` connections against `options` for `duration` seconds. */
export const load = async (options: LoadOptions, connections: number, duration: number): Promise<Measured> => {
  const result = await autocannon({ ...options, connections, duration })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts
  }
}

/** A checkout token of the demo customer `cus-alice`, signed with the development secret. */
export const token = (): Promise<string> =>
  new Jose.SignJWT({ scope: "checkout" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("cus-alice")
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(DEV_JWT_SECRET))

/** The body every measured PUT sends. */
export const putBody = JSON.stringify({
  order: {
    orderItems: [
      { orderItemActionType: "add", type: "offer", offer: { id: "ledger-standard" } },
      { orderItemActionType: "add", type: "add_on", offer: { id: "addon-archive" } }
    ]
  }
})

/** Opens a basket on `sub-alice` at `url` (the checkout route) and answers its cookie. */
export const openBasket = async (url: string, bearer: string): Promise<string> => {
  const opened = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    body: JSON.stringify({ order: { order_type: "update_subscription", forSubscription: { id: "sub-alice" } } })
  })
  if (!opened.ok) throw new Error(`initiate answered ${opened.status}`)
  return opened.headers.get("set-cookie")!.split(";")[0]!
}

/**
 * The load options of `method` on the checkout route at `url`, each connection on a basket of its
 * own from `cookies` (round robin): concurrent PUTs on one basket without `If-Match` race, and on
 * a store that serves them concurrently all but one answer 409.
 */
export const checkoutLoad = (url: string, method: "PUT" | "GET", bearer: string, cookies: ReadonlyArray<string>): LoadOptions => {
  const headers = { authorization: `Bearer ${bearer}`, "content-type": "application/json" }
  let next = 0
  return {
    url,
    method,
    headers: { ...headers, cookie: cookies[0]! },
    setupClient: (client) => client.setHeaders({ ...headers, cookie: cookies[next++ % cookies.length]! }),
    ...(method === "PUT" ? { body: putBody } : {})
  }
}

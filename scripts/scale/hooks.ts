/**
 * The webhook side of `npm run scale`: a receiver that verifies every delivery with the
 * `standardwebhooks` package, an endpoint registered through the admin API before the load, and
 * the check after it that every outbox event of the subscribed types written during the run
 * reached the receiver. A delivery repeated after a kill is counted as a duplicate; the receiver
 * dedupes it by `webhook-id`, so a duplicate is harmless as long as it carries the same id.
 */
import * as ApiKeys from "@subshift/http-server/admin/ApiKeys"
import { timingSafeEqual } from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import pg from "pg"
import { Webhook } from "standardwebhooks"

/** The event types the endpoint subscribes to: what a mixed load of orders, amends and clock moves writes. */
export const EVENT_TYPES = ["amendment.committed", "subscription.changed"] as const

/** The operator key the servers admit, made for this run only. */
export const operatorKey = () => ApiKeys.generate("scale", ["webhooks:write", "admin:read"])

/** What the receiver saw. */
export interface Receipts {
  /** Deliveries per `webhook-id`. */
  readonly copies: Map<string, number>
  /** Deliveries whose signature did not verify (answered 400). */
  invalid: number
  /** First receipts of a subscription's event with a lower sequence than one already received. */
  outOfOrder: number
}

export interface Receiver {
  readonly url: string
  readonly receipts: Receipts
  setSecret(secret: string): void
  close(): Promise<void>
}

const TOLERANCE_SECONDS = 5 * 60

/**
 * Verifies a delivery as `Webhook.verify` of `standardwebhooks` does, with one difference: the
 * servers run on their test clocks, which the harness moves days ahead, and they sign with the
 * time of those clocks. So the timestamp is checked against `now` plus the servers' offset (5
 * minutes either side of any time between the two), and the signature with the package's own
 * `sign` over the same id, timestamp and body.
 */
const verifyAhead = (webhook: Webhook, body: string, headers: Http.IncomingHttpHeaders, offsetSeconds: number): unknown => {
  const id = headers["webhook-id"]
  const stamp = Number(headers["webhook-timestamp"])
  const signatures = String(headers["webhook-signature"] ?? "").split(" ")
  if (typeof id !== "string" || !Number.isInteger(stamp)) throw new Error("missing webhook headers")
  const now = Math.floor(Date.now() / 1000)
  if (stamp < now - TOLERANCE_SECONDS || stamp > now + offsetSeconds + TOLERANCE_SECONDS) throw new Error("timestamp out of range")
  const expected = Buffer.from(webhook.sign(id, new Date(stamp * 1000), body))
  if (!signatures.some((s) => s.length === expected.length && timingSafeEqual(Buffer.from(s), expected))) throw new Error("no valid signature")
  return JSON.parse(body)
}

/**
 * A receiver on a loopback port, answering 204 to every verified delivery; `offsetSeconds` is how
 * far the servers' test clocks are ahead of this machine's.
 */
export const startReceiver = async (offsetSeconds: () => number): Promise<Receiver> => {
  let webhook: Webhook | undefined
  const receipts: Receipts = { copies: new Map(), invalid: 0, outOfOrder: 0 }
  const lastSequence = new Map<string, number>()
  const server = Http.createServer(async (req, res) => {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    let body: { readonly sequence: number; readonly data: { readonly subscriptionId?: string } }
    try {
      if (webhook === undefined) throw new Error("no secret yet")
      body = verifyAhead(webhook, Buffer.concat(chunks).toString("utf8"), req.headers, offsetSeconds()) as typeof body
    } catch {
      receipts.invalid++
      return res.writeHead(400).end()
    }
    const id = String(req.headers["webhook-id"])
    const copies = receipts.copies.get(id) ?? 0
    receipts.copies.set(id, copies + 1)
    const subscription = body.data.subscriptionId
    if (copies === 0 && subscription !== undefined) {
      if (body.sequence < (lastSequence.get(subscription) ?? 0)) receipts.outOfOrder++
      else lastSequence.set(subscription, body.sequence)
    }
    res.writeHead(204).end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    receipts,
    setSecret: (secret) => void (webhook = new Webhook(secret)),
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}

/** Registers the receiver through a server's admin API; answers the endpoint's signing secret. */
export const register = async (base: string, key: string, url: string): Promise<string> => {
  const res = await fetch(`${base}/api/admin/webhooks`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}`, "x-subshift-reason": "npm run scale" },
    body: JSON.stringify({ url, eventTypes: EVENT_TYPES, description: "npm run scale receiver" })
  })
  if (res.status !== 201) throw new Error(`registering the webhook endpoint: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { secret: string }).secret
}

/** The outbox position before the load: only events written after it are expected. */
export const outboxPosition = async (primaryUrl: string): Promise<string> => {
  const client = new pg.Client({ connectionString: primaryUrl })
  await client.connect()
  try {
    return (await client.query<{ last: string }>("SELECT coalesce(max(sequence), 0)::text AS last FROM subshift_events")).rows[0]!.last
  } finally {
    await client.end()
  }
}

/** The verdict on the webhook deliveries of the run. */
export interface Verdict {
  readonly expected: number
  readonly lost: ReadonlyArray<string>
  readonly duplicates: number
  readonly invalid: number
  readonly outOfOrder: number
}

/**
 * Waits up to `waitMs` for every event of the subscribed types written after `after` to reach the
 * receiver, then answers what is still missing.
 */
export const verify = async (primaryUrl: string, after: string, receipts: Receipts, waitMs: number): Promise<Verdict> => {
  const client = new pg.Client({ connectionString: primaryUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ id: string }>(
      "SELECT id FROM subshift_events WHERE sequence > $1 AND data->>'type' = ANY($2::text[]) ORDER BY sequence",
      [after, EVENT_TYPES]
    )
    const deadline = Date.now() + waitMs
    let lost = rows.map((r) => r.id).filter((id) => !receipts.copies.has(id))
    while (lost.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      lost = lost.filter((id) => !receipts.copies.has(id))
    }
    let duplicates = 0
    for (const count of receipts.copies.values()) duplicates += count - 1
    return { expected: rows.length, lost, duplicates, invalid: receipts.invalid, outOfOrder: receipts.outOfOrder }
  } finally {
    await client.end()
  }
}

/**
 * In-memory webhook endpoint and delivery stores, over one state so that enqueueing sees the
 * endpoints as they are. Every operation is one synchronous step, so claims by concurrent fibers
 * never overlap.
 */
import * as Event from "@subshift/core/domain/Event"
import type { Instant } from "@subshift/core/domain/Instant"
import * as Webhook from "@subshift/core/domain/Webhook"
import { type ClaimedDelivery, WebhookDeliveries, WebhookEndpoints } from "@subshift/core/ports/Webhooks"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

interface Row {
  delivery: Webhook.Delivery
  readonly payload: Webhook.Payload
  leaseOwner?: string | undefined
  leaseUntil?: Instant | undefined
}

interface State {
  readonly endpoints: Map<string, Webhook.Endpoint>
  readonly rows: Map<string, Row>
  readonly sequences: Map<string, number>
  /** The pending rows of each (endpoint, order key), in sequence order: a claim looks at their heads only. */
  readonly pending: Map<string, Array<Row>>
  cursor: number
  nextId: number
}

const plus = (at: Instant, duration: Duration.Duration) =>
  new Date(Date.parse(at) + Duration.toMillis(duration)).toISOString() as Instant

const enabled = (endpoint: Webhook.Endpoint | undefined): endpoint is Webhook.Endpoint =>
  endpoint !== undefined && endpoint.disabledAt === undefined

/** The outbox of the store the webhook stores belong to. */
export interface Outbox {
  /** Appends events (a disabled endpoint's), in the same step as the change. */
  readonly append: (events: ReadonlyArray<Event.Event>) => void
  /** The events after a position, in order: at most `limit`. */
  readonly after: (position: number, limit: number) => ReadonlyArray<Event.StoredEvent>
}

/** Both webhook stores over one fresh state, fanning out the events of `outbox`. */
export const make = (outbox: Outbox) => Effect.sync(() => {
  const state: State = { endpoints: new Map(), rows: new Map(), sequences: new Map(), pending: new Map(), cursor: 0, nextId: 0 }

  const insert = (endpointId: string, event: Webhook.OutboundEvent, sequence: number, now: Instant): Row => {
    const id = `dlv_${(++state.nextId).toString().padStart(12, "0")}`
    const row: Row = {
      delivery: {
        id, endpointId, eventId: event.id, eventType: event.type, orderKey: event.orderKey, sequence,
        status: "pending", attempts: 0, nextAttemptAt: now, createdAt: now, log: []
      },
      payload: { type: event.type, id: event.id, timestamp: event.timestamp, sequence, data: event.data }
    }
    state.rows.set(id, row)
    markPending(row)
    return row
  }
  const queueKey = (delivery: Webhook.Delivery) => `${delivery.endpointId}\u0000${delivery.orderKey}`
  const markPending = (row: Row) => {
    const key = queueKey(row.delivery)
    const queue = state.pending.get(key) ?? []
    if (queue.includes(row)) return
    const at = queue.findIndex((other) => other.delivery.sequence > row.delivery.sequence)
    if (at === -1) queue.push(row)
    else queue.splice(at, 0, row)
    state.pending.set(key, queue)
  }
  const settled = (row: Row) => {
    const key = queueKey(row.delivery)
    const queue = state.pending.get(key) ?? []
    const at = queue.indexOf(row)
    if (at !== -1) queue.splice(at, 1)
    if (queue.length === 0) state.pending.delete(key)
  }
  const nextSequence = (orderKey: string) => {
    const next = (state.sequences.get(orderKey) ?? 0) + 1
    state.sequences.set(orderKey, next)
    return next
  }

  const endpoints = WebhookEndpoints.of({
    create: (endpoint) => Effect.sync(() => void state.endpoints.set(endpoint.id, endpoint)),
    get: (id) => Effect.sync(() => Option.fromNullable(state.endpoints.get(id))),
    list: ({ after, limit }) =>
      Effect.sync(() =>
        [...state.endpoints.values()].filter((e) => after === undefined || e.id > after).sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, Math.max(0, limit))),
    update: (id, patch, now) =>
      Effect.sync(() => {
        const existing = state.endpoints.get(id)
        if (existing === undefined) return Option.none()
        const updated = Webhook.patched(existing, patch, now)
        state.endpoints.set(id, updated)
        return Option.some(updated)
      }),
    setSecrets: (id, secrets) =>
      Effect.sync(() => {
        const existing = state.endpoints.get(id)
        if (existing === undefined) return Option.none()
        const updated = { ...existing, secrets }
        state.endpoints.set(id, updated)
        return Option.some(updated)
      }),
    remove: (id) =>
      Effect.sync(() => {
        for (const [key, row] of state.rows) {
          if (row.delivery.endpointId !== id) continue
          state.rows.delete(key)
          settled(row)
        }
        return state.endpoints.delete(id)
      }),
    disable: (id, reason, now) =>
      Effect.sync(() => {
        const existing = state.endpoints.get(id)
        if (!enabled(existing)) return
        state.endpoints.set(id, { ...existing, disabledAt: now, disabledReason: reason })
        outbox.append([Event.endpointDisabled({ endpointId: id, reason, occurredAt: now })])
      })
  })

  const lease = (owner: string, until: Instant) => (row: Row): ClaimedDelivery => {
    row.leaseOwner = owner
    row.leaseUntil = until
    return { delivery: row.delivery, payload: row.payload, endpoint: state.endpoints.get(row.delivery.endpointId)! }
  }

  // The first pending delivery of each (endpoint, order key): the only one of them that may be claimed.
  const heads = function*() {
    for (const queue of state.pending.values()) yield queue[0]!
  }

  const deliveries = WebhookDeliveries.of({
    cursor: Effect.sync(() => state.cursor),
    fanOut: ({ claim, limit, now }) =>
      Effect.sync(() => {
        const page = outbox.after(state.cursor, Math.max(0, limit))
        if (page.length === 0) return { passed: 0, claimed: [] }
        const open = [...state.endpoints.values()].filter(enabled)
        // The keys that had pending deliveries before this page: theirs wait behind them.
        const waiting = new Set(state.pending.keys())
        const runs = new Map<string, Array<Row>>()
        for (const stored of page) {
          const sequence = nextSequence(Webhook.orderKeyOf(stored))
          const wanting = open.filter((endpoint) => Webhook.subscribes(endpoint, stored.type))
          if (wanting.length === 0) continue
          const event = Webhook.outbound(stored)
          for (const endpoint of wanting) {
            const row = insert(endpoint.id, event, sequence, now)
            const key = queueKey(row.delivery)
            if (claim === undefined || waiting.has(key)) continue
            let run = runs.get(key)
            if (run === undefined && runs.size < claim.limit) runs.set(key, (run = []))
            if (run !== undefined && run.length < (claim.perKey ?? 1)) run.push(row)
          }
        }
        state.cursor = page[page.length - 1]!.sequence
        return { passed: page.length, claimed: claim === undefined ? [] : [...runs.values()].flat().map(lease(claim.owner, plus(now, claim.leaseFor))) }
      }),
    enqueueFor: (endpointId, event, now) =>
      Effect.sync(() => (state.endpoints.has(endpointId) ? Option.some(insert(endpointId, event, nextSequence(event.orderKey), now).delivery.id) : Option.none())),
    claim: ({ leaseFor, limit, now, owner, perKey = 1 }) =>
      Effect.sync(() => {
        const free = (row: Row) => (row.delivery.nextAttemptAt ?? now) <= now && (row.leaseUntil === undefined || row.leaseUntil <= now)
        const due = [...heads()].filter((row) => free(row) && enabled(state.endpoints.get(row.delivery.endpointId)))
          .sort((a, b) => {
            const [x, y] = [a.delivery.nextAttemptAt ?? "", b.delivery.nextAttemptAt ?? ""]
            return x !== y ? (x < y ? -1 : 1) : a.delivery.id < b.delivery.id ? -1 : 1
          })
        return due.slice(0, Math.max(0, limit)).flatMap((head) => {
          const queue = state.pending.get(queueKey(head.delivery))!
          const run = [head]
          for (let i = 1; i < queue.length && run.length < perKey && free(queue[i]!); i++) run.push(queue[i]!)
          return run.map(lease(owner, plus(now, leaseFor)))
        })
      }),
    record: (results, now, released = []) =>
      Effect.sync(() => {
        for (const { deliveryId, owner } of released) {
          const row = state.rows.get(deliveryId)
          if (row === undefined || row.leaseOwner !== owner) continue
          row.leaseOwner = undefined
          row.leaseUntil = undefined
        }
        for (const result of results) {
          const row = state.rows.get(result.deliveryId)
          if (row === undefined) continue
          const { nextAttemptAt: _next, ...delivery } = row.delivery
          const current = row.leaseOwner === result.owner
          row.delivery = {
            ...(current ? delivery : row.delivery),
            attempts: row.delivery.attempts + 1,
            log: [...row.delivery.log, result.attempt],
            ...(current ? { status: result.status } : {}),
            ...(current && result.nextAttemptAt !== undefined ? { nextAttemptAt: result.nextAttemptAt } : {})
          }
          if (current) {
            row.leaseOwner = undefined
            row.leaseUntil = undefined
            if (result.status !== "pending") settled(row)
          }
          const endpoint = state.endpoints.get(row.delivery.endpointId)
          // A good answer to an endpoint with no failing streak leaves it as it is.
          if (endpoint !== undefined && !(result.endpointOk && endpoint.failingSince === undefined)) {
            state.endpoints.set(endpoint.id, Webhook.afterAttempt(endpoint, result.endpointOk, now))
          }
        }
        const failing = new Map<string, Instant>()
        for (const result of results) {
          const since = state.endpoints.get(result.endpointId)?.failingSince
          if (since !== undefined) failing.set(result.endpointId, since)
        }
        return failing
      }),
    get: (id) => Effect.sync(() => Option.map(Option.fromNullable(state.rows.get(id)), (row) => row.delivery)),
    list: ({ after, endpointId, limit, status }) =>
      Effect.sync(() =>
        [...state.rows.values()].map((row) => row.delivery)
          .filter((d) => d.endpointId === endpointId && (status === undefined || d.status === status) && (after === undefined || d.id < after))
          .sort((a, b) => (a.id < b.id ? 1 : -1))
          .slice(0, Math.max(0, limit))),
    retry: (id, now) =>
      Effect.sync(() => {
        const row = state.rows.get(id)
        if (row === undefined) return Option.none()
        row.delivery = { ...row.delivery, status: "pending", nextAttemptAt: now }
        markPending(row)
        return Option.some(row.delivery)
      })
  })

  return Context.make(WebhookEndpoints, endpoints).pipe(Context.add(WebhookDeliveries, deliveries))
})

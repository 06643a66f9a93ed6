/**
 * In-memory adapters for every repository port of the core, over one shared state so that a
 * commit (amendments, subscriptions and basket) is atomic. Every operation is a single
 * synchronous step, so concurrent fibers always see a consistent state and version checks cannot
 * race. Stored values are treated as immutable: the core never mutates what it reads.
 */
import { Amendments } from "@subshift/core/ports/Amendments"
import { AuditLog } from "@subshift/core/ports/AuditLog"
import type { StoredAuditEntry } from "@subshift/core/domain/Operator"
import type { Amendment } from "@subshift/core/domain/Amendment"
import type { Basket } from "@subshift/core/domain/Basket"
import { Baskets } from "@subshift/core/ports/Baskets"
import type { BillGroup } from "@subshift/core/domain/BillGroup"
import { BillGroups } from "@subshift/core/ports/BillGroups"
import * as Catalog from "@subshift/core/ports/Catalog"
import { CatalogVersions } from "@subshift/core/ports/CatalogVersions"
import { type InvalidInput, VersionConflict } from "@subshift/core/domain/Errors"
import * as Event from "@subshift/core/domain/Event"
import { Events } from "@subshift/core/ports/Events"
import * as Idempotency from "@subshift/core/ports/Idempotency"
import type { Offer } from "@subshift/core/domain/Offer"
import * as Subscription from "@subshift/core/domain/Subscription"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as MemoryCatalog from "./MemoryCatalog.js"
import type { WebhookStore } from "@subshift/core/ports/Webhooks"
import * as MemoryWebhooks from "./MemoryWebhooks.js"

/** What a fresh store starts with. */
export interface Seed {
  readonly offers?: ReadonlyArray<Offer> | undefined
  readonly subscriptions?: ReadonlyArray<Subscription.Subscription> | undefined
  readonly billGroups?: ReadonlyArray<BillGroup> | undefined
}

interface State {
  readonly catalog: MemoryCatalog.CatalogState
  readonly subscriptions: Map<string, Subscription.Subscription>
  readonly subscriptionsByName: Map<string, string>
  readonly baskets: Map<string, Basket>
  readonly amendments: Map<string, Amendment>
  readonly amendmentsBySubscription: Map<string, Array<string>>
  readonly billGroups: Map<string, BillGroup>
  readonly events: Array<Event.StoredEvent>
  readonly idempotency: Map<string, IdempotencyRecord>
  readonly audit: Array<StoredAuditEntry>
}

interface IdempotencyRecord {
  readonly requestHash: string
  readonly startedAt: string
  readonly expiresAt: string
  readonly result?: Idempotency.StoredResult | undefined
}

const appendEvents = (state: State, events: ReadonlyArray<Event.Event>) => {
  for (const event of events) state.events.push({ ...event, sequence: state.events.length + 1 })
}

const idempotencyKey = (key: Idempotency.Key) => JSON.stringify([key.scope, key.owner, key.key])

const putSubscription = (state: State, subscription: Subscription.Subscription) => {
  const previous = state.subscriptions.get(subscription.id)
  if (previous !== undefined && previous.name !== subscription.name) state.subscriptionsByName.delete(previous.name)
  state.subscriptions.set(subscription.id, subscription)
  state.subscriptionsByName.set(subscription.name, subscription.id)
}

/** Every seeded subscription checked against the seeded catalog (the offers it holds), before anything is kept. */
const checkSeed = (seed: Seed): Effect.Effect<void, InvalidInput> =>
  Effect.forEach(seed.subscriptions ?? [], (s) => Subscription.check(s, seed.offers ?? [], { onlyKnownOffers: true }), { discard: true })

const byId = (a: { readonly id: string }, b: { readonly id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** Builds the repository ports over a fresh state, and its outbox, which the webhook stores append to and fan out. */
const repositories = (seed: Seed): Effect.Effect<{
  readonly context: Context.Context<StorePorts>
  readonly outbox: MemoryWebhooks.Outbox
}, InvalidInput> =>
  Effect.map(checkSeed(seed), () => {
    const state: State = {
      catalog: MemoryCatalog.makeState(seed.offers ?? []),
      subscriptions: new Map(),
      subscriptionsByName: new Map(),
      baskets: new Map(),
      amendments: new Map(),
      amendmentsBySubscription: new Map(),
      billGroups: new Map(),
      events: [],
      idempotency: new Map(),
      audit: []
    }
    for (const s of seed.subscriptions ?? []) putSubscription(state, s)
    for (const g of seed.billGroups ?? []) state.billGroups.set(g.id, g)

    const append = (events: ReadonlyArray<Event.Event>) => appendEvents(state, events)
    const { catalog, versions } = MemoryCatalog.ports(state.catalog, append)

    const conflict = (entity: VersionConflict["entity"], id: string, expected: number | undefined, actual?: number) =>
      new VersionConflict({ entity, id, expected: expected ?? 0, ...(actual === undefined ? {} : { actual }) })

    const subscriptions = Subscriptions.of({
      findById: (id) => Effect.sync(() => Option.fromNullable(state.subscriptions.get(id))),
      findByName: (name) =>
        Effect.sync(() => {
          const id = state.subscriptionsByName.get(name)
          return Option.fromNullable(id === undefined ? undefined : state.subscriptions.get(id))
        }),
      findMany: ({ ids, names }) =>
        Effect.sync(() => {
          const found = new Map<string, Subscription.Subscription>()
          for (const id of [...ids, ...names.map((name) => state.subscriptionsByName.get(name))]) {
            const subscription = id === undefined ? undefined : state.subscriptions.get(id)
            if (subscription !== undefined) found.set(subscription.id, subscription)
          }
          return Array.from(found.values())
        }),
      listByOwner: (owner) =>
        Effect.sync(() => Array.from(state.subscriptions.values()).filter((s) => s.owner === owner).sort(byId)),
      listByPartner: ({ after, limit, ownerId, partnerOrg }) =>
        Effect.sync(() =>
          Array.from(state.subscriptions.values())
            .filter((s) =>
              s.partnerOrg === partnerOrg && (ownerId === undefined || s.owner === ownerId) &&
              (after === undefined || s.id > after)
            )
            .sort(byId)
            .slice(0, Math.max(0, limit))
        ),
      listByBillGroup: (billGroupId) =>
        Effect.sync(() => Array.from(state.subscriptions.values()).filter((s) => s.billGroupId === billGroupId).sort(byId)),
      listPage: ({ after, limit }) =>
        Effect.sync(() =>
          Array.from(state.subscriptions.values())
            .filter((s) => after === undefined || s.id > after)
            .sort(byId)
            .slice(0, Math.max(0, limit))
        ),
      listDue: (today, limit) =>
        Effect.sync(() =>
          Array.from(state.subscriptions.values())
            .filter((s) =>
              (s.pendingChange !== undefined && s.pendingChange.effectiveDate <= today) ||
              (s.status === "pending" && s.currentPeriod.start <= today)
            )
            .sort(byId)
            .slice(0, Math.max(0, limit))
        ),
      listPending: ({ after, dueBefore, limit }) =>
        Effect.sync(() =>
          Array.from(state.subscriptions.values())
            .filter((s) =>
              s.pendingChange !== undefined && (dueBefore === undefined || s.pendingChange.effectiveDate < dueBefore) &&
              (after === undefined || s.id > after)
            )
            .sort(byId)
            .slice(0, Math.max(0, limit))
        ),
      put: (subscription) =>
        Effect.map(
          Subscription.check(subscription, MemoryCatalog.latestView(state.catalog).byId.values(), { onlyKnownOffers: true }),
          (checked) => putSubscription(state, checked)
        ),
      save: (subscription, expectedVersion, events = []) =>
        Effect.suspend(() => {
          const stored = state.subscriptions.get(subscription.id)
          if (stored === undefined || stored.version !== expectedVersion) {
            return Effect.fail(conflict("subscription", subscription.id, expectedVersion, stored?.version))
          }
          putSubscription(state, subscription)
          appendEvents(state, events)
          return Effect.void
        }),
      commit: (commit) =>
        Effect.suspend(() => {
          // Check everything first: a commit writes all of itself or nothing.
          for (const { expectedVersion, next } of commit.subscriptions) {
            const stored = state.subscriptions.get(next.id)
            if (expectedVersion === undefined ? stored !== undefined : stored?.version !== expectedVersion) {
              return Effect.fail(conflict("subscription", next.id, expectedVersion, stored?.version))
            }
            if (expectedVersion === undefined && state.subscriptionsByName.has(next.name)) {
              return Effect.fail(conflict("subscription", next.id, expectedVersion))
            }
          }
          if (commit.basket !== undefined) {
            const stored = state.baskets.get(commit.basket.next.id)
            if (stored?.version !== commit.basket.expectedVersion) {
              return Effect.fail(conflict("basket", commit.basket.next.id, commit.basket.expectedVersion, stored?.version))
            }
          }
          for (const amendment of commit.amendments) {
            if (state.amendments.has(amendment.id)) return Effect.die(new Error(`amendment ${amendment.id} already exists`))
          }
          for (const { next } of commit.subscriptions) putSubscription(state, next)
          if (commit.basket !== undefined) state.baskets.set(commit.basket.next.id, commit.basket.next)
          for (const amendment of commit.amendments) {
            state.amendments.set(amendment.id, amendment)
            const list = state.amendmentsBySubscription.get(amendment.subscriptionId)
            if (list === undefined) state.amendmentsBySubscription.set(amendment.subscriptionId, [amendment.id])
            else list.push(amendment.id)
          }
          appendEvents(state, commit.events)
          return Effect.void
        })
    })

    const baskets = Baskets.of({
      create: (basket) =>
        Effect.suspend(() => {
          if (state.baskets.has(basket.id)) return Effect.fail(conflict("basket", basket.id, 0))
          state.baskets.set(basket.id, basket)
          return Effect.void
        }),
      findById: (id) => Effect.sync(() => Option.fromNullable(state.baskets.get(id))),
      findWithSubscription: (id) =>
        Effect.sync(() =>
          Option.map(Option.fromNullable(state.baskets.get(id)), (basket) => ({
            basket,
            subscription: Option.fromNullable(state.subscriptions.get(basket.subscriptionId))
          }))
        ),
      save: (basket, expectedVersion) =>
        Effect.suspend(() => {
          const stored = state.baskets.get(basket.id)
          if (stored === undefined || stored.version !== expectedVersion) {
            return Effect.fail(conflict("basket", basket.id, expectedVersion, stored?.version))
          }
          state.baskets.set(basket.id, basket)
          return Effect.void
        }),
      deleteExpired: (now) =>
        Effect.sync(() => {
          let deleted = 0
          for (const [id, basket] of state.baskets) {
            if (basket.expiresAt <= now) {
              state.baskets.delete(id)
              appendEvents(state, [Event.basketExpired(basket, state.subscriptions.get(basket.subscriptionId), now)])
              deleted++
            }
          }
          return deleted
        })
    })

    const billGroups = BillGroups.of({
      findById: (id) => Effect.sync(() => Option.fromNullable(state.billGroups.get(id))),
      put: (billGroup) => Effect.sync(() => void state.billGroups.set(billGroup.id, billGroup)),
      write: (billGroup, expectedVersion) =>
        Effect.suspend(() => {
          const stored = state.billGroups.get(billGroup.id)
          if (expectedVersion === undefined ? stored !== undefined : stored?.version !== expectedVersion) {
            return Effect.fail(conflict("bill_group", billGroup.id, expectedVersion, stored?.version))
          }
          state.billGroups.set(billGroup.id, billGroup)
          return Effect.void
        })
    })

    const amendments = Amendments.of({
      findById: (id) => Effect.sync(() => Option.fromNullable(state.amendments.get(id))),
      listBySubscription: (subscriptionId) =>
        Effect.sync(() => (state.amendmentsBySubscription.get(subscriptionId) ?? []).map((id) => state.amendments.get(id)!))
    })

    const events = Events.of({
      list: ({ after, limit, partnerOrg, subscriptionId }) =>
        Effect.sync(() => {
          const page: Array<Event.StoredEvent> = []
          // Sequences are positions in the array, so the page starts right after the cursor.
          for (let i = Math.max(0, after ?? 0); i < state.events.length && page.length < limit; i++) {
            const event = state.events[i]!
            if (partnerOrg !== undefined && event.partnerOrg !== partnerOrg) continue
            if (subscriptionId !== undefined && event.subscriptionId !== subscriptionId) continue
            page.push(event)
          }
          return page
        })
    })

    const idempotency = Idempotency.Idempotency.of({
      claim: (key, request) =>
        Effect.sync((): Idempotency.Claim => {
          const id = idempotencyKey(key)
          const record = state.idempotency.get(id)
          const takeOver = record === undefined || record.expiresAt <= request.now ||
            (record.result === undefined && record.startedAt < request.staleBefore)
          if (takeOver) {
            state.idempotency.set(id, { requestHash: request.requestHash, startedAt: request.now, expiresAt: request.expiresAt })
            return { _tag: "Claimed" }
          }
          if (record.requestHash !== request.requestHash) return { _tag: "Mismatch" }
          return record.result === undefined ? { _tag: "Running" } : { _tag: "Replay", result: record.result }
        }),
      complete: (key, result) =>
        Effect.sync(() => {
          const id = idempotencyKey(key)
          const record = state.idempotency.get(id)
          if (record !== undefined) state.idempotency.set(id, { ...record, result })
        }),
      release: (key) =>
        Effect.sync(() => {
          const id = idempotencyKey(key)
          if (state.idempotency.get(id)?.result === undefined) state.idempotency.delete(id)
        }),
      sweep: (now) =>
        Effect.sync(() => {
          let deleted = 0
          for (const [id, record] of state.idempotency) {
            if (record.expiresAt <= now) {
              state.idempotency.delete(id)
              deleted++
            }
          }
          return deleted
        })
    })

    const audit = AuditLog.of({
      record: (entry) => Effect.sync(() => void state.audit.push({ ...entry, sequence: state.audit.length + 1 })),
      list: ({ after, limit }) => Effect.sync(() => state.audit.slice(Math.max(0, after ?? 0), Math.max(0, after ?? 0) + Math.max(0, limit)))
    })

    const context = Context.make(Catalog.Catalog, catalog).pipe(
      Context.add(CatalogVersions, versions),
      Context.add(Subscriptions, subscriptions),
      Context.add(Baskets, baskets),
      Context.add(BillGroups, billGroups),
      Context.add(Amendments, amendments),
      Context.add(Events, events),
      Context.add(Idempotency.Idempotency, idempotency),
      Context.add(AuditLog, audit)
    )
    // Sequences are positions in the array, so a page starts right after the position.
    const after = (position: number, limit: number) => state.events.slice(Math.max(0, position), Math.max(0, position) + limit)
    return { context, outbox: { append, after } }
  })

/** Builds the repository ports and the webhook stores over a fresh state. */
export const make = (seed: Seed = {}): Effect.Effect<Context.Context<StorePorts | WebhookStore>, InvalidInput> =>
  Effect.flatMap(repositories(seed), ({ context, outbox }) => Effect.map(MemoryWebhooks.make(outbox), (webhooks) => Context.merge(context, webhooks)))

/**
 * Every repository port and the webhook stores, in memory, optionally seeded (a seeded
 * subscription that fails `Subscription.check` fails the layer). Each build of the layer is a new store.
 */
export const layer = (seed: Seed = {}): Layer.Layer<StorePorts | WebhookStore, InvalidInput> => Layer.effectContext(make(seed))

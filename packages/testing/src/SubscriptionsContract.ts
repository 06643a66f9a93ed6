/**
 * The subscriptions port's contract, the largest of the store contract's suites: reads, listings
 * by owner and partner, and the atomic commit of an amendment with its basket and events.
 */
import { expect, it } from "@effect/vitest"
import { Amendments } from "@subshift/core/ports/Amendments"
import { Baskets } from "@subshift/core/ports/Baskets"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import { Events } from "@subshift/core/ports/Events"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Fixtures from "./Fixtures.js"

/** The tag of the error an effect fails with. */
export const conflictOf = <A, E extends { readonly _tag: string }>(self: Effect.Effect<A, E>) =>
  Effect.map(Effect.flip(self), (e) => e._tag)

/** Registers the subscriptions contract (including the atomic commit). */
export const subscriptionsSuite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`Subscriptions contract: ${name}`, (it) => {
    it.effect("put then findById and findByName round-trip the subscription", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const sub = Fixtures.subscription({
          partnerOrg: "partner-x",
          billGroupId: "bg-x",
          addOns: [{ offerId: "addon-a", rateId: "addon-a-usd", quantity: 2, unitPrice: { amount: 300, currency: "USD" } }],
          pendingChange: { amendmentId: "amd-1", effectiveDate: CalendarDate.make("2025-04-01"), actions: [Fixtures.action({ timing: "NEXT_PERIOD_START", effectiveDate: CalendarDate.make("2025-04-01"), prorate: false })] }
        })
        yield* subscriptions.put(sub)
        expect(Option.getOrThrow(yield* subscriptions.findById(sub.id))).toEqual(sub)
        expect(Option.getOrThrow(yield* subscriptions.findByName(sub.name))).toEqual(sub)
        expect(Option.isNone(yield* subscriptions.findById(`sub-${Fixtures.unique()}`))).toBe(true)
        expect(Option.isNone(yield* subscriptions.findByName(`NOPE${Fixtures.unique()}`))).toBe(true)
      }))

    it.effect("findMany answers the stored subscriptions named by id or by name, each once, and none for an empty query", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const [a, b, c] = [Fixtures.subscription(), Fixtures.subscription(), Fixtures.subscription()]
        yield* Effect.forEach([a, b, c], subscriptions.put)
        const found = yield* subscriptions.findMany({
          ids: [a.id, b.id, `sub-${Fixtures.unique()}`],
          names: [b.name, c.name, `NOPE${Fixtures.unique()}`]
        })
        expect([...found].sort((x, y) => x.id < y.id ? -1 : 1)).toEqual([a, b, c].sort((x, y) => x.id < y.id ? -1 : 1))
        expect(yield* subscriptions.findMany({ ids: [], names: [] })).toEqual([])
        expect(yield* subscriptions.findMany({ ids: [`sub-${Fixtures.unique()}`], names: [] })).toEqual([])
      }))

    it.effect("commit creates and replaces many subscriptions at once, each with its events", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const events = yield* Events
        const stored = [Fixtures.subscription(), Fixtures.subscription({ version: 3 })]
        yield* Effect.forEach(stored, subscriptions.put)
        const created = Array.from({ length: 5 }, () => Fixtures.subscription({ version: 1 }))
        const replaced = stored.map((s) => ({ ...s, owner: `${s.owner}-moved`, version: s.version + 1 }))
        yield* subscriptions.commit({
          amendments: [],
          events: [...created, ...replaced].map((s) => Fixtures.event(s)),
          subscriptions: [
            ...created.map((next) => ({ next, expectedVersion: undefined })),
            ...replaced.map((next) => ({ next, expectedVersion: next.version - 1 }))
          ]
        })
        for (const s of [...created, ...replaced]) {
          expect(Option.getOrThrow(yield* subscriptions.findById(s.id))).toEqual(s)
          expect((yield* events.list({ subscriptionId: s.id, limit: 10 })).length).toBe(1)
        }
      }))

    it.effect("commit of many subscriptions, one of them new under a name already taken, writes nothing at all", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const events = yield* Events
        const holder = Fixtures.subscription()
        const stored = Fixtures.subscription()
        yield* Effect.forEach([holder, stored], subscriptions.put)
        const fresh = Fixtures.subscription({ version: 1 })
        const clash = Fixtures.subscription({ version: 1, name: holder.name })
        const replaced = { ...stored, owner: `${stored.owner}-moved`, version: stored.version + 1 }
        const error = yield* conflictOf(subscriptions.commit({
          amendments: [],
          events: [fresh, clash, replaced].map((s) => Fixtures.event(s)),
          subscriptions: [
            { next: fresh, expectedVersion: undefined },
            { next: clash, expectedVersion: undefined },
            { next: replaced, expectedVersion: stored.version }
          ]
        }))
        expect(error).toBe("VersionConflict")
        expect(Option.isNone(yield* subscriptions.findById(fresh.id))).toBe(true)
        expect(Option.isNone(yield* subscriptions.findById(clash.id))).toBe(true)
        expect(Option.getOrThrow(yield* subscriptions.findById(stored.id))).toEqual(stored)
        expect(yield* events.list({ subscriptionId: fresh.id, limit: 10 })).toEqual([])
        expect(yield* events.list({ subscriptionId: stored.id, limit: 10 })).toEqual([])
      }))

    it.effect("listByOwner answers the owner's subscriptions only, in id order", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const owner = `cus-${Fixtures.unique()}`
        const mine = [Fixtures.subscription({ owner }), Fixtures.subscription({ owner })]
        yield* Effect.forEach([...mine, Fixtures.subscription()], subscriptions.put)
        const listed = yield* subscriptions.listByOwner(owner)
        expect(listed.map((s) => s.id)).toEqual(mine.map((s) => s.id).sort())
      }))

    it.effect("listByPartner pages in id order after a cursor and filters by owner", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const partnerOrg = `partner-${Fixtures.unique()}`
        const owner = `cus-${Fixtures.unique()}`
        const subs = Array.from({ length: 5 }, (_, i) => Fixtures.subscription({ partnerOrg, ...(i % 2 === 0 ? { owner } : {}) }))
        yield* Effect.forEach([...subs, Fixtures.subscription({ partnerOrg: "partner-other" })], subscriptions.put)
        const ids = subs.map((s) => s.id).sort()
        const first = yield* subscriptions.listByPartner({ partnerOrg, limit: 2 })
        expect(first.map((s) => s.id)).toEqual(ids.slice(0, 2))
        const second = yield* subscriptions.listByPartner({ partnerOrg, limit: 10, after: first[1]!.id })
        expect(second.map((s) => s.id)).toEqual(ids.slice(2))
        const owned = yield* subscriptions.listByPartner({ partnerOrg, ownerId: owner, limit: 10 })
        expect(owned.map((s) => s.id)).toEqual(subs.filter((s) => s.owner === owner).map((s) => s.id).sort())
      }))

    it.effect("listByBillGroup answers the group's members only", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const billGroupId = `bg-${Fixtures.unique()}`
        const members = [Fixtures.subscription({ billGroupId }), Fixtures.subscription({ billGroupId })]
        yield* Effect.forEach([...members, Fixtures.subscription()], subscriptions.put)
        const listed = yield* subscriptions.listByBillGroup(billGroupId)
        expect(listed.map((s) => s.id)).toEqual(members.map((s) => s.id).sort())
      }))

    it.effect("save writes at the expected version; a stale version conflicts and changes nothing", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const sub = Fixtures.subscription({ version: 3 })
        yield* subscriptions.put(sub)
        const next = { ...sub, version: 4, status: "cancelled" as const }
        yield* subscriptions.save(next, 3)
        expect(Option.getOrThrow(yield* subscriptions.findById(sub.id))).toEqual(next)
        expect(yield* conflictOf(subscriptions.save({ ...sub, version: 4 }, 3))).toBe("VersionConflict")
        expect(Option.getOrThrow(yield* subscriptions.findById(sub.id))).toEqual(next)
      }))

    it.effect("listDue answers the subscriptions with a change or a start due by today, in id order", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        // A day far in the past keeps other tests' subscriptions out of the answer.
        const pending = (effectiveDate: CalendarDate.CalendarDate) => ({
          amendmentId: `amd-${Fixtures.unique()}`,
          effectiveDate,
          actions: [Fixtures.action({ timing: "NEXT_PERIOD_START", effectiveDate, prorate: false })]
        })
        const due = Fixtures.subscription({ pendingChange: pending(CalendarDate.make("1990-02-01")) })
        const starting = Fixtures.subscription({ status: "pending", anchorDay: 15, currentPeriod: { start: CalendarDate.make("1990-01-15"), end: CalendarDate.make("1990-02-15") } })
        const later = Fixtures.subscription({ pendingChange: pending(CalendarDate.make("1990-03-01")) })
        const startsLater = Fixtures.subscription({ status: "pending", anchorDay: 2, currentPeriod: { start: CalendarDate.make("1990-02-02"), end: CalendarDate.make("1990-03-02") } })
        yield* Effect.forEach([due, starting, later, startsLater], subscriptions.put)
        const listed = yield* subscriptions.listDue(CalendarDate.make("1990-02-01"), 1000)
        const ours = new Set([due.id, starting.id, later.id, startsLater.id])
        expect(listed.filter((s) => ours.has(s.id)).map((s) => s.id)).toEqual([due.id, starting.id].sort())
        expect(listed.map((s) => s.id)).toEqual([...listed.map((s) => s.id)].sort())
        expect((yield* subscriptions.listDue(CalendarDate.make("1990-02-01"), 1)).length).toBeLessThanOrEqual(1)
      }))

    it.effect("save writes its events with the subscription, and none when it conflicts", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const events = yield* Events
        const sub = Fixtures.subscription()
        yield* subscriptions.put(sub)
        const next = { ...sub, version: 2 }
        const changed = Fixtures.event(next, { type: "subscription.changed", actor: { kind: "system", id: "scheduler" } })
        yield* subscriptions.save(next, 1, [changed])
        expect(yield* conflictOf(subscriptions.save({ ...sub, version: 2 }, 1, [Fixtures.event(sub)]))).toBe("VersionConflict")
        const written = yield* events.list({ subscriptionId: sub.id, limit: 10 })
        expect(written.map(({ sequence: _, ...e }) => e)).toEqual([changed])
      }))

    it.effect("commit writes the amendments, the subscriptions and the basket together", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const baskets = yield* Baskets
        const amendments = yield* Amendments
        const sub = Fixtures.subscription()
        const basket = Fixtures.basket({ subscriptionId: sub.id })
        yield* subscriptions.put(sub)
        yield* baskets.create(basket)
        const next = { ...sub, version: 2, offer: { ...sub.offer, offerId: "offer-plus" } }
        const { amendment, event, completed, commit } = Fixtures.checkoutCommit(basket, next, 1)
        yield* subscriptions.commit(commit)
        expect(Option.getOrThrow(yield* subscriptions.findById(sub.id))).toEqual(next)
        expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(completed)
        expect(Option.getOrThrow(yield* amendments.findById(amendment.id))).toEqual(amendment)
        expect(yield* amendments.listBySubscription(sub.id)).toEqual([amendment])
        const written = yield* (yield* Events).list({ subscriptionId: sub.id, limit: 10 })
        expect(written.map(({ sequence: _, ...e }) => e)).toEqual([event])
      }))

    it.effect("commit with a stale subscription version writes nothing at all", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const baskets = yield* Baskets
        const amendments = yield* Amendments
        const sub = Fixtures.subscription({ version: 5 })
        const other = Fixtures.subscription()
        const basket = Fixtures.basket({ subscriptionId: sub.id })
        yield* Effect.forEach([sub, other], subscriptions.put)
        yield* baskets.create(basket)
        const amendment = Fixtures.amendment(sub.id)
        const exit = yield* Effect.exit(subscriptions.commit({
          events: [Fixtures.event(sub), Fixtures.event(other)],
          amendments: [amendment],
          subscriptions: [
            { next: { ...other, version: 2, status: "cancelled" }, expectedVersion: 1 },
            { next: { ...sub, version: 5 }, expectedVersion: 4 }
          ],
          basket: { next: { ...basket, version: 2, completed: true }, expectedVersion: 1 }
        }))
        expect(Exit.isFailure(exit) && Exit.causeOption(exit).pipe(Option.map(String), Option.getOrElse(() => ""))).toContain("VersionConflict")
        expect(Option.getOrThrow(yield* subscriptions.findById(sub.id))).toEqual(sub)
        expect(Option.getOrThrow(yield* subscriptions.findById(other.id))).toEqual(other)
        expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(basket)
        expect(Option.isNone(yield* amendments.findById(amendment.id))).toBe(true)
        const events = yield* Events
        expect(yield* events.list({ subscriptionId: sub.id, limit: 10 })).toEqual([])
        expect(yield* events.list({ subscriptionId: other.id, limit: 10 })).toEqual([])
      }))

    it.effect("commit with a stale basket version writes nothing at all", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const baskets = yield* Baskets
        const amendments = yield* Amendments
        const sub = Fixtures.subscription()
        const basket = Fixtures.basket({ subscriptionId: sub.id, version: 3 })
        yield* subscriptions.put(sub)
        yield* baskets.create(basket)
        const amendment = Fixtures.amendment(sub.id)
        const error = yield* conflictOf(subscriptions.commit({
          events: [],
          amendments: [amendment],
          subscriptions: [{ next: { ...sub, version: 2 }, expectedVersion: 1 }],
          basket: { next: { ...basket, version: 3, completed: true }, expectedVersion: 2 }
        }))
        expect(error).toBe("VersionConflict")
        expect(Option.getOrThrow(yield* subscriptions.findById(sub.id))).toEqual(sub)
        expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(basket)
        expect(Option.isNone(yield* amendments.findById(amendment.id))).toBe(true)
      }))

    it.effect("commit creates a new subscription, and refuses to create one that exists", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const created = Fixtures.subscription({ status: "pending", version: 1 })
        const amendment = Fixtures.amendment(created.id, { source: "amend_api", billGroupId: "bg-x" })
        yield* subscriptions.commit({ events: [], amendments: [amendment], subscriptions: [{ next: created, expectedVersion: undefined }] })
        expect(Option.getOrThrow(yield* subscriptions.findById(created.id))).toEqual(created)
        const again = Fixtures.amendment(created.id)
        expect(yield* conflictOf(subscriptions.commit({ events: [], amendments: [again], subscriptions: [{ next: created, expectedVersion: undefined }] })))
          .toBe("VersionConflict")
      }))

    it.effect("of concurrent commits on one subscription at one version, exactly one applies", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const amendments = yield* Amendments
        const sub = Fixtures.subscription()
        yield* subscriptions.put(sub)
        const attempts = Array.from({ length: 10 }, (_, i) =>
          subscriptions.commit({
            events: [],
            amendments: [Fixtures.amendment(sub.id)],
            subscriptions: [{ next: { ...sub, version: 2, name: sub.name, owner: `${sub.owner}-${i}` }, expectedVersion: 1 }]
          }))
        const exits = yield* Effect.all(attempts.map(Effect.exit), { concurrency: "unbounded" })
        expect(exits.filter(Exit.isSuccess).length).toBe(1)
        expect((yield* amendments.listBySubscription(sub.id)).length).toBe(1)
        expect(Option.getOrThrow(yield* subscriptions.findById(sub.id)).version).toBe(2)
      }))
  })

/**
 * The store contract of the operator plane: the audit log, and the reads and writes operator
 * imports and scheduled-change listings use. Registered by `StoreContract.suite`.
 */
import { expect, it } from "@effect/vitest"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import * as Instant from "@subshift/core/domain/Instant"
import { AuditLog } from "@subshift/core/ports/AuditLog"
import { BillGroups } from "@subshift/core/ports/BillGroups"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Fixtures from "./Fixtures.js"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"

/** Registers the audit log contract. */
export const auditSuite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`AuditLog contract: ${name}`, (it) => {
    it.effect("entries read back in write order from a cursor, with their key, reason and outcome", () =>
      Effect.gen(function*() {
        const audit = yield* AuditLog
        const start = (yield* audit.list({ limit: 1000 })).at(-1)?.sequence ?? 0
        const tag = `t-${Math.random().toString(36).slice(2)}`
        const at = Instant.make("2026-01-02T03:04:05Z")
        yield* audit.record({ id: `aud-${tag}-1`, occurredAt: at, key: { id: "0123456789ab", name: "ops" }, action: "subscription.put", target: "sub-1", reason: "migration", outcome: "created" })
        yield* audit.record({ id: `aud-${tag}-2`, occurredAt: at, key: { id: "0123456789ab", name: "ops" }, action: "bill_group.put", target: "bg-1" })
        const page = yield* audit.list({ after: start, limit: 10 })
        const mine = page.filter((e) => e.id.startsWith(`aud-${tag}`))
        expect(mine.map((e) => e.id)).toEqual([`aud-${tag}-1`, `aud-${tag}-2`])
        expect(mine[0]).toMatchObject({ key: { id: "0123456789ab", name: "ops" }, action: "subscription.put", target: "sub-1", reason: "migration", outcome: "created", occurredAt: at })
        expect(mine[1]!.reason).toBeUndefined()
        expect(mine[1]!.sequence).toBeGreaterThan(mine[0]!.sequence)
        const after = yield* audit.list({ after: mine[0]!.sequence, limit: 1 })
        expect(after[0]!.sequence).toBeGreaterThan(mine[0]!.sequence)
        expect(yield* audit.list({ after: start, limit: 0 })).toEqual([])
      }))
  })

/** Registers the contract of the reads and writes of operator records. */
export const recordsSuite = <E>(name: string, layer: Layer.Layer<StorePorts, E>) =>
  it.layer(layer, { timeout: "60 seconds" })(`Operator records contract: ${name}`, (it) => {
    it.effect("listPending answers subscriptions with a pending change in id order, after a cursor, due before a day", () =>
      Effect.gen(function*() {
        const subscriptions = yield* Subscriptions
        const tag = Math.random().toString(36).slice(2, 10)
        const change = (date: string) => ({ amendmentId: `amd-${tag}-${date}`, effectiveDate: CalendarDate.make(date), actions: [] })
        const a = Fixtures.subscription({ id: `sub-pl-${tag}-a`, pendingChange: change("2025-04-01") })
        const b = Fixtures.subscription({ id: `sub-pl-${tag}-b` })
        const c = Fixtures.subscription({ id: `sub-pl-${tag}-c`, pendingChange: change("2025-05-01") })
        for (const s of [c, b, a]) yield* subscriptions.put(s)
        const mine = (rows: ReadonlyArray<{ readonly id: string }>) => rows.map((r) => r.id).filter((id) => id.startsWith(`sub-pl-${tag}`))
        expect(mine(yield* subscriptions.listPending({ limit: 10_000 }))).toEqual([a.id, c.id])
        expect(mine(yield* subscriptions.listPending({ after: a.id, limit: 10_000 }))).toEqual([c.id])
        expect(mine(yield* subscriptions.listPending({ dueBefore: CalendarDate.make("2025-05-01"), limit: 10_000 }))).toEqual([a.id])
        const page = yield* subscriptions.listPending({ after: `sub-pl-${tag}-`, limit: 1 })
        expect(page.map((s) => s.id)).toEqual([a.id])
        expect(page[0]).toEqual(a)
        expect(yield* subscriptions.listPending({ limit: 0 })).toEqual([])
      }))

    it.effect("write creates a bill group only when absent and replaces it only at the expected version", () =>
      Effect.gen(function*() {
        const billGroups = yield* BillGroups
        const group = Fixtures.billGroup({ version: 1 })
        yield* billGroups.write(group, undefined)
        const again = yield* Effect.exit(billGroups.write({ ...group, accountId: "someone-else" }, undefined))
        expect(Exit.isFailure(again)).toBe(true)
        const stale = yield* Effect.flip(billGroups.write({ ...group, version: 3, contractStatus: "FINISHED" }, 2))
        expect(stale).toMatchObject({ _tag: "VersionConflict", entity: "bill_group", id: group.id, expected: 2, actual: 1 })
        expect(yield* billGroups.findById(group.id)).toEqual(Option.some(group))
        const next = { ...group, version: 2, contractStatus: "FINISHED" as const }
        yield* billGroups.write(next, 1)
        expect(yield* billGroups.findById(group.id)).toEqual(Option.some(next))
        const missing = yield* Effect.flip(billGroups.write(Fixtures.billGroup({ version: 2 }), 1))
        expect(missing).toMatchObject({ _tag: "VersionConflict", entity: "bill_group" })
      }))
  })

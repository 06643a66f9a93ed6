/**
 * The store contract of the operator plane: the audit log, and the reads and writes operator
 * imports and scheduled-change listings use. Registered by `StoreContract.suite`.
 */
import { expect, it } from "@effect/vitest"
import * as Instant from "@subshift/core/domain/Instant"
import { AuditLog } from "@subshift/core/ports/AuditLog"
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

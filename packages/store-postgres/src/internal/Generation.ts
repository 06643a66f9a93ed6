/**
 * The catalog generation a read saw. Reads of baskets and subscriptions select the catalog's
 * generation number beside their row (a one-row lookup in the same statement) and note it on the
 * calling fiber; the catalog read that follows in the same request takes the note and answers
 * from the catalog it keeps in memory when that is at least as new, with no statement of its own.
 * A publish by any process bumps the number in its transaction, so the next read anywhere sees it.
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { wallClock } from "./Edge.js"

/** The column a read adds to carry the generation: `catalog_generation`, as text. */
export const column = "(SELECT generation::text FROM subshift_catalog_generation WHERE id = 1) AS catalog_generation"

/** A row that carries the generation. */
export interface GenerationRow {
  readonly catalog_generation: string | null
}

// A note is good for the request that made it; one older than this was made by a fiber that has
// since waited, and the catalog checks the database itself.
const FRESH_MILLIS = 1_000

/** Where one store's reads leave the generation they saw, per fiber. */
export interface Observed {
  /** Notes the generation of a row's read on the current fiber. */
  readonly note: (rows: ReadonlyArray<GenerationRow>) => Effect.Effect<void>
  /** Notes a generation on the current fiber, as if a read had just seen it. */
  readonly noteGeneration: (generation: number) => Effect.Effect<void>
  /** Takes the current fiber's fresh note, if any, clearing it. */
  readonly take: Effect.Effect<number | undefined>
}

/** A fresh place for one store's notes. */
export const make = (): Observed => {
  const ref = FiberRef.unsafeMake<{ readonly generation: number; readonly at: number } | undefined>(undefined)
  const noteGeneration = (generation: number) => FiberRef.set(ref, { generation, at: wallClock.unsafeCurrentTimeMillis() })
  return {
    note: (rows) => {
      const text = rows[0]?.catalog_generation
      if (text === undefined || text === null) return Effect.void
      return noteGeneration(Number(text))
    },
    noteGeneration,
    take: Effect.flatMap(FiberRef.getAndSet(ref, undefined), (seen) =>
      seen === undefined
        ? Effect.succeed(undefined)
        : Effect.succeed(wallClock.unsafeCurrentTimeMillis() - seen.at <= FRESH_MILLIS ? seen.generation : undefined))
  }
}

/** Versioned writes: one statement that checks the version and writes, and the conflict when it matched nothing. */
import * as Effect from "effect/Effect"
import { conflict, type PortContext } from "./Edge.js"
import type { TextRow } from "./Rows.js"

/**
 * Finishes a versioned write whose statement answers the written row: one row back teaches the
 * decoder the stored text; none is a `VersionConflict` naming the version that won, read in a
 * fresh snapshot so that it is the committed one rather than the one the failed statement
 * started from. With `nameWinner: false` the conflict names none and costs no second statement
 * (for a caller that reads afresh on any conflict).
 */
export const written = ({ sql }: PortContext) =>
<A>(
  entity: "subscription" | "basket",
  value: A & { readonly id: string },
  expectedVersion: number | undefined,
  remember: (text: string, value: A) => void,
  nameWinner = true
) =>
<E, R>(self: Effect.Effect<ReadonlyArray<TextRow>, E, R>) =>
  Effect.flatMap(self, (rows) =>
    rows.length === 1
      ? Effect.sync(() => remember(rows[0]!.data, value))
      : !nameWinner
      ? Effect.fail(conflict(entity, value.id, expectedVersion, null))
      : Effect.flatMap(
        sql<{ readonly version: number }>`SELECT version FROM ${
          sql(entity === "basket" ? "subshift_baskets" : "subshift_subscriptions")
        } WHERE id = ${value.id}`.withoutTransform,
        (found) => Effect.fail(conflict(entity, value.id, expectedVersion, found[0]?.version ?? null))
      ))

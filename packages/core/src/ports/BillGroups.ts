/**
 * The `BillGroups` port.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { BillGroup } from "../domain/BillGroup.js"
import type { StoreUnavailable } from "../domain/Errors.js"

/** The bill groups port. */
export class BillGroups extends Context.Tag("@subshift/core/BillGroups")<
  BillGroups,
  {
    readonly findById: (id: string) => Effect.Effect<Option.Option<BillGroup>, StoreUnavailable>
    /** Inserts or replaces a bill group (seeding, contract changes). */
    readonly put: (billGroup: BillGroup) => Effect.Effect<void, StoreUnavailable>
  }
>() {}

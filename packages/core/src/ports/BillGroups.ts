/**
 * The `BillGroups` port.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { BillGroup } from "../domain/BillGroup.js"
import type { StoreUnavailable, VersionConflict } from "../domain/Errors.js"

/** The bill groups port. */
export class BillGroups extends Context.Tag("@subshift/core/BillGroups")<
  BillGroups,
  {
    readonly findById: (id: string) => Effect.Effect<Option.Option<BillGroup>, StoreUnavailable>
    /** Inserts or replaces a bill group (seeding, contract changes). */
    readonly put: (billGroup: BillGroup) => Effect.Effect<void, StoreUnavailable>
    /**
     * Creates a bill group (`expectedVersion` undefined: it must not exist yet) or replaces one
     * still at `expectedVersion`; otherwise `VersionConflict` and nothing is written.
     */
    readonly write: (billGroup: BillGroup, expectedVersion: number | undefined) => Effect.Effect<void, VersionConflict | StoreUnavailable>
  }
>() {}

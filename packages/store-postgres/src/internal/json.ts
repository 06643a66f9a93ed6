import type { Basket } from "@subshift/core/domain/Basket"
import type * as Effect from "effect/Effect"
import * as EffectModule from "effect/Effect"

/**
 * A basket as the JSON its column holds. Baskets are written on every update, and their Schema
 * applies no transformation on the way out (every field encodes to itself), so serialising the
 * value directly gives the Schema's encoding without walking it; a test checks the two agree.
 */
export const basketJson = (basket: Basket): Effect.Effect<string> => EffectModule.sync(() => JSON.stringify(basket))

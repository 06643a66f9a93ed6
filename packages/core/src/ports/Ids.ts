/**
 * The `Ids` port: identifiers for new baskets, amendments and subscriptions.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The ids port. */
export class Ids extends Context.Tag("@subshift/core/Ids")<
  Ids,
  {
    readonly basketId: Effect.Effect<string>
    readonly amendmentId: Effect.Effect<string>
    readonly subscriptionId: Effect.Effect<string>
    readonly eventId: Effect.Effect<string>
    /** A 12-character human reference for a new subscription. */
    readonly reference: Effect.Effect<string>
  }
>() {}

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

const randomReference = (): string => {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(12))
  return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join("")
}

/** Random UUID-based ids from the platform's CSPRNG. */
export const layerRandom: Layer.Layer<Ids> = Layer.succeed(Ids, {
  basketId: Effect.sync(() => `basket-${globalThis.crypto.randomUUID()}`),
  amendmentId: Effect.sync(() => `amd-${globalThis.crypto.randomUUID()}`),
  subscriptionId: Effect.sync(() => `sub-${globalThis.crypto.randomUUID()}`),
  eventId: Effect.sync(() => `evt-${globalThis.crypto.randomUUID()}`),
  reference: Effect.sync(randomReference)
})

const uuidOf = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`

/** Sequential, predictable ids, for tests and examples. */
export const layerSequential: Layer.Layer<Ids> = Layer.sync(Ids, () => {
  let n = 0
  const next = Effect.sync(() => ++n)
  return {
    basketId: Effect.map(next, (i) => `basket-${uuidOf(i)}`),
    amendmentId: Effect.map(next, (i) => `amd-${uuidOf(i)}`),
    subscriptionId: Effect.map(next, (i) => `sub-${uuidOf(i)}`),
    eventId: Effect.map(next, (i) => `evt-${uuidOf(i)}`),
    reference: Effect.map(next, (i) => `REF${i.toString().padStart(9, "0")}`)
  }
})

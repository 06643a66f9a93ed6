/**
 * Instants as canonical ISO-8601 UTC strings (`2025-01-31T12:00:00.000Z`), so that string order is
 * time order and they travel through JSON and SQL unchanged.
 */
import type * as Brand from "effect/Brand"
import * as Schema from "effect/Schema"

const canonical = (s: string): string | undefined => {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(s)) return undefined
  const ms = Date.parse(s)
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString()
}

/** A canonical UTC ISO-8601 instant, branded so it cannot stand in for another string. */
export type Instant = Brand.Branded<string, "Instant">

/** An ISO-8601 instant with an explicit offset; decoded to the canonical UTC form. */
export const Instant = Schema.transform(
  Schema.String.pipe(
    Schema.filter((s) => canonical(s) !== undefined || "expected an ISO-8601 instant such as 2025-01-31T12:00:00Z")
  ),
  Schema.String.pipe(Schema.brand("Instant")),
  { strict: true, decode: (s) => canonical(s)!, encode: (s) => s }
).pipe(Schema.annotations({
  identifier: "Instant",
  arbitrary: () => (fc) =>
    fc.integer({ min: 0, max: 4_102_444_800_000 }).map(fromEpochMillis)
}))

/** The instant of an ISO-8601 literal, made canonical; throws when it is not one (input is decoded instead). */
export const make = (s: string): Instant => Schema.decodeSync(Instant)(s)

/** The instant of epoch milliseconds. */
export function fromEpochMillis(millis: number): Instant {
  // Date#toISOString is already the canonical form.
  return new Date(millis).toISOString() as Instant
}

/** Epoch milliseconds of an instant. */
export const toEpochMillis = (instant: Instant): number => Date.parse(instant)

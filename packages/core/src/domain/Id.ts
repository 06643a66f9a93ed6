/**
 * Identifiers as callers send them: the one length limit every request id shares.
 */
import * as Schema from "effect/Schema"

/** The longest id accepted anywhere (offer, rate, subscription, bill group, reference). */
export const MAX_ID_LENGTH = 64

/** An identifier in a request: 1 to `MAX_ID_LENGTH` characters. */
export const Id = Schema.String.pipe(
  Schema.minLength(1, { message: () => "an id cannot be empty" }),
  Schema.maxLength(MAX_ID_LENGTH, { message: () => `an id is at most ${MAX_ID_LENGTH} characters` })
)

/** Whether a raw string is within the id length limits. */
export const hasIdLength = (id: string): boolean => id.length >= 1 && id.length <= MAX_ID_LENGTH

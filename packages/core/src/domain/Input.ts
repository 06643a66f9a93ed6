/**
 * Decoding unknown data (requests, catalog files) into domain values, failing with an
 * `InvalidInput` that names the first offending field.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidInput } from "./Errors.js"

/**
 * The one style of a field path: object keys joined by dots, array indices in brackets
 * (`offerings[1].items[0].productId`), under `root` when given; `body` for the input as a whole.
 */
export const fieldPath = (path: ReadonlyArray<PropertyKey>, root = ""): string =>
  path.reduce<string>(
    (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc === "" ? String(key) : `${acc}.${String(key)}`),
    root
  ) || "body"

/** Turns a parse error into an `InvalidInput` naming its first field. */
export const toInvalidInput = (error: ParseResult.ParseError, root = ""): InvalidInput => {
  const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
  return first === undefined
    ? new InvalidInput({ field: root || "body", message: "invalid input" })
    : new InvalidInput({ field: fieldPath(first.path, root), message: first.message })
}

/** Decodes unknown data with a schema, rejecting extra keys nowhere and reporting the field. */
export const decode = <A, I>(schema: Schema.Schema<A, I, never>, root = "") => {
  const decodeEither = Schema.decodeUnknownEither(schema, { errors: "first", onExcessProperty: "ignore" })
  return (input: unknown): Either.Either<A, InvalidInput> =>
    Either.mapLeft(decodeEither(input), (e) => toInvalidInput(e, root))
}

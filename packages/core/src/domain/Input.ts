/**
 * Decoding unknown data (requests, catalog files) into domain values, failing with an
 * `InvalidInput` that names the first offending field.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { plainDecoder } from "../internal/plainDecode.js"
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

const EXPECTED = /^Expected (.+), actual (.+)$/s

/** The messages of one field as one: the members of a union it matches none of are listed together. */
const mergeMessages = (messages: ReadonlyArray<string>): string => {
  if (messages.length === 1) return messages[0]!
  const parts = messages.map((m) => EXPECTED.exec(m))
  const actual = parts[0]?.[2]
  if (parts.every((p) => p !== null && p[2] === actual)) return `Expected ${parts.map((p) => p![1]).join(" | ")}, actual ${actual}`
  return messages.join("; ")
}

/** Every problem of a parse error, one per field path (in the order first met). */
export const problemsOf = (error: ParseResult.ParseError, root = ""): ReadonlyArray<{ readonly path: string; readonly message: string }> => {
  const byPath = new Map<string, Array<string>>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const path = fieldPath(issue.path, root)
    const messages = byPath.get(path)
    if (messages === undefined) byPath.set(path, [issue.message])
    else if (!messages.includes(issue.message)) messages.push(issue.message)
  }
  return Array.from(byPath, ([path, messages]) => ({ path, message: mergeMessages(messages) }))
}

/**
 * Decodes unknown data with a schema, refusing keys it does not declare, and reports every problem
 * with its path. A schema that does not transform its values is first checked by a plain walk,
 * which is much cheaper; a value the walk refuses goes through the schema's decoder for its problems.
 */
export const decodeAll = <A, I>(schema: Schema.Schema<A, I, never>, root = "") => {
  const decodeEither = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })
  const plain = plainDecoder(schema)
  return (input: unknown): Either.Either<A, ReadonlyArray<{ readonly path: string; readonly message: string }>> => {
    const value = plain?.(input)
    return value !== undefined ? Either.right(value) : Either.mapLeft(decodeEither(input), (e) => problemsOf(e, root))
  }
}

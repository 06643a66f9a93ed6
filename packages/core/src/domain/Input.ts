/**
 * Decoding unknown data (requests, catalog files) into domain values, failing with an
 * `InvalidInput` that names the first offending field.
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
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
 * A plain decoder for schemas whose encoded and decoded forms are the same (structs, arrays,
 * literals, strings, numbers, booleans, unions and filters over them, no transformation): it
 * walks the value once, checks every filter the schema declares, and answers the value rebuilt
 * the way the schema's decoder would (declared keys only, in declared order), or `undefined` when
 * the value does not pass. It only speeds up the common case: a value it refuses, or a schema it
 * cannot walk, goes to the schema's own decoder, which reports every problem.
 */

/** Answers that the value does not pass (distinct from a value that is `undefined`). */
const FAIL: unique symbol = Symbol("plainDecode/fail")

type Step = (input: unknown) => unknown | typeof FAIL

/** The parse options a filter is called with: none, one object for every call. */
const NO_OPTIONS: AST.ParseOptions = {}

const compile = (ast: AST.AST): Step | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return (u) => typeof u === "string" ? u : FAIL
    case "NumberKeyword":
      return (u) => typeof u === "number" ? u : FAIL
    case "BooleanKeyword":
      return (u) => typeof u === "boolean" ? u : FAIL
    case "UndefinedKeyword":
      return (u) => u === undefined ? u : FAIL
    case "Literal": {
      const literal = ast.literal
      return (u) => u === literal ? u : FAIL
    }
    case "Refinement": {
      const from = compile(ast.from)
      if (from === undefined) return undefined
      return (u) => {
        const value = from(u)
        return value !== FAIL && Option.isNone(ast.filter(value, NO_OPTIONS, ast)) ? value : FAIL
      }
    }
    case "Union": {
      const members = ast.types.map(compile)
      if (members.some((m) => m === undefined)) return undefined
      const steps = members as Array<Step>
      return (u) => {
        for (const step of steps) {
          const value = step(u)
          if (value !== FAIL) return value
        }
        return FAIL
      }
    }
    case "TupleType": {
      if (ast.elements.length > 0 || ast.rest.length !== 1) return undefined
      const item = compile(ast.rest[0]!.type)
      if (item === undefined) return undefined
      return (u) => {
        if (!Array.isArray(u)) return FAIL
        const out: Array<unknown> = new Array(u.length)
        for (let i = 0; i < u.length; i++) {
          const value = item(u[i])
          if (value === FAIL) return FAIL
          out[i] = value
        }
        return out
      }
    }
    case "TypeLiteral": {
      if (ast.indexSignatures.length > 0) return undefined
      const fields: Array<{ readonly name: string; readonly optional: boolean; readonly step: Step }> = []
      for (const p of ast.propertySignatures) {
        const step = compile(p.type)
        if (step === undefined || typeof p.name !== "string") return undefined
        fields.push({ name: p.name, optional: p.isOptional, step })
      }
      const names = new Set(fields.map((f) => f.name))
      return (u) => {
        if (typeof u !== "object" || u === null || Array.isArray(u)) return FAIL
        const record = u as Record<string, unknown>
        const out: Record<string, unknown> = {}
        for (const f of fields) {
          if (!Object.hasOwn(record, f.name)) {
            if (f.optional) continue
            return FAIL
          }
          const value = f.step(record[f.name])
          if (value === FAIL) return FAIL
          out[f.name] = value
        }
        // A key the schema does not declare is left to the schema's decoder, which refuses it.
        // Looked for without listing the keys in an array: this runs for every object of every record.
        for (const key in record) if (Object.hasOwn(record, key) && !names.has(key)) return FAIL
        return out
      }
    }
    default:
      return undefined
  }
}

/**
 * The plain decoder of a schema, or `undefined` when the schema transforms its values (or has a
 * part this walk does not know), and only its own decoder can decode it.
 */
const plainDecoder = <A, I>(schema: Schema.Schema<A, I, never>): ((input: unknown) => A | undefined) | undefined => {
  const step = compile(schema.ast)
  if (step === undefined) return undefined
  return (input) => {
    const value = step(input)
    return value === FAIL ? undefined : value as A
  }
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

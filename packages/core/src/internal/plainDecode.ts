/**
 * A plain decoder for schemas whose encoded and decoded forms are the same (structs, arrays,
 * literals, strings, numbers, booleans, unions and filters over them, no transformation): it
 * walks the value once, checks every filter the schema declares, and answers the value rebuilt
 * the way the schema's decoder would (declared keys only, in declared order), or `undefined` when
 * the value does not pass. It only speeds up the common case: a value it refuses, or a schema it
 * cannot walk, goes to the schema's own decoder, which reports every problem.
 */
import * as Option from "effect/Option"
import type * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"

/** Answers that the value does not pass (distinct from a value that is `undefined`). */
const FAIL: unique symbol = Symbol("plainDecode/fail")

type Step = (input: unknown) => unknown | typeof FAIL

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
        return value !== FAIL && Option.isNone(ast.filter(value, {}, ast)) ? value : FAIL
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
        let present = 0
        const out: Record<string, unknown> = {}
        for (const f of fields) {
          if (!Object.hasOwn(record, f.name)) {
            if (f.optional) continue
            return FAIL
          }
          present++
          const value = f.step(record[f.name])
          if (value === FAIL) return FAIL
          out[f.name] = value
        }
        // A key the schema does not declare is left to the schema's decoder, which refuses it.
        if (Object.keys(record).length !== present) {
          for (const key of Object.keys(record)) if (!names.has(key)) return FAIL
        }
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
export const plainDecoder = <A, I>(schema: Schema.Schema<A, I, never>): ((input: unknown) => A | undefined) | undefined => {
  const step = compile(schema.ast)
  if (step === undefined) return undefined
  return (input) => {
    const value = step(input)
    return value === FAIL ? undefined : value as A
  }
}

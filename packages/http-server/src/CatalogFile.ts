/**
 * A catalog kept in a file (`SUBSHIFT_CATALOG_FILE`, JSON or YAML): read and parsed here, at the
 * edge; decoded and validated by the core. At start, the server publishes the file when it
 * differs from the version in force and does nothing when it is the same, so a catalog kept in
 * git is published once per change. A bad file stops the start with every problem listed.
 */
import type { Problem } from "@subshift/core/domain/CatalogDocument"
import { CatalogAdmin } from "@subshift/core/usecases/CatalogAdmin"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { readFile } from "node:fs/promises"
import * as Yaml from "yaml"

/** The catalog file could not be read or does not validate. */
export class CatalogFileError extends Error {
  override readonly name = "CatalogFileError"
  constructor(readonly file: string, readonly problems: ReadonlyArray<Problem>) {
    super(`the catalog file ${file} is not valid:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")}`)
  }
}

const isYaml = (file: string) => /\.ya?ml$/i.test(file)

/** Parses a catalog document's text: YAML for `.yaml`/`.yml` files, JSON otherwise. */
export const parse = (text: string, yaml: boolean): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: Problem } => {
  try {
    if (!yaml) return { ok: true, value: JSON.parse(text) }
    const document = Yaml.parseDocument(text, { uniqueKeys: true })
    const [error] = document.errors
    if (error !== undefined) {
      const line = error.linePos?.[0]
      return { ok: false, problem: { path: line === undefined ? "body" : `line ${line.line}:${line.col}`, message: error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "") } }
    }
    return { ok: true, value: document.toJS() }
  } catch (e) {
    return { ok: false, problem: { path: "body", message: e instanceof Error ? e.message : String(e) } }
  }
}

/** Reads and parses a catalog file. */
export const read = (file: string): Effect.Effect<unknown, CatalogFileError> =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (e) => new CatalogFileError(file, [{ path: "file", message: e instanceof Error ? e.message : String(e) }])
  }).pipe(Effect.flatMap((text) => {
    const parsed = parse(text, isYaml(file))
    return parsed.ok ? Effect.succeed(parsed.value) : Effect.fail(new CatalogFileError(file, [parsed.problem]))
  }))

/** Publishes the file when it differs from the version in force, and logs what it did. */
export const publishAtStart = (file: string) =>
  Effect.gen(function*() {
    const document = yield* read(file)
    const catalog = yield* CatalogAdmin
    const published = yield* catalog.publishIfChanged(document).pipe(
      Effect.catchTags({
        InvalidCatalog: (e) => Effect.fail(new CatalogFileError(file, e.problems)),
        InvalidEffectiveFrom: (e) => Effect.fail(new CatalogFileError(file, [{ path: "effectiveFrom", message: e.message }]))
      })
    )
    yield* Option.match(published, {
      onNone: () => Effect.logInfo("the catalog file is the version in force; nothing published", { file }),
      onSome: (p) =>
        Effect.logInfo("the catalog file was published", { file, version: p.version, effectiveFrom: p.effectiveFrom, warnings: p.warnings })
    })
  })

/** The start-up step, when a file is configured. */
export const layer = (file: Option.Option<string>) =>
  Option.match(file, {
    onNone: () => Layer.empty,
    onSome: (f) => Layer.effectDiscard(publishAtStart(f))
  })

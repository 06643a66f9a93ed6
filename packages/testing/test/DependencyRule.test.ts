import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
// @ts-expect-error: a plain ES module script without type declarations
import { check } from "../../../scripts/check-deps.mjs"

const repo = fileURLToPath(new URL("../../..", import.meta.url))

/** A throwaway repository with one package whose source imports `imports`. */
const fixture = (name: string, manifest: Record<string, unknown>, source: string): string => {
  const root = mkdtempSync(join(tmpdir(), "subshift-deps-"))
  mkdirSync(join(root, "packages", "pkg", "src"), { recursive: true })
  writeFileSync(join(root, "packages", "pkg", "package.json"), JSON.stringify({ name, ...manifest }))
  writeFileSync(join(root, "packages", "pkg", "src", "index.ts"), source)
  return root
}

describe("the dependency rule", () => {
  it("holds for this repository", () => {
    expect(check(repo)).toEqual([])
  })

  it("fails when the core imports anything but effect", () => {
    const root = fixture("@subshift/core", { peerDependencies: { effect: "3" } }, `import * as Effect from "effect/Effect"\nimport { PgClient } from "@effect/sql-pg"\n`)
    expect(check(root)).toEqual([expect.stringContaining("@subshift/core may not import @effect/sql-pg")])
  })

  it("fails when the core imports a Node built-in", () => {
    const root = fixture("@subshift/core", { peerDependencies: { effect: "3" } }, `import { readFileSync } from "node:fs"\n`)
    expect(check(root)).toEqual([expect.stringContaining("may not import the Node built-in node:fs")])
  })

  it("fails when an allowed import is not declared in the package", () => {
    const root = fixture("@subshift/http-api", { peerDependencies: { effect: "3" } }, `export type { HttpApi } from "@effect/platform/HttpApi"\n`)
    expect(check(root)).toEqual([expect.stringContaining("@effect/platform is imported but not declared")])
  })

  it("fails for a package that has no rule", () => {
    const root = fixture("@subshift/unknown", {}, "export {}\n")
    expect(check(root)).toEqual([expect.stringContaining("has no dependency rule")])
  })
})

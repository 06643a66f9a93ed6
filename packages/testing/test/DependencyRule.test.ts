import { describe, expect, it } from "@effect/vitest"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
// @ts-expect-error: a plain ES module script without type declarations
import { check } from "../../../scripts/check-deps.mjs"

const repo = fileURLToPath(new URL("../../..", import.meta.url))

/** A throwaway repository with one package holding `source` and, when given, a test holding `test`. */
const fixture = (name: string, manifest: Record<string, unknown>, source: string, test?: string): string => {
  const root = mkdtempSync(join(tmpdir(), "subshift-deps-"))
  mkdirSync(join(root, "packages", "pkg", "src"), { recursive: true })
  writeFileSync(join(root, "packages", "pkg", "package.json"), JSON.stringify({ name, ...manifest }))
  writeFileSync(join(root, "packages", "pkg", "src", "index.ts"), source)
  if (test !== undefined) {
    mkdirSync(join(root, "packages", "pkg", "test"))
    writeFileSync(join(root, "packages", "pkg", "test", "index.test.ts"), test)
  }
  return root
}

const coreTest = `import { it } from "@effect/vitest"\nimport { MemoryStore } from "@subshift/store-memory"\nimport * as Demo from "@subshift/testing/Demo"\n`

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

  it("passes when the core's tests use the testing kit and the in-memory store declared as devDependencies", () => {
    const root = fixture("@subshift/core", {
      peerDependencies: { effect: "3" },
      devDependencies: { "@effect/vitest": "0", "@subshift/store-memory": "0", "@subshift/testing": "0" }
    }, `import * as Effect from "effect/Effect"\n`, coreTest)
    expect(check(root)).toEqual([])
  })

  it("fails when a test imports a package its package does not declare, not even as a devDependency", () => {
    const root = fixture("@subshift/core", {
      peerDependencies: { effect: "3" },
      devDependencies: { "@effect/vitest": "0", "@subshift/testing": "0" }
    }, `import * as Effect from "effect/Effect"\n`, coreTest)
    expect(check(root)).toEqual([
      expect.stringContaining("packages/pkg/test/index.test.ts: @subshift/store-memory is imported by a test but not declared")
    ])
  })

  it("fails when a test imports a package outside its package's row for tests", () => {
    const root = fixture("@subshift/core", {
      peerDependencies: { effect: "3" },
      devDependencies: { "@subshift/store-postgres": "0" }
    }, `import * as Effect from "effect/Effect"\n`, `import { PgStore } from "@subshift/store-postgres"\n`)
    expect(check(root)).toEqual([expect.stringContaining("the tests of @subshift/core may not import @subshift/store-postgres")])
  })

  it("fails when source imports what is declared only as a devDependency", () => {
    const root = fixture("@subshift/http-api", {
      peerDependencies: { effect: "3" },
      devDependencies: { "@effect/platform": "0" }
    }, `export type { HttpApi } from "@effect/platform/HttpApi"\n`)
    expect(check(root)).toEqual([
      expect.stringContaining("@effect/platform is imported but not declared in packages/pkg/package.json (a devDependency is for tests only)")
    ])
  })

  it("fails when the core's source imports the in-memory store its tests may use", () => {
    const root = fixture("@subshift/core", {
      peerDependencies: { effect: "3" },
      devDependencies: { "@subshift/store-memory": "0" }
    }, `import { MemoryStore } from "@subshift/store-memory"\n`)
    expect(check(root)).toEqual([expect.stringContaining("@subshift/core may not import @subshift/store-memory")])
  })

  it("lets a test import Node built-ins even where source may not", () => {
    const root = fixture("@subshift/core", { peerDependencies: { effect: "3" } }, "export {}\n", `import { tmpdir } from "node:os"\n`)
    expect(check(root)).toEqual([])
  })

  describe("inside the core, role folders", () => {
    const core = (files: Record<string, string>): string => {
      const root = fixture("@subshift/core", { peerDependencies: { effect: "3" } }, "export {}\n")
      for (const [path, text] of Object.entries(files)) {
        const file = join(root, "packages", "pkg", "src", path)
        mkdirSync(join(file, ".."), { recursive: true })
        writeFileSync(file, text)
      }
      return root
    }

    it("pass when a use case imports ports, rules and domain values", () => {
      const root = core({
        "domain/Money.ts": "export const zero = 0\n",
        "rules/Pricing.ts": `import { zero } from "../domain/Money.js"\nexport const price = zero\n`,
        "usecases/Checkout.ts": `import { price } from "../rules/Pricing.js"\nimport { zero } from "../domain/Money.js"\n`
      })
      expect(check(root)).toEqual([])
    })

    it("fail when a rule or a port imports a use case", () => {
      const root = core({
        "usecases/Checkout.ts": "export const run = 1\n",
        "rules/Pricing.ts": `import { run } from "../usecases/Checkout.js"\n`,
        "ports/Store.ts": `import type { run } from "../usecases/Checkout.js"\n`
      })
      expect(check(root)).toEqual([
        expect.stringContaining("the core's ports may not import its usecases"),
        expect.stringContaining("the core's rules may not import its usecases")
      ])
    })

    it("fail when a domain value imports a rule, or a module sits outside a role folder", () => {
      const root = core({
        "rules/Eligibility.ts": "export const next = 1\n",
        "domain/Basket.ts": `import { next } from "../rules/Eligibility.js"\n`,
        "Loose.ts": "export {}\n"
      })
      expect(check(root).sort()).toEqual([
        expect.stringContaining("a core module belongs in a role folder"),
        expect.stringContaining("the core's domain may not import its rules")
      ])
    })
  })
})

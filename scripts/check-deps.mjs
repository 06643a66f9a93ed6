#!/usr/bin/env node
// The dependency rule (DESIGN §1): what each package's source may import. npm hoists every
// dependency to the root, so an undeclared import would still compile; this check makes it fail.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { builtinModules } from "node:module"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"

/** The packages each workspace package's `src` may import, besides Node built-ins where allowed. */
export const RULES = {
  "@subshift/core": { allow: ["effect"], builtins: false },
  "@subshift/testing": { allow: ["@subshift/core", "effect", "@effect/vitest", "vitest", "fast-check"], builtins: false },
  "@subshift/store-memory": { allow: ["@subshift/core", "effect"], builtins: false },
  "@subshift/store-postgres": {
    allow: ["@subshift/core", "effect", "@effect/sql", "@effect/sql-pg", "@effect/platform", "@effect/experimental", "@electric-sql/pglite", "@electric-sql/pglite-socket"],
    builtins: true
  },
  "@subshift/http-api": { allow: ["@subshift/core", "effect", "@effect/platform"], builtins: false },
  "@subshift/http-server": { allow: "*", builtins: true }
}

const builtins = new Set(builtinModules)

const packageOf = (specifier) => {
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]
}

const sources = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return /\.(ts|tsx|mts|js|mjs)$/.test(name) && !name.endsWith(".d.ts") ? [path] : []
  })

const importPattern = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g

/** The imports of a source file. */
export const importsOf = (text) => Array.from(text.matchAll(importPattern), (m) => m[1] ?? m[2])

/** Checks every package under `root/packages`; answers the list of violations. */
export const check = (root) => {
  const violations = []
  const packagesDir = join(root, "packages")
  for (const dir of readdirSync(packagesDir)) {
    const manifestPath = join(packagesDir, dir, "package.json")
    let manifest
    try {
      manifest = JSON.parse(readFileSync(manifestPath, "utf8"))
    } catch {
      continue
    }
    const rule = RULES[manifest.name]
    if (rule === undefined) {
      violations.push(`${relative(root, manifestPath)}: package ${manifest.name} has no dependency rule`)
      continue
    }
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {})
    ])
    let srcDir = join(packagesDir, dir, "src")
    try {
      statSync(srcDir)
    } catch {
      continue
    }
    for (const file of sources(srcDir)) {
      for (const specifier of importsOf(readFileSync(file, "utf8"))) {
        if (specifier.startsWith(".")) continue
        const where = relative(root, file)
        const bare = specifier.replace(/^node:/, "")
        if (specifier.startsWith("node:") || builtins.has(packageOf(bare))) {
          if (!rule.builtins) violations.push(`${where}: ${manifest.name} may not import the Node built-in ${specifier}`)
          continue
        }
        const pkg = packageOf(specifier)
        if (pkg === manifest.name) continue
        if (rule.allow !== "*" && !rule.allow.includes(pkg)) {
          violations.push(`${where}: ${manifest.name} may not import ${pkg}`)
        } else if (!declared.has(pkg)) {
          violations.push(`${where}: ${pkg} is imported but not declared in ${relative(root, manifestPath)}`)
        }
      }
    }
  }
  return violations
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = process.argv[2] ?? join(fileURLToPath(new URL(".", import.meta.url)), "..")
  const violations = check(root)
  if (violations.length > 0) {
    console.error(`Dependency rule broken (${violations.length}):\n${violations.map((v) => `  ${v}`).join("\n")}`)
    process.exit(1)
  }
  console.log("Dependency rule holds: every package imports only what DESIGN §1 allows and declares it.")
}

#!/usr/bin/env node
// The dependency rule (DESIGN §1): what each package's source may import, and what its tests may
// import besides. npm hoists every dependency to the root, so an undeclared import would still
// compile; this check makes it fail. A test-only edge is declared in `devDependencies`, so that a
// test-time cycle (the core's tests running on the in-memory store and the testing kit, which
// both depend on the core) is written down rather than hidden; source may never use it.
import { readdirSync, readFileSync, statSync } from "node:fs"
import { builtinModules } from "node:module"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"

const testKit = ["@subshift/testing", "@effect/vitest", "vitest"]

/**
 * The packages each workspace package's `src` may import (`allow`, besides Node built-ins where
 * `builtins`), and what its `test` folder may import on top of that (`tests`, plus any Node
 * built-in). Source imports must be declared in `dependencies` or `peerDependencies`; test-only
 * imports may be declared in `devDependencies` instead.
 */
export const RULES = {
  "@subshift/core": { allow: ["effect"], builtins: false, tests: [...testKit, "@subshift/store-memory"] },
  "@subshift/testing": {
    allow: ["@subshift/core", "effect", "@effect/vitest", "vitest", "fast-check"],
    builtins: false,
    tests: ["@subshift/store-memory"]
  },
  "@subshift/store-memory": { allow: ["@subshift/core", "effect"], builtins: false, tests: testKit },
  "@subshift/store-postgres": {
    allow: ["@subshift/core", "effect", "@effect/sql", "@effect/sql-pg", "@effect/platform", "@effect/experimental", "@electric-sql/pglite", "pg"],
    builtins: true,
    tests: testKit
  },
  "@subshift/http-api": { allow: ["@subshift/core", "effect", "@effect/platform"], builtins: false, tests: testKit },
  "@subshift/http-server": { allow: "*", builtins: true, tests: "*" }
}

/**
 * Inside the core, each module sits in a folder named for its role, and a role may import only
 * the roles below it: use cases sit on top, and ports and rules never import a use case.
 * `internal` holds helpers of the use cases.
 */
export const CORE_LAYERS = {
  domain: ["domain"],
  rules: ["domain", "rules", "ports"],
  ports: ["domain", "rules", "ports"],
  usecases: ["domain", "rules", "ports", "usecases", "internal"],
  internal: ["domain", "rules", "ports", "internal"],
  clock: ["clock", "domain"],
  demo: ["domain"]
}

const builtins = new Set(builtinModules)

const packageOf = (specifier) => {
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]
}

// Every source file under `dir`; none when it does not exist.
const sources = (dir) => {
  try {
    statSync(dir)
  } catch {
    return []
  }
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return /\.(ts|tsx|mts|js|mjs)$/.test(name) && !name.endsWith(".d.ts") ? [path] : []
  })
}

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
    const declaredForTests = new Set([...declared, ...Object.keys(manifest.devDependencies ?? {})])
    const where = (file) => relative(root, file)
    const inManifest = relative(root, manifestPath)
    for (const file of sources(join(packagesDir, dir, "src"))) {
      for (const { specifier, builtin, pkg } of externalImports(file)) {
        if (builtin) {
          if (!rule.builtins) violations.push(`${where(file)}: ${manifest.name} may not import the Node built-in ${specifier}`)
        } else if (pkg === manifest.name) {
          continue
        } else if (rule.allow !== "*" && !rule.allow.includes(pkg)) {
          violations.push(`${where(file)}: ${manifest.name} may not import ${pkg}`)
        } else if (!declared.has(pkg)) {
          const devOnly = declaredForTests.has(pkg) ? " (a devDependency is for tests only)" : ""
          violations.push(`${where(file)}: ${pkg} is imported but not declared in ${inManifest}${devOnly}`)
        }
      }
    }
    for (const file of sources(join(packagesDir, dir, "test"))) {
      for (const { builtin, pkg } of externalImports(file)) {
        if (builtin || pkg === manifest.name) continue
        const allowed = rule.allow === "*" || rule.tests === "*" || rule.allow.includes(pkg) || rule.tests.includes(pkg)
        if (!allowed) {
          violations.push(`${where(file)}: the tests of ${manifest.name} may not import ${pkg}`)
        } else if (!declaredForTests.has(pkg)) {
          violations.push(`${where(file)}: ${pkg} is imported by a test but not declared in ${inManifest} (devDependencies)`)
        }
      }
    }
    if (manifest.name === "@subshift/core") violations.push(...coreLayers(root, join(packagesDir, dir, "src")))
  }
  return violations
}

// The imports between role folders of the core that CORE_LAYERS does not allow.
const coreLayers = (root, srcDir) =>
  sources(srcDir).flatMap((file) => {
    const [role, ...rest] = relative(srcDir, file).split(sep)
    if (rest.length === 0) return role === "index.ts" ? [] : [`${relative(root, file)}: a core module belongs in a role folder (${Object.keys(CORE_LAYERS).join(", ")})`]
    const allowed = CORE_LAYERS[role]
    if (allowed === undefined) return [`${relative(root, file)}: ${role} is not a role of the core (${Object.keys(CORE_LAYERS).join(", ")})`]
    return importsOf(readFileSync(file, "utf8")).flatMap((specifier) => {
      if (!specifier.startsWith(".")) return []
      const target = relative(srcDir, resolve(dirname(file), specifier)).split(sep)[0]
      return allowed.includes(target) ? [] : [`${relative(root, file)}: the core's ${role} may not import its ${target} (${specifier})`]
    })
  })

// The non-relative imports of a file, each with its package or whether it is a Node built-in.
const externalImports = (file) =>
  importsOf(readFileSync(file, "utf8")).flatMap((specifier) => {
    if (specifier.startsWith(".")) return []
    const bare = specifier.replace(/^node:/, "")
    const builtin = specifier.startsWith("node:") || builtins.has(packageOf(bare))
    return [{ specifier, builtin, pkg: builtin ? bare : packageOf(specifier) }]
  })

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = process.argv[2] ?? join(fileURLToPath(new URL(".", import.meta.url)), "..")
  const violations = check(root)
  if (violations.length > 0) {
    console.error(`Dependency rule broken (${violations.length}):\n${violations.map((v) => `  ${v}`).join("\n")}`)
    process.exit(1)
  }
  console.log("Dependency rule holds: every package imports only what DESIGN §1 allows and declares it.")
}

// Packs every workspace package as it would be published and lints the tarball: publint for the
// package.json and its files, and "are the types wrong" for what TypeScript resolves on each entry
// point (every public module under dist/, not only the root). Needs the build (`npm run build`).
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { publint } from "publint"
import { formatMessage } from "publint/utils"

const root = new URL("..", import.meta.url).pathname
const packagesDir = join(root, "packages")
const attw = join(root, "node_modules", "@arethetypeswrong", "cli", "dist", "index.js")
const out = mkdtempSync(join(tmpdir(), "subshift-lint-"))
let failed = 0

try {
  for (const name of readdirSync(packagesDir).sort()) {
    const dir = join(packagesDir, name)
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
    const [packed] = JSON.parse(execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", out], { cwd: dir, encoding: "utf8" }))
    const tarball = join(out, packed.filename)
    const files = packed.files.map((f) => f.path)
    if (!files.includes("dist/index.js")) {
      console.error(`${pkg.name}: dist/index.js is missing from the tarball; run \`npm run build\` first`)
      failed++
      continue
    }

    const { messages } = await publint({ pack: { tarball: readFileSync(tarball).buffer }, level: "suggestion", strict: true })
    for (const message of messages) console.error(`${pkg.name}: publint ${message.type}: ${formatMessage(message, pkg)}`)
    failed += messages.length

    const entrypoints = files
      .filter((f) => f.startsWith("dist/") && f.endsWith(".d.ts") && f !== "dist/index.d.ts" && !f.startsWith("dist/internal/"))
      .map((f) => `./${f.slice("dist/".length, -".d.ts".length)}`)
    const args = [attw, tarball, "--profile", "esm-only", "--include-entrypoints", ...entrypoints]
    try {
      execFileSync(process.execPath, [...args, "--quiet"], { stdio: "inherit" })
    } catch {
      console.error(`${pkg.name}: attw found problems:`)
      try {
        execFileSync(process.execPath, [...args, "--format", "ascii", "--no-color"], { stdio: "inherit" })
      } catch { /* the report above is the point */ }
      failed++
    }
    console.log(`${pkg.name}: ${entrypoints.length + 1} entry points, ${failed === 0 ? "clean" : "problems above"}`)
  }
} finally {
  rmSync(out, { recursive: true, force: true })
}
process.exitCode = failed === 0 ? 0 : 1

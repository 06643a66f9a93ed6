// Bundles the benchmark sections into one plain ES module, so that what is measured is the code a
// deployment runs, not a TypeScript loader's hooks.
import { build } from "esbuild"

await build({
  entryPoints: ["bench/run.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  conditions: ["@subshift/source"],
  outfile: ".bench/run.mjs",
  external: ["@electric-sql/*", "pg", "pg-*", "autocannon", "esbuild"],
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: "warning"
})

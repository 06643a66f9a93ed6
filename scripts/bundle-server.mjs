// `npm run bundle`: the server and its command line as one ES module,
// packages/http-server/bundle/subshift.mjs (run it as `node …/subshift.mjs serve`). The built
// `subshift` bin loads some 1,100 modules at start; a bundle of only the code reached loads in
// about half the CPU time, which is what a restart waits for on a busy machine. The database
// drivers stay outside (resolved from node_modules as the bin resolves them).
import { build } from "esbuild"

await build({
  entryPoints: ["packages/http-server/src/cli/main.ts"],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  conditions: ["@subshift/source"],
  // Beside `page/`, which the change-plan page reads relative to the module.
  outfile: "packages/http-server/bundle/subshift.mjs",
  external: ["@electric-sql/*", "pg", "pg-*"],
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: "warning"
})

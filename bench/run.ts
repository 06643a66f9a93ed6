/**
 * `npm run bench [section…]`: runs the benchmark sections (all by default) and prints each as a
 * markdown section with its figures and ratios against a baseline measured in the same run.
 */
import * as os from "node:os"

const sections: Record<string, () => Promise<{ run: () => Promise<string> }>> = {
  core: () => import("./core.js"),
  http: () => import("./http.js"),
  postgres: () => import("./postgres.js")
}

const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(sections)
console.log(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}\n`)
for (const name of wanted) {
  const load = sections[name]
  if (load === undefined) {
    console.error(`unknown section ${name}; sections: ${Object.keys(sections).join(", ")}`)
    process.exitCode = 2
    continue
  }
  try {
    const section = await load()
    await section.run()
  } catch (error) {
    console.error(`section ${name} failed: ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  }
  console.log("")
}

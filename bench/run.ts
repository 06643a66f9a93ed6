/**
 * `npm run bench [section…]`: runs the benchmark sections (all by default), prints each as
 * markdown, and, when every section ran, writes the report to `docs/BENCHMARKS.md` with its chart
 * `docs/benchmarks.svg`. Every figure is compared with a baseline measured in the same run.
 */
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import * as os from "node:os"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { chart, type Panel, type Section } from "./report.js"

const sections: Record<string, () => Promise<{ run: () => Promise<Section> }>> = {
  core: () => import("./core.js"),
  http: () => import("./http.js"),
  postgres: () => import("./postgres.js"),
  embedded: () => import("./embedded.js"),
  import: () => import("./import.js"),
  webhooks: () => import("./webhooks.js"),
  observe: () => import("./observe.js")
}

const docs = fileURLToPath(new URL("../docs/", import.meta.url))

const postgresVersion = async (): Promise<string> => {
  const url = process.env["BENCH_DATABASE_URL"]
  if (url === undefined || url === "") return "not used (`BENCH_DATABASE_URL` unset)"
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version")
    return `PostgreSQL ${rows[0]!.server_version} at ${new URL(url).host} (loopback)`
  } finally {
    await client.end()
  }
}

const commit = (): string => {
  try {
    const git = (...args: Array<string>) => execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()
    const dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs") !== ""
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? " with uncommitted changes" : ""}`
  } catch {
    return "unknown"
  }
}

const machine = async (): Promise<string> => {
  const cpus = os.cpus()
  return [
    "## Machine",
    "",
    `- CPU: ${cpus.length} × ${cpus[0]?.model.trim() ?? "unknown"}`,
    `- Memory: ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    `- OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `- Node: ${process.version}`,
    `- Database: ${await postgresVersion()}`,
    `- Load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(", ")}`,
    `- Commit: ${commit()}; run at ${new Date().toISOString()}`
  ].join("\n")
}

const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(sections)
const facts = await machine()
console.log(`${facts}\n`)
const markdown: Array<string> = []
const panels: Array<Panel> = []
let failed = false
for (const name of wanted) {
  const load = sections[name]
  if (load === undefined) {
    console.error(`unknown section ${name}; sections: ${Object.keys(sections).join(", ")}`)
    process.exitCode = 2
    failed = true
    continue
  }
  try {
    const section = await (await load()).run()
    markdown.push(section.markdown)
    if (section.chart !== undefined) panels.push(section.chart)
  } catch (error) {
    console.error(`section ${name} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    process.exitCode = 1
    failed = true
  }
  console.log("")
}

if (wanted.length === Object.keys(sections).length && !failed) {
  writeFileSync(`${docs}benchmarks.svg`, chart(panels))
  writeFileSync(`${docs}BENCHMARKS.md`, [
    "# Benchmarks",
    "",
    "Written by `npm run bench` (set `BENCH_DATABASE_URL` to include the Postgres section); every figure is the median of " +
    "interleaved runs with their minimum and maximum, and every ratio is against a baseline measured in the same run on the " +
    "same machine, so the ratios, not the absolute figures, are what carries over to another machine.",
    "",
    facts,
    "",
    "![Throughput against catalog size and against connections](benchmarks.svg)",
    "",
    ...markdown.flatMap((m) => [m, ""])
  ].join("\n"))
  console.log("wrote docs/BENCHMARKS.md and docs/benchmarks.svg")
}

/**
 * Lints the OpenAPI documents the server serves (with and without the test clock) with Redocly's
 * recommended ruleset, offline: the documents are generated from the contract, written to a
 * temporary directory, and linted there with telemetry and update checks off. Any error or
 * warning fails.
 */
import * as OpenApi from "@effect/platform/OpenApi"
import { PublishedWithoutTestClock, SubshiftApi } from "@subshift/http-api/Api"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "subshift-openapi-"))
const files = [
  ["served.json", OpenApi.fromApi(PublishedWithoutTestClock)],
  ["with-test-clock.json", OpenApi.fromApi(SubshiftApi)]
].map(([name, spec]) => {
  const file = Path.join(dir, name as string)
  Fs.writeFileSync(file, JSON.stringify(spec, null, 2))
  return file
})
const redocly = Path.resolve("node_modules/.bin/redocly")
const env = { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_UPDATE_NOTIFIER: "1" }
let problems = 0
for (const file of files) {
  const result = spawnSync(redocly, ["lint", "--extends", "recommended", "--format", "json", file], { env, encoding: "utf8" })
  const report = JSON.parse(result.stdout.slice(result.stdout.indexOf("{"))) as {
    readonly totals: { readonly errors: number; readonly warnings: number }
    readonly problems: ReadonlyArray<{ readonly ruleId: string; readonly severity: string; readonly message: string; readonly location: ReadonlyArray<{ readonly pointer?: string }> }>
  }
  for (const p of report.problems) console.log(`${Path.basename(file)}: ${p.severity} ${p.ruleId}: ${p.message} ${p.location[0]?.pointer ?? ""}`)
  console.log(`${Path.basename(file)}: ${report.totals.errors} errors, ${report.totals.warnings} warnings`)
  problems += report.totals.errors + report.totals.warnings
}
Fs.rmSync(dir, { recursive: true, force: true })
process.exit(problems === 0 ? 0 : 1)

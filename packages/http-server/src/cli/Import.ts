/**
 * `subshift import subscriptions FILE.ndjson`: streams the file to the running server's import
 * (`POST /api/admin/subscriptions/import`), showing how much has been sent on long imports, then
 * prints the totals and every rejected line with its problems. Exits with code 1 when a line was
 * rejected.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import { createReadStream, statSync } from "node:fs"
import { Readable } from "node:stream"
import { apiKey, call, CommandFailed, headers, problemLines, reason, url } from "./Remote.js"

const file = Args.file({ name: "FILE.ndjson", exists: "yes" })

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`

/** Sends the file and answers the text to print; `progress` receives a line about once a second. */
export const importFile = (input: {
  readonly file: string
  readonly url: string
  readonly apiKey: Redacted.Redacted
  readonly reason: Option.Option<string>
}, progress: (line: string) => void = (line) => process.stderr.write(`\r${line}`)) =>
  Effect.gen(function*() {
    const size = statSync(input.file).size
    let sent = 0
    const source = createReadStream(input.file)
    source.on("data", (chunk) => void (sent += chunk.length))
    const started = Date.now()
    const timer = setInterval(() => progress(`sent ${megabytes(sent)} of ${megabytes(size)} (${size === 0 ? 100 : Math.floor((sent / size) * 100)}%), ${Math.round((Date.now() - started) / 1000)} s`), 1000)
    const report = yield* call(`${input.url.replace(/\/$/, "")}/api/admin/subscriptions/import`, {
      method: "POST",
      headers: { ...headers(input.apiKey, Option.getOrUndefined(input.reason)), "content-type": "application/x-ndjson" },
      body: Readable.toWeb(source) as ReadableStream,
      duplex: "half"
    } as RequestInit).pipe(Effect.ensuring(Effect.sync(() => clearInterval(timer))))
    if (Date.now() - started >= 1000) progress(`sent ${megabytes(size)} of ${megabytes(size)} (100%)\n`)
    const t = report.totals
    const rejected = (report.lines as ReadonlyArray<any>).filter((l) => l.status === "rejected")
    const text = [
      `${t.lines} lines: ${t.created} created, ${t.updated} updated, ${t.unchanged} unchanged, ${t.rejected} rejected`,
      ...rejected.map((l) => `line ${l.line}${l.id === undefined ? "" : ` (${l.id})`} rejected:\n${problemLines(l.problems)}`)
    ].join("\n")
    return { text, rejected: rejected.length }
  })

/** The `import` commands. */
export const command = Command.make("import").pipe(
  Command.withDescription("Load records from the system of record into a running server"),
  Command.withSubcommands([
    Command.make("subscriptions", { file, url, apiKey, reason }, (input) =>
      Effect.flatMap(importFile(input), ({ rejected, text }) =>
        rejected === 0 ? Console.log(text) : Effect.zipRight(Console.log(text), new CommandFailed({ message: `${rejected} lines were rejected` })))).pipe(
        Command.withDescription("Import subscriptions from an NDJSON file, one record per line, each created or replaced on its own")
      )
  ])
)

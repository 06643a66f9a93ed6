/**
 * What the commands that change data share: they call a running server's admin API (`--url`, or
 * `SUBSHIFT_URL`; the key in `SUBSHIFT_API_KEY`, or `--api-key`). The embedded store is locked by
 * the server that runs on it, so no command opens a store to change data.
 */
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

/** A command that could not do its work: the message is printed and the process exits with code 1. */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{ readonly message: string }> {}

/** The server's base URL. */
export const url = Options.text("url").pipe(
  Options.withDescription("The running server's base URL (or SUBSHIFT_URL)"),
  Options.withFallbackConfig(Config.string("SUBSHIFT_URL")),
  Options.withDefault("http://127.0.0.1:3000")
)

/** The operator API key. */
export const apiKey = Options.redacted("api-key").pipe(
  Options.withDescription("An operator API key, ssk_… (or SUBSHIFT_API_KEY; prefer the variable: arguments show in process lists)"),
  Options.withFallbackConfig(Config.redacted("SUBSHIFT_API_KEY"))
)

/** The reason recorded in the audit log. */
export const reason = Options.text("reason").pipe(
  Options.withDescription("Why: recorded in the audit log (X-Subshift-Reason)"),
  Options.optional
)

/** The headers of an admin request. */
export const headers = (key: Redacted.Redacted, why: string | undefined): Record<string, string> => ({
  authorization: `Bearer ${Redacted.value(key)}`,
  ...(why === undefined ? {} : { "x-subshift-reason": why })
})

/** An admin request's answer, or the failure to print: the server's error message when it gave one. */
export const call = (target: string, init: RequestInit) =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(target, init)
      const text = await response.text()
      let body: any = text
      try {
        body = JSON.parse(text)
      } catch {
        // not JSON: the text is the body
      }
      return { status: response.status, body }
    },
    catch: (e) => new CommandFailed({ message: `cannot reach ${new URL(target).origin}: ${e instanceof Error ? (e.cause as Error | undefined)?.message ?? e.message : String(e)}` })
  }).pipe(
    Effect.flatMap((answer) =>
      answer.status < 400
        ? Effect.succeed(answer.body)
        : Effect.fail(new CommandFailed({
          message: `the server answered ${answer.status}${
            typeof answer.body === "object" && answer.body?.error?.message !== undefined
              ? `: ${answer.body.error.message}${answer.body.error.details?.problems === undefined ? "" : `\n${problemLines(answer.body.error.details.problems)}`}`
              : ""
          }`
        }))
    )
  )

/** Problems, one per line, each with its path. */
export const problemLines = (problems: ReadonlyArray<{ readonly path: string; readonly message: string }>) =>
  problems.map((p) => `  ${p.path}: ${p.message}`).join("\n")

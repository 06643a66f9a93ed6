/**
 * `subshift catalog validate FILE` checks a catalog document (JSON, or YAML for `.yaml`/`.yml`)
 * offline, with no server: it prints every problem with its path and exits with code 1, or
 * prints the warnings and exits with 0. `subshift catalog publish FILE [--effective-from]`
 * sends the document to a running server, which publishes it as a new version.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as CatalogValidation from "@subshift/core/rules/CatalogValidation"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as CatalogFile from "../CatalogFile.js"
import { apiKey, call, CommandFailed, headers, problemLines, reason, url } from "./Remote.js"

const file = Args.file({ name: "FILE", exists: "yes" })

const effectiveFrom = Options.text("effective-from").pipe(
  Options.withDescription("When the version takes effect, an ISO-8601 instant (now when absent; never in the past)"),
  Options.optional
)

const readFile = (path: string) =>
  CatalogFile.read(path).pipe(Effect.mapError((e) => new CommandFailed({ message: e.message })))

/** Validates a file offline and answers the text to print, or fails listing every problem. */
export const validateFile = (path: string) =>
  Effect.flatMap(readFile(path), (document) =>
    Either.match(CatalogValidation.validate(document), {
      onLeft: (e) => Effect.fail(new CommandFailed({ message: `${path} is not valid:\n${problemLines(e.problems)}` })),
      onRight: ({ document: valid, warnings }) =>
        Effect.succeed([
          `${path} is valid: ${valid.offers.length} offers`,
          ...(warnings.length === 0 ? [] : [`${warnings.length} warnings:`, problemLines(warnings)])
        ].join("\n"))
    }))

const list = (label: string, ids: ReadonlyArray<string>) => (ids.length === 0 ? [] : [`  ${label}: ${ids.join(", ")}`])

/** Publishes a file through a running server and answers the text to print. */
export const publishFile = (input: {
  readonly file: string
  readonly url: string
  readonly apiKey: Redacted.Redacted
  readonly reason: Option.Option<string>
  readonly effectiveFrom: Option.Option<string>
}) =>
  Effect.gen(function*() {
    const document = yield* readFile(input.file)
    const query = Option.match(input.effectiveFrom, { onNone: () => "", onSome: (at) => `?effectiveFrom=${encodeURIComponent(at)}` })
    const published = yield* call(`${input.url.replace(/\/$/, "")}/api/admin/catalog${query}`, {
      method: "PUT",
      headers: { ...headers(input.apiKey, Option.getOrUndefined(input.reason)), "content-type": "application/json" },
      body: JSON.stringify(document)
    })
    return [
      `published version ${published.version}, effective from ${published.effectiveFrom}`,
      ...list("added", published.diff.added),
      ...list("removed", published.diff.removed),
      ...list("changed", published.diff.changed.map((c: { offerId: string }) => c.offerId)),
      ...(published.held as ReadonlyArray<{ offerId: string; change: string; subscriptions: number }>)
        .filter((h) => h.subscriptions > 0)
        .map((h) => `  ${h.subscriptions} current subscriptions hold ${h.offerId} (${h.change}); they keep their price`),
      ...(published.warnings.length === 0 ? [] : [`${published.warnings.length} warnings:`, problemLines(published.warnings)])
    ].join("\n")
  })

/** The `catalog` commands. */
export const command = Command.make("catalog").pipe(
  Command.withDescription("Validate and publish catalog documents (JSON or YAML)"),
  Command.withSubcommands([
    Command.make("validate", { file }, ({ file }) => Effect.flatMap(validateFile(file), Console.log)).pipe(
      Command.withDescription("Check a catalog file offline: every problem with its path (exit 1), or its warnings (exit 0)")
    ),
    Command.make("publish", { file, url, apiKey, reason, effectiveFrom }, (input) => Effect.flatMap(publishFile(input), Console.log)).pipe(
      Command.withDescription("Publish a catalog file as a new version on a running server (scope catalog:write)")
    )
  ])
)

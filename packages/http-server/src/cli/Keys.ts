/** `subshift keys create`: a new operator API key, printed once with the configuration entry that admits it. */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ApiKeys from "../admin/ApiKeys.js"
import { CommandFailed } from "./Remote.js"

const name = Options.text("name").pipe(Options.withDescription("The key's name, shown in audit entries (letters, digits, . _ -)"))
const scopes = Options.text("scopes").pipe(
  Options.withDescription("Comma-separated: catalog:write, subscriptions:write, webhooks:write, admin:read")
)
const expires = Options.text("expires").pipe(Options.withDescription("An ISO-8601 date or instant after which the key is refused"), Options.optional)

/** Makes the key and the text to print. */
export const create = (input: { readonly name: string; readonly scopes: string; readonly expires: Option.Option<string> }) =>
  Effect.gen(function*() {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(input.name)) return yield* new CommandFailed({ message: "--name is 1 to 64 letters, digits, dots, underscores or dashes" })
    const parsed = ApiKeys.parseScopes(input.scopes)
    if (Either.isLeft(parsed)) return yield* new CommandFailed({ message: `--scopes: ${parsed.left}` })
    const expiry = Option.getOrUndefined(input.expires)
    if (expiry !== undefined && Number.isNaN(Date.parse(expiry))) return yield* new CommandFailed({ message: `--expires: ${expiry} is not an ISO-8601 date or instant` })
    const made = ApiKeys.generate(input.name, parsed.right, expiry)
    return [
      `API key (shown once; the server keeps only its hash):`,
      ``,
      `  ${made.key}`,
      ``,
      `Add this entry to SUBSHIFT_API_KEYS (comma-separated with any others) and restart the server:`,
      ``,
      `  SUBSHIFT_API_KEYS="${made.entry}"`
    ].join("\n")
  })

/** The `keys` commands. */
export const command = Command.make("keys").pipe(
  Command.withDescription("Operator API keys"),
  Command.withSubcommands([
    Command.make("create", { name, scopes, expires }, (input) => Effect.flatMap(create(input), Console.log)).pipe(
      Command.withDescription("Create a key: prints it once, with the SUBSHIFT_API_KEYS entry to add")
    )
  ])
)

/**
 * The `subshift` command line. Each command group lives in its own file here and is listed in
 * `commands`; adding one (e.g. `catalog validate|publish` in `Catalog.ts`) is a new file and a new
 * entry. Commands that change data call a running server's admin API (`Remote.ts`).
 */
import * as Command from "@effect/cli/Command"
import * as Catalog from "./Catalog.js"
import * as Import from "./Import.js"
import * as Keys from "./Keys.js"
import * as Migrate from "./Migrate.js"
import * as Serve from "./Serve.js"

/** Every command, in the order `--help` lists them. */
export const commands = [Serve.command, Migrate.command, Catalog.command, Import.command, Keys.command] as const

/** The root command. */
export const root = Command.make("subshift").pipe(
  Command.withDescription("Subshift: subscription change checkout"),
  Command.withSubcommands(commands)
)

/**
 * `subshift migrate`: brings the Postgres schema at `DATABASE_URL` up to date (opening the
 * store runs every migration it has not run yet). Several servers and this command may run it at once: the migrations run once.
 * The embedded store migrates itself when the server opens it.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as PgStore from "@subshift/store-postgres/PgStore"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { showUrl } from "../Store.js"
import { CommandFailed } from "./Remote.js"

const databaseUrl = Options.redacted("database-url").pipe(
  Options.withDescription("The Postgres to migrate (or DATABASE_URL)"),
  Options.withFallbackConfig(Config.redacted("DATABASE_URL"))
)

/** Runs the migrations and answers the text to print. */
export const migrate = (url: Redacted.Redacted) =>
  Layer.build(PgStore.layerUrl(url, { maxConnections: 1, applicationName: "subshift migrate" })).pipe(
    Effect.scoped,
    Effect.as(`${showUrl(Redacted.value(url))}: the schema is up to date`),
    Effect.mapError((e) => new CommandFailed({ message: `cannot migrate ${showUrl(Redacted.value(url))}: ${e.message}` }))
  )

/** The `migrate` command. */
export const command = Command.make("migrate", { databaseUrl }, ({ databaseUrl }) => Effect.flatMap(migrate(databaseUrl), Console.log)).pipe(
  Command.withDescription("Bring the Postgres schema at DATABASE_URL up to date (the server also does it when it starts)")
)

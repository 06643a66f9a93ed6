/** `subshift serve`: reads the configuration, serves the API, and prints where and how to try it. */
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as CatalogFile from "../CatalogFile.js"
import * as Config from "../Config.js"
import * as Demo from "../Demo.js"
import * as Heap from "../Heap.js"
import * as Prometheus from "../Prometheus.js"
import * as Server from "../Server.js"
import * as Store from "../Store.js"

/** Serves until interrupted; a bad configuration, a bad catalog file or a store that cannot start ends the process with code 1. */
export const serve = Effect.gen(function*() {
  const config = yield* Config.load
  yield* Effect.sync(() => Heap.applyGrowth(config.heapGrowthPercent))
  const announce = Layer.effectDiscard(
    Effect.flatMap(Server.baseUrl, (url) =>
      Effect.flatMap(Demo.banner(config, url), (banner) => {
        const [first = "", ...rest] = banner.split("\n")
        return Console.log([first, `  Store: ${Store.describe(config.store)}`, ...rest].join("\n"))
      }))
  )
  return yield* Layer.launch(announce.pipe(Layer.provideMerge(Server.layer(config)))).pipe(
    Logger.withMinimumLogLevel(config.logLevel)
  )
}).pipe(
  Effect.catchIf(ConfigError.isConfigError, (e) =>
    Effect.zipRight(Console.error(`Subshift cannot start: bad configuration\n  ${String(e)}`), Effect.sync(() => process.exit(1)))),
  Effect.catchIf((e): e is Store.StoreStartError | Prometheus.MetricsListenError =>
    e instanceof Store.StoreStartError || e instanceof Prometheus.MetricsListenError, (e) =>
    Effect.zipRight(Console.error(`Subshift cannot start: ${e.message}`), Effect.sync(() => process.exit(1)))),
  Effect.catchIf((e): e is CatalogFile.CatalogFileError => e instanceof CatalogFile.CatalogFileError, (e) =>
    Effect.zipRight(Console.error(`Subshift cannot start: ${e.message}`), Effect.sync(() => process.exit(1)))),
  Effect.provide(Logger.json)
)

/** The `serve` command. */
export const command = Command.make("serve", {}, () => serve).pipe(
  Command.withDescription("Start the HTTP server, configured by environment variables (PORT, HOST, SUBSHIFT_STORE, DATABASE_URL, NODE_ENV, …)")
)

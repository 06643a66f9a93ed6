/**
 * Which store the server runs on, decided in this one place: `SUBSHIFT_STORE` when it is set;
 * otherwise Postgres at `DATABASE_URL` when that is set; otherwise the embedded Postgres keeping
 * its data in `SUBSHIFT_DATA_DIR`. The demo data is seeded through the ports only when the store
 * does not hold it yet, so a durable store keeps its data across restarts, and expired baskets
 * and idempotency records are swept periodically.
 */
import { Baskets } from "@subshift/core/ports/Baskets"
import { BillGroups } from "@subshift/core/ports/BillGroups"
import { Catalog } from "@subshift/core/ports/Catalog"
import * as Demo from "@subshift/core/demo/Demo"
import type { StoreUnavailable } from "@subshift/core/domain/Errors"
import * as Idempotency from "@subshift/core/ports/Idempotency"
import * as Instant from "@subshift/core/domain/Instant"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import type { WebhookStore } from "@subshift/core/ports/Webhooks"
import * as MemoryStore from "@subshift/store-memory/MemoryStore"
import type * as PgStore from "@subshift/store-postgres/PgStore"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Path from "node:path"
import type { ServerConfig } from "./Config.js"
import * as Metrics from "./Metrics.js"

/** Every port a store provides: the core's `StorePorts` and the webhook stores, under the name the server's modules use. */
export type Ports = StorePorts | WebhookStore

/** The failure of a store that cannot start. */
export class StoreStartError extends Error {
  override readonly name = "StoreStartError"
}

/** The embedded store's data directory, absolute. */
export const dataDirOf = (config: ServerConfig["store"]): string =>
  // `npm start` runs the server from its package folder; a relative directory means the folder
  // the user started it from.
  Path.resolve(process.env["INIT_CWD"] ?? process.cwd(), config.dataDir)

/** A connection URL fit to print: the password is left out. */
export const showUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    parsed.password = ""
    parsed.search = ""
    return parsed.toString()
  } catch {
    return "(a URL that does not parse)"
  }
}

/** Which store the configuration names and where its data lives, for start-up messages. */
export const describe = (config: ServerConfig["store"]): string => {
  switch (config.kind) {
    case "memory":
      return "in memory: everything is lost when the server stops"
    case "embedded":
      return `embedded Postgres, data in ${dataDirOf(config)}`
    case "postgres":
      return `Postgres at ${Option.match(config.databaseUrl, { onNone: () => "?", onSome: (url) => showUrl(Redacted.value(url)) })}`
  }
}

/**
 * `@subshift/store-postgres` is loaded when a Postgres store is chosen, so that a server on the
 * in-memory store never loads the database driver (nor needs it resolvable when bundled). It is
 * loaded as soon as the store is chosen, before the server listens: evaluating the driver's code
 * blocks the main thread, and once the server listens that would delay its answers.
 */
const loadPgStore = (): Effect.Effect<typeof PgStore> => {
  const loading = import("@subshift/store-postgres/PgStore")
  // Awaited when the layer is built; a server that never builds it must not see an unhandled rejection.
  loading.catch(() => {})
  return Effect.promise(() => loading)
}

const clientOptions = (config: ServerConfig["store"]): PgStore.ClientOptions => ({
  statementTimeout: config.statementTimeout,
  queryTimeout: config.queryTimeout,
  pooler: config.pooler === "transaction" ? "transaction" : undefined,
  directUrl: Option.getOrUndefined(config.directUrl)
})

// PgBouncer refuses the statement timeout the store sends as a session parameter; say what to set.
const withPoolerHint = (message: string) =>
  message.includes("unsupported startup parameter")
    ? `${message}. A pooler in transaction mode (PgBouncer) is in front of the database: set SUBSHIFT_DB_POOLER=transaction.`
    : message

const postgres = (config: ServerConfig["store"]): Layer.Layer<Ports, StoreStartError> =>
  Layer.unwrapEffect(
    Effect.map(loadPgStore(), (pg): Layer.Layer<Ports, StoreUnavailable | StoreStartError> => {
      Metrics.setPoolSource(() => pg.poolFigures() ?? { total: 0, idle: 0, waiting: 0 })
      if (config.kind === "embedded") return pg.layerEmbedded({ dataDir: dataDirOf(config) })
      return Option.match(config.databaseUrl, {
        onNone: () => Layer.fail(new StoreStartError("SUBSHIFT_STORE=postgres needs DATABASE_URL")),
        onSome: (url) => pg.layerUrl(url, clientOptions(config))
      })
    })
  ).pipe(
    Layer.mapError((error) =>
      error instanceof StoreStartError
        ? error
        : new StoreStartError(
          config.kind === "embedded"
            ? `${error.message}. If another Subshift server uses it, stop that one or set SUBSHIFT_DATA_DIR to another directory.`
            : withPoolerHint(error.message)
        )
    )
  )

/**
 * The store the partner listing and the partner subscription detail read: the replica at
 * `DATABASE_READ_URL` when one is configured, else none (they read the main store).
 */
export const readLayer = (config: ServerConfig["store"]): Layer.Layer<Ports, StoreStartError> | undefined =>
  Option.match(config.readUrl, {
    onNone: () => undefined,
    onSome: (url) =>
      Layer.unwrapEffect(Effect.map(loadPgStore(), (pg) => pg.layerReadUrl(url, { ...clientOptions(config), directUrl: undefined }))).pipe(
        Layer.mapError((error) => new StoreStartError(`the read replica at DATABASE_READ_URL: ${error.message}`)),
        Layer.tap(() =>
          Effect.logInfo("read replica ready").pipe(
            Effect.annotateLogs({ where: showUrl(Redacted.value(Option.getOrThrow(config.readUrl))) })
          )
        )
      )
  })

const rssMb = () => Math.round(process.memoryUsage.rss() / 2 ** 20)

/**
 * The store the configuration names. Once it is ready it logs which store it is, where its data
 * lives, how long it took to open and the process's RSS at that moment.
 */
export const layer = (config: ServerConfig["store"]): Layer.Layer<Ports, StoreStartError> => {
  const pg = config.kind === "memory" ? undefined : postgres(config)
  return Layer.unwrapEffect(
    Effect.sync(() => {
      const started = performance.now()
      // An empty memory store has nothing to check, so it cannot fail.
      return Layer.tap(pg ?? Layer.orDie(MemoryStore.layer()), () =>
        Effect.logInfo("store ready").pipe(
          Effect.annotateLogs({
            store: config.kind,
            where: describe(config),
            readyMs: Math.round(performance.now() - started),
            // Since the process started: Node loading the code, then the store opening.
            processMs: Math.round(process.uptime() * 1000),
            rssMb: rssMb()
          })
        ))
    })
  )
}

/** Seeds the demo catalog, subscriptions and bill groups, unless the store already holds them. */
export const seedDemo: Effect.Effect<boolean, StoreUnavailable, Ports> = Effect.gen(function*() {
  const subscriptions = yield* Subscriptions
  if (Option.isSome(yield* subscriptions.findById("sub-alice"))) return false
  const today = CalendarDate.fromEpochMillis(yield* Clock.currentTimeMillis)
  const seed = Demo.seed(today)
  yield* (yield* Catalog).put(seed.offers)
  const billGroups = yield* BillGroups
  for (const group of seed.billGroups) yield* billGroups.put(group)
  // The demo data is the project's own: a subscription that fails its check is a bug, not input.
  for (const subscription of seed.subscriptions) yield* subscriptions.put(subscription).pipe(Effect.catchTag("InvalidInput", Effect.die))
  return true
})

/** Deletes expired baskets and expired idempotency records now and then, for as long as the layer lives. */
export const sweepExpired = (
  every: ServerConfig["store"]["sweepInterval"]
): Layer.Layer<never, never, Baskets | Idempotency.Idempotency> =>
  Layer.scopedDiscard(
    Effect.gen(function*() {
      const baskets = yield* Baskets
      const idempotency = yield* Idempotency.Idempotency
      const sweep = Effect.gen(function*() {
        const now = Instant.fromEpochMillis(yield* Clock.currentTimeMillis)
        const deleted = yield* baskets.deleteExpired(now).pipe(
          Effect.catchAll((e) => Effect.as(Effect.logWarning("the expired-basket sweep failed", { error: e.message }), 0))
        )
        const forgotten = yield* idempotency.sweep(now).pipe(
          Effect.catchAll((e) => Effect.as(Effect.logWarning("the idempotency-key sweep failed", { error: e.message }), 0))
        )
        if (deleted + forgotten > 0) yield* Effect.logDebug("expired records deleted", { baskets: deleted, idempotencyKeys: forgotten })
      })
      yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(every)))
    })
  )

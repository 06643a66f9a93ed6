/**
 * Postgres adapters for every repository port of the core, on `@effect/sql-pg`. Each row keeps the
 * full domain object as `jsonb` next to the columns the queries filter, order and check versions
 * on. Versioned writes are single `UPDATE … WHERE version = expected` statements; a commit writes
 * its subscriptions, basket, amendments and events in one transaction, and so does every other
 * write that records events (an outbox). Driver failures are mapped at this
 * edge: a lost or refused connection is `StoreUnavailable`, anything else (a constraint the core
 * should never break, a row that no longer decodes) is a defect. With a `queryTimeout`, a
 * connection on which the database stops answering is closed and discarded rather than waited on.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Amendments } from "@subshift/core/ports/Amendments"
import { AuditLog } from "@subshift/core/ports/AuditLog"
import { Baskets } from "@subshift/core/ports/Baskets"
import { BillGroups } from "@subshift/core/ports/BillGroups"
import { Catalog } from "@subshift/core/ports/Catalog"
import { CatalogVersions } from "@subshift/core/ports/CatalogVersions"
import { StoreUnavailable } from "@subshift/core/domain/Errors"
import { Events } from "@subshift/core/ports/Events"
import { Idempotency } from "@subshift/core/ports/Idempotency"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { WebhookDeliveries, WebhookEndpoints, type WebhookStore } from "@subshift/core/ports/Webhooks"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Embedded from "./Embedded.js"
import * as Edge from "./internal/Edge.js"
import * as Generation from "./internal/Generation.js"
import { cachedDecoder } from "./internal/Rows.js"
import * as Subscription from "@subshift/core/domain/Subscription"
import * as PgAmendments from "./internal/PgAmendments.js"
import * as PgAudit from "./internal/PgAudit.js"
import * as PgBaskets from "./internal/PgBaskets.js"
import * as PgBillGroups from "./internal/PgBillGroups.js"
import * as PgCatalog from "./internal/PgCatalog.js"
import * as PgEvents from "./internal/PgEvents.js"
import * as PgIdempotency from "./internal/PgIdempotency.js"
import * as PgCatalogVersions from "./internal/PgCatalogVersions.js"
import * as PgSubscriptions from "./internal/PgSubscriptions.js"
import * as Pool from "./internal/pool.js"
import * as Pooled from "./internal/Pooled.js"
import * as ServerCheck from "./internal/ServerCheck.js"
import * as PgWebhooks from "./internal/PgWebhooks.js"
import * as Watchdog from "./internal/watchdog.js"
import * as Migrations from "./Migrations.js"

/**
 * Whether a driver error means the store is unreachable. Errors that carry no SQLSTATE come from
 * the socket or the pool (refused, reset, terminated, timed out), never from a statement.
 */
export const isUnavailable: (error: SqlError) => boolean = Edge.isUnavailable

/** The oldest PostgreSQL release the store runs on, as `server_version_num` counts it. */
export const minimumServerVersion: number = ServerCheck.MINIMUM_VERSION

/** Whether the store supports a server, from its `server_version_num` and `version()`: the server, or why not. */
export const checkServer = ServerCheck.check

/**
 * How long one store call may wait on the database, for a connection and for every statement it
 * sends, before it fails with `StoreUnavailable`; no limit unless provided. The call is abandoned
 * rather than interrupted: what it sent finishes or fails on its own, and a transaction still
 * commits or rolls back as a whole. `layerUrl` provides its `queryTimeout` here when its
 * connections use TLS, which its watchdog cannot read; a host that owns its `PgClient` can
 * provide it to `layerWithoutClient`.
 */
export class CallTimeout extends Context.Reference<CallTimeout>()("@subshift/store-postgres/PgStore/CallTimeout", {
  defaultValue: (): Option.Option<Duration.Duration> => Option.none()
}) {}

/**
 * A `statement_timeout` set with `SET LOCAL` at the start of every transaction the store opens;
 * none unless provided. `layerUrl` provides its `statementTimeout` here when the database is
 * reached through a pooler in transaction mode, where a session parameter cannot be set.
 */
export class LocalStatementTimeout extends Context.Reference<LocalStatementTimeout>()(
  "@subshift/store-postgres/PgStore/LocalStatementTimeout",
  { defaultValue: (): Option.Option<Duration.Duration> => Option.none() }
) {}

/**
 * A client of its own for `LISTEN`, which needs a session: through a pooler in transaction mode
 * a `LISTEN` would stay on whichever server connection ran it. `layerUrl` opens one on its
 * `directUrl`; the ports' client then listens through it. None unless provided.
 */
export class ListenClient extends Context.Reference<ListenClient>()("@subshift/store-postgres/PgStore/ListenClient", {
  defaultValue: (): Option.Option<PgClient.PgClient> => Option.none()
}) {}

/**
 * The client the ports run their statements on: the `PgClient`, with `LocalStatementTimeout`
 * set in every transaction and `listen` on the `ListenClient` when they are provided.
 */
export const portClient: Effect.Effect<PgClient.PgClient, never, PgClient.PgClient> = Effect.gen(function*() {
  const client = yield* PgClient.PgClient
  const timed = Option.match(yield* LocalStatementTimeout, {
    onNone: () => client,
    onSome: (timeout) => Pooled.withLocalTimeout(client, Duration.toMillis(timeout))
  })
  return Option.match(yield* ListenClient, { onNone: () => timed, onSome: (direct) => Pooled.withListen(timed, direct) })
})

const abandonAfter = (timeout: Duration.Duration) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.disconnect,
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () =>
        new StoreUnavailable({ message: `the database did not answer within ${Duration.format(timeout)}` })
    })
  )

/** Every port the store provides: the repository ports and the webhook stores. */
export type Ports = StorePorts | WebhookStore

/** Builds the ports over a SQL client whose schema is already migrated. */
export const make: Effect.Effect<Context.Context<Ports>, never, PgClient.PgClient> = Effect.gen(function*() {
  const sql = yield* portClient
  const callTimeout = yield* CallTimeout
  // Where every port call ends: driver failures mapped, and the wait bounded when asked to.
  const edge: Edge.Edge = Option.match(callTimeout, {
    onNone: () => Edge.mapFailures,
    onSome: (timeout) => (what: string) => <A, E>(self: Effect.Effect<A, E | SqlError | ParseResult.ParseError>) =>
      Edge.mapFailures(what)(abandonAfter(timeout)(self))
  })
  // Every statement runs `withoutTransform`: a host's client may carry name transforms, which
  // would otherwise also rewrite keys inside the stored JSON.
  const read: Edge.Edge = (what) => (self) => edge(what)(Edge.retryDeadConnection(self))
  const context: Edge.PortContext = { sql, edge, read, observed: Generation.make() }
  const insertEvents = PgEvents.insertEvents(context)
  const decodeSubscription = cachedDecoder(Subscription.Subscription, 4096)
  const baskets = PgBaskets.make(context, insertEvents, decodeSubscription)
  const webhooks = PgWebhooks.make(context, insertEvents)
  const versions = PgCatalogVersions.make(context, context.observed, insertEvents)
  return Context.make(Catalog, PgCatalog.make(context, versions)).pipe(
    Context.add(CatalogVersions, versions.port),
    Context.add(Subscriptions, PgSubscriptions.make(context, decodeSubscription, {
      catalogView: versions.latestView,
      saveBasket: baskets.save,
      insertAmendments: PgAmendments.insertAmendments(context),
      insertEvents
    })),
    Context.add(Baskets, baskets.baskets),
    Context.add(BillGroups, PgBillGroups.make(context)),
    Context.add(Amendments, PgAmendments.make(context)),
    Context.add(Events, PgEvents.make(context)),
    Context.add(Idempotency, PgIdempotency.make(context)),
    Context.add(AuditLog, PgAudit.make(context)),
    Context.add(WebhookEndpoints, webhooks.endpoints),
    Context.add(WebhookDeliveries, webhooks.deliveries)
  )
})

/**
 * Checks the server (PostgreSQL, at least `minimumServerVersion`; anything else is refused with a
 * defect that says why) and runs the migrations, mapping a lost connection to `StoreUnavailable`
 * and anything else to a defect.
 */
export const migrate: Effect.Effect<void, StoreUnavailable, SqlClient.SqlClient> = ServerCheck.verify.pipe(
  Effect.zipRight(Migrations.run),
  Effect.asVoid,
  Effect.catchTags({
    SqlError: (error) => (isUnavailable(error) ? Effect.fail(Edge.unavailable(error)) : Effect.die(Edge.refused("migrate", error))),
    MigrationError: (error) => Effect.die(error)
  })
)

/**
 * Every port over a `PgClient` the host already owns; the schema is migrated when the layer is
 * built.
 */
export const layerWithoutClient: Layer.Layer<Ports, StoreUnavailable, PgClient.PgClient> = Layer.effectContext(
  Effect.flatMap(PgClient.PgClient, (client) =>
    migrate.pipe(Effect.provideService(SqlClient.SqlClient, client), Effect.zipRight(make)))
)

/**
 * The figures (connections open, idle, and calls waiting) of the pools that `layerUrl` and
 * `layerEmbedded` have open, added up; `undefined` while none is open.
 */
export const poolFigures: () => Pool.PoolFigures | undefined = Pool.figures

/** Connection options of the store's own pool. */
export interface ClientOptions {
  /** Connections in the pool; 10 unless set. */
  readonly maxConnections?: number | undefined
  /** How long to wait for a connection before the call fails with `StoreUnavailable`; 5 seconds unless set. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Shown in `pg_stat_activity`; `subshift` unless set. */
  readonly applicationName?: string | undefined
  /**
   * The server cancels a statement running longer than this (`statement_timeout`, SQLSTATE
   * 57014, so the call fails with `StoreUnavailable`); no limit unless set.
   */
  readonly statementTimeout?: Duration.DurationInput | undefined
  /**
   * How long the database may leave a message unanswered on an open connection. Past it the
   * connection is closed, never reused, and the call fails with `StoreUnavailable`: this covers
   * what `statementTimeout` cannot, a network or server that stops answering while the
   * connection stays open. Keep it above `statementTimeout`, so that a merely slow statement is
   * cancelled by the server first and stores nothing. Over TLS, whose messages the socket cannot
   * read, each call is bounded by it instead (`CallTimeout`). No limit unless set.
   */
  readonly queryTimeout?: Duration.DurationInput | undefined
  /**
   * `transaction` when the URL reaches the database through a pooler in transaction mode
   * (PgBouncer's `pool_mode = transaction`). No session parameter is sent then (PgBouncer refuses
   * them at connect): `statementTimeout` is set with `SET LOCAL` at the start of every
   * transaction, and statements outside a transaction are bounded by the database's default
   * (`ALTER ROLE … SET statement_timeout`), which is read at start and warned about when unset.
   */
  readonly pooler?: "transaction" | undefined
  /**
   * A URL straight to the database, past the pooler, for what needs a session of its own:
   * `LISTEN` (the ports' client listens through one connection opened on it). Unused unless set.
   */
  readonly directUrl?: string | Redacted.Redacted | undefined
}

const clientDefaults = (options: ClientOptions) => ({
  maxConnections: options.maxConnections ?? 10,
  connectTimeout: options.connectTimeout ?? Duration.seconds(5),
  applicationName: options.applicationName ?? "subshift"
})

// Opening the pool fails only when the server cannot be reached or refuses the login.
const clientUnavailable = <A, E, R>(
  self: Layer.Layer<A, E, R>
): Layer.Layer<A, Exclude<E, SqlError> | StoreUnavailable, R> =>
  Layer.mapError(self, (error) => (Edge.isSqlError(error) ? Edge.unavailable(error) : (error as Exclude<E, SqlError>)))

/** Every port over a pool opened from `PgClient` configuration. */
export const layerConfig = (
  config: Config.Config.Wrap<PgClient.PgClientConfig>
): Layer.Layer<Ports, StoreUnavailable | ConfigError.ConfigError> =>
  layerWithoutClient.pipe(Layer.provide(clientUnavailable(PgClient.layerConfig(config))))

/** Every port over the database at `DATABASE_URL`. */
export const layer: Layer.Layer<Ports, StoreUnavailable | ConfigError.ConfigError> = layerConfig({
  url: Config.redacted("DATABASE_URL"),
  maxConnections: Config.succeed(10),
  connectTimeout: Config.succeed(Duration.seconds(5)),
  applicationName: Config.succeed("subshift")
})

/** Every port over the database at a connection URL. */
export const layerUrl = (
  url: string | Redacted.Redacted,
  options: ClientOptions = {}
): Layer.Layer<Ports, StoreUnavailable> => layerWithoutClient.pipe(Layer.provide(clientLayer(url, options)))

/**
 * Every port over a read replica (a hot standby streaming from the primary) at a connection URL,
 * for reads that may lag the primary a little. Nothing is migrated: the replica receives the
 * schema from its primary. Building fails with `StoreUnavailable` when the replica cannot be
 * reached or holds no Subshift schema. Its ports' writes fail, as the standby refuses them; give
 * it only to code that reads.
 */
export const layerReadUrl = (
  url: string | Redacted.Redacted,
  options: ClientOptions = {}
): Layer.Layer<Ports, StoreUnavailable> =>
  Layer.effectContext(Effect.zipRight(schemaPresent, make)).pipe(Layer.provide(clientLayer(url, options)))

const schemaPresent = Effect.flatMap(PgClient.PgClient, (sql) =>
  sql<{ readonly present: boolean }>`SELECT to_regclass(${Migrations.table}) IS NOT NULL AS present`.withoutTransform.pipe(
    Effect.flatMap((rows) =>
      rows[0]?.present === true
        ? Effect.void
        : Effect.fail(new StoreUnavailable({ message: "the read database holds no Subshift schema (is it a replica of the primary?)" }))
    ),
    Effect.catchTag("SqlError", (error) => Effect.fail(Edge.unavailable(error)))
  ))

/**
 * The client of `layerUrl` and `layerReadUrl`: a pool on `url`, with the references its options
 * set (`CallTimeout`, `LocalStatementTimeout`, `ListenClient`); `portClient` applies them.
 */
export const clientLayer = (
  url: string | Redacted.Redacted,
  options: ClientOptions = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, StoreUnavailable> =>
  Layer.unwrapEffect(Effect.sync(() => {
    const redacted = typeof url === "string" ? Redacted.make(url) : url
    const pooled = options.pooler === "transaction"
    const config: PgClient.PgClientConfig = {
      url: pooled ? redacted : withStatementTimeout(redacted, options.statementTimeout),
      ...clientDefaults(options)
    }
    const local = pooled && options.statementTimeout !== undefined
      ? Layer.succeed(LocalStatementTimeout, Option.some(Duration.millis(millisOf(options.statementTimeout))))
      : Layer.empty
    const check = pooled ? checkPooledDefault(options.statementTimeout) : Layer.empty
    const listen = options.directUrl === undefined ? Layer.empty : listenClient(options.directUrl, config)
    // Statements are prepared unless a pooler may run consecutive ones on different connections.
    const pool: Pool.PoolOptions = { ...config, prepare: !pooled }
    if (options.queryTimeout === undefined) {
      return Layer.mergeAll(local, check, listen).pipe(Layer.provideMerge(clientUnavailable(Pool.layer(pool))))
    }
    const timeout = Duration.millis(millisOf(options.queryTimeout))
    const watchdog = Watchdog.make(Duration.toMillis(timeout))
    const client = clientUnavailable(Pool.layer({ ...pool, stream: watchdog.socket }))
    // Built after the client, whose first connection has told the watchdog whether it is TLS.
    const callTimeout = Layer.sync(CallTimeout, () => (watchdog.blind() ? Option.some(timeout) : Option.none()))
    return Layer.mergeAll(callTimeout, local, check, listen).pipe(Layer.provideMerge(client))
  }))

// One connection straight to the database, opened with the pool.
const listenClient = (url: string | Redacted.Redacted, config: PgClient.PgClientConfig) =>
  clientUnavailable(
    Layer.scoped(
      ListenClient,
      Effect.map(
        PgClient.make({ ...config, url: typeof url === "string" ? Redacted.make(url) : url, maxConnections: 1 }),
        Option.some
      )
    ).pipe(Layer.provide(Reactivity.layer))
  )

// Behind a transaction pooler a statement outside a transaction is bounded only by the
// database's default, which the store cannot set; it says so when that default is missing.
const checkPooledDefault = (wanted: Duration.DurationInput | undefined) =>
  Layer.effectDiscard(Effect.flatMap(PgClient.PgClient, (sql) =>
    Pooled.defaultStatementTimeout(sql).pipe(
      Effect.flatMap((ms) =>
        wanted !== undefined && ms === 0
          ? Effect.logWarning(
            "through a transaction pooler the statement timeout bounds transactions only; statements outside one have no limit " +
              "until the database has a default (ALTER ROLE ... SET statement_timeout)"
          )
          : Effect.void
      ),
      Effect.catchAll(() => Effect.void)
    )))

const millisOf = (duration: Duration.DurationInput) => Math.max(1, Math.round(Duration.toMillis(duration)))

// node-postgres sends a `statement_timeout` URL parameter as a startup parameter of every connection.
const withStatementTimeout = (url: Redacted.Redacted, timeout: Duration.DurationInput | undefined): Redacted.Redacted => {
  if (timeout === undefined) return url
  const parsed = new URL(Redacted.value(url))
  parsed.searchParams.set("statement_timeout", String(millisOf(timeout)))
  return Redacted.make(parsed.toString())
}

/** Options of the embedded store. */
export interface EmbeddedOptions {
  /** The data directory; `./.subshift-data` unless set. */
  readonly dataDir?: string | undefined
  /** The loopback port; any free port unless set. */
  readonly port?: number | undefined
  /** Connections in the pool to the embedded server; 4 unless set. */
  readonly poolSize?: number | undefined
}

/**
 * Every port over an embedded Postgres keeping its data in a directory, started with the layer
 * and stopped when it is released.
 */
export const layerEmbedded = (options: EmbeddedOptions = {}): Layer.Layer<Ports, StoreUnavailable> => {
  const poolSize = options.poolSize ?? 4
  return Layer.unwrapScoped(
    Effect.map(
      // Room for the pool and the client's listen connection, plus one to spare.
      Embedded.start({ dataDir: options.dataDir, port: options.port, maxConnections: poolSize + 2 }),
      (server) =>
        layerWithoutClient.pipe(
          Layer.provide(clientUnavailable(Pool.layer({
            host: server.host,
            port: server.port,
            username: "postgres",
            database: "postgres",
            maxConnections: poolSize,
            connectTimeout: Duration.seconds(30),
            applicationName: "subshift"
          })))
        )
    )
  )
}

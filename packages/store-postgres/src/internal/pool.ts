/**
 * The store's own connection pool: `@effect/sql-pg`'s client over a `pg` pool opened here, as
 * `PgClient.layer` would open it, so that the pool's figures (connections open, idle, and calls
 * waiting) can be read while it lives.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import Pg from "pg"

/** A pool's figures at one moment. */
export interface PoolFigures {
  /** Connections open, idle or lent. */
  readonly total: number
  /** Open connections waiting to be lent. */
  readonly idle: number
  /** Calls waiting for a connection. */
  readonly waiting: number
}

const open = new Set<Pg.Pool>()

/** The figures of every pool the process's stores have open, added up; `undefined` with none open. */
export const figures = (): PoolFigures | undefined => {
  if (open.size === 0) return undefined
  let total = 0
  let idle = 0
  let waiting = 0
  for (const pool of open) {
    total += pool.totalCount
    idle += pool.idleCount
    waiting += pool.waitingCount
  }
  return { total, idle, waiting }
}

/** How many connections a new pool opens at once, in the background, once its first one answers. */
const WARM = 4

/**
 * Opens `count` connections together and gives them back idle, in the background: the first
 * calls that come at once after a start (a worker's claim, fan-out and record, a burst of
 * requests) then find connections open instead of each opening its own. Opening one sends no
 * statement; one that fails is only not opened.
 */
const warm = (pool: Pg.Pool, count: number) => {
  if (count < 2) return
  void Promise.allSettled(Array.from({ length: count }, () => pool.connect())).then((opened) => {
    for (const result of opened) if (result.status === "fulfilled") result.value.release()
  })
}

const connect = (options: PgClient.PgClientConfig) =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const pool = new Pg.Pool({
        connectionString: options.url ? Redacted.value(options.url) : undefined,
        user: options.username,
        host: options.host,
        database: options.database,
        password: options.password ? Redacted.value(options.password) : undefined,
        ssl: options.ssl,
        port: options.port,
        ...(options.stream ? { stream: options.stream } : {}),
        connectionTimeoutMillis: options.connectTimeout ? Duration.toMillis(options.connectTimeout) : undefined,
        idleTimeoutMillis: options.idleTimeout ? Duration.toMillis(options.idleTimeout) : undefined,
        max: options.maxConnections,
        min: options.minConnections,
        maxLifetimeSeconds: options.connectionTTL ? Duration.toSeconds(options.connectionTTL) : undefined,
        application_name: options.applicationName ?? "subshift",
        types: options.types
      } as Pg.PoolConfig)
      // A connection's own error is answered on the call that uses it.
      pool.on("error", () => {})
      return Effect.tryPromise({
        try: () => pool.query("SELECT 1"),
        catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
      }).pipe(
        Effect.timeoutFail({
          duration: options.connectTimeout ?? Duration.seconds(5),
          onTimeout: () => new SqlError({ cause: new Error("Connection timed out"), message: "PgClient: Connection timed out" })
        }),
        Effect.tapError(() => Effect.promise(() => pool.end().catch(() => {}))),
        Effect.tap(() => Effect.sync(() => warm(pool, Math.min(options.maxConnections ?? WARM, WARM)))),
        Effect.as(pool)
      )
    }),
    (pool) =>
      Effect.suspend(() => {
        open.delete(pool)
        return Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
      })
  ).pipe(Effect.tap((pool) => Effect.sync(() => open.add(pool))))

/** `PgClient.layer(options)`, over a pool whose figures `figures` reads. */
export const layer = (options: PgClient.PgClientConfig): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  PgClient.layerFromPool({
    acquire: connect(options),
    applicationName: options.applicationName,
    spanAttributes: options.spanAttributes,
    transformResultNames: options.transformResultNames,
    transformQueryNames: options.transformQueryNames,
    transformJson: options.transformJson,
    types: options.types
  })

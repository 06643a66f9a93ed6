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

/** How many times the pool sends a statement's text unnamed before it names it. */
const PREPARE_AFTER = 3
/** The most statements a pool names; texts past these stay unnamed. */
const MAX_NAMED = 256
/** Statement texts longer than this stay unnamed. */
const MAX_NAMED_LENGTH = 16_384

/**
 * Which statements a pool sends named, as JDBC's driver does (`prepareThreshold`): once a pool has
 * sent the same text `PREPARE_AFTER` times, it sends it as a named statement, which each
 * connection parses once and the server may then run on a cached plan instead of planning it on
 * every call. A store's statements are a fixed set of texts, so the names stay few; no more are
 * given past `MAX_NAMED`.
 *
 * Only for connections that are sessions of their own, so never through a pooler in transaction
 * mode, and not on the embedded engine, whose connections share its one session (a name parsed on
 * one would already exist for the next): naming starts once the pool's first connection has said
 * which server it reached.
 */
class Naming {
  enabled = false
  private readonly names = new Map<string, string>()
  private counts = new Map<string, number>()

  nameOf(text: string): string | undefined {
    if (!this.enabled) return undefined
    const named = this.names.get(text)
    if (named !== undefined || this.names.size >= MAX_NAMED || text.length > MAX_NAMED_LENGTH) return named
    const count = (this.counts.get(text) ?? 0) + 1
    if (count < PREPARE_AFTER) {
      // Texts that are seldom repeated (a batch of unusual length) are forgotten in bulk.
      if (this.counts.size >= 4 * MAX_NAMED) this.counts = new Map()
      this.counts.set(text, count)
      return undefined
    }
    this.counts.delete(text)
    const name = `subshift_${this.names.size + 1}`
    this.names.set(text, name)
    return name
  }
}

/** A `pg` client class sending the statements `naming` names as named statements. */
const namingClient = (naming: Naming): typeof Pg.Client =>
  class extends Pg.Client {
    // node-postgres's `query` is overloaded; the store's client calls it as `(text, values, callback)`.
    override query(config: unknown, values?: unknown, callback?: unknown): any {
      const name = typeof config === "string" && (values === undefined || Array.isArray(values)) ? naming.nameOf(config) : undefined
      const query = super.query as (...args: Array<unknown>) => unknown
      return name === undefined ? query.call(this, config, values, callback) : query.call(this, { name, text: config, values }, callback)
    }
  } as typeof Pg.Client

/** The embedded engine's `version()` (PGlite). */
const EMBEDDED = /\bPGlite\b/

/** The pool's options: `PgClient`'s, and whether its connections keep often-sent statements prepared. */
export type PoolOptions = PgClient.PgClientConfig & { readonly prepare?: boolean | undefined }

const connect = (options: PoolOptions) =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const naming = new Naming()
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
        types: options.types,
        ...(options.prepare === true ? { Client: namingClient(naming) } : {})
      } as Pg.PoolConfig)
      // A connection's own error is answered on the call that uses it.
      pool.on("error", () => {})
      return Effect.tryPromise({
        try: () => pool.query<{ readonly version: string }>("SELECT version() AS version"),
        catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
      }).pipe(
        Effect.tap((answer) => Effect.sync(() => void (naming.enabled = !EMBEDDED.test(answer.rows[0]?.version ?? "PGlite")))),
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
export const layer = (options: PoolOptions): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  PgClient.layerFromPool({
    acquire: connect(options),
    applicationName: options.applicationName,
    spanAttributes: options.spanAttributes,
    transformResultNames: options.transformResultNames,
    transformQueryNames: options.transformQueryNames,
    transformJson: options.transformJson,
    types: options.types
  })

/**
 * A store reached through a pooler in transaction mode (PgBouncer's `pool_mode = transaction`).
 * There, consecutive statements of one client connection may run on different server
 * connections, so the client can set no session state: PgBouncer refuses a `statement_timeout`
 * startup parameter outright, and a plain `SET` would stay behind on a server connection that
 * another client gets next. What a transaction sets with `SET LOCAL` ends with it, so the
 * statement timeout is set that way at the start of every transaction the store opens; single
 * statements outside a transaction are bounded by the database's own default, which the store
 * reads at start.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import * as Effect from "effect/Effect"

/** The client, with `statement_timeout` set to `millis` by `SET LOCAL` in every transaction it opens. */
export const withLocalTimeout = (sql: PgClient.PgClient, millis: number): PgClient.PgClient => {
  const setLocal = sql.unsafe(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(millis))}`).withoutTransform
  const withTransaction: PgClient.PgClient["withTransaction"] = (self) =>
    sql.withTransaction(Effect.zipRight(setLocal, self))
  // The client is a tagged-template function carrying its methods; only `withTransaction` changes.
  return new Proxy(sql, {
    get: (target, key, receiver) => (key === "withTransaction" ? withTransaction : Reflect.get(target, key, receiver))
  })
}

/** The client, with `listen` going through `direct`, a client whose connections are sessions. */
export const withListen = (sql: PgClient.PgClient, direct: PgClient.PgClient): PgClient.PgClient =>
  new Proxy(sql, { get: (target, key, receiver) => (key === "listen" ? direct.listen : Reflect.get(target, key, receiver)) })

/**
 * The database's default `statement_timeout` in milliseconds as a pooled connection sees it (what
 * bounds a statement outside a transaction); 0 means none.
 */
export const defaultStatementTimeout = (sql: PgClient.PgClient) =>
  Effect.map(
    sql<{ readonly ms: string }>`SELECT (EXTRACT(EPOCH FROM current_setting('statement_timeout')::interval) * 1000)::bigint::text AS ms`
      .withoutTransform,
    (rows) => Number(rows[0]?.ms ?? 0)
  )

/**
 * Where every port call ends: driver failures mapped to the port's errors. A lost or refused
 * connection is `StoreUnavailable`; a value the database cannot hold (only a caller's data) is
 * `InvalidInput`; anything else (a constraint the core should never break, a
 * row that no longer decodes) is a defect that explains itself.
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { InvalidInput, StoreUnavailable, VersionConflict } from "@subshift/core/domain/Errors"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import type { Observed } from "./Generation.js"

// SQLSTATE classes that mean "the database cannot serve this now; try again": connection
// exceptions (08), insufficient resources (53), operator intervention such as
// `pg_terminate_backend` or a shutdown (57P), and the retryable transaction outcomes.
const retryableStates = new Set(["40001", "40P01", "55P03", "57014"])

/** The SQLSTATE of a driver error's cause, when it came from the server. */
export const sqlStateOf = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "severity" in cause && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : undefined

/**
 * Whether a driver error means the store is unreachable. Errors that carry no SQLSTATE come from
 * the socket or the pool (refused, reset, terminated, timed out), never from a statement.
 */
export const isUnavailable = (error: SqlError): boolean => {
  const state = sqlStateOf(error.cause)
  if (state === undefined) return true
  return state.startsWith("08") || state.startsWith("53") || state.startsWith("57P") || retryableStates.has(state)
}

const describe = (error: SqlError): string => {
  const cause = error.cause
  const detail = cause instanceof Error ? cause.message : cause === undefined ? "" : String(cause)
  return detail === "" ? error.message : `${error.message}: ${detail}`
}

/** Whether a value is a driver error. */
export const isSqlError = (u: unknown): u is SqlError =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "SqlError"

/**
 * A statement the database refused for a reason other than reachability: a bug or broken data,
 * reported with the database's own words so that the defect explains itself.
 */
export const refused = (what: string, error: SqlError) => {
  const state = sqlStateOf(error.cause)
  return new Error(`store-postgres ${what}: ${describe(error)}${state === undefined ? "" : ` (SQLSTATE ${state})`}`, {
    cause: error
  })
}

// SQLSTATEs of a value the database cannot hold as sent: a character it cannot store (22021,
// 22P05), a string or number out of range (22001, 22003), a value over a size limit (54000).
// Only a caller's data causes them, so the call fails as the caller's input, not as a defect.
const inputStates = new Set(["22021", "22P05", "22001", "22003", "54000"])

const unkeepable = (error: SqlError) =>
  new InvalidInput({ field: "body", message: `the input holds a value the store cannot keep (SQLSTATE ${sqlStateOf(error.cause)})` })

/** The typed failure of a call the database could not serve. */
export const unavailable = (error: SqlError) =>
  new StoreUnavailable({ message: `the database is unavailable (${describe(error)})` })

/**
 * Maps driver failures at the edge of a port call. A failed `COMMIT` or `ROLLBACK` surfaces from
 * `withTransaction` as a defect carrying the `SqlError`, so defects are inspected too: when the
 * connection died mid-transaction that is the only trace left of it.
 */
export const mapFailures = (what: string) => <A, E>(self: Effect.Effect<A, E | SqlError | ParseResult.ParseError>) =>
  Effect.catchAllCause(self, (cause): Effect.Effect<A, Exclude<E, SqlError | ParseResult.ParseError> | StoreUnavailable> => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      if (isSqlError(error)) {
        if (isUnavailable(error)) return Effect.fail(unavailable(error))
        // Not in the ports' declared errors: the server answers it as every `InvalidInput`, a 400.
        if (inputStates.has(sqlStateOf(error.cause)!)) return Effect.fail(unkeepable(error) as never)
        return Effect.die(refused(what, error))
      }
      if (ParseResult.isParseError(error)) {
        return Effect.dieMessage(`store-postgres ${what}: stored data does not match the schema: ${error.message}`)
      }
      return Effect.fail(error as Exclude<E, SqlError | ParseResult.ParseError>)
    }
    const defect = Cause.dieOption(cause)
    if (Option.isSome(defect) && isSqlError(defect.value) && isUnavailable(defect.value)) {
      return Effect.fail(unavailable(defect.value))
    }
    return Effect.failCause(cause as Cause.Cause<never>)
  })

// A connection that had died before the call used it: its backend was terminated (57P) or its
// socket closed, which node-postgres reports without a SQLSTATE. A new connection that could not
// be opened in time ("Connection terminated due to connection timeout") is not one: the database
// did not answer, and trying again would only wait as long once more.
const isDeadConnection = (error: SqlError): boolean => {
  const state = sqlStateOf(error.cause)
  if (state !== undefined) return state.startsWith("57P")
  const message = describe(error)
  return /terminated|ECONNRESET|EPIPE|not queryable/i.test(message) && !/connection timeout/i.test(message)
}

/**
 * Sends a read once more when its connection was dead. A pool hands out a connection whose
 * backend was just terminated before its socket reports the close, so the first read after a
 * terminated backend can fail where a fresh connection succeeds. Reads only: a write whose
 * connection died may have been applied, and its caller must learn so.
 */
export const retryDeadConnection = <A, E>(self: Effect.Effect<A, E>): Effect.Effect<A, E> => {
  const attempt = (left: number): Effect.Effect<A, E> =>
    Effect.catchIf(
      self,
      (error) => left > 0 && isSqlError(error) && isDeadConnection(error),
      () => Effect.zipRight(nextTurn, attempt(left - 1))
    )
  return attempt(DEAD_CONNECTION_RETRIES)
}

// Several pooled connections die together when the server drops them; each retry first lets the
// event loop turn once, so the sockets' close events reach the pool and it stops handing them out.
const DEAD_CONNECTION_RETRIES = 3
const nextTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

// A transaction the database rolled back because it could not serialise it with a concurrent one
// (under `REPEATABLE READ` or `SERIALIZABLE`, and on engines that run every transaction so).
const isSerializationFailure = (u: unknown): u is SqlError => isSqlError(u) && sqlStateOf(u.cause) === "40001"

/**
 * The wall clock, for the store's own waits (retry pauses, lease polling, how fresh a note is).
 * They are about the database, not the domain: a host that runs its domain on a test clock must
 * not stop them.
 */
export const wallClock: Clock.Clock = Clock.make()

/** How many times a transaction is run in all when the database keeps failing to serialise it. */
export const SERIALIZATION_ATTEMPTS = 3

/**
 * Runs `self` as a transaction, and again (up to `SERIALIZATION_ATTEMPTS` runs, after a short
 * jittered pause) when the database rolls it back with SQLSTATE 40001: nothing of it was kept,
 * so running it again is safe. A failed `COMMIT` surfaces from `withTransaction` as a defect, so
 * that is retried too. Past the last attempt the error stays, and the edge maps it to
 * `StoreUnavailable`.
 */
export const transaction = (sql: SqlClient.SqlClient) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  sql.withTransaction(self).pipe(
    Effect.catchSomeDefect((defect) => isSerializationFailure(defect) ? Option.some(Effect.fail(defect as E)) : Option.none()),
    Effect.retry({
      while: isSerializationFailure,
      times: SERIALIZATION_ATTEMPTS - 1,
      schedule: Schedule.jittered(Schedule.exponential(Duration.millis(10)))
    }),
    Effect.withClock(wallClock)
  ) as Effect.Effect<A, E, R>

/** The edge of a port call named `what`: `mapFailures`, with the wait bounded when the store is asked to. */
export type Edge = typeof mapFailures

/** What every port module is built from: the client its statements run on and the edge its calls end at. */
export interface PortContext {
  readonly sql: PgClient.PgClient
  readonly edge: Edge
  /** The edge of a read, which is sent once more when its connection was dead. */
  readonly read: Edge
  /** Where reads leave the catalog generation they saw, for the catalog read that follows. */
  readonly observed: Observed
}

/** The conflict of a versioned write, naming the committed version when a row exists. */
export const conflict = (entity: VersionConflict["entity"], id: string, expected: number | undefined, actual: number | null) =>
  new VersionConflict({ entity, id, expected: expected ?? 0, ...(actual === null ? {} : { actual }) })

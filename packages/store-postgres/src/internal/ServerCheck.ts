/**
 * What the store asks of the database it opens: PostgreSQL, at least `MINIMUM_VERSION`. Checked
 * once when the store starts, before the migrations, so that an unsupported server is refused
 * with a sentence saying why rather than with whichever statement it first fails on. Engines that
 * speak the Postgres protocol but are not PostgreSQL (CockroachDB, YugabyteDB and the like) are
 * refused too: the store's locking and ordering have only been tested on PostgreSQL itself.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

/** The oldest PostgreSQL release the store supports, as `server_version_num` counts (major × 10000). */
export const MINIMUM_VERSION = 140000

/** What the server says it is. */
export interface ServerInfo {
  /** `server_version_num`. */
  readonly versionNum: number
  /** `version()`. */
  readonly version: string
}

const lookalikes: ReadonlyArray<readonly [RegExp, string]> = [
  [/cockroachdb/i, "CockroachDB"],
  [/-YB-/, "YugabyteDB"],
  [/\bRedshift\b/i, "Amazon Redshift"],
  [/\bMaterialize\b/i, "Materialize"]
]

const major = (versionNum: number) => Math.floor(versionNum / 10000)

/** Answers the server when the store supports it, or the sentence that says why not. */
export const check = (info: ServerInfo): Either.Either<ServerInfo, string> => {
  for (const [pattern, name] of lookalikes) {
    if (pattern.test(info.version)) {
      return Either.left(
        `the database is ${name} (${info.version}), which is not supported: the Postgres store runs on PostgreSQL ${
          major(MINIMUM_VERSION)
        } or later`
      )
    }
  }
  if (!Number.isInteger(info.versionNum) || info.versionNum < MINIMUM_VERSION) {
    return Either.left(
      `the database is ${info.version}, which is not supported: the Postgres store runs on PostgreSQL ${
        major(MINIMUM_VERSION)
      } or later`
    )
  }
  return Either.right(info)
}

/** Reads what the server says it is. */
export const read = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(
    sql<{ readonly num: string; readonly version: string }>`SELECT current_setting('server_version_num') AS num, version() AS version`
      .withoutTransform,
    (rows): ServerInfo => ({ versionNum: Number(rows[0]?.num), version: rows[0]?.version ?? "an unknown server" })
  ))

/** The reason the store refuses a server: a defect, since no retry can change it. */
export class UnsupportedDatabase extends Error {
  override readonly name = "UnsupportedDatabase"
}

/** Reads the server and dies with `UnsupportedDatabase` when the store does not support it. */
export const verify = Effect.flatMap(read, (info) =>
  Either.match(check(info), {
    onLeft: (reason) => Effect.die(new UnsupportedDatabase(`store-postgres: ${reason}`)),
    onRight: Effect.succeed
  }))

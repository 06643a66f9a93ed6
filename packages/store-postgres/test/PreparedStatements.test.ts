/**
 * Statements the store sends often are prepared on PostgreSQL: from its third time through a pool,
 * a statement's text goes as a named statement, parsed once per connection and run again on the
 * server's cached plan. Through a pooler in transaction mode, and on the embedded engine (whose
 * connections share one session), nothing is named, and the same statements still run from
 * several connections at once.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { PgStore } from "@subshift/store-postgres"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { describe, expect, it } from "vitest"
import * as TestDatabase from "./TestDatabase.js"

const database = TestDatabase.register()

interface Prepared {
  readonly name: string
  readonly statement: string
  readonly executions: number
}

// Sends `SELECT $1::int + k` `times` times for each k of `texts`, from `parallel` fibers at once,
// then reads what the connection the last read runs on has prepared.
const run = (options: PgStore.ClientOptions, texts: ReadonlyArray<number>, times: number, parallel = 1) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(PgStore.clientLayer(database.url(), options))
    const sql = context.unsafeMap.get(PgClient.PgClient.key) as PgClient.PgClient
    const answers: Array<number> = []
    for (const k of texts) {
      for (let i = 0; i < times; i++) {
        const rows = yield* Effect.all(
          Array.from({ length: parallel }, () => sql<{ readonly x: number }>`SELECT ${i}::int + ${k}::int AS x`.withoutTransform),
          { concurrency: "unbounded" }
        )
        for (const row of rows) answers.push(row[0]!.x)
      }
    }
    const prepared = yield* sql<Prepared>`SELECT name, statement, (generic_plans + custom_plans)::int AS executions
      FROM pg_prepared_statements WHERE name LIKE 'subshift_%' ORDER BY name`.withoutTransform
    return { answers, prepared }
  })))

const expected = (texts: ReadonlyArray<number>, times: number, parallel = 1) =>
  texts.flatMap((k) => Array.from({ length: times }, (_, i) => Array.from({ length: parallel }, () => i + k)).flat())

const postgres = database.kind === "postgres"

describe(`prepared statements (${database.kind})`, () => {
  it("a statement sent a third time through a pool is named on PostgreSQL, parsed once on its connection and run again on its plan; never on the embedded engine", async () => {
    const { answers, prepared } = await run({ maxConnections: 1 }, [0], 8)
    expect(answers).toEqual(expected([0], 8))
    // On PostgreSQL the first two went unnamed and the other six ran the one prepared statement.
    expect(prepared).toEqual(postgres ? [{ name: "subshift_1", statement: "SELECT $1::int + $2::int AS x", executions: 6 }] : [])
  })

  it("a statement sent only twice stays unnamed", async () => {
    const { answers, prepared } = await run({ maxConnections: 1 }, [0], 2)
    expect(answers).toEqual(expected([0], 2))
    expect(prepared).toEqual([])
  })

  it("statements sent from several connections at once answer as unnamed ones do (on the embedded engine, nothing is named)", async () => {
    const { answers, prepared } = await run({ maxConnections: 4 }, [0, 100], 6, 4)
    expect(answers).toEqual(expected([0, 100], 6, 4))
    if (!postgres) expect(prepared).toEqual([])
    else expect(prepared.map((p) => p.statement)).toEqual(["SELECT $1::int + $2::int AS x"])
  })

  it("through a pooler in transaction mode, nothing is named", async () => {
    const { answers, prepared } = await run({ maxConnections: 1, pooler: "transaction" }, [0], 8)
    expect(answers).toEqual(expected([0], 8))
    expect(prepared).toEqual([])
  })
})

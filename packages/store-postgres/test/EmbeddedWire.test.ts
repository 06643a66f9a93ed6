/**
 * The embedded engine's wire server multiplexes many `pg` connections onto its one session: the
 * extended-protocol statements of concurrent connections never meet, a transaction keeps the
 * session to its connection until it ends (no other connection sees or joins it meanwhile), and a
 * connection that dies inside its transaction is rolled back and frees the session.
 */
import { Embedded } from "@subshift/store-postgres"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as TestDatabase from "./TestDatabase.js"

let url = ""
let teardown: () => Promise<void> = async () => {}

beforeAll(async () => {
  const data = TestDatabase.tempDataDir()
  const scope = Effect.runSync(Scope.make())
  const server = await Effect.runPromise(Embedded.start({ dataDir: data.dir, maxConnections: 32 }).pipe(Scope.extend(scope)))
  url = `postgres://postgres@${server.host}:${server.port}/postgres`
  teardown = async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    data.remove()
  }
  await TestDatabase.admin(url, "CREATE TABLE wire_log (id serial PRIMARY KEY, txn text NOT NULL, step int NOT NULL)")
}, 120_000)
afterAll(() => teardown(), 60_000)

const connect = async (count: number): Promise<Array<pg.Client>> =>
  Promise.all(Array.from({ length: count }, async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    return client
  }))
const endAll = (clients: ReadonlyArray<pg.Client>) => Promise.all(clients.map((c) => c.end().catch(() => {})))

// A transaction of `steps` parameterised inserts; `fail` ends it with a failing statement and a
// ROLLBACK, `abort` with a plain ROLLBACK.
const transaction = async (client: pg.Client, txn: string, steps: number, end: "commit" | "abort" | "fail") => {
  await client.query("BEGIN")
  for (let step = 1; step <= steps; step++) {
    await client.query("INSERT INTO wire_log (txn, step) VALUES ($1, $2)", [txn, step])
    // What the transaction wrote is visible to itself alone.
    const [own] = (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM wire_log WHERE txn = $1", [txn])).rows
    expect(own!.n).toBe(step)
  }
  if (end === "fail") {
    await expect(client.query("SELECT 1 / ($1::int - $1::int)", [7])).rejects.toThrow("division by zero")
    await client.query("ROLLBACK")
  } else {
    await client.query(end === "commit" ? "COMMIT" : "ROLLBACK")
  }
}

describe("embedded wire server", () => {
  it("parameterised statements of six connections at once each get their own parameters (6 × 150 round trips)", async () => {
    const clients = await connect(6)
    try {
      await Promise.all(clients.map(async (client, c) => {
        for (let i = 0; i < 150; i++) {
          if ((i + c) % 2 === 0) {
            const { rows } = await client.query<{ sum: number; tag: string }>(
              "SELECT $1::int + $2::int + $3::int + $4::int AS sum, $5::text AS tag",
              [c, i, 1, 2, `c${c}-${i}`]
            )
            expect(rows).toEqual([{ sum: c + i + 3, tag: `c${c}-${i}` }])
          } else {
            const { rows } = await client.query<{ tag: string }>("SELECT $1::text AS tag", [`c${c}-${i}`])
            expect(rows).toEqual([{ tag: `c${c}-${i}` }])
          }
        }
      }))
    } finally {
      await endAll(clients)
    }
  }, 120_000)

  it("transactions of four connections at once run whole, one after another; only committed ones are seen (4 × 40 transactions)", async () => {
    const clients = await connect(5)
    const [watcher, ...workers] = clients
    const ends = ["commit", "abort", "commit", "fail"] as const
    let running = true
    const seen: Array<number> = []
    try {
      const watching = (async () => {
        while (running) {
          seen.push((await watcher!.query<{ n: number }>("SELECT count(*)::int AS n FROM wire_log WHERE txn LIKE 'w%'")).rows[0]!.n)
        }
      })()
      await Promise.all(workers.map(async (client, w) => {
        for (let i = 0; i < 40; i++) await transaction(client, `w${w}-${i}`, 3, ends[(i + w) % ends.length]!)
      }))
      running = false
      await watching
      const rows = (await watcher!.query<{ id: number; txn: string; step: number }>(
        "SELECT id, txn, step FROM wire_log WHERE txn LIKE 'w%' ORDER BY id"
      )).rows
      // Half the transactions commit, three rows each, their rows consecutive: no other
      // connection's insert ever landed inside one.
      expect(rows).toHaveLength(4 * 20 * 3)
      for (let at = 0; at < rows.length; at += 3) {
        expect(rows.slice(at, at + 3).map((r) => [r.txn, r.step])).toEqual([1, 2, 3].map((step) => [rows[at]!.txn, step]))
      }
      expect(new Set(rows.map((r) => r.txn)).size).toBe(4 * 20)
      // The watcher only ever saw whole committed transactions.
      expect(seen.length).toBeGreaterThan(0)
      expect(seen.every((n) => n % 3 === 0)).toBe(true)
    } finally {
      running = false
      await endAll(clients)
    }
  }, 120_000)

  it("a connection cut inside its transaction is rolled back, and the statements waiting behind it run (10 rounds)", async () => {
    for (let round = 0; round < 10; round++) {
      const [doomed, other] = await connect(2)
      try {
        const txn = `cut-${round}`
        await doomed!.query("BEGIN")
        await doomed!.query("INSERT INTO wire_log (txn, step) VALUES ($1, 1)", [txn])
        // Waits for the session, which the transaction holds.
        const waiting = other!.query<{ n: number }>("SELECT count(*)::int AS n FROM wire_log WHERE txn = $1", [txn])
        doomed!.on("error", () => {})
        ;(doomed as unknown as { connection: { stream: { destroy: () => void } } }).connection.stream.destroy()
        expect((await waiting).rows[0]!.n).toBe(0)
        await other!.query("BEGIN")
        await other!.query("INSERT INTO wire_log (txn, step) VALUES ($1, 2)", [txn])
        await other!.query("COMMIT")
        expect((await other!.query<{ step: number }>("SELECT step FROM wire_log WHERE txn = $1", [txn])).rows).toEqual([{ step: 2 }])
      } finally {
        await endAll([doomed!, other!])
      }
    }
  }, 120_000)

  it("a statement that fails outside a transaction leaves the session free, and the next one on the connection runs", async () => {
    const [a, b] = await connect(2)
    try {
      await Promise.all([
        (async () => {
          for (let i = 0; i < 50; i++) {
            await expect(a!.query("SELECT $1::int / 0", [i])).rejects.toThrow("division by zero")
            expect((await a!.query<{ v: number }>("SELECT $1::int AS v", [i])).rows).toEqual([{ v: i }])
          }
        })(),
        (async () => {
          for (let i = 0; i < 50; i++) expect((await b!.query<{ v: string }>("SELECT $1::text AS v", [`b${i}`])).rows).toEqual([{ v: `b${i}` }])
        })()
      ])
    } finally {
      await endAll([a!, b!])
    }
  }, 60_000)
})

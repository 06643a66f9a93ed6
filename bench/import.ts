/**
 * Subscription import throughput and memory: 100,000 NDJSON subscriptions (`BENCH_IMPORT_LINES`)
 * streamed through `POST /api/admin/subscriptions/import` of the full HTTP server, bundled and run
 * in its own process on Postgres, against a plain `pg` client inserting the same rows in batches
 * of 1,000 (one multi-row upsert per batch) into a fresh schema of the same database in the same
 * run. The server's resident memory is sampled every 100 ms: the growth is its peak during the
 * import over its resident memory just before. Runs when `BENCH_DATABASE_URL` is set.
 */
import * as ApiKeys from "@subshift/http-server/admin/ApiKeys"
import { monthOf, subscriptionRecord } from "@subshift/testing/Records"
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Readable } from "node:stream"
import pg from "pg"
import { bundleServer, freePort, profileFlags, rssMb, startNode, stop } from "./processes.js"
import { num, ratio, type Section, table, verdict } from "./report.js"

const LINES = Number(process.env["BENCH_IMPORT_LINES"] ?? 100_000)
const BATCH = 1000

/** The i-th subscription of the file: Basic monthly in USD with Crossword, on the demo catalog. */
const record = (i: number, period: { readonly start: string; readonly end: string }) =>
  subscriptionRecord(`sub-bench-${String(i).padStart(7, "0")}`, { name: `BENCH${String(i).padStart(7, "0")}`, currentPeriod: period })

const withSchema = (url: string, schema: string) => {
  const parsed = new URL(url)
  parsed.searchParams.set("options", `-c search_path=${schema}`)
  return parsed.toString()
}

/** The plain `pg` baseline: the same rows, as the store keeps them, 1,000 per upsert. */
const baseline = async (url: string, rows: ReadonlyArray<ReturnType<typeof record>>): Promise<number> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`CREATE TABLE subshift_subscriptions (
      id text COLLATE "C" PRIMARY KEY, name text NOT NULL UNIQUE, owner text NOT NULL, partner_org text,
      bill_group_id text, version integer NOT NULL, data jsonb NOT NULL, due_date date)`)
    const started = performance.now()
    for (let at = 0; at < rows.length; at += BATCH) {
      const batch = rows.slice(at, at + BATCH)
      const values: Array<unknown> = []
      const tuples = batch.map((r, i) => {
        values.push(r.id, r.name, r.owner, JSON.stringify({ ...r, version: 1, updatedAt: new Date().toISOString() }))
        return `($${i * 4 + 1}, $${i * 4 + 2}, $${i * 4 + 3}, NULL, NULL, 1, $${i * 4 + 4}::jsonb, NULL)`
      })
      await client.query(
        `INSERT INTO subshift_subscriptions (id, name, owner, partner_org, bill_group_id, version, data, due_date) VALUES ${tuples.join(",")}
         ON CONFLICT (id) DO UPDATE SET data = excluded.data, version = excluded.version`,
        values
      )
    }
    return rows.length / ((performance.now() - started) / 1000)
  } finally {
    await client.end()
  }
}

/** The section. */
export const run = async (): Promise<Section> => {
  const url = process.env["BENCH_DATABASE_URL"]
  if (url === undefined || url === "") return { markdown: "## Import\n\nNot run: `BENCH_DATABASE_URL` is unset." }
  const period = monthOf()
  const rows = Array.from({ length: LINES }, (_, i) => record(i, period))
  const dir = mkdtempSync(join(tmpdir(), "subshift-bench-import-"))
  const file = join(dir, "subscriptions.ndjson")
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n")

  const stamp = `${process.pid}_${Date.now()}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  const schemas = [`subshift_bench_import_${stamp}`, `subshift_bench_import_pg_${stamp}`]
  for (const schema of schemas) await admin.query(`CREATE SCHEMA ${schema}`)
  const key = ApiKeys.generate("bench", ["subscriptions:write"])
  const script = await bundleServer("server-import", ["@electric-sql/*", "pg-native"])
  const port = await freePort()
  let server: Awaited<ReturnType<typeof startNode>> | undefined
  try {
    const pgRate = await baseline(withSchema(url, schemas[1]!), rows)
    server = await startNode([...profileFlags(), script], {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: withSchema(url, schemas[0]!),
      SUBSHIFT_STORE: "postgres",
      SUBSHIFT_API_KEYS: key.entry,
      LOG_LEVEL: "Error",
      NODE_ENV: "development",
      SUBSHIFT_TRACING: "false",
      ...(process.env["BENCH_SERVER_NODE_OPTIONS"] ? { NODE_OPTIONS: process.env["BENCH_SERVER_NODE_OPTIONS"] } : {})
    }, `http://127.0.0.1:${port}/ready`)
    const pid = server.pid!
    const before = rssMb(pid)
    let peak = before
    const sampler = setInterval(() => void (peak = Math.max(peak, rssMb(pid))), 100)
    const started = performance.now()
    const response = await fetch(`http://127.0.0.1:${port}/api/admin/subscriptions/import`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.key}`, "content-type": "application/x-ndjson" },
      body: Readable.toWeb(createReadStream(file)) as ReadableStream,
      duplex: "half"
    } as RequestInit)
    if (response.status !== 200) throw new Error(`the import answered ${response.status}: ${(await response.text()).slice(0, 300)}`)
    const report = await response.json() as { readonly totals: { readonly created: number; readonly lines: number } }
    const seconds = (performance.now() - started) / 1000
    clearInterval(sampler)
    if (report.totals.created !== LINES) throw new Error(`the import created ${report.totals.created} of ${LINES}`)
    const rate = LINES / seconds
    const growth = peak - before
    const markdown = [
      "## Import",
      "",
      `${num(LINES)} NDJSON subscriptions streamed through \`POST /api/admin/subscriptions/import\` of the HTTP server (its own process, on Postgres; each line checked against the catalog, upserted with its \`subscription.imported\` event, and reported), against a plain \`pg\` client upserting the same rows, 1,000 per statement, without checks or events, in the same run.`,
      "",
      table(["", "lines/s", "server RSS before → peak (MB)"], [
        ["HTTP import", num(rate), `${num(before)} → ${num(peak)} (+${num(growth)})`],
        ["plain `pg`, batches of 1,000", num(pgRate), "—"]
      ]),
      "",
      `Ratio ${ratio(rate, pgRate)} (target ≥ 0.25: ${verdict(rate / pgRate >= 0.25)}); RSS growth ${num(growth)} MB (target < 64 MB: ${verdict(growth < 64)}).`
    ].join("\n")
    console.log(markdown)
    return { markdown }
  } finally {
    if (server !== undefined) await stop(server)
    for (const schema of schemas) await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.end()
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The embedded store (PGlite served on a loopback socket), in two parts, each against a baseline
 * measured in the same run:
 *
 * - Start-up and memory of the server (`bin.ts` bundled, run by `node`): time until `/ready`
 *   answers and RSS then, on a fresh data directory and on reopening it, against the same server
 *   on the in-memory store.
 * - Basket updates through `SubscriptionCheckout.update` on `PgStore` over the embedded engine,
 *   against a plain `pg` pool replaying the very same statements over the same socket (the part
 *   the Postgres section runs against a server).
 */
import { Embedded } from "@subshift/store-postgres"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { bench } from "./postgres.js"
import { bundleServer, freePort, root, rssMb } from "./processes.js"
import { cell, ratio, type Section, spread, table } from "./report.js"

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3)

interface Start {
  readonly seconds: number
  readonly rss: number
}

/** Starts the server, times it until `/ready` answers 200, reads its RSS a second later, stops it. */
const timeStart = async (script: string, env: Record<string, string>): Promise<Start> => {
  const port = await freePort()
  const started = performance.now()
  const child: ChildProcess = spawn(process.execPath, [script], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "Error", NODE_ENV: "development", ...env },
    stdio: ["ignore", "ignore", "inherit"]
  })
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`)
      if (performance.now() - started > 120_000) throw new Error("the server was not ready within 120 s")
      const ready = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false)
      if (ready) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const seconds = (performance.now() - started) / 1000
    await new Promise((r) => setTimeout(r, 1000))
    return { seconds, rss: rssMb(child.pid!) }
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGTERM")
    })
  }
}

const startUp = async (): Promise<string> => {
  const script = await bundleServer("server-embedded", ["@electric-sql/*", "pg-native"])
  const runs = { memory: [] as Array<Start>, first: [] as Array<Start>, reopen: [] as Array<Start> }
  for (let round = 0; round < ROUNDS; round++) {
    const dataDir = mkdtempSync(join(tmpdir(), "subshift-bench-embedded-"))
    try {
      runs.memory.push(await timeStart(script, { SUBSHIFT_STORE: "memory" }))
      runs.first.push(await timeStart(script, { SUBSHIFT_STORE: "embedded", SUBSHIFT_DATA_DIR: dataDir }))
      runs.reopen.push(await timeStart(script, { SUBSHIFT_STORE: "embedded", SUBSHIFT_DATA_DIR: dataDir }))
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
  rmSync(script, { force: true })
  const memory = { seconds: spread(runs.memory.map((r) => r.seconds)), rss: spread(runs.memory.map((r) => r.rss)) }
  const row = (name: string, starts: ReadonlyArray<Start>) => {
    const seconds = spread(starts.map((r) => r.seconds))
    const rss = spread(starts.map((r) => r.rss))
    return [name, cell(seconds, 2), ratio(seconds.median, memory.seconds.median), cell(rss), ratio(rss.median, memory.rss.median)]
  }
  return [
    "### Start-up and memory of the server",
    "",
    `Time from spawning the server until \`/ready\` answers 200, and its RSS one second later; median (min – max) of ${ROUNDS} ` +
    "interleaved rounds, each on a fresh data directory (first start: create the cluster, migrate, seed the demo; reopen: the same " +
    "directory again). The baseline is the same server on the in-memory store.",
    "",
    table(["server", "seconds to ready", "ratio", "RSS MB", "ratio"], [
      row("in-memory store (baseline)", runs.memory),
      row("embedded store, first start", runs.first),
      row("embedded store, reopen", runs.reopen)
    ])
  ].join("\n")
}

const throughput = async (): Promise<string> => {
  const dataDir = mkdtempSync(join(tmpdir(), "subshift-bench-embedded-"))
  try {
    return await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      // Both pools (10 each) and the admin connection share the socket server.
      const server = yield* Embedded.start({ dataDir, maxConnections: 32 })
      return yield* Effect.promise(() => bench(`postgres://postgres@${server.host}:${server.port}/postgres`, "Embedded store"))
    })))
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** Runs the section; prints and answers its markdown. */
export const run = async (): Promise<Section> => {
  const markdown = ["## Embedded store (PGlite)", await startUp(), await throughput()].join("\n\n")
  console.log(markdown)
  return { markdown }
}

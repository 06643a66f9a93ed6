/**
 * PGlite on a worker thread of its own. Creating a cluster, opening one and answering every query
 * are long synchronous WebAssembly calls; on a worker they leave the main thread free to answer
 * requests. The worker lives inside the process, so it ends with it, even on SIGKILL.
 *
 * The worker is started from source text rather than a file, so that it runs the same way from
 * the TypeScript sources, under a test runner and inside a bundle; it loads PGlite from the paths
 * the main thread resolves.
 */
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { Worker } from "node:worker_threads"
import * as Wire from "./wire.js"

// The worker's program (CommonJS). `init` creates a cluster in `dir` and closes it; `serve` fills
// an empty `dir` from `template` when there is one, opens it and serves it on a loopback port
// until the main thread asks it to stop, through the wire server of wire.ts.
const SOURCE = `${Wire.SOURCE}
const { parentPort, workerData: task } = require("node:worker_threads")
const Fs = require("node:fs")
const Path = require("node:path")
const { PGlite } = require(task.pglite)
const fail = (what) => (error) => parentPort.postMessage({ kind: "failed", what, message: error instanceof Error ? error.message : String(error) })
const copyTemplate = () => {
  // PG_VERSION goes last: a directory without it is filled again on the next start.
  for (const entry of Fs.readdirSync(task.template)) {
    if (entry !== "PG_VERSION") Fs.cpSync(Path.join(task.template, entry), Path.join(task.dir, entry), { recursive: true, force: true })
  }
  Fs.copyFileSync(Path.join(task.template, "PG_VERSION"), Path.join(task.dir, "PG_VERSION"))
}
const main = async () => {
  if (task.kind === "init") {
    const db = await PGlite.create(task.dir).catch((e) => { fail("could not create the database")(e); return undefined })
    if (db === undefined) return
    await db.close()
    return parentPort.postMessage({ kind: "ready" })
  }
  if (task.template !== undefined && !Fs.existsSync(Path.join(task.dir, "PG_VERSION"))) {
    try { copyTemplate() } catch (e) { return fail("could not copy the prepared cluster " + task.template)(e) }
  }
  const db = await PGlite.create(task.dir).catch((e) => { fail("could not open the database")(e); return undefined })
  if (db === undefined) return
  let server
  try {
    server = await serveWire(db, { host: "127.0.0.1", port: task.port, maxConnections: task.maxConnections })
  } catch (e) { await db.close().catch(() => {}); return fail("could not listen")(e) }
  parentPort.on("message", async () => {
    await server.stop().catch(() => {})
    await db.close().catch(() => {})
    parentPort.postMessage({ kind: "stopped" })
  })
  parentPort.postMessage({ kind: "ready", conn: server.conn })
}
main().catch(fail("failed"))
`

/** What the worker is asked to do. */
export type Task =
  | { readonly kind: "init"; readonly dir: string }
  | { readonly kind: "serve"; readonly dir: string; readonly template: string | undefined; readonly port: number; readonly maxConnections: number }

/** A worker that has done its task; `stop` ends a serving one and terminates it. */
export interface Running {
  /** `host:port` of a serving worker. */
  readonly conn: string | undefined
  readonly stop: () => Promise<void>
}

/** Why a worker could not do its task: what it was doing, and the error. */
export class EngineError extends Error {
  constructor(readonly what: string, message: string) {
    super(message)
  }
}

// Resolved here and not in the worker, whose source has no file to resolve from.
const require = createRequire(import.meta.url)
const resolved = () => ({ pglite: require.resolve("@electric-sql/pglite") })

/** The installed PGlite's version: a prepared cluster is only reused by the version that made it. */
export const pgliteVersion = (): string => {
  const dist = Path.dirname(require.resolve("@electric-sql/pglite"))
  return (JSON.parse(Fs.readFileSync(Path.join(dist, "..", "package.json"), "utf8")) as { version: string }).version
}

const STOP_TIMEOUT_MS = 10_000

/** Runs `task` on a new worker; resolves once it is ready, rejects with an `EngineError`. */
export const run = (task: Task): Promise<Running> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(SOURCE, { eval: true, workerData: { ...task, ...resolved() } })
    let ready = false
    const stop = () =>
      new Promise<void>((done) => {
        const finish = () => void worker.terminate().then(() => done(), () => done())
        if (task.kind === "init") return finish()
        worker.once("message", finish)
        worker.once("exit", () => done())
        worker.postMessage("stop")
        // A database that does not close in time is left to its WAL, as after a crash.
        setTimeout(finish, STOP_TIMEOUT_MS).unref()
      })
    worker.once("message", (message: { kind: string; what?: string; message?: string; conn?: string }) => {
      if (message.kind === "ready") {
        ready = true
        return resolve({ conn: message.conn, stop })
      }
      void worker.terminate()
      reject(new EngineError(message.what ?? "failed", message.message ?? "unknown error"))
    })
    worker.once("error", (error) => {
      if (!ready) reject(new EngineError("the engine failed", error.message))
    })
    worker.once("exit", (code) => {
      if (!ready) reject(new EngineError("the engine stopped", `its thread exited with ${code}`))
    })
  })

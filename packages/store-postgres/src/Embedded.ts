/**
 * An embedded Postgres: PGlite (Postgres compiled to WebAssembly) on a worker thread of this
 * process, keeping its data in a directory, served on a loopback port by a wire server of our own
 * (internal/wire.ts) so that the very same `@effect/sql-pg` adapter talks to it as to a real server.
 *
 * It is one Postgres session shared by every connection. The server runs each connection's
 * messages a whole exchange at a time (up to its Sync or Query), so statements of concurrent
 * connections never meet, and a transaction holds the session for its connection until it ends:
 * transactions are serialised, the others' statements waiting their turn in arrival order, so a
 * fiber holding a transaction must never wait for another pooled query. A connection that closes
 * inside its transaction is rolled back. What lives in the session rather than in a transaction
 * is shared: a session `SET` reaches every connection (use `SET LOCAL`), as do named prepared
 * statements and temporary tables, and LISTEN/NOTIFY does not cross connections.
 */
import { StoreUnavailable } from "@subshift/core/domain/Errors"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Engine from "./internal/engine.js"

/** Where the embedded store keeps its data unless told otherwise, relative to the working directory. */
export const defaultDataDir = ".subshift-data"

/** Options of the embedded server. */
export interface Options {
  /** The data directory; created if missing. `./.subshift-data` unless set. */
  readonly dataDir?: string | undefined
  /** The loopback port to listen on; any free port unless set. */
  readonly port?: number | undefined
  /** Connections the wire server accepts at once; it must exceed the client's pool size. */
  readonly maxConnections?: number | undefined
  /** Where the prepared cluster new data directories are copied from is kept; `defaultCacheDir()` unless set. */
  readonly cacheDir?: string | undefined
}

/** A running embedded server. */
export interface Server {
  readonly host: string
  readonly port: number
  /** The absolute data directory. */
  readonly dataDir: string
}

const LOCK_FILE = "subshift.lock"

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Takes the data directory for this process. Two PGlite instances on one directory corrupt it,
 * so a second one is refused while the first process lives; a lock left by a dead process is
 * taken over.
 */
const lockDataDir = (dir: string): Effect.Effect<void, StoreUnavailable, Scope.Scope> => {
  const file = Path.join(dir, LOCK_FILE)
  return Effect.acquireRelease(
    Effect.try({
      try: () => {
        Fs.mkdirSync(dir, { recursive: true })
        for (let attempt = 0; attempt < 2; attempt++) {
          try {
            Fs.writeFileSync(file, String(process.pid), { flag: "wx" })
            return
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
            const owner = Number.parseInt(Fs.readFileSync(file, "utf8"), 10)
            if (Number.isInteger(owner) && isAlive(owner)) {
              throw new Error(`the data directory ${dir} is in use by process ${owner}, which is still running`)
            }
            Fs.rmSync(file, { force: true })
          }
        }
        throw new Error(`could not lock the data directory ${dir}`)
      },
      catch: (error) =>
        new StoreUnavailable({ message: `embedded Postgres: ${error instanceof Error ? error.message : String(error)}` })
    }),
    () => Effect.sync(() => Fs.rmSync(file, { force: true }))
  )
}

/** Where prepared clusters are kept unless told otherwise: `$XDG_CACHE_HOME/subshift`, or `~/.cache/subshift`. */
export const defaultCacheDir = (): string =>
  Path.join(process.env["XDG_CACHE_HOME"] || Path.join(Os.homedir(), ".cache"), "subshift")

/**
 * A cluster created once per machine and PGlite version, in `cache/pglite-<version>`, that a new
 * data directory starts as a copy of: copying it and opening the copy costs about what reopening
 * a data directory costs, where creating a cluster costs several times that, and the memory the
 * creation takes goes with the short-lived worker that made it. Answers `undefined` when the cache
 * cannot be written; the cluster is then created in the data directory itself.
 */
const prepared = async (cache: string): Promise<string | undefined> => {
  const version = Engine.pgliteVersion()
  const dir = Path.join(cache, `pglite-${version}`)
  if (Fs.existsSync(Path.join(dir, "PG_VERSION"))) return dir
  let staging: string
  try {
    Fs.mkdirSync(cache, { recursive: true })
    staging = Fs.mkdtempSync(Path.join(cache, `.pglite-${version}-`))
  } catch {
    return undefined
  }
  try {
    await (await Engine.run({ kind: "init", dir: staging })).stop()
    // Atomic: another process preparing the same cluster at once either wins or loses whole.
    Fs.renameSync(staging, dir)
  } catch (error) {
    if (error instanceof Engine.EngineError) throw error
  } finally {
    Fs.rmSync(staging, { recursive: true, force: true })
  }
  return Fs.existsSync(Path.join(dir, "PG_VERSION")) ? dir : undefined
}

/**
 * Starts PGlite on the data directory, on a worker thread of this process, and serves it on a
 * loopback port; both are stopped when the scope closes. An empty data directory starts as a
 * copy of the prepared cluster in `cacheDir`.
 */
export const start = (options: Options = {}): Effect.Effect<Server, StoreUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const dataDir = Path.resolve(options.dataDir ?? defaultDataDir)
    const failed = (error: unknown) =>
      new StoreUnavailable({
        message: `embedded Postgres in ${dataDir}: ${
          error instanceof Engine.EngineError ? `${error.what}: ${error.message}` : error instanceof Error ? error.message : String(error)
        }`
      })
    yield* lockDataDir(dataDir)
    const template = Fs.existsSync(Path.join(dataDir, "PG_VERSION"))
      ? undefined
      : yield* Effect.tryPromise({ try: () => prepared(Path.resolve(options.cacheDir ?? defaultCacheDir())), catch: failed })
    const engine = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          Engine.run({ kind: "serve", dir: dataDir, template, port: options.port ?? 0, maxConnections: options.maxConnections ?? 16 }),
        catch: failed
      }),
      (engine) => Effect.promise(engine.stop)
    )
    const [host, port] = splitConn(engine.conn ?? "")
    return { host, port, dataDir }
  })
const splitConn = (conn: string): readonly [string, number] => {
  const at = conn.lastIndexOf(":")
  return [conn.slice(0, at), Number(conn.slice(at + 1))]
}

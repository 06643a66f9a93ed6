/**
 * An embedded Postgres: PGlite (Postgres compiled to WebAssembly, in this process) keeping its
 * data in a directory, served on a loopback port by `pglite-socket` so that the very same
 * `@effect/sql-pg` adapter talks to it as to a real server.
 *
 * It is one Postgres session behind a multiplexer: transactions are serialised, a fiber holding a
 * transaction must never wait for another pooled query, a session `SET` leaks to every other
 * connection (use `SET LOCAL`), and LISTEN/NOTIFY does not cross connections.
 */
import type { PGlite } from "@electric-sql/pglite"
import { StoreUnavailable } from "@subshift/core/Errors"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Path from "node:path"

/** Where the embedded store keeps its data unless told otherwise, relative to the working directory. */
export const defaultDataDir = ".subshift-data"

/** Options of the embedded server. */
export interface Options {
  /** The data directory; created if missing. `./.subshift-data` unless set. */
  readonly dataDir?: string | undefined
  /** The loopback port to listen on; any free port unless set. */
  readonly port?: number | undefined
  /** Connections the socket server accepts at once; it must exceed the client's pool size. */
  readonly maxConnections?: number | undefined
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

// Loaded when a store is started, not when the package is imported: a process on a real
// Postgres server never loads PGlite, and a bundle may leave it external and unresolved.
const load = async () => {
  const [pglite, socket] = await Promise.all([import("@electric-sql/pglite"), import("@electric-sql/pglite-socket")])
  return { PGlite: pglite.PGlite, PGLiteSocketServer: socket.PGLiteSocketServer }
}

/**
 * Starts PGlite on the data directory and serves it on a loopback port; both are stopped when
 * the scope closes.
 */
export const start = (options: Options = {}): Effect.Effect<Server, StoreUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const dataDir = Path.resolve(options.dataDir ?? defaultDataDir)
    const failed = (what: string) => (error: unknown) =>
      new StoreUnavailable({
        message: `embedded Postgres in ${dataDir}: ${what}: ${error instanceof Error ? error.message : String(error)}`
      })
    yield* lockDataDir(dataDir)
    const { PGLiteSocketServer, PGlite } = yield* Effect.tryPromise({ try: load, catch: failed("could not load PGlite") })
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => PGlite.create(dataDir), catch: failed("could not open the database") }),
      (db: PGlite) => Effect.promise(() => db.close()).pipe(Effect.ignore)
    )
    const server = new PGLiteSocketServer({
      db,
      host: "127.0.0.1",
      port: options.port ?? 0,
      maxConnections: options.maxConnections ?? 16
    })
    yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => server.start(), catch: failed("could not listen") }),
      () => Effect.promise(() => server.stop())
    )
    const [host, port] = splitConn(server.getServerConn())
    return { host, port, dataDir }
  })

const splitConn = (conn: string): readonly [string, number] => {
  const at = conn.lastIndexOf(":")
  return [conn.slice(0, at), Number(conn.slice(at + 1))]
}

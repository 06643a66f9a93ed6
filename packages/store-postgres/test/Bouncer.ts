/**
 * A PgBouncer of the test's own, in transaction pooling mode, on a free port with a temporary
 * configuration, in front of the PostgreSQL server of a URL. It is found as `$PGBOUNCER`, on the
 * `PATH`, or where Debian's package installs it; without one there is none to start.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { once } from "node:events"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

/** Where the pgbouncer binary is on this machine now, if anywhere (a harness may have just installed it). */
export const find = (): string | undefined => {
  const named = process.env["PGBOUNCER"]
  if (named !== undefined && named !== "") return named
  for (const dir of [...(process.env["PATH"] ?? "").split(Path.delimiter), "/usr/sbin", "/usr/local/sbin"]) {
    const candidate = Path.join(dir, "pgbouncer")
    if (dir !== "" && Fs.existsSync(candidate)) return candidate
  }
  return undefined
}

/** The pgbouncer binary on this machine when this module was loaded, if there was one. */
export const binary: string | undefined = find()

/** A free TCP port on the loopback interface. */
export const freePort = async (): Promise<number> => {
  const probe = Net.createServer().listen(0, "127.0.0.1")
  await once(probe, "listening")
  const { port } = probe.address() as Net.AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

/** Whether something accepts connections on a loopback port. */
export const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => resolve(socket.destroy() !== undefined))
    socket.once("error", () => resolve(false))
  })

/** A running PgBouncer. */
export interface Bouncer {
  readonly port: number
  /** `url` with its host and port replaced by the bouncer's (the database and user kept). */
  readonly through: (url: string) => string
  readonly log: () => string
  readonly stop: () => Promise<void>
}

/** Options of the pool; PgBouncer's own defaults otherwise. */
export interface BouncerOptions {
  readonly poolSize?: number
  readonly maxClients?: number
}

/**
 * Starts PgBouncer in transaction mode in front of the server of `serverUrl`; any database name
 * maps to the same name there. PgBouncer refuses to run as root, so as root it switches to the
 * `postgres` user, which then owns its temporary directory.
 */
export const start = async (serverUrl: string, options: BouncerOptions = {}): Promise<Bouncer> => {
  const binary = find()
  if (binary === undefined) throw new Error("pgbouncer is not installed")
  const server = new URL(serverUrl)
  const user = decodeURIComponent(server.username || "postgres")
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "subshift-pgbouncer-"))
  const port = await freePort()
  const config = Path.join(dir, "pgbouncer.ini")
  Fs.writeFileSync(Path.join(dir, "users.txt"), `"${user}" "${decodeURIComponent(server.password)}"\n`)
  Fs.writeFileSync(config, [
    "[databases]",
    `* = host=${server.hostname} port=${server.port || 5432}`,
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${port}`,
    "unix_socket_dir =",
    `auth_type = ${server.password === "" ? "trust" : "plain"}`,
    `auth_file = ${Path.join(dir, "users.txt")}`,
    "pool_mode = transaction",
    `default_pool_size = ${options.poolSize ?? 8}`,
    `max_client_conn = ${options.maxClients ?? 200}`,
    `logfile = ${Path.join(dir, "pgbouncer.log")}`,
    ""
  ].join("\n"))
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim())
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim())
    for (const file of [dir, config, Path.join(dir, "users.txt")]) Fs.chownSync(file, uid, gid)
  }
  const child: ChildProcess = spawn(binary, [...(asRoot ? ["-u", "postgres"] : []), config], { stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (chunk) => (output += chunk))
  child.stderr!.on("data", (chunk) => (output += chunk))
  const log = () => {
    const file = Path.join(dir, "pgbouncer.log")
    return output + (Fs.existsSync(file) ? Fs.readFileSync(file, "utf8") : "")
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  for (let i = 0; !(await reachable(port)); i++) {
    if (child.exitCode !== null || i > 100) {
      child.kill("SIGKILL")
      throw new Error(`pgbouncer did not start: ${log()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    port,
    through: (url) => {
      const parsed = new URL(url)
      parsed.hostname = "127.0.0.1"
      parsed.port = String(port)
      return parsed.toString()
    },
    log,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM")
      await exited
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

/**
 * The topology of `npm run scale`, built on this machine from Debian's packages: a fresh database
 * on the PostgreSQL at 127.0.0.1:5432, a streaming replica of that cluster made with
 * `pg_basebackup -R` on another port, PgBouncer in transaction pooling mode in front of the
 * primary, Subshift servers (the built JavaScript) and HAProxy in front of them. Every piece
 * lives in one temporary directory and is taken down by `teardown`; the primary's `pg_hba.conf`
 * gets one replication line for the run and is restored afterwards.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import * as Bouncer from "../../packages/store-postgres/test/Bouncer.js"
import { admin } from "../../packages/store-postgres/test/Admin.js"

export const PRIMARY = process.env["SCALE_PRIMARY_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"
const PG_BIN = "/usr/lib/postgresql/15/bin"
const HBA = "/etc/postgresql/15/main/pg_hba.conf"
const HBA_LINE = "host replication all 127.0.0.1/32 trust # subshift scale harness, removed when it ends"

export const sh = (file: string, args: ReadonlyArray<string>, options: { readonly asPostgres?: boolean } = {}) =>
  execFileSync(options.asPostgres === true && process.getuid?.() === 0 ? "runuser" : file, [
    ...(options.asPostgres === true && process.getuid?.() === 0 ? ["-u", "postgres", "--", file] : []),
    ...args
  ], { stdio: ["ignore", "pipe", "pipe"] }).toString()

const onPath = (name: string) => ["/usr/sbin", "/usr/bin", ...(process.env["PATH"] ?? "").split(":")].some((d) => Fs.existsSync(Path.join(d, name)))

/** Installs haproxy and pgbouncer from Debian's packages when they are missing (as root only). */
export const ensurePackages = () => {
  const missing = ["haproxy", "pgbouncer"].filter((name) => !onPath(name))
  if (missing.length === 0) return
  if (process.getuid?.() !== 0) throw new Error(`install ${missing.join(" and ")} first (apt-get install -y ${missing.join(" ")})`)
  console.log(`installing ${missing.join(", ")} …`)
  execFileSync("apt-get", ["install", "-y", ...missing], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } })
}

export const query = admin

export const withDatabase = (url: string, name: string) => {
  const parsed = new URL(url)
  parsed.pathname = `/${name}`
  return parsed.toString()
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Everything the run built, and how to take it down. */
export interface Topology {
  readonly dir: string
  readonly database: string
  readonly primaryUrl: string
  readonly replicaUrl: string
  readonly bouncerUrl: string
  readonly teardowns: Array<() => Promise<void> | void>
}

/** A fresh database for the run, with the statement timeout PgBouncer's clients cannot set themselves. */
export const createDatabase = async (topology: Pick<Topology, "database" | "teardowns">) => {
  await query(PRIMARY, `CREATE DATABASE ${topology.database}`)
  topology.teardowns.push(() => query(PRIMARY, `DROP DATABASE IF EXISTS ${topology.database} WITH (FORCE)`).then(() => undefined))
  await query(PRIMARY, `ALTER DATABASE ${topology.database} SET statement_timeout = '30s'`)
}

/** A hot standby of the primary cluster in `dir`, on a free port, streaming from the primary. */
export const startReplica = async (dir: string, teardowns: Topology["teardowns"]): Promise<number> => {
  const original = Fs.readFileSync(HBA, "utf8")
  if (!original.includes(HBA_LINE)) {
    Fs.writeFileSync(HBA, `${original.trimEnd()}\n${HBA_LINE}\n`)
    teardowns.push(async () => {
      Fs.writeFileSync(HBA, original)
      await query(PRIMARY, "SELECT pg_reload_conf()")
    })
    await query(PRIMARY, "SELECT pg_reload_conf()")
  }
  const data = Path.join(dir, "replica")
  Fs.mkdirSync(data, { mode: 0o700 })
  if (process.getuid?.() === 0) sh("chown", ["-R", "postgres:postgres", dir])
  const primary = new URL(PRIMARY)
  sh(Path.join(PG_BIN, "pg_basebackup"), ["-h", primary.hostname, "-p", primary.port || "5432", "-U", "postgres", "-D", data, "-R", "-X", "stream", "-c", "fast"], {
    asPostgres: true
  })
  const port = await Bouncer.freePort()
  // Debian keeps the primary's configuration outside its data directory: the copy starts from defaults.
  Fs.writeFileSync(Path.join(data, "postgresql.conf"), [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    "hot_standby = on",
    "max_connections = 100",
    "hot_standby_feedback = on",
    ""
  ].join("\n"))
  Fs.writeFileSync(Path.join(data, "pg_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 trust\n")
  if (process.getuid?.() === 0) sh("chown", ["-R", "postgres:postgres", data])
  sh(Path.join(PG_BIN, "pg_ctl"), ["-D", data, "-l", Path.join(dir, "replica.log"), "-w", "start"], { asPostgres: true })
  teardowns.push(() => void sh(Path.join(PG_BIN, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"], { asPostgres: true }))
  return port
}

/** Starts PgBouncer in transaction mode in front of the primary. */
export const startBouncer = async (teardowns: Topology["teardowns"]) => {
  const bouncer = await Bouncer.start(PRIMARY, { poolSize: 20, maxClients: 500 })
  teardowns.push(() => bouncer.stop())
  return bouncer
}

/**
 * What a server process runs: the bundled server (`npm run bundle`), which starts in about half
 * the CPU time of the built bin; `SCALE_SERVER=bin` runs the bin instead.
 */
export const serverEntry = process.env["SCALE_SERVER"] === "bin"
  ? "packages/http-server/bin/subshift.mjs"
  : "packages/http-server/bundle/subshift.mjs"

/** One Subshift server process: `subshift serve`. */
export interface ServerProcess {
  readonly name: string
  readonly port: number
  child: ChildProcess | undefined
  log: string
}

/**
 * How long a start took, from the spawn: until the process first answered anything (Node has
 * loaded the code and listens; it answers 503 until the app is built), until it printed its
 * banner (the store opened and the app built), and until `/ready` answered 200.
 */
export interface StartTimes {
  readonly answeringMs: number
  readonly builtMs: number
  readonly readyMs: number
}

/** Spawns a server process on its port; resolves once it answers `/ready`, with how long each part took. */
export const spawnServer = async (server: ServerProcess, env: Record<string, string>, root: string): Promise<StartTimes> => {
  const spawned = Date.now()
  let answeringMs = Number.NaN
  let builtMs = Number.NaN
  const child = spawn(process.execPath, [Path.join(root, serverEntry), "serve"], {
    cwd: root,
    env: { ...process.env, ...env, PORT: String(server.port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  server.child = child
  // SCALE_LOG_DIR keeps every server's whole output there, one file per server, across restarts.
  const keep = process.env["SCALE_LOG_DIR"]
  const record = (chunk: Buffer) => {
    server.log = (server.log + chunk).slice(-20_000)
    if (keep !== undefined) Fs.appendFileSync(Path.join(keep, `${server.name}.log`), chunk)
  }
  child.stdout!.on("data", (chunk: Buffer) => {
    if (Number.isNaN(builtMs) && String(chunk).includes("is listening on")) builtMs = Date.now() - spawned
    record(chunk)
  })
  child.stderr!.on("data", record)
  // Generous: on a busy shared machine a start can take a minute.
  for (const deadline = Date.now() + 180_000; Date.now() < deadline;) {
    if (child.exitCode !== null) throw new Error(`${server.name} exited: ${server.log.slice(-2000)}`)
    const status = await fetch(`http://127.0.0.1:${server.port}/ready`).then((r) => r.status, () => 0)
    if (status !== 0 && Number.isNaN(answeringMs)) answeringMs = Date.now() - spawned
    if (status === 200) return { answeringMs, builtMs, readyMs: Date.now() - spawned }
    await sleep(50)
  }
  throw new Error(`${server.name} did not become ready: ${server.log.slice(-2000)}`)
}

/** HAProxy in front of the servers, with an admin socket to take servers in and out. */
export const startHaproxy = async (dir: string, servers: ReadonlyArray<ServerProcess>, teardowns: Topology["teardowns"]) => {
  const port = await Bouncer.freePort()
  const socket = Path.join(dir, "haproxy.sock")
  const config = Path.join(dir, "haproxy.cfg")
  Fs.writeFileSync(config, [
    "global",
    `  stats socket ${socket} level admin`,
    "  maxconn 2000",
    "defaults",
    "  mode http",
    "  timeout connect 1s",
    "  timeout client 30s",
    "  timeout server 30s",
    // Generous: on a busy machine a slow health check would take a healthy server out.
    "  timeout check 3s",
    "  option redispatch",
    "  retries 2",
    "frontend subshift",
    `  bind 127.0.0.1:${port}`,
    "  default_backend servers",
    "backend servers",
    "  balance roundrobin",
    "  option httpchk GET /ready",
    // An up server is checked every second, and every 250 ms once a check failed: two failures
    // (about 1.3 s) take it out, and a connection refused by live traffic takes it out at once
    // (the request is sent to another server). A down server is checked every 250 ms and one
    // good check takes it back: `/ready` answers 200 only once the store and the app are up.
    "  default-server inter 1s fastinter 250ms downinter 250ms fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down",
    ...servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} check`),
    ""
  ].join("\n"))
  const child = spawn("haproxy", ["-db", "-f", config], { stdio: ["ignore", "pipe", "pipe"] })
  let log = ""
  child.stdout!.on("data", (c) => (log += c))
  child.stderr!.on("data", (c) => (log += c))
  for (let i = 0; !(await Bouncer.reachable(port)); i++) {
    if (child.exitCode !== null || i > 100) throw new Error(`haproxy did not start: ${log}`)
    await sleep(50)
  }
  teardowns.push(() => void child.kill("SIGTERM"))
  const admin = (command: string) =>
    new Promise<string>((resolve, reject) => {
      const connection = Net.connect(socket)
      let answer = ""
      connection.on("data", (c) => (answer += c))
      connection.on("end", () => resolve(answer))
      connection.on("error", reject)
      connection.end(`${command}\n`)
    })
  return { port, admin, log: () => log }
}

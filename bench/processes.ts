/** What the sections share to run servers as processes of their own. */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root. */
export const root = fileURLToPath(new URL("..", import.meta.url))

/** A loopback port nothing listens on. */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

/** The resident memory of a process, in MB. */
export const rssMb = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))
  return line === undefined ? Number.NaN : Number(line.replace(/\D+/g, "")) / 1024
}

/** The CPU time (user and system) a process has used, in seconds. */
export const cpuSeconds = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // utime and stime, the 14th and 15th fields, counted from the state (the 3rd), in ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Stops a process with SIGTERM and waits for it to exit. */
export const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

/**
 * The server as it is deployed: `bin.ts` bundled into one file run by plain `node`, so that no
 * TypeScript loader counts in its time or memory. It is written to `.bench/<name>.mjs`, inside
 * the repository, so that the packages left `external` resolve from `node_modules`.
 */
export const bundleServer = async (name: string, external: ReadonlyArray<string>): Promise<string> => {
  const { build } = await import("esbuild")
  const outfile = join(root, ".bench", `${name}.mjs`)
  await build({
    entryPoints: [join(root, "packages/http-server/src/bin.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    external: [...external],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: "error"
  })
  return outfile
}

/** Node's flags to profile a server into `BENCH_CPU_PROF` when it names a directory. */
export const profileFlags = (): Array<string> => {
  const dir = process.env["BENCH_CPU_PROF"]
  return dir === undefined || dir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(dir)}`]
}

/**
 * Runs `node args…` from the root with `env` added, and waits until `url` answers with a status
 * under 500 (a server still opening its store answers 503); the process is killed when it exits
 * or does not answer within a minute.
 */
export const startNode = async (args: ReadonlyArray<string>, env: Record<string, string>, url: string): Promise<ChildProcess> => {
  const child = spawn(process.execPath, [...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] })
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${args.join(" ").slice(0, 80)} exited with ${child.exitCode}`)
    const up = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.status < 500, () => false)
    if (up) return child
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill("SIGKILL")
  throw new Error(`${url} did not answer`)
}

// Loaded into a server with `--import`: it records the delay of the server's event loop with
// `monitorEventLoopDelay` and, on each SIGUSR2, writes the figures since the last one and starts
// over. When `BENCH_LOOP_MARK` is set, the first line the server writes to stdout containing it
// closes a window there too, at that very moment: the next reading carries it as \`marked\`.
const LOOP_DELAY = `
import { monitorEventLoopDelay } from "node:perf_hooks"
import { renameSync, writeFileSync } from "node:fs"
const histogram = monitorEventLoopDelay({ resolution: 1 })
histogram.enable()
const figures = () => ({ max: histogram.max / 1e6, p99: histogram.percentile(99) / 1e6 })
let marked
const mark = process.env.BENCH_LOOP_MARK
if (mark) {
  const write = process.stdout.write.bind(process.stdout)
  process.stdout.write = (chunk, ...rest) => {
    if (marked === undefined && String(chunk).includes(mark)) {
      marked = figures()
      histogram.reset()
    }
    return write(chunk, ...rest)
  }
}
process.on("SIGUSR2", () => {
  const out = process.env.BENCH_LOOP_DELAY
  writeFileSync(out + ".part", JSON.stringify({ ...figures(), marked }))
  renameSync(out + ".part", out)
  histogram.reset()
})
`

/** The longest delay of an event loop over a window, and its 99th percentile, in ms. */
export interface LoopDelay {
  readonly max: number
  readonly p99: number
  /** The window that the server's output closed (`mark` of `loopProbe`), when it did since the last reading. */
  readonly marked?: LoopDelay | undefined
}

/** A probe of a server's event-loop delay: its node flags and environment, and the reading of one window. */
export interface LoopProbe {
  readonly args: ReadonlyArray<string>
  readonly env: Record<string, string>
  /** The delays since the last reading (or since the process started), and starts a new window. */
  readonly read: (child: ChildProcess) => Promise<LoopDelay>
}

/** A new probe named `name` (one per server process), marking where the server writes `mark`; its files go to `.bench/`. */
export const loopProbe = (name: string, mark = ""): LoopProbe => {
  const preload = join(root, ".bench", "loop-delay.mjs")
  writeFileSync(preload, LOOP_DELAY)
  const out = join(root, ".bench", `${name}-loop-delay.json`)
  rmSync(out, { force: true })
  return {
    args: ["--import", preload],
    env: { BENCH_LOOP_DELAY: out, BENCH_LOOP_MARK: mark },
    read: async (child) => {
      rmSync(out, { force: true })
      child.kill("SIGUSR2")
      for (let i = 0; i < 500 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 10))
      const delay = JSON.parse(readFileSync(out, "utf8")) as LoopDelay
      rmSync(out, { force: true })
      return delay
    }
  }
}

/** What the sections share to run servers as processes of their own. */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
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

#!/usr/bin/env node
// Completes package-lock.json with the platform-specific optional packages of other systems
// (rollup's and msgpackr-extract's binaries for macOS, Windows, musl Linux…) when the registry
// this lock was made against does not serve them: npm then leaves them out, and `npm ci` refuses
// a lock that does not name every optional dependency. The entries only record what each package
// is for (os, cpu, libc); npm skips them on any other platform, so nothing is downloaded.
import { readFileSync, writeFileSync } from "node:fs"

const OS = new Set(["aix", "android", "darwin", "freebsd", "linux", "netbsd", "openbsd", "openharmony", "sunos", "win32"])
const CPU = new Set(["arm", "arm64", "ia32", "loong64", "mips64el", "ppc64", "riscv64", "s390x", "x64"])

/** The platform a binary package is for, from its name (`@rollup/rollup-linux-arm-musleabihf`). */
export const platformOf = (name) => {
  const tokens = name.split("/").pop().split("-")
  const os = tokens.find((t) => OS.has(t))
  const cpu = tokens.find((t) => CPU.has(t))
  if (os === undefined || cpu === undefined) return undefined
  const libc = os !== "linux" ? undefined : tokens.some((t) => t.startsWith("musl")) ? "musl" : tokens.some((t) => t.startsWith("gnu")) ? "glibc" : undefined
  return { os: [os], cpu: [cpu], ...(libc === undefined ? {} : { libc: [libc] }) }
}

/** Adds the missing entries to a parsed lock; answers the names added. */
export const complete = (lock) => {
  const added = []
  for (const [path, entry] of Object.entries(lock.packages)) {
    for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
      const nested = `${path === "" ? "" : `${path}/`}node_modules/${name}`
      if (lock.packages[nested] !== undefined || lock.packages[`node_modules/${name}`] !== undefined) continue
      const platform = platformOf(name)
      if (platform === undefined || !/^\d+\.\d+\.\d+/.test(spec)) continue
      lock.packages[`node_modules/${name}`] = { version: spec.replace(/^[\^~=]/, ""), optional: true, ...platform }
      added.push(name)
    }
  }
  lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)))
  return added
}

const file = new URL("../package-lock.json", import.meta.url)
const lock = JSON.parse(readFileSync(file, "utf8"))
const added = complete(lock)
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
console.log(added.length === 0 ? "package-lock.json names every optional package" : `added ${added.length} optional packages of other platforms: ${added.join(", ")}`)

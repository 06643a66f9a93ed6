/**
 * The engine lives and dies with the process that started it: a process killed with SIGKILL
 * leaves no engine serving its data directory, and the next process takes the directory over and
 * finds what was committed on it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Embedded } from "@subshift/store-postgres"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import * as TestDatabase from "./TestDatabase.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const holder = fileURLToPath(new URL("./EmbeddedProcess.ts", import.meta.url))

/** Runs statements on one connection to the engine at `port`. */
const query = async (port: number, ...statements: ReadonlyArray<string>) => {
  const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" })
  await client.connect()
  try {
    let rows: Array<unknown> = []
    for (const text of statements) rows = (await client.query(text)).rows
    return rows
  } finally {
    await client.end()
  }
}

/** Whether anything accepts a connection on the loopback `port`. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("error", () => resolve(false))
  })

describe("embedded engine of a killed process", () => {
  it.scoped("stops with it, and a new process takes its data directory over and reads what it committed", () =>
    Effect.gen(function*() {
      const data = TestDatabase.tempDataDir()
      yield* Effect.addFinalizer(() => Effect.sync(data.remove))
      const child = spawn(process.execPath, ["--import", "tsx", holder, data.dir], { cwd: root, stdio: ["ignore", "pipe", "inherit"] })
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
      const started = yield* Effect.promise(() =>
        new Promise<{ pid: number; port: number }>((resolve, reject) => {
          let out = ""
          child.stdout!.on("data", (chunk) => {
            out += chunk
            if (out.includes("\n")) resolve(JSON.parse(out.slice(0, out.indexOf("\n"))))
          })
          child.once("exit", (code) => reject(new Error(`the holder exited with ${code}`)))
        })
      )
      expect(started.pid).toBe(child.pid)
      yield* Effect.promise(() => query(started.port, "CREATE TABLE kept (note text)", "INSERT INTO kept VALUES ('before the kill')"))
      expect(Fs.readFileSync(Path.join(data.dir, "subshift.lock"), "utf8")).toBe(String(child.pid))

      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_, signal) => resolve(signal)))
      child.kill("SIGKILL")
      expect(yield* Effect.promise(() => exited)).toBe("SIGKILL")
      expect(yield* Effect.promise(() => listening(started.port))).toBe(false)

      const server = yield* Embedded.start({ dataDir: data.dir })
      expect(Fs.readFileSync(Path.join(data.dir, "subshift.lock"), "utf8")).toBe(String(process.pid))
      expect(yield* Effect.promise(() => query(server.port, "SELECT note FROM kept"))).toEqual([{ note: "before the kill" }])
    }), 120_000)
})

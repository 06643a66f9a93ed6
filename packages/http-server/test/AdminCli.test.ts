/**
 * The `subshift` command line against a real listening server: `keys create`, `import
 * subscriptions` (through the admin API, never the store), `migrate` on a fresh Postgres schema,
 * and the command run as a process.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { CommandFailed } from "@subshift/http-server/cli/Remote"
import * as Exit from "effect/Exit"
import { execFile } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { cli } from "./CliRunner.js"
import { adminKeys, key } from "./AdminHarness.js"
import { subscriptionRecord } from "@subshift/testing/Records"
import { admin, databaseUrl } from "./PgStores.js"
import { request, start, type TestServer } from "./Harness.js"

const keys = adminKeys()
let server: TestServer
const dir = mkdtempSync(join(tmpdir(), "subshift-cli-"))
beforeAll(async () => {
  server = await start({ env: keys.env })
})
afterAll(() => server.close())


const failure = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("subshift keys create", () => {
  it("prints a new key once with the SUBSHIFT_API_KEYS entry that admits it; bad scopes fail", async () => {
    const made = await cli(["keys", "create", "--name", "ops", "--scopes", "subscriptions:write,admin:read", "--expires", "2099-01-01"])
    expect(Exit.isSuccess(made.exit)).toBe(true)
    const secret = /\n {2}(ssk_\S+)\n/.exec(made.out)![1]!
    const entry = /SUBSHIFT_API_KEYS="([^"]+)"/.exec(made.out)![1]!
    expect(entry).toMatch(/^ops:[0-9a-f]{12}:subscriptions:write\+admin:read:[0-9a-f]{64}:2099-01-01$/)
    expect(made.out.split(secret)).toHaveLength(2)
    const other = await start({ env: { SUBSHIFT_API_KEYS: entry } })
    try {
      const whoami = await request(`${other.url}/api/admin/whoami`, { headers: key(secret) })
      expect(whoami.body).toMatchObject({ name: "ops", scopes: ["subscriptions:write", "admin:read"] })
    } finally {
      await other.close()
    }
    const bad = await cli(["keys", "create", "--name", "ops", "--scopes", "everything"])
    expect(failure(bad.exit)).toEqual(new CommandFailed({ message: "--scopes: unknown scope everything; the scopes are catalog:write, subscriptions:write, webhooks:write, admin:read" }))
  })
})

describe("subshift import subscriptions", () => {
  it("sends the file to the running server's import and prints the totals and every rejected line", async () => {
    const file = join(dir, "subs.ndjson")
    writeFileSync(file, [
      JSON.stringify(subscriptionRecord("sub-cli-1")),
      JSON.stringify(subscriptionRecord("sub-cli-2")),
      JSON.stringify(subscriptionRecord("sub-cli-1")),
      JSON.stringify(subscriptionRecord("sub-cli-bad", { anchorDay: 99 }))
    ].join("\n"))
    const env = { SUBSHIFT_URL: server.url, SUBSHIFT_API_KEY: keys.ops }
    const run = await cli(["import", "subscriptions", file, "--reason", "first load"], env)
    expect(run.out).toContain("4 lines: 2 created, 0 updated, 1 unchanged, 1 rejected")
    expect(run.out).toContain("line 4 (sub-cli-bad) rejected:\n  anchorDay:")
    expect(failure(run.exit)).toEqual(new CommandFailed({ message: "1 lines were rejected" }))
    const stored = await request(`${server.url}/api/admin/subscriptions/sub-cli-2`, { headers: key(keys.ops) })
    expect(stored.body.events[0]).toMatchObject({ type: "subscription.imported", reason: "first load", actor: { kind: "operator", name: "ops" } })

    const good = join(dir, "good.ndjson")
    writeFileSync(good, JSON.stringify(subscriptionRecord("sub-cli-2")) + "\n")
    const again = await cli(["import", "subscriptions", good, "--url", server.url], { SUBSHIFT_API_KEY: keys.ops })
    expect(Exit.isSuccess(again.exit)).toBe(true)
    expect(again.out).toBe("1 lines: 0 created, 0 updated, 1 unchanged, 0 rejected")
  })

  it("fails without a key, with a key the server refuses, or without a server, storing nothing", async () => {
    const file = join(dir, "one.ndjson")
    writeFileSync(file, JSON.stringify(subscriptionRecord("sub-cli-refused")))
    const noKey = await cli(["import", "subscriptions", file, "--url", server.url])
    expect(Exit.isFailure(noKey.exit)).toBe(true)
    const reader = await cli(["import", "subscriptions", file, "--url", server.url], { SUBSHIFT_API_KEY: keys.reader })
    expect((failure(reader.exit) as CommandFailed).message).toBe("the server answered 403: this endpoint needs an API key with scope subscriptions:write; key " + keys.idOf(keys.reader) + " has admin:read")
    const down = await cli(["import", "subscriptions", file, "--url", "http://127.0.0.1:9"], { SUBSHIFT_API_KEY: keys.ops })
    expect((failure(down.exit) as CommandFailed).message).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:9/)
    expect((await request(`${server.url}/api/admin/subscriptions/sub-cli-refused`, { headers: key(keys.ops) })).status).toBe(404)
  })
})

describe.runIf(databaseUrl !== undefined)("subshift migrate", () => {
  it("brings a fresh schema up to date, and again is a no-op", async () => {
    const schema = `cli_migrate_${process.pid}_${Date.now()}`
    await admin(databaseUrl!, `CREATE SCHEMA ${schema}`)
    try {
      const url = new URL(databaseUrl!)
      url.searchParams.set("options", `-c search_path=${schema}`)
      const first = await cli(["migrate"], { DATABASE_URL: url.toString() })
      expect(Exit.isSuccess(first.exit)).toBe(true)
      expect(first.out).toMatch(/the schema is up to date$/)
      expect(first.out).not.toContain("password")
      expect(Exit.isSuccess((await cli(["migrate", "--database-url", url.toString()])).exit)).toBe(true)
    } finally {
      await admin(databaseUrl!, `DROP SCHEMA ${schema} CASCADE`)
    }
  }, 60_000)
})

describe("the subshift process", () => {
  it("runs a command and exits 0, and exits 1 with the message on stderr when a command fails", async () => {
    const run = promisify(execFile)
    const main = new URL("../src/cli/main.ts", import.meta.url).pathname
    const tsx = new URL("../../../node_modules/tsx/dist/cli.mjs", import.meta.url).pathname
    const ok = await run(process.execPath, [tsx, "--conditions=@subshift/source", main, "keys", "create", "--name", "ci", "--scopes", "admin:read"])
    expect(ok.stdout).toMatch(/ssk_[0-9a-f]{12}_/)
    const failed = await run(process.execPath, [tsx, "--conditions=@subshift/source", main, "keys", "create", "--name", "ci", "--scopes", "nope"]).catch((e) => e)
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain("subshift: --scopes: unknown scope nope")
  }, 60_000)
})

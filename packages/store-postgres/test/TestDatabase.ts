/**
 * The database a test file runs against: a fresh, uniquely named schema on `TEST_DATABASE_URL`
 * when it is set (dropped afterwards), otherwise an embedded Postgres in a temporary directory.
 * Either way a test file gets a connection URL, valid between its `beforeAll` and `afterAll`.
 */
import type { StoreUnavailable } from "@subshift/core/domain/Errors"
import { Embedded, PgStore } from "@subshift/store-postgres"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { admin } from "./Admin.js"
import { afterAll, beforeAll } from "vitest"

/** The server the concurrency and fault tests need, when there is one. */
export const serverUrl: string | undefined = process.env["TEST_DATABASE_URL"] || undefined

/** A URL whose sessions use `schema` as their search path. */
export const withSchema = (url: string, schema: string): string => {
  const parsed = new URL(url)
  parsed.searchParams.set("options", `-c search_path=${schema}`)
  return parsed.toString()
}

export { admin } from "./Admin.js"

/** A fresh schema on the test server, named uniquely for this run. */
export const freshSchema = async (url: string): Promise<{ readonly url: string; readonly drop: () => Promise<void> }> => {
  const schema = `subshift_test_${process.pid}_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`
  await admin(url, `CREATE SCHEMA ${schema}`)
  return {
    url: withSchema(url, schema),
    drop: () => admin(url, `DROP SCHEMA ${schema} CASCADE`).then(() => undefined)
  }
}

/** A temporary data directory, removed by `remove`. */
export const tempDataDir = (): { readonly dir: string; readonly remove: () => void } => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "subshift-pg-"))
  return { dir, remove: () => Fs.rmSync(dir, { recursive: true, force: true }) }
}

/** The database of a test file, with a store layer over it for each suite that asks. */
export interface TestDatabase {
  /** `postgres` or `embedded`. */
  readonly kind: string
  /** The connection URL; read it inside tests or layers, not at registration. */
  readonly url: () => string
  /** Every port over the test database, through a pool of its own. */
  readonly layer: Layer.Layer<PgStore.Ports, StoreUnavailable>
  /** The same, with pool options of the caller's. */
  readonly layerWith: (options: PgStore.ClientOptions) => Layer.Layer<PgStore.Ports, StoreUnavailable>
}

/**
 * Registers `beforeAll`/`afterAll` hooks that set up the test database for the calling file and
 * tear it down afterwards.
 */
export const register = (): TestDatabase => {
  let url: string | undefined
  let teardown: () => Promise<void> = async () => {}
  beforeAll(async () => {
    if (serverUrl !== undefined) {
      const schema = await freshSchema(serverUrl)
      url = schema.url
      teardown = schema.drop
    } else {
      const data = tempDataDir()
      const scope = Effect.runSync(Scope.make())
      const server = await Effect.runPromise(
        Embedded.start({ dataDir: data.dir, maxConnections: 64 }).pipe(Scope.extend(scope))
      )
      url = `postgres://postgres@${server.host}:${server.port}/postgres`
      teardown = async () => {
        await Effect.runPromise(Scope.close(scope, Exit.void))
        data.remove()
      }
    }
  }, 120_000)
  afterAll(() => teardown(), 60_000)
  const current = () => {
    if (url === undefined) throw new Error("the test database is not ready: read its URL inside a test or a layer")
    return url
  }
  const layerWith = (options: PgStore.ClientOptions) =>
    Layer.unwrapEffect(Effect.sync(() => PgStore.layerUrl(current(), options)))
  return {
    kind: serverUrl === undefined ? "embedded" : "postgres",
    url: current,
    layer: layerWith({ maxConnections: 8 }),
    layerWith
  }
}

/**
 * Postgres stores for the end-to-end suites that run over every store: a fresh schema on the
 * server at TEST_DATABASE_URL, or the embedded engine in a fresh temporary directory.
 */
import type * as Store from "@subshift/http-server/Store"
import { PgStore } from "@subshift/store-postgres"
import type * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import pg from "pg"

/** The Postgres server the suites may use; none unless TEST_DATABASE_URL is set. */
export const databaseUrl = process.env["TEST_DATABASE_URL"] || undefined

/** Runs one statement on the server at `url`. */
export const admin = async (url: string, text: string) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}

/** A store to build once, and how to clean up after it. */
export interface PgStoreUnderTest {
  readonly layer: () => Promise<Layer.Layer<Store.Ports, unknown>>
  readonly cleanup: () => Promise<void>
}

/** A store on a fresh schema, named after `prefix`, of the server at `url`. */
export const schemaStore = (url: string, prefix: string): PgStoreUnderTest => {
  const schema = `${prefix}_${process.pid}_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`
  return {
    layer: async () => {
      await admin(url, `CREATE SCHEMA ${schema}`)
      const withSchema = new URL(url)
      withSchema.searchParams.set("options", `-c search_path=${schema}`)
      return PgStore.layerUrl(withSchema.toString())
    },
    cleanup: () => admin(url, `DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  }
}

/** The embedded engine in a fresh temporary directory, named after `prefix`. */
export const embeddedStore = (prefix: string): PgStoreUnderTest => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), `${prefix}-`))
  return {
    layer: async () => PgStore.layerEmbedded({ dataDir: dir }),
    cleanup: async () => Fs.rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Which store the configuration chooses, and how the start-up message names it.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Store from "@subshift/http-server/Store"
import * as Path from "node:path"
import { configOf } from "./Harness.js"

describe("store choice", () => {
  it("with neither DATABASE_URL nor SUBSHIFT_STORE the store is the embedded Postgres in ./.subshift-data", async () => {
    const { store } = await configOf()
    expect(store.kind).toBe("embedded")
    expect(Store.dataDirOf(store)).toBe(Path.resolve(".subshift-data"))
    expect(Store.describe(store)).toBe(`embedded Postgres, data in ${Path.resolve(".subshift-data")}`)
  })

  it("SUBSHIFT_DATA_DIR moves the embedded store's data", async () => {
    const { store } = await configOf({ SUBSHIFT_DATA_DIR: "/var/lib/subshift" })
    expect(Store.describe(store)).toBe("embedded Postgres, data in /var/lib/subshift")
  })

  it("DATABASE_URL selects Postgres, and the message names the server without its password", async () => {
    const { store } = await configOf({ DATABASE_URL: "postgres://app:s3cret@db.internal:5433/subshift?sslmode=require" })
    expect(store.kind).toBe("postgres")
    expect(Store.describe(store)).toBe("Postgres at postgres://app@db.internal:5433/subshift")
  })

  it("SUBSHIFT_STORE forces a choice, even over DATABASE_URL", async () => {
    expect((await configOf({ SUBSHIFT_STORE: "memory", DATABASE_URL: "postgres://localhost/x" })).store.kind).toBe("memory")
    expect((await configOf({ SUBSHIFT_STORE: "embedded", DATABASE_URL: "postgres://localhost/x" })).store.kind).toBe("embedded")
    expect((await configOf({ SUBSHIFT_STORE: "memory" })).store.kind).toBe("memory")
  })

  it("SUBSHIFT_STORE=postgres without DATABASE_URL stops the start naming DATABASE_URL", async () => {
    const failure = await configOf({ SUBSHIFT_STORE: "postgres" }).then(() => "started", (e) => String(e))
    expect(failure).toContain("DATABASE_URL")
  })
})

import { describe, expect, it } from "@effect/vitest"
import * as Demo from "@subshift/core/demo/Demo"
import { CatalogVersions } from "@subshift/core/ports/CatalogVersions"
import { MemoryStore } from "@subshift/store-memory"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Yaml from "yaml"
import { adminKeys, key } from "./AdminHarness.js"
import { request, start } from "./Harness.js"

const keys = adminKeys()
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "subshift-catalog-"))
const write = (name: string, text: string) => {
  const file = Path.join(dir, name)
  Fs.writeFileSync(file, text)
  return file
}
const repriced = () => {
  const offers = JSON.parse(JSON.stringify(Demo.offers))
  offers.find((o: any) => o.id === "ledger-premium").rates[0].amount = 3199
  return { offers }
}

describe("SUBSHIFT_CATALOG_FILE", () => {
  it("publishes a YAML file that differs from the version in force, and does nothing at the next start with the same file", async () => {
    const context = await Effect.runPromise(MemoryStore.make())
    const store = Layer.succeedContext(context)
    const versions = () => Effect.runPromise(Effect.flatMap(CatalogVersions, (v) => v.list).pipe(Effect.provide(context)))
    const file = write("catalog.yaml", Yaml.stringify(repriced()))
    const env = { ...keys.env, SUBSHIFT_CATALOG_FILE: file }

    const first = await start({ env, store })
    const current = await request(`${first.url}/api/admin/catalog`, { headers: key(keys.reader) })
    expect(current.body.version).toBe(2)
    expect(current.body.document.offers.find((o: any) => o.id === "ledger-premium").rates[0].amount).toBe(3199)
    await first.close()

    const second = await start({ env, store })
    await second.close()
    expect((await versions()).map((v) => v.version)).toEqual([1, 2])

    // The same document as JSON is the same catalog: nothing is published.
    const third = await start({ env: { ...env, SUBSHIFT_CATALOG_FILE: write("catalog.json", JSON.stringify(repriced())) }, store })
    await third.close()
    expect((await versions()).length).toBe(2)
  })

  it("a bad file stops the start, listing every problem, and stores nothing", async () => {
    const context = await Effect.runPromise(MemoryStore.make())
    const store = Layer.succeedContext(context)
    const bad = repriced()
    ;(bad.offers[0] as any).rates[0].currency = "usd"
    ;(bad.offers[1] as any).upgrades = ["ledger-nope"]
    const file = write("bad.json", JSON.stringify(bad))
    const failure = await start({ env: { ...keys.env, SUBSHIFT_CATALOG_FILE: file }, store }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(String(failure)).toContain(`the catalog file ${file} is not valid`)
    expect(String(failure)).toContain("offers[0].rates[0].currency: a currency is three upper-case letters")
    const versions = await Effect.runPromise(Effect.flatMap(CatalogVersions, (v) => v.list).pipe(Effect.provide(context)))
    expect(versions.length).toBe(1)

    const yaml = write("broken.yaml", "offers:\n  - id: a\n  - id: [")
    const broken = await start({ env: { ...keys.env, SUBSHIFT_CATALOG_FILE: yaml }, store }).then(() => undefined, (e: unknown) => e)
    expect(String(broken)).toContain("is not valid")
    expect(String(broken)).toMatch(/line \d+:\d+/)
  })
})

/** `subshift catalog validate` offline and `subshift catalog publish` against a real listening server. */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Demo from "@subshift/core/demo/Demo"
import { CatalogVersions } from "@subshift/core/ports/CatalogVersions"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Yaml from "yaml"
import { cli } from "./CliRunner.js"
import { adminKeys } from "./AdminHarness.js"
import { start, type TestServer } from "./Harness.js"

const keys = adminKeys()
let server: TestServer
const dir = mkdtempSync(join(tmpdir(), "subshift-catalog-cli-"))
beforeAll(async () => {
  server = await start({ env: keys.env })
})
afterAll(() => server.close())

const failureMessage = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? (exit.cause.error as { message: string }).message : ""

const write = (name: string, text: string) => {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}
const demo = (edit: (offers: Array<any>) => void = () => {}) => {
  const offers = JSON.parse(JSON.stringify(Demo.offers))
  edit(offers)
  return { offers }
}
const versions = () => server.run(Effect.flatMap(CatalogVersions, (v) => v.list))

describe("subshift catalog validate", () => {
  it("accepts a valid YAML file offline, printing its warnings", async () => {
    const file = write("ok.yaml", Yaml.stringify(demo((offers) => {
      offers[2].changePolicy = { downgrade: { timing: "TODAY", prorate: false } }
    })))
    const r = await cli(["catalog", "validate", file])
    expect(Exit.isSuccess(r.exit)).toBe(true)
    expect(r.out).toContain(`${file} is valid: ${Demo.offers.length} offers`)
    expect(r.out).toContain("offers[2].changePolicy.downgrade: a downgrade today without proration")
  })

  it("fails listing every problem with its path", async () => {
    const file = write("bad.json", JSON.stringify(demo((offers) => {
      offers[3].rates[0].currency = "usd"
      offers[0].rates[0].amount = -5
    })))
    const r = await cli(["catalog", "validate", file])
    expect(Exit.isFailure(r.exit)).toBe(true)
    const message = failureMessage(r.exit)
    expect(message).toContain("offers[0].rates[0].amount: a rate amount cannot be negative")
    expect(message).toContain("offers[3].rates[0].currency: a currency is three upper-case letters (ISO-4217)")
  })
})

describe("subshift catalog publish", () => {
  it("publishes through the running server's admin API with the key, and prints the version and diff", async () => {
    const file = write("spring.yaml", Yaml.stringify(demo((offers) => void (offers[2].rates[0].amount = 3299))))
    const effectiveFrom = new Date(server.clock.now() + 86_400_000).toISOString()
    const r = await cli(["catalog", "publish", file, "--url", server.url, "--effective-from", effectiveFrom], { SUBSHIFT_API_KEY: keys.catalog })
    expect(Exit.isSuccess(r.exit)).toBe(true)
    expect(r.out).toContain(`published version 2, effective from ${effectiveFrom}`)
    expect(r.out).toContain("changed: ledger-premium")
    expect(r.out).toContain("current subscriptions hold ledger-premium (repriced)")
    expect((await versions()).length).toBe(2)
  })

  it("a refusal (a key without the scope, a bad document) is a failure and stores nothing", async () => {
    const before = await versions()
    const file = write("again.json", JSON.stringify(demo()))
    const forbidden = await cli(["catalog", "publish", file, "--url", server.url], { SUBSHIFT_API_KEY: keys.reader })
    expect(failureMessage(forbidden.exit)).toContain("the server answered 403")
    const bad = write("bad-publish.json", JSON.stringify({ offers: [{ id: "x" }] }))
    const invalid = await cli(["catalog", "publish", bad, "--url", server.url], { SUBSHIFT_API_KEY: keys.catalog })
    expect(failureMessage(invalid.exit)).toContain("the server answered 400")
    expect(failureMessage(invalid.exit)).toContain("offers[0].name")
    expect(await versions()).toEqual(before)
  })
})

import { InvalidCatalog, jsonSchema } from "@subshift/core/domain/CatalogDocument"
import * as CatalogValidation from "@subshift/core/rules/CatalogValidation"
import { Demo } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const demoData = (): { offers: Array<any>; priceMigrations?: Array<any> } => JSON.parse(JSON.stringify({ offers: Demo.offers }))

const problemsOf = (input: unknown) => {
  const result = CatalogValidation.validate(input)
  if (Either.isRight(result)) throw new Error("expected the catalog to be rejected")
  expect(result.left).toBeInstanceOf(InvalidCatalog)
  return result.left.problems
}

const warningsOf = (input: unknown) => {
  const result = CatalogValidation.validate(input)
  if (Either.isLeft(result)) throw new Error(`expected the catalog to validate: ${result.left.message}`)
  return result.right.warnings
}

describe("CatalogValidation.validate", () => {
  it("accepts the demo catalog with no warnings", () => {
    expect(warningsOf(demoData())).toEqual([])
  })

  it("reports every field problem at once, each at its path", () => {
    const data = demoData()
    data.offers[3].rates[0].currency = "usd"
    data.offers[0].rates[0].amount = -1
    data.offers[1].kind = "bundle"
    const paths = problemsOf(data).map((p) => p.path)
    expect(paths).toEqual(expect.arrayContaining(["offers[3].rates[0].currency", "offers[0].rates[0].amount", "offers[1].kind"]))
    expect(paths).toHaveLength(3)
    expect(problemsOf(data).find((p) => p.path === "offers[1].kind")?.message).toBe(`Expected "subscription" or "add_on", actual "bundle"`)
  })

  it("reports every reference problem at once", () => {
    const data = demoData()
    data.offers[0].upgrades = ["ledger-gold"]
    data.offers[0].addOns = ["ledger-premium"]
    data.offers[1].rates[0].id = data.offers[0].rates[0].id
    expect(problemsOf(data)).toEqual([
      { path: "offers[1].rates[0].id", message: expect.stringContaining("appears twice") },
      { path: "offers[0].upgrades[0]", message: "no offer ledger-gold in the catalog" },
      { path: "offers[0].addOns[0]", message: "ledger-premium is not an add-on" }
    ])
  })

  it("refuses a change policy for a path the offer does not have, and for an unknown offer", () => {
    const data = demoData()
    data.offers[0].changePolicy = {
      paths: { "ledger-business": { timing: "TODAY", prorate: true }, "ledger-premiun": { timing: "TODAY", prorate: true } }
    }
    const problems = problemsOf(data)
    expect(problems.map((p) => p.path)).toEqual(["offers[0].changePolicy.paths.ledger-business", "offers[0].changePolicy.paths.ledger-premiun"])
    expect(problems[1]!.message).toBe("no offer ledger-premiun in the catalog")
  })

  it("warns, without refusing, about a downgrade today without proration", () => {
    const data = demoData()
    const premium = data.offers.findIndex((o: any) => o.id === "ledger-premium")
    data.offers[premium].changePolicy = { downgrade: { timing: "TODAY", prorate: false } }
    expect(warningsOf(data)).toEqual([{ path: `offers[${premium}].changePolicy.downgrade`, message: expect.stringContaining("unused credit") }])
    data.offers[premium].changePolicy = { paths: { "ledger-standard": { timing: "TODAY", prorate: false } } }
    expect(warningsOf(data).map((w) => w.path)).toEqual([`offers[${premium}].changePolicy.paths.ledger-standard`])
  })

  it("refuses an unknown key, which would otherwise be a silent typo", () => {
    const data = demoData()
    data.offers[0].upgrade = ["ledger-standard"]
    expect(problemsOf(data).map((p) => p.path)).toEqual(["offers[0].upgrade"])
  })

  it("checks price migrations name offers of the catalog, once each", () => {
    const data = demoData()
    data.priceMigrations = [
      { offerId: "ledger-basic", from: "2026-01-01" },
      { offerId: "ledger-gold", from: "2026-01-01" },
      { offerId: "ledger-basic", from: "2026-02-01" }
    ]
    expect(problemsOf(data)).toEqual([
      { path: "priceMigrations[1].offerId", message: "no offer ledger-gold in the catalog" },
      { path: "priceMigrations[2].offerId", message: "ledger-basic has two price migrations" }
    ])
  })

  it("gives the same digest to the same document whatever its key order, another to another", () => {
    const a = CatalogValidation.validate(demoData())
    const reordered = demoData()
    reordered.offers = reordered.offers.map((o: any) => Object.fromEntries(Object.entries(o).reverse()))
    const b = CatalogValidation.validate(reordered)
    const changed = demoData()
    changed.offers[0].rates[0].amount += 1
    const c = CatalogValidation.validate(changed)
    if (Either.isLeft(a) || Either.isLeft(b) || Either.isLeft(c)) throw new Error("expected valid documents")
    expect(CatalogValidation.digest(a.right.document)).toBe(CatalogValidation.digest(b.right.document))
    expect(CatalogValidation.digest(a.right.document)).not.toBe(CatalogValidation.digest(c.right.document))
  })
})

describe("the catalog JSON Schema", () => {
  const file = fileURLToPath(new URL("../../../docs/catalog.schema.json", import.meta.url))
  const expected = `${JSON.stringify(jsonSchema(), null, 2)}\n`

  it("in docs/ is the one the schema derives (UPDATE_CATALOG_SCHEMA=1 rewrites it)", () => {
    if (process.env.UPDATE_CATALOG_SCHEMA === "1") writeFileSync(file, expected)
    expect(readFileSync(file, "utf8")).toBe(expected)
  })

  it("describes the fields an editor checks: ids, integer amounts, currencies", () => {
    const text = JSON.stringify(jsonSchema())
    expect(text).toContain(`"pattern":"^[A-Z]{3}$"`)
    expect(text).toContain(`"amount":{"type":"integer"`)
    expect(text).toContain(`"priceMigrations"`)
  })
})

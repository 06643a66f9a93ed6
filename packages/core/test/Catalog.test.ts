import * as Catalog from "@subshift/core/ports/Catalog"
import { InvalidInput } from "@subshift/core/domain/Errors"
import { Demo } from "@subshift/testing"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"

/** The demo catalog as a JSON file would hold it. */
const demoData = (): { offers: Array<any> } => JSON.parse(JSON.stringify({ offers: Demo.offers }))

const fieldOf = (input: unknown): string => {
  const result = Catalog.decode(input)
  if (Either.isRight(result)) throw new Error("expected the catalog to be rejected")
  expect(result.left).toBeInstanceOf(InvalidInput)
  return result.left.field
}

describe("Catalog.decode", () => {
  it("accepts the demo catalog, unchanged", () => {
    const result = Catalog.decode(demoData())
    expect(result).toEqual(Either.right(Demo.offers))
  })

  it("fills the defaults of optional lists and the sellable window", () => {
    const result = Catalog.decode({
      offers: [{ id: "solo", name: "Solo", kind: "subscription", rates: [{ id: "solo-usd", amount: 500, currency: "USD", interval: { count: 1, unit: "month" } }] }]
    })
    expect(result).toEqual(Either.right([{
      id: "solo",
      name: "Solo",
      kind: "subscription",
      rates: [{ id: "solo-usd", amount: 500, currency: "USD", interval: { count: 1, unit: "month" } }],
      upgrades: [],
      downgrades: [],
      addOns: [],
      sellable: {}
    }]))
  })

  it("rejects a negative amount at offers[0].rates[0].amount", () => {
    const data = demoData()
    data.offers[0].rates[0].amount = -1
    expect(Catalog.decode(data)).toEqual(
      Either.left(new InvalidInput({ field: "offers[0].rates[0].amount", message: "a rate amount cannot be negative" }))
    )
  })

  it("rejects a fractional amount", () => {
    const data = demoData()
    data.offers[2].rates[1].amount = 9.99
    expect(fieldOf(data)).toBe("offers[2].rates[1].amount")
  })

  it("rejects a bad currency, naming it", () => {
    const data = demoData()
    data.offers[1].rates[2].currency = "usd"
    expect(Catalog.decode(data)).toEqual(
      Either.left(new InvalidInput({ field: "offers[1].rates[2].currency", message: "a currency is three upper-case letters (ISO-4217)" }))
    )
  })

  it("rejects a duplicate offer id at the second occurrence", () => {
    const data = demoData()
    data.offers[3].id = data.offers[0].id
    data.offers[3].rates = data.offers[3].rates.map((r: any) => ({ ...r, id: `${r.id}-x` }))
    expect(Catalog.decode(data)).toEqual(
      Either.left(new InvalidInput({ field: "offers[3].id", message: "offer id ledger-basic appears twice" }))
    )
  })

  it("rejects a duplicate rate id, even across offers", () => {
    const data = demoData()
    data.offers[1].rates[1].id = "ledger-basic-usd-monthly"
    expect(Catalog.decode(data)).toEqual(
      Either.left(new InvalidInput({ field: "offers[1].rates[1].id", message: "rate id ledger-basic-usd-monthly appears twice" }))
    )
  })

  it("rejects an upgrade to an unknown offer", () => {
    const data = demoData()
    data.offers[0].upgrades = ["ledger-standard", "ledger-gold"]
    expect(Catalog.decode(data)).toEqual(
      Either.left(new InvalidInput({ field: "offers[0].upgrades[1]", message: "no offer ledger-gold in the catalog" }))
    )
  })

  it("rejects an add-on listed as an upgrade", () => {
    const data = demoData()
    data.offers[0].upgrades = ["addon-archive"]
    expect(Catalog.decode(data)).toEqual(
      Either.left(new InvalidInput({ field: "offers[0].upgrades[0]", message: "addon-archive is not a subscription offer" }))
    )
  })

  it("rejects a subscription offer listed as an add-on", () => {
    const data = demoData()
    data.offers[0].addOns = ["ledger-premium"]
    expect(fieldOf(data)).toBe("offers[0].addOns[0]")
  })

  it("rejects an offer that points at itself", () => {
    const data = demoData()
    data.offers[1].downgrades = ["ledger-standard"]
    expect(Catalog.decode(data)).toEqual(
      Either.left(new InvalidInput({ field: "offers[1].downgrades[0]", message: "an offer cannot point at itself" }))
    )
  })

  it("rejects an add-on with paths of its own", () => {
    const data = demoData()
    const i = data.offers.findIndex((o: any) => o.id === "addon-crossword")
    data.offers[i].upgrades = ["ledger-basic"]
    expect(fieldOf(data)).toBe(`offers[${i}].upgrades`)
  })

  it("rejects an offer without rates, an unknown kind and a bad interval", () => {
    const noRates = demoData()
    noRates.offers[0].rates = []
    expect(fieldOf(noRates)).toBe("offers[0].rates")
    const kind = demoData()
    kind.offers[0].kind = "bundle"
    expect(fieldOf(kind)).toBe("offers[0].kind")
    const interval = demoData()
    interval.offers[0].rates[0].interval = { count: 0, unit: "month" }
    expect(fieldOf(interval)).toBe("offers[0].rates[0].interval.count")
  })

  it("rejects a sellable window that is not an instant", () => {
    const data = demoData()
    data.offers[4].sellable = { from: "next year" }
    expect(fieldOf(data)).toBe("offers[4].sellable.from")
  })

  it("rejects data that is not an object at all, without throwing", () => {
    for (const input of [42, "offers", null, undefined, [], true]) {
      const result = Catalog.decode(input)
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect(result.left._tag).toBe("InvalidInput")
    }
    expect(fieldOf(42)).toBe("body")
  })

  it("rejects offers that is not a list, and an offer that is not an object", () => {
    expect(fieldOf({ offers: "all of them" })).toBe("offers")
    expect(fieldOf({ offers: [7] })).toBe("offers[0]")
    expect(fieldOf({ offers: [{ id: "x" }] })).toMatch(/^offers\[0\]\./)
  })
})

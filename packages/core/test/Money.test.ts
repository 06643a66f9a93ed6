import * as Money from "@subshift/core/domain/Money"
import { describe, expect, it } from "@effect/vitest"

const usd = (amount: number) => Money.make(amount, "USD")

describe("Money.scale", () => {
  it("rounds a positive share half-up: 1 × 1/2 = 0.5 → 1", () => {
    expect(Money.scale(usd(1), 1, 2)).toEqual(usd(1))
  })

  it("rounds a share just below .5 down: 1000 × 15/31 = 483.87 → 484, 1000 × 1/3 = 333.33 → 333", () => {
    expect(Money.scale(usd(1000), 15, 31)).toEqual(usd(484))
    expect(Money.scale(usd(1000), 1, 3)).toEqual(usd(333))
  })

  it("rounds .5 away from zero for positive amounts: 25 × 1/2 = 12.5 → 13, 5 × 1/2 = 2.5 → 3", () => {
    expect(Money.scale(usd(25), 1, 2)).toEqual(usd(13))
    expect(Money.scale(usd(5), 1, 2)).toEqual(usd(3))
  })

  it("rounds .5 away from zero for negative amounts: -25 × 1/2 = -12.5 → -13", () => {
    expect(Money.scale(usd(-25), 1, 2)).toEqual(usd(-13))
    expect(Money.scale(usd(-1), 1, 2)).toEqual(usd(-1))
  })

  it("rounds negative amounts symmetrically with positive ones", () => {
    for (const [amount, n, d] of [[1000, 15, 31], [10000, 5, 31], [7, 2, 3], [999, 1, 7], [3, 1, 4]] as const) {
      expect(Money.scale(usd(-amount), n, d).amount).toBe(-Money.scale(usd(amount), n, d).amount)
    }
  })

  it("gives a clean zero (not -0) when a negative amount rounds to nothing", () => {
    const result = Money.scale(usd(-1), 1, 3)
    expect(Object.is(result.amount, 0)).toBe(true)
  })

  it("is exact on amounts near 2^53, where float arithmetic would lose digits", () => {
    const big = Number.MAX_SAFE_INTEGER // 2^53 - 1 = 9007199254740991
    const expected = (n: bigint, d: bigint) => {
      const p = BigInt(big) * n
      return Number((2n * p + d) / (2n * d))
    }
    expect(Money.scale(usd(big), 30, 30)).toEqual(usd(big))
    expect(Money.scale(usd(big), 1, 3)).toEqual(usd(expected(1n, 3n)))
    expect(Money.scale(usd(big), 15, 31)).toEqual(usd(expected(15n, 31n)))
    expect(Money.scale(usd(-big), 29, 366)).toEqual(usd(-expected(29n, 366n)))
    // 9007199254740991 × 1 / 2 = 4503599627370495.5 → 4503599627370496
    expect(Money.scale(usd(big), 1, 2)).toEqual(usd(4503599627370496))
  })

  it("keeps the currency", () => {
    expect(Money.scale(Money.make(100, "GBP"), 1, 2).currency).toBe("GBP")
  })

  it("refuses a denominator that is not positive", () => {
    expect(() => Money.scale(usd(100), 1, 0)).toThrow(RangeError)
  })
})

describe("Money arithmetic", () => {
  it("add sums two amounts of one currency", () => {
    expect(Money.add(usd(1050), usd(-25))).toEqual(usd(1025))
  })

  it("add refuses mixed currencies", () => {
    expect(() => Money.add(usd(1), Money.make(1, "GBP"))).toThrow(TypeError)
  })

  it("add refuses a sum outside the safe integer range", () => {
    expect(() => Money.add(usd(Number.MAX_SAFE_INTEGER), usd(1))).toThrow(RangeError)
  })

  it("sum of nothing is zero in the currency", () => {
    expect(Money.sum("EUR", [])).toEqual(Money.make(0, "EUR"))
  })

  it("sum adds every amount, credits included", () => {
    expect(Money.sum("USD", [usd(-1613), usd(4839), usd(0)])).toEqual(usd(3226))
  })

  it("sum refuses an amount in another currency", () => {
    expect(() => Money.sum("USD", [usd(1), Money.make(1, "GBP")])).toThrow(TypeError)
  })

  it("negate flips the sign and never produces -0", () => {
    expect(Money.negate(usd(500))).toEqual(usd(-500))
    expect(Money.negate(usd(-500))).toEqual(usd(500))
    expect(Object.is(Money.negate(usd(0)).amount, 0)).toBe(true)
  })

  it("times multiplies by a quantity", () => {
    expect(Money.times(usd(299), 3)).toEqual(usd(897))
  })

  it("format renders minor units with two decimals", () => {
    expect(Money.format(usd(3226))).toBe("USD 32.26")
    expect(Money.format(usd(-1613))).toBe("-USD 16.13")
    expect(Money.format(usd(5))).toBe("USD 0.05")
  })
})

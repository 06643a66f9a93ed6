/**
 * Data migrations: a basket stored before quotes carried `charges` and `credits` reads back with
 * them, summed from its lines.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import { describe, expect, it } from "@effect/vitest"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import type { QuoteLine } from "@subshift/core/domain/Quote"
import { Baskets } from "@subshift/core/ports/Baskets"
import { Migrations } from "@subshift/store-postgres"
import { Fixtures } from "@subshift/testing"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestDatabase from "./TestDatabase.js"

const database = TestDatabase.register()

const line = (amount: number): QuoteLine => ({
  kind: amount < 0 ? "remove" : "add",
  type: "offer",
  offerId: "offer-basic",
  description: amount < 0 ? "credit" : "charge",
  effectiveDate: CalendarDate.make("2025-03-16"),
  amount: { amount, currency: "USD" },
  recurringDelta: { amount: 0, currency: "USD" }
})

describe(`store migrations (${database.kind})`, () => {
  it.effect("a basket stored without quote totals gets them from its lines", () =>
    Effect.gen(function*() {
      const baskets = yield* Baskets
      const basket = Fixtures.basket({
        quote: Fixtures.quote({
          lines: [line(-500), line(1000), line(250)],
          dueNow: { amount: 750, currency: "USD" },
          charges: { amount: 1250, currency: "USD" },
          credits: { amount: -500, currency: "USD" }
        })
      })
      yield* baskets.create(basket)
      // As a basket written before the totals existed is stored.
      yield* Effect.promise(() =>
        TestDatabase.admin(database.url(), `UPDATE subshift_baskets SET data = data #- '{quote,charges}' #- '{quote,credits}' WHERE id = $1`, [basket.id])
      )
      yield* Migrations.fillQuoteTotals.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(database.url()) })))
      expect(Option.getOrThrow(yield* baskets.findById(basket.id))).toEqual(basket)
    }).pipe(Effect.provide(database.layer)), 60_000)
})

/**
 * Price migrations, the operator's way out of grandfathering: the version in force may say, per
 * offer, from which date its prices apply to existing subscribers. Each subscription holding the
 * offer moves to the version's price at its first period start on or after that date, never
 * mid-period: once, with a `subscription.price_migrated` event in the same write. A line already
 * at the version's price is left alone, so running again (or in several processes) changes
 * nothing more; a subscription changed meanwhile is taken up at the next run.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { CalendarDate } from "../domain/CalendarDate.js"
import * as Event from "../domain/Event.js"
import type * as Offer from "../domain/Offer.js"
import type * as Subscription from "../domain/Subscription.js"
import { CatalogVersions } from "../ports/CatalogVersions.js"
import { Ids } from "../ports/Ids.js"
import { Subscriptions } from "../ports/Subscriptions.js"
import * as CatalogImpact from "../rules/CatalogImpact.js"
import * as Clock from "../internal/clock.js"

/** How many subscriptions a run reads at a time. */
export const PAGE = 1000

/** What a run did. */
export interface Run {
  readonly version: number | undefined
  readonly examined: number
  readonly migrated: number
}

/**
 * The subscription with every line the migrations move by `today` at the new price, or
 * `undefined` when none is due.
 */
export const migrate = (
  subscription: Subscription.Subscription,
  migrations: ReadonlyArray<{ readonly offer: Offer.Offer; readonly from: CalendarDate }>,
  today: CalendarDate
): Subscription.Subscription | undefined => {
  if (subscription.status !== "active") return undefined
  let changed = false
  const move = (line: Subscription.Line): Subscription.Line => {
    const migration = migrations.find((m) => m.offer.id === line.offerId)
    if (migration === undefined || CatalogImpact.firstPeriodStartFrom(subscription, migration.from) > today) return line
    const rate = CatalogImpact.migratedLine(subscription, line, migration.offer)
    if (rate === undefined) return line
    changed = true
    return { ...line, rateId: rate.id, unitPrice: { amount: rate.amount, currency: rate.currency } }
  }
  const offer = move(subscription.offer)
  const addOns = subscription.addOns.map(move)
  return changed ? { ...subscription, offer, addOns, version: subscription.version + 1 } : undefined
}

/** The price migration use case. */
export class PriceMigrations extends Effect.Service<PriceMigrations>()("@subshift/core/PriceMigrations", {
  effect: Effect.gen(function*() {
    const versions = yield* CatalogVersions
    const subscriptions = yield* Subscriptions
    const ids = yield* Ids
    // The day each version's migrations were last run to the end: one full pass a day is enough,
    // as migrations apply at period starts, which are days.
    const lastPass = new Map<number, CalendarDate>()

    const applyDue = Effect.fn("PriceMigrations.applyDue")(function*() {
      const clock = yield* Clock.now
      const inForce = yield* versions.inForce(clock.now)
      if (Option.isNone(inForce)) return { version: undefined, examined: 0, migrated: 0 } satisfies Run
      const version = inForce.value
      const migrations = version.document.priceMigrations.flatMap((m) => {
        const offer = version.document.offers.find((o) => o.id === m.offerId)
        return offer === undefined || m.from > clock.today ? [] : [{ offer, from: m.from }]
      })
      if (migrations.length === 0 || lastPass.get(version.version) === clock.today) {
        return { version: version.version, examined: 0, migrated: 0 } satisfies Run
      }
      let examined = 0
      let migrated = 0
      let conflicts = 0
      let after: string | undefined
      for (;;) {
        const page = yield* subscriptions.listPage({ after, limit: PAGE })
        for (const subscription of page) {
          examined++
          const next = migrate(subscription, migrations, clock.today)
          if (next === undefined) continue
          const moved = { ...next, updatedAt: clock.now }
          const id = yield* ids.eventId
          const saved = yield* subscriptions.save(moved, subscription.version, [
            Event.priceMigrated({ id, occurredAt: clock.now, before: subscription, after: moved })
          ]).pipe(Effect.as(true), Effect.catchTag("VersionConflict", () => Effect.succeed(false)))
          if (saved) migrated++
          else conflicts++
        }
        if (page.length < PAGE) break
        after = page.at(-1)!.id
      }
      // A subscription changed meanwhile is read again at the next run.
      if (conflicts === 0) lastPass.set(version.version, clock.today)
      return { version: version.version, examined, migrated } satisfies Run
    })

    return { applyDue } as const
  })
}) {}

/**
 * The operator's catalog: validate a document (its problems, or its diff from the latest version
 * and its impact on the live subscriptions), publish it as a new version taking effect now or
 * later, and read the versions. Nothing is stored unless a publish succeeds.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import {
  type CatalogDocument,
  type CatalogVersion,
  CatalogVersionNotFound,
  type InvalidCatalog,
  InvalidEffectiveFrom,
  type Problem
} from "../domain/CatalogDocument.js"
import type { StoreUnavailable } from "../domain/Errors.js"
import type { Actor } from "../domain/Event.js"
import type { Instant } from "../domain/Instant.js"
import { CatalogVersions } from "../ports/CatalogVersions.js"
import { Subscriptions } from "../ports/Subscriptions.js"
import * as CatalogDiff from "../rules/CatalogDiff.js"
import * as History from "../rules/CatalogHistory.js"
import * as CatalogImpact from "../rules/CatalogImpact.js"
import * as CatalogValidation from "../rules/CatalogValidation.js"
import * as Clock from "../internal/clock.js"

/** How many subscriptions the impact reads at a time. */
export const PAGE = 1000

/** The answer to a validation. */
export interface Validation {
  readonly valid: true
  readonly warnings: ReadonlyArray<Problem>
  readonly diff: CatalogDiff.CatalogDiff
  readonly impact: CatalogImpact.Impact
}

/** The answer to a publish. */
export interface Published {
  readonly version: number
  readonly effectiveFrom: Instant
  readonly warnings: ReadonlyArray<Problem>
  readonly diff: CatalogDiff.CatalogDiff
  readonly held: ReadonlyArray<CatalogImpact.HeldOffer>
}

/** Who publishes, as the `catalog.published` event names them, and why. */
export interface Author {
  readonly actor: Actor
  readonly reason?: string | undefined
}

const system: Author = { actor: { kind: "system", id: "catalog" } }

/** The catalog use cases. */
export class CatalogAdmin extends Effect.Service<CatalogAdmin>()("@subshift/core/CatalogAdmin", {
  effect: Effect.gen(function*() {
    const versions = yield* CatalogVersions
    const subscriptions = yield* Subscriptions

    const allVersions = Effect.flatMap(versions.list, (list) =>
      Effect.forEach(list, (v) => Effect.map(versions.get(v.version), Option.getOrUndefined)).pipe(
        Effect.map((found) => found.filter((v): v is CatalogVersion => v !== undefined))
      ))

    // The effective instant asked for, now by default; never in the past.
    const effectiveAt = (now: Instant, requested: Instant | undefined) =>
      requested === undefined
        ? Effect.succeed(now)
        : requested < now
        ? Effect.fail(new InvalidEffectiveFrom({ effectiveFrom: requested, notBefore: now }))
        : Effect.succeed(requested)

    const scan = (accumulator: CatalogImpact.Accumulator) =>
      Effect.iterate({ after: undefined as string | undefined, done: false }, {
        while: (state) => !state.done,
        body: ({ after }) =>
          Effect.map(subscriptions.listPage({ after, limit: PAGE }), (page) => {
            for (const subscription of page) accumulator.add(subscription)
            return { after: page.at(-1)?.id, done: page.length < PAGE }
          })
      })

    const assess = (document: CatalogDocument, requested: Instant | undefined) =>
      Effect.gen(function*() {
        const clock = yield* Clock.now
        const effectiveFrom = yield* effectiveAt(clock.now, requested)
        const published = yield* allVersions
        const latest = published.at(-1)
        if (latest !== undefined && effectiveFrom < latest.effectiveFrom) {
          return yield* new InvalidEffectiveFrom({ effectiveFrom, notBefore: latest.effectiveFrom })
        }
        const inForce = History.inForceAt(published, clock.now)
        const before = History.viewOf(published.filter((v) => inForce !== undefined && v.version <= inForce))
        const candidate: CatalogVersion = {
          version: (latest?.version ?? 0) + 1,
          effectiveFrom,
          publishedAt: clock.now,
          digest: CatalogValidation.digest(document),
          document
        }
        const after = History.viewOf([...published, candidate])
        const diff = CatalogDiff.diff(latest?.document.offers ?? [], document.offers)
        const repriced = diff.changed.filter((c) => c.prices.length > 0 || c.rates.removed.length > 0).map((c) => c.offerId)
        const concerned = new Map<string, CatalogImpact.HeldOffer["change"]>([
          ...diff.removed.map((id) => [id, "removed"] as const),
          ...repriced.map((id) => [id, "repriced"] as const)
        ])
        const accumulator = CatalogImpact.accumulator({
          before,
          after,
          now: clock.now,
          today: clock.today,
          effectiveFrom,
          concerned,
          migrations: document.priceMigrations
        })
        yield* scan(accumulator)
        return { candidate, diff, impact: accumulator.result() }
      })

    const decode = (input: unknown) => Effect.suspend(() => CatalogValidation.validate(input))

    /** Validates a document without storing anything. */
    const validate = (input: unknown, effectiveFrom?: Instant): Effect.Effect<
      Validation,
      InvalidCatalog | InvalidEffectiveFrom | StoreUnavailable
    > =>
      Effect.flatMap(decode(input), ({ document, warnings }) =>
        Effect.map(assess(document, effectiveFrom), ({ diff, impact }) => ({ valid: true as const, warnings, diff, impact })))

    /**
     * Publishes a document as a new version, effective at `effectiveFrom` (now by default), with
     * its `catalog.published` event by `author` (the engine itself unless given).
     */
    const publish = (input: unknown, effectiveFrom?: Instant, author: Author = system): Effect.Effect<
      Published,
      InvalidCatalog | InvalidEffectiveFrom | StoreUnavailable
    > =>
      Effect.gen(function*() {
        const { document, warnings } = yield* decode(input)
        const { candidate, diff, impact } = yield* assess(document, effectiveFrom)
        const stored = yield* versions.publish({
          document,
          effectiveFrom: candidate.effectiveFrom,
          publishedAt: candidate.publishedAt,
          digest: candidate.digest,
          actor: author.actor,
          reason: author.reason
        })
        return { version: stored.version, effectiveFrom: stored.effectiveFrom, warnings, diff, held: impact.held }
      })

    /**
     * Publishes the document unless the version in force already is the same document: what a
     * catalog kept in a file does at every start.
     */
    const publishIfChanged = (input: unknown): Effect.Effect<
      Option.Option<Published>,
      InvalidCatalog | InvalidEffectiveFrom | StoreUnavailable
    > =>
      Effect.gen(function*() {
        const { document } = yield* decode(input)
        const clock = yield* Clock.now
        const current = yield* versions.inForce(clock.now)
        if (Option.isSome(current) && current.value.digest === CatalogValidation.digest(document)) return Option.none()
        return Option.some(yield* publish(input))
      })

    /** The version in force now. */
    const current = Effect.flatMap(Clock.now, (clock) => versions.inForce(clock.now))

    /** One version. */
    const get = (version: number) =>
      Effect.flatMap(versions.get(version), Option.match({
        onNone: () => Effect.fail(new CatalogVersionNotFound({ version })),
        onSome: Effect.succeed
      }))

    return { validate, publish, publishIfChanged, current, list: versions.list, get } as const
  })
}) {}

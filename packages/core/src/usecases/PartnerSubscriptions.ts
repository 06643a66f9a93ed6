/**
 * Partner subscriptions: a partner organisation lists the subscriptions it sold (optionally for
 * one owner, page by page with an opaque cursor) and reads one with its schedule, offers and
 * add-ons.
 */
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { Catalog } from "../ports/Catalog.js"
import { Forbidden, InvalidInput, SubscriptionNotFound } from "../domain/Errors.js"
import { hasIdLength, MAX_ID_LENGTH } from "../domain/Id.js"
import type { Offer } from "../domain/Offer.js"
import * as Principal from "../domain/Principal.js"
import * as Subscription from "../domain/Subscription.js"
import { Subscriptions } from "../ports/Subscriptions.js"
import * as Clock from "../internal/clock.js"

/** The page size when none is asked for, and the largest one allowed. */
export const DEFAULT_LIMIT = 20
export const MAX_LIMIT = 100

/** A page query. */
export interface ListRequest {
  readonly ownerId?: string | undefined
  /** The cursor a previous page returned. */
  readonly queryMore?: string | undefined
  readonly limit?: number | undefined
}

/** A page of subscriptions; `queryMore` is absent on the last page. */
export interface Page {
  readonly items: ReadonlyArray<Subscription.Subscription>
  readonly queryMore?: string | undefined
}

/** An offer as its subscription's owner may be billed: account-specific rates of other accounts left out. */
export const offerFor = (owner: string) => (offer: Offer): Offer => ({
  ...offer,
  rates: offer.rates.filter((r) => r.accountId === undefined || r.accountId === owner)
})

/** A subscription with what it relates to; offers and add-ons show only the rates its owner may be billed at. */
export interface Detail {
  readonly subscription: Subscription.Subscription
  readonly schedule: ReadonlyArray<Subscription.ScheduledPeriod>
  readonly offers: ReadonlyArray<Offer>
  readonly addOns: ReadonlyArray<Offer>
}

const CURSOR_VERSION = "v1"

/** Encodes the position after a subscription id as an opaque cursor. */
export const encodeCursor = (afterId: string, ownerId: string | undefined): string =>
  Encoding.encodeBase64Url(JSON.stringify([CURSOR_VERSION, afterId, ownerId ?? null]))

/** Decodes a cursor; it must have been made for the same owner filter. */
export const decodeCursor = (cursor: string, ownerId: string | undefined): Either.Either<string, InvalidInput> => {
  const invalid = new InvalidInput({ field: "queryMore", message: "queryMore is not a cursor this server returned" })
  if (cursor.length > 512) return Either.left(invalid)
  return Either.flatMap(Either.mapLeft(Encoding.decodeBase64UrlString(cursor), () => invalid), (text) => {
    try {
      const parsed: unknown = JSON.parse(text)
      if (
        Array.isArray(parsed) && parsed.length === 3 && parsed[0] === CURSOR_VERSION && typeof parsed[1] === "string" &&
        parsed[2] === (ownerId ?? null)
      ) {
        return Either.right(parsed[1])
      }
    } catch {
      // falls through to the rejection below
    }
    return Either.left(invalid)
  })
}

/** The partner subscription use cases. */
export class PartnerSubscriptions extends Effect.Service<PartnerSubscriptions>()("@subshift/core/PartnerSubscriptions", {
  effect: Effect.gen(function*() {
    const subscriptions = yield* Subscriptions
    const catalog = yield* Catalog

    const partner = Effect.flatMap(Principal.CurrentPrincipal, (principal) =>
      principal._tag === "Partner"
        ? Effect.succeed(principal)
        : Effect.fail(new Forbidden({ message: "only a partner organisation may list partner subscriptions" })))

    const list = Effect.fn("PartnerSubscriptions.list")(function*(request: ListRequest) {
      const { partnerOrg } = yield* partner
      const limit = request.limit ?? DEFAULT_LIMIT
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
        return yield* new InvalidInput({ field: "limit", message: `limit is a whole number from 1 to ${MAX_LIMIT}` })
      }
      const after = request.queryMore === undefined ? undefined : yield* decodeCursor(request.queryMore, request.ownerId)
      const rows = yield* subscriptions.listByPartner({ partnerOrg, ownerId: request.ownerId, after, limit: limit + 1 })
      const items = rows.slice(0, limit)
      const page: Page = rows.length > limit
        ? { items, queryMore: encodeCursor(items[items.length - 1]!.id, request.ownerId) }
        : { items }
      return page
    })

    const detail = Effect.fn("PartnerSubscriptions.detail")(function*(id: string) {
      const principal = yield* partner
      if (!hasIdLength(id)) {
        return yield* new InvalidInput({ field: "id", message: `a subscription id is 1 to ${MAX_ID_LENGTH} characters` })
      }
      const found = yield* subscriptions.findById(id)
      if (Option.isNone(found) || !Principal.canAccess(principal, found.value)) {
        return yield* new SubscriptionNotFound({ subscription: id })
      }
      const subscription = found.value
      const { today } = yield* Clock.now
      const pendingIds = subscription.pendingChange?.actions.map((a) => a.offerId) ?? []
      const offers = yield* catalog.getMany([subscription.offer.offerId, ...subscription.addOns.map((l) => l.offerId), ...pendingIds])
      const visible = offerFor(subscription.owner)
      const pick = (ids: ReadonlyArray<string>) => ids.flatMap((i) => (offers.has(i) ? [visible(offers.get(i)!)] : []))
      const result: Detail = {
        subscription,
        schedule: Subscription.schedule(subscription, today, 3),
        offers: pick(Array.from(new Set([subscription.offer.offerId, ...pendingIds])).filter((i) => offers.get(i)?.kind === "subscription")),
        addOns: pick(Array.from(new Set([...subscription.addOns.map((l) => l.offerId), ...pendingIds])).filter((i) => offers.get(i)?.kind === "add_on"))
      }
      return result
    })

    return { list, detail } as const
  })
}) {}

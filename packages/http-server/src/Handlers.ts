/**
 * The handlers of every endpoint: they read the request (cookie, headers, body), call the core's
 * use cases under the principal the auth middleware provided, and shape the answer. Basket
 * answers carry the `ETag` of the basket version and, on initiate, the signed basket cookie.
 * Orders and amends sent with an `Idempotency-Key` run through `Idempotent`.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as CoreBasket from "@subshift/core/Basket"
import { BillGroupAmendments } from "@subshift/core/BillGroupAmendments"
import { BotCheck } from "@subshift/core/BotCheck"
import * as CalendarDate from "@subshift/core/CalendarDate"
import { Catalog } from "@subshift/core/Catalog"
import { Forbidden, InvalidInput, type StoreUnavailable } from "@subshift/core/Errors"
import { Events } from "@subshift/core/Events"
import * as Instant from "@subshift/core/Instant"
import { PartnerSubscriptions } from "@subshift/core/PartnerSubscriptions"
import * as Principal from "@subshift/core/Principal"
import { ScheduledChanges } from "@subshift/core/ScheduledChanges"
import type * as ShiftedClock from "@subshift/core/ShiftedClock"
import { SubscriptionCheckout } from "@subshift/core/SubscriptionCheckout"
import { Subscriptions } from "@subshift/core/Subscriptions"
import { SubshiftApi } from "@subshift/http-api/Api"
import { amendIdempotencyRejected, NoBasket, RouteNotFound } from "@subshift/http-api/HttpErrors"
import * as Wire from "@subshift/http-api/Wire"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as BasketCookie from "./BasketCookie.js"
import * as Idempotent from "./Idempotent.js"

/** The cookie codec of the running server. */
export class Cookies extends Context.Tag("@subshift/http-server/Cookies")<Cookies, BasketCookie.BasketCookie>() {}

const NAME_CACHE_SIZE = 50_000

const apiErrors = Idempotent.errorAnswers(SubshiftApi)

/** The caller an idempotency key belongs to. */
const ownerOf = (principal: Principal.Principal) => {
  const ref = Principal.toRef(principal)
  return `${ref.kind}:${ref.id}`
}

const pathOf = (request: HttpServerRequest.HttpServerRequest) => request.url.split("?")[0]!

const noBasket = new NoBasket({ message: "no basket: the lmo_ls cookie is missing or not valid, and no checkoutId was sent" })

/** `"3"`, `W/"3"` or `3` → 3; `*` → no precondition. */
export const parseIfMatch = (value: string | undefined): Effect.Effect<number | undefined, InvalidInput> => {
  if (value === undefined || value.trim() === "*") return Effect.succeed(undefined)
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(value)
  return match === null
    ? Effect.fail(new InvalidInput({ field: "if-match", message: "If-Match is a basket version, as its ETag gives it" }))
    : Effect.succeed(Number(match[1]))
}

const firstForwarded = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  const first = value.split(",")[0]!.trim()
  return first === "" ? undefined : first.slice(0, 256)
}

/** The `ETag` of a basket version. */
export const etag = (version: number) => `"${version}"`

/** Shapes a basket as the wire shows it. */
export const toWire = (basket: CoreBasket.Basket, subscriptionName: string | undefined): Wire.Basket => {
  const names = new Map<string, string>()
  for (const option of basket.nextActions.upgrades) names.set(option.offerId, option.name)
  for (const option of basket.nextActions.downgrades) names.set(option.offerId, option.name)
  for (const option of basket.nextActions.crossSells) names.set(option.offerId, option.name)
  for (const owned of basket.nextActions.subscriptionAddOns) names.set(owned.offerId, owned.name)
  for (const action of basket.actions) names.set(action.offerId, action.name)
  const offer = (id: string) => {
    const name = names.get(id)
    return name === undefined ? { id } : { id, name }
  }
  const orderItems: Array<Wire.OrderItem> = []
  for (const item of basket.items) {
    orderItems.push({
      orderItemActionType: item.action,
      type: item.type,
      offer: offer(item.offerId),
      ...(item.quantity === undefined ? {} : { quantity: item.quantity }),
      ...(item.rateId === undefined ? {} : { rateId: item.rateId })
    })
  }
  for (const item of basket.systemItems) {
    orderItems.push({
      orderItemActionType: item.action,
      type: item.type,
      offer: offer(item.offerId),
      quantity: item.quantity,
      auto: true,
      reason: item.reason
    })
  }
  const current = basket.forSubscriptionOffer
  return {
    checkoutId: basket.id,
    completed: basket.completed,
    createdAt: basket.createdAt,
    expiresAt: basket.expiresAt,
    version: basket.version,
    order: {
      order_type: "update_subscription",
      forSubscription: subscriptionName === undefined ? { id: basket.subscriptionId } : { id: basket.subscriptionId, name: subscriptionName },
      orderItems
    },
    forSubscriptionOffer: {
      id: current.offerId,
      name: current.name,
      rateId: current.rateId,
      quantity: current.quantity,
      unitPrice: current.unitPrice,
      interval: current.interval
    },
    nextActions: basket.nextActions,
    quote: basket.quote,
    ...(basket.amendmentId === undefined ? {} : { amendmentId: basket.amendmentId })
  }
}

interface RequestLike {
  readonly request: HttpServerRequest.HttpServerRequest
}

/** The request-independent machinery the basket handlers (and the fast path) share. */
export const makeBasketHandlers = Effect.gen(function*() {
  const checkout = yield* SubscriptionCheckout
  const subscriptions = yield* Subscriptions
  const catalog = yield* Catalog
  const cookies = yield* Cookies
  const idempotent = yield* Idempotent.make

  // Subscription names never change, so the basket answers can name the subscription without a read.
  const names = new Map<string, string>()
  const nameOf = (id: string) => {
    const known = names.get(id)
    if (known !== undefined) return Effect.succeed<string | undefined>(known)
    return Effect.map(subscriptions.findById(id), (found) => {
      if (Option.isNone(found)) return undefined
      if (names.size >= NAME_CACHE_SIZE) names.clear()
      names.set(id, found.value.name)
      return found.value.name
    })
  }

  const respond = (basket: CoreBasket.Basket, setCookie: boolean) =>
    Effect.flatMap(nameOf(basket.subscriptionId), (name) => {
      const headers: Record<string, string> = { etag: etag(basket.version) }
      if (!setCookie) return Effect.succeed(HttpServerResponse.unsafeJson(toWire(basket, name), { headers }))
      return Effect.map(Clock.currentTimeMillis, (now) => {
        headers["set-cookie"] = cookies.setCookie(basket.id, (Date.parse(basket.expiresAt) - now) / 1000)
        return HttpServerResponse.unsafeJson(toWire(basket, name), { headers })
      })
    })

  const basketIdOf = (jar: Readonly<Record<string, string>>) => {
    const id = cookies.read(jar)
    return id === undefined ? Effect.fail(noBasket) : Effect.succeed(id)
  }

  const initiate = (args: RequestLike & {
    readonly payload: Wire.InitiateRequest
    readonly headers: { readonly "x-forwarded-for"?: string | undefined; readonly referer?: string | undefined }
  }) => {
    const clientIp = firstForwarded(args.headers["x-forwarded-for"]) ?? Option.getOrUndefined(args.request.remoteAddress)
    const referer = args.headers.referer?.slice(0, 2048)
    const tracking: CoreBasket.Tracking = {
      ...(args.payload.tracking === undefined ? {} : { data: args.payload.tracking }),
      ...(clientIp === undefined ? {} : { clientIp }),
      ...(referer === undefined ? {} : { referer })
    }
    return Effect.flatMap(
      checkout.initiate({ forSubscription: args.payload.order.forSubscription, tracking }),
      (basket) => respond(basket, true)
    )
  }

  const itemsOf = (items: ReadonlyArray<Wire.OrderItemRequest>) => {
    const untyped = items.filter((i) => i.type === undefined).map((i) => i.offer.id)
    const kinds: Effect.Effect<ReadonlyMap<string, { readonly kind: string }>, StoreUnavailable> = untyped.length === 0
      ? Effect.succeed(new Map())
      : catalog.getMany(untyped)
    return Effect.map(kinds, (offers) =>
      items.map((item): CoreBasket.OrderItem => ({
        action: item.orderItemActionType,
        type: item.type ?? (offers.get(item.offer.id)?.kind === "add_on" ? "add_on" : "offer"),
        offerId: item.offer.id,
        ...(item.quantity === undefined ? {} : { quantity: item.quantity }),
        ...(item.rateId === undefined ? {} : { rateId: item.rateId })
      })))
  }

  /** The basket after an update, from the cookie jar, the If-Match header and the payload. */
  const updated = (jar: Readonly<Record<string, string>>, ifMatch: string | undefined, payload: Wire.UpdateRequest) =>
    Effect.all([basketIdOf(jar), parseIfMatch(ifMatch), itemsOf(payload.order.orderItems)]).pipe(
      Effect.flatMap(([basketId, expectedVersion, items]) => checkout.update(basketId, items, { expectedVersion }))
    )

  /** The basket the cookie jar names. */
  const read = (jar: Readonly<Record<string, string>>) => Effect.flatMap(basketIdOf(jar), checkout.get)

  const update = (args: RequestLike & {
    readonly payload: Wire.UpdateRequest
    readonly headers: { readonly "if-match"?: string | undefined }
  }) => Effect.flatMap(updated(args.request.cookies, args.headers["if-match"], args.payload), (basket) => respond(basket, false))

  const get = (args: RequestLike) => Effect.flatMap(read(args.request.cookies), (basket) => respond(basket, false))

  const order = (args: RequestLike & {
    readonly payload: Wire.OrderRequest
    readonly headers: { readonly "if-match"?: string | undefined; readonly "idempotency-key"?: string | undefined }
  }) =>
    Effect.gen(function*() {
      const fromCookie = cookies.read(args.request.cookies)
      const principal = yield* Principal.CurrentPrincipal
      const commit = Effect.gen(function*() {
        const fromBody = args.payload.checkoutId
        if (fromCookie !== undefined && fromBody !== undefined && fromCookie !== fromBody) {
          return yield* new InvalidInput({ field: "checkoutId", message: "checkoutId does not match the basket of the lmo_ls cookie" })
        }
        const basketId = fromBody ?? fromCookie
        if (basketId === undefined) return yield* noBasket
        const expectedVersion = yield* parseIfMatch(args.headers["if-match"])
        const result = yield* checkout.commit(basketId, { expectedVersion })
        const pending = result.subscription.pendingChange
        const response: Wire.OrderResponse = {
          id: result.amendment.id,
          status: "complete",
          checkoutId: result.basket.id,
          subscriptionId: result.subscription.id,
          subscriptionReference: result.subscription.name,
          owner: result.subscription.owner,
          actions: result.amendment.actions,
          quote: result.amendment.quote,
          ...(pending === undefined ? {} : { pendingChangeDate: pending.effectiveDate })
        }
        const answer: Idempotent.Answer = { status: 200, body: JSON.stringify(response), headers: { etag: etag(result.basket.version) } }
        return answer
      })
      return yield* idempotent.run({
        scope: "order",
        key: args.headers["idempotency-key"],
        fingerprint: {
          method: args.request.method,
          path: pathOf(args.request),
          owner: ownerOf(principal),
          body: args.payload,
          ifMatch: args.headers["if-match"],
          target: fromCookie
        },
        encodeError: apiErrors
      }, commit)
    })

  return { initiate, update, get, order, updated, read, nameOf }
})

/** The customer checkout group. */
export const CheckoutLive = HttpApiBuilder.group(SubshiftApi, "checkout", (handlers) =>
  Effect.map(makeBasketHandlers, (basket) =>
    handlers
      .handle("initiate", basket.initiate)
      .handle("update", basket.update)
      .handle("get", basket.get)
      .handle("order", basket.order)))

/** The partner checkout group: initiating passes the bot check first. */
export const PartnerCheckoutLive = HttpApiBuilder.group(SubshiftApi, "partnerCheckout", (handlers) =>
  Effect.gen(function*() {
    const basket = yield* makeBasketHandlers
    const botCheck = yield* BotCheck
    return handlers
      .handle("initiate", (args) =>
        Effect.gen(function*() {
          const clientIp = firstForwarded(args.headers["x-forwarded-for"]) ?? Option.getOrUndefined(args.request.remoteAddress)
          if (!(yield* botCheck.verify(args.headers["x-limio-recaptcha"], clientIp))) {
            return yield* new Forbidden({ message: "the x-limio-recaptcha token did not pass verification" })
          }
          return yield* basket.initiate(args)
        }))
      .handle("update", basket.update)
      .handle("get", basket.get)
      .handle("order", basket.order)
  }))

/** Only the rates the subscription's owner may be billed at: account-specific rates of others stay hidden. */
const offerFor = (owner: string) => (offer: { readonly id: string; readonly name: string; readonly kind: "subscription" | "add_on"; readonly rates: ReadonlyArray<{ readonly id: string; readonly amount: number; readonly currency: string; readonly interval: { readonly count: number; readonly unit: "day" | "week" | "month" | "year" }; readonly accountId?: string | undefined }> }) => ({
  id: offer.id,
  name: offer.name,
  kind: offer.kind,
  rates: offer.rates
    .filter((r) => r.accountId === undefined || r.accountId === owner)
    .map((r) => ({ id: r.id, amount: r.amount, currency: r.currency, interval: r.interval }))
})

/** The partner self-service group. */
export const PartnerMmaLive = HttpApiBuilder.group(SubshiftApi, "partnerMma", (handlers) =>
  Effect.gen(function*() {
    const basket = yield* makeBasketHandlers
    const partnerSubscriptions = yield* PartnerSubscriptions
    return handlers
      .handle("initiate", basket.initiate)
      .handle("update", basket.update)
      .handle("get", basket.get)
      .handle("list", ({ urlParams }) => partnerSubscriptions.list(urlParams))
      .handle("detail", ({ path }) =>
        Effect.map(partnerSubscriptions.detail(path.id), (detail) => ({
          subscription: detail.subscription,
          schedule: detail.schedule,
          offers: detail.offers.map(offerFor(detail.subscription.owner)),
          addOns: detail.addOns.map(offerFor(detail.subscription.owner))
        })))
  }))

const encodeAmendResponse = Schema.encode(Wire.AmendResponse)

/** The amend group; with an `Idempotency-Key`, idempotency failures answer in the amend envelope. */
export const SelfServiceLive = HttpApiBuilder.group(SubshiftApi, "selfService", (handlers) =>
  Effect.gen(function*() {
    const amendments = yield* BillGroupAmendments
    const idempotent = yield* Idempotent.make
    return handlers.handle("amend", ({ headers, payload, request }) => {
      const key = headers["idempotency-key"]
      const answer = Effect.map(amendments.amend(payload), Wire.amendResponse)
      if (key === undefined) return answer
      const amend = answer.pipe(
        Effect.flatMap((result) => Effect.orDie(encodeAmendResponse(result))),
        Effect.map((encoded): Idempotent.Answer => ({ status: 200, body: JSON.stringify(encoded), headers: {} }))
      )
      return Effect.flatMap(Principal.CurrentPrincipal, (principal) =>
        idempotent.run({
          scope: "amend",
          key,
          fingerprint: { method: request.method, path: pathOf(request), owner: ownerOf(principal), body: payload },
          encodeError: apiErrors
        }, amend)).pipe(
          Effect.catchTags({
            IdempotencyKeyMismatch: (e) => Effect.fail(amendIdempotencyRejected(e)),
            IdempotencyKeyInFlight: (e) => Effect.fail(amendIdempotencyRejected(e))
          })
        )
    })
  }))

/** How many events a page holds when the caller does not say. */
export const DEFAULT_EVENT_PAGE = 50

/** The partner events group: only the events of subscriptions the organisation sold. */
export const PartnerEventsLive = HttpApiBuilder.group(SubshiftApi, "partnerEvents", (handlers) =>
  Effect.map(Events, (events) =>
    handlers.handle("list", ({ urlParams }) =>
      Effect.gen(function*() {
        const principal = yield* Principal.CurrentPrincipal
        if (principal._tag !== "Partner") return yield* Effect.dieMessage("the partner middleware let a customer through")
        const limit = urlParams.limit ?? DEFAULT_EVENT_PAGE
        const after = urlParams.after ?? 0
        // One more than asked tells whether another page is already waiting.
        const found = yield* events.list({ after, limit: limit + 1, partnerOrg: principal.partnerOrg })
        const items = found.slice(0, limit)
        return { items, next: items.at(-1)?.sequence ?? after, hasMore: found.length > limit }
      }))))

/** The server's shifted clock when the test clock is on (`SUBSHIFT_TEST_CLOCK=on`). */
export class TestClock extends Context.Tag("@subshift/http-server/TestClock")<TestClock, Option.Option<ShiftedClock.ShiftedClock>>() {}

/** The test clock group: moving the clock runs the scheduler right away. */
export const TestClockLive = HttpApiBuilder.group(SubshiftApi, "testClock", (handlers) =>
  Effect.gen(function*() {
    const control = yield* TestClock
    const scheduler = yield* ScheduledChanges
    const state = (shifted: ShiftedClock.ShiftedClock) =>
      Effect.map(shifted.offset, (offset) => {
        const now = shifted.clock.unsafeCurrentTimeMillis()
        return { now: Instant.fromEpochMillis(now), today: CalendarDate.fromEpochMillis(now), offsetSeconds: Duration.toSeconds(offset) }
      })
    const enabled = (request: HttpServerRequest.HttpServerRequest) =>
      Option.match(control, {
        onNone: () => Effect.fail(new RouteNotFound({ method: request.method, path: pathOf(request) })),
        onSome: Effect.succeed
      })
    return handlers
      .handle("get", ({ request }) => Effect.flatMap(enabled(request), state))
      .handle("advance", ({ payload, request }) =>
        Effect.gen(function*() {
          const shifted = yield* enabled(request)
          yield* shifted.advance(Duration.sum(Duration.days(payload.days ?? 0), Duration.seconds(payload.seconds ?? 0))).pipe(
            Effect.mapError((e) => new InvalidInput({ field: "body", message: e.message }))
          )
          const run = yield* scheduler.applyDue()
          if (run.applied > 0) yield* Effect.logInfo("scheduled changes applied after a test clock advance", { ...run })
          return { ...(yield* state(shifted)), scheduler: run }
        }))
  }))

/** Liveness and readiness. */
export const SystemLive = HttpApiBuilder.group(SubshiftApi, "system", (handlers) =>
  Effect.map(Subscriptions, (subscriptions) => {
    const health = () => Effect.succeed({ status: "ok" as const })
    const ready = () => Effect.as(subscriptions.findById("sub-readiness-probe"), { status: "ready" as const })
    return handlers.handle("health", health).handle("ready", ready).handle("apiHealth", health).handle("apiReady", ready)
  }))

/** Every group. */
export const layer = Layer.mergeAll(
  CheckoutLive,
  PartnerCheckoutLive,
  PartnerMmaLive,
  SelfServiceLive,
  PartnerEventsLive,
  TestClockLive,
  SystemLive
)

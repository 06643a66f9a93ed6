/**
 * The handlers of every endpoint: they read the request (cookie, headers, body), call the core's
 * use cases under the principal the auth middleware provided, and shape the answer. Basket
 * answers carry the `ETag` of the basket version and, on initiate, the signed basket cookie.
 * Orders and amends sent with an `Idempotency-Key` run through `Idempotent`.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as CoreBasket from "@subshift/core/domain/Basket"
import { BillGroupAmendments } from "@subshift/core/usecases/BillGroupAmendments"
import { BotCheck } from "@subshift/core/ports/BotCheck"
import * as CalendarDate from "@subshift/core/domain/CalendarDate"
import { Forbidden, InvalidInput } from "@subshift/core/domain/Errors"
import { Events } from "@subshift/core/ports/Events"
import * as Instant from "@subshift/core/domain/Instant"
import { PartnerSubscriptions } from "@subshift/core/usecases/PartnerSubscriptions"
import * as Principal from "@subshift/core/domain/Principal"
import { ScheduledChanges } from "@subshift/core/usecases/ScheduledChanges"
import type * as ShiftedClock from "@subshift/core/clock/ShiftedClock"
import { SubscriptionCheckout } from "@subshift/core/usecases/SubscriptionCheckout"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import { SubshiftApi } from "@subshift/http-api/Api"
import * as BasketWire from "@subshift/http-api/BasketWire"
import { amendIdempotencyRejected, NoBasket, RouteNotFound } from "@subshift/http-api/HttpErrors"
import * as Wire from "@subshift/http-api/Wire"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Cookies } from "./BasketCookie.js"
import * as Edge from "./Edge.js"
import * as Idempotent from "./Idempotent.js"


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

interface RequestLike {
  readonly request: HttpServerRequest.HttpServerRequest
}

/** Builds the request-independent machinery the basket handlers (and the fast path) share. */
const makeBasketHandlers = Effect.gen(function*() {
  const checkout = yield* SubscriptionCheckout
  const cookies = yield* Cookies
  const idempotent = yield* Idempotent.make

  const respond = (basket: CoreBasket.Basket, setCookie: boolean) => {
    const headers: Record<string, string> = { etag: etag(basket.version) }
    if (!setCookie) return Effect.succeed(HttpServerResponse.unsafeJson(BasketWire.encode(basket), { headers }))
    return Effect.map(Clock.currentTimeMillis, (now) => {
      headers["set-cookie"] = cookies.setCookie(basket.id, (Date.parse(basket.expiresAt) - now) / 1000)
      return HttpServerResponse.unsafeJson(BasketWire.encode(basket), { headers })
    })
  }

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

  /** The basket after an update, from the cookie jar, the If-Match header and the payload. */
  const updated = (jar: Readonly<Record<string, string>>, ifMatch: string | undefined, payload: Wire.UpdateRequest) =>
    Effect.all([basketIdOf(jar), parseIfMatch(ifMatch)]).pipe(
      Effect.flatMap(([basketId, expectedVersion]) => checkout.update(basketId, BasketWire.itemsOf(payload), { expectedVersion })),
      Effect.mapError(BasketWire.refusalOnWire)
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
        encodeError: Edge.contract
      }, commit)
    })

  return { initiate, update, get, order, updated, read }
})

/** The basket handlers, built once and shared by the three checkout groups and the fast path. */
export class BasketHandlers extends Context.Tag("@subshift/http-server/BasketHandlers")<
  BasketHandlers,
  Effect.Effect.Success<typeof makeBasketHandlers>
>() {
  /** The handlers over the running use cases and cookie codec. */
  static readonly layer = Layer.effect(BasketHandlers, makeBasketHandlers)
}

/** The customer checkout group. */
export const CheckoutLive = HttpApiBuilder.group(SubshiftApi, "checkout", (handlers) =>
  Effect.map(BasketHandlers, (basket) =>
    handlers
      .handle("initiate", basket.initiate)
      .handle("update", basket.update)
      .handle("get", basket.get)
      .handle("order", basket.order)))

/** The partner checkout group: initiating passes the bot check first. */
export const PartnerCheckoutLive = HttpApiBuilder.group(SubshiftApi, "partnerCheckout", (handlers) =>
  Effect.gen(function*() {
    const basket = yield* BasketHandlers
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

/** The partner self-service group. */
export const PartnerMmaLive = HttpApiBuilder.group(SubshiftApi, "partnerMma", (handlers) =>
  Effect.gen(function*() {
    const basket = yield* BasketHandlers
    const partnerSubscriptions = yield* PartnerSubscriptions
    return handlers
      .handle("initiate", basket.initiate)
      .handle("update", basket.update)
      .handle("get", basket.get)
      .handle("list", ({ urlParams }) => partnerSubscriptions.list(urlParams))
      .handle("detail", ({ path }) => partnerSubscriptions.detail(path.id))
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
          encodeError: Edge.contract
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

/** The server's shifted clock when the test clock is on (`SUBSHIFT_TEST_CLOCK=on`), which its routes move. */
export class TestClockControl extends Context.Tag("@subshift/http-server/TestClockControl")<
  TestClockControl,
  Option.Option<ShiftedClock.ShiftedClock>
>() {}

/** The test clock group: moving the clock runs the scheduler right away. */
export const TestClockLive = HttpApiBuilder.group(SubshiftApi, "testClock", (handlers) =>
  Effect.gen(function*() {
    const control = yield* TestClockControl
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

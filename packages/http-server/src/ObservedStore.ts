/**
 * The store, observed: each call of each port is timed into `subshift_store_call_duration_seconds`
 * (with metrics on) and runs in a child span named after the call, `store Baskets.findById`
 * (with tracing on). A span carries the call's name only, never its arguments, which hold
 * customer and subscription ids. Commits also count into `subshift_commits_total` and
 * `subshift_amendments_total`. With neither metrics nor tracing, the store is left as it is.
 */
import { Amendments } from "@subshift/core/ports/Amendments"
import { Baskets } from "@subshift/core/ports/Baskets"
import { BillGroups } from "@subshift/core/ports/BillGroups"
import { Catalog } from "@subshift/core/ports/Catalog"
import { Events } from "@subshift/core/ports/Events"
import { Idempotency } from "@subshift/core/ports/Idempotency"
import type { StorePorts } from "@subshift/core/ports/StorePorts"
import { Subscriptions } from "@subshift/core/ports/Subscriptions"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Metrics from "./Metrics.js"
import type { Observation } from "./Metrics.js"

const ports: ReadonlyArray<readonly [string, Context.Tag<any, any>]> = [
  ["Catalog", Catalog],
  ["Subscriptions", Subscriptions],
  ["Baskets", Baskets],
  ["BillGroups", BillGroups],
  ["Amendments", Amendments],
  ["Events", Events],
  ["Idempotency", Idempotency]
]

type AnyEffect = Effect.Effect<unknown, unknown, unknown>

/** Wraps one call's effect with its timing and its span, as observed. */
const observeCall = (call: string, observation: Observation): ((effect: AnyEffect) => AnyEffect) => {
  const hooks = observation.metrics ? Metrics.storeCallHooks(call) : undefined
  const spanName = `store ${call}`
  const traced = (effect: AnyEffect): AnyEffect =>
    observation.tracing
      ? Effect.withSpan(effect, spanName, { kind: "client", captureStackTrace: false, attributes: { "subshift.store.call": call } })
      : effect
  if (hooks === undefined) return traced
  return (effect) =>
    traced(Effect.suspend(() => {
      const started = performance.now()
      // Timed whether it succeeds or fails (an interrupted call is not); the timing never changes its outcome.
      return Effect.flatMap(Effect.exit(effect), (exit) => {
        ;(Exit.isSuccess(exit) ? hooks.ok : hooks.failed).update((performance.now() - started) / 1000)
        return exit
      })
    }))
}

/** A port's service with every call observed: functions returning effects, and effects. */
const observeService = (port: string, service: Record<string, unknown>, observation: Observation): Record<string, unknown> => {
  const observed: Record<string, unknown> = { ...service }
  for (const [name, member] of Object.entries(service)) {
    const wrap = observeCall(`${port}.${name}`, observation)
    if (Effect.isEffect(member)) observed[name] = wrap(member as AnyEffect)
    else if (typeof member === "function") {
      observed[name] = (...args: Array<unknown>) => {
        const result = (member as (...args: Array<unknown>) => unknown).apply(service, args)
        return Effect.isEffect(result) ? wrap(result as AnyEffect) : result
      }
    }
  }
  return observed
}

/** The commit call, also counting commits and their amendments once written. */
const countingCommits = (subscriptions: Context.Tag.Service<typeof Subscriptions>): Context.Tag.Service<typeof Subscriptions> => ({
  ...subscriptions,
  commit: (commit) => Effect.tap(subscriptions.commit(commit), () => Metrics.recordCommit(commit.amendments.length))
})

/** Every port of `context`, observed; ports it does not know are left as they are. */
export const observe = <P>(context: Context.Context<P>, observation: Observation): Context.Context<P> => {
  if (!observation.metrics && !observation.tracing) return context
  let observed = context
  for (const [name, tag] of ports) {
    let service = Context.get(context as Context.Context<StorePorts>, tag) as Record<string, unknown>
    if (tag === Subscriptions && observation.metrics) service = countingCommits(service as never) as Record<string, unknown>
    observed = Context.add(observed, tag, observeService(name, service, observation))
  }
  return observed
}

/** The store layer, observed. */
export const layer = <P, E, R>(store: Layer.Layer<P, E, R>, observation: Observation): Layer.Layer<P, E, R> =>
  !observation.metrics && !observation.tracing
    ? store
    : Layer.effectContext(Effect.map(Effect.context<P>(), (context) => observe(context, observation))).pipe(Layer.provide(store))

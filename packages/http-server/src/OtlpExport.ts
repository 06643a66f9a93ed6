/**
 * The OTLP/HTTP exporter of the server's spans: `@effect/opentelemetry`'s, sending JSON, with every
 * span withholding what could be personal data on its way out: a failed span records the
 * failure's type only, and log lines are not copied into spans as events. Loaded by `Tracing.ts`
 * only when an endpoint is configured.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as OtlpSerialization from "@effect/opentelemetry/OtlpSerialization"
import * as OtlpTracer from "@effect/opentelemetry/OtlpTracer"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import type { OtlpConfig } from "./OtlpConfig.js"

/** What a failed span says of its failure: the type only. */
class WithheldFailure extends Error {
  constructor(type: string) {
    super(`${type} (details are not exported)`)
    this.name = type
    this.stack = `${type}: details are not exported`
  }
}

const failureType = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const tag = (error as { readonly _tag?: unknown })._tag
    if (typeof tag === "string" && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(tag)) return tag
  }
  return "Error"
}

/** An exit fit to export: a failure keeps its type only. */
export const withholdDetails = (exit: Exit.Exit<unknown, unknown>): Exit.Exit<unknown, unknown> => {
  if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) return exit
  const failure = Cause.failureOption(exit.cause)
  return Exit.fail(new WithheldFailure(Option.isSome(failure) ? failureType(failure.value) : "Defect"))
}

/** The exporter's tracer, its spans withholding failure details and log events. */
const withholding = (inner: Tracer.Tracer): Tracer.Tracer =>
  Tracer.make({
    span(name, parent, context, links, startTime, kind, options) {
      const span = inner.span(name, parent, context, links, startTime, kind, options)
      const end = span.end
      span.end = (endTime, exit) => end.call(span, endTime, withholdDetails(exit))
      span.event = () => {}
      return span
    },
    context: inner.context
  })

/** The tracer exporting to `otlp`, for as long as the layer lives. */
export const layer = (otlp: OtlpConfig): Layer.Layer<never> =>
  Layer.unwrapScoped(
    Effect.map(
      OtlpTracer.make({
        url: otlp.url,
        headers: Redacted.value(otlp.headers),
        resource: { serviceName: otlp.serviceName, attributes: otlp.resourceAttributes },
        exportInterval: otlp.exportIntervalMs
      }),
      (tracer) => Layer.setTracer(withholding(tracer))
    )
  ).pipe(Layer.provide([FetchHttpClient.layer, OtlpSerialization.layerJson]))

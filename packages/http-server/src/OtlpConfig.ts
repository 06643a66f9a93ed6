/**
 * The standard OpenTelemetry exporter variables the server reads: tracing is on when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, with the
 * service name, resource attributes and headers of `OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_EXPORTER_OTLP_HEADERS` (or `..._TRACES_HEADERS`), and the
 * batch delay of `OTEL_BSP_SCHEDULE_DELAY`.
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/** Where and how spans are exported. */
export interface OtlpConfig {
  /** The traces URL: `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`, or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is. */
  readonly url: string
  /** Headers sent with every export (they often hold an API key, hence redacted). */
  readonly headers: Redacted.Redacted<Readonly<Record<string, string>>>
  readonly serviceName: string
  readonly resourceAttributes: Readonly<Record<string, string>>
  /** How long spans wait in the batch before they are sent, in milliseconds. */
  readonly exportIntervalMs: number
}

/**
 * Parses a `key=value,key=value` list (W3C Baggage-like, as the OpenTelemetry specification
 * writes headers and resource attributes), values percent-decoded.
 */
export const parsePairs = (text: string): Either.Either<Record<string, string>, string> => {
  const pairs: Record<string, string> = {}
  for (const entry of text.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const at = entry.indexOf("=")
    const key = at <= 0 ? "" : entry.slice(0, at).trim()
    if (key === "") return Either.left(`expected key=value, got "${entry.slice(0, 40)}"`)
    try {
      pairs[key] = decodeURIComponent(entry.slice(at + 1).trim())
    } catch {
      return Either.left(`the value of ${key.slice(0, 40)} is not percent-encoded correctly`)
    }
  }
  return Either.right(pairs)
}

const pairs = (name: string) =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => Either.mapLeft(parsePairs(text), (message) => ConfigError.InvalidData([name], message))),
    Config.option
  )

const url = (name: string) =>
  Config.option(Config.string(name).pipe(
    Config.validate({ message: "Expected an http(s) URL", validation: (text) => /^https?:\/\/[^\s]+$/.test(text.trim()) })
  ))

/** The exporter's configuration, `None` when no endpoint is set. */
export const config: Config.Config<Option.Option<OtlpConfig>> = Config.all({
  endpoint: url("OTEL_EXPORTER_OTLP_ENDPOINT"),
  tracesEndpoint: url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  headers: pairs("OTEL_EXPORTER_OTLP_HEADERS"),
  tracesHeaders: pairs("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
  serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("subshift")),
  resourceAttributes: pairs("OTEL_RESOURCE_ATTRIBUTES"),
  exportIntervalMs: Config.integer("OTEL_BSP_SCHEDULE_DELAY").pipe(
    Config.validate({ message: "Expected milliseconds from 1 to 600000", validation: (n) => n >= 1 && n <= 600_000 }),
    Config.withDefault(5000)
  )
}).pipe(Config.map((c) => {
  const url = Option.orElse(
    Option.map(c.tracesEndpoint, (u) => u.trim()),
    () => Option.map(c.endpoint, (u) => `${u.trim().replace(/\/+$/, "")}/v1/traces`)
  )
  return Option.map(url, (url): OtlpConfig => ({
    url,
    headers: Redacted.make({ ...Option.getOrElse(c.headers, () => ({})), ...Option.getOrElse(c.tracesHeaders, () => ({})) }),
    serviceName: c.serviceName,
    resourceAttributes: Option.getOrElse(c.resourceAttributes, () => ({})),
    exportIntervalMs: c.exportIntervalMs
  }))
}))

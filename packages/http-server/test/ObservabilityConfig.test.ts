/**
 * The metrics listener and the trace exporter are off unless configured; their variables are
 * validated at start like every other, a bad one naming itself.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { configOf } from "./Harness.js"

const failure = (env: Record<string, string>) => configOf(env).then(() => "started", (e) => String(e))

describe("observability configuration", () => {
  it("metrics and traces are off by default", async () => {
    const config = await configOf()
    expect(Option.isNone(config.metrics)).toBe(true)
    expect(Option.isNone(config.tracing)).toBe(true)
  })

  it("SUBSHIFT_METRICS_PORT opens the metrics listener on HOST unless SUBSHIFT_METRICS_HOST says otherwise", async () => {
    expect((await configOf({ SUBSHIFT_METRICS_PORT: "9464", HOST: "10.0.0.5" })).metrics).toEqual(Option.some({ port: 9464, host: "10.0.0.5" }))
    expect((await configOf({ SUBSHIFT_METRICS_PORT: "0", SUBSHIFT_METRICS_HOST: "0.0.0.0" })).metrics).toEqual(Option.some({ port: 0, host: "0.0.0.0" }))
    expect(await failure({ SUBSHIFT_METRICS_PORT: "70000" })).toContain("SUBSHIFT_METRICS_PORT")
    expect(await failure({ SUBSHIFT_METRICS_PORT: "nine" })).toContain("SUBSHIFT_METRICS_PORT")
  })

  it("the standard OTEL_* variables give the traces URL, the headers, the service name and the resource", async () => {
    const config = await configOf({
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.example:4318/",
      OTEL_EXPORTER_OTLP_HEADERS: "api-key=a%2Cb%3Dc, x-tenant = blue",
      OTEL_SERVICE_NAME: "checkout",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,service.namespace=billing"
    })
    const tracing = Option.getOrThrow(config.tracing)
    expect(tracing.url).toBe("https://collector.example:4318/v1/traces")
    expect(Redacted.value(tracing.headers)).toEqual({ "api-key": "a,b=c", "x-tenant": "blue" })
    expect(String(tracing.headers)).not.toContain("a,b=c")
    expect(tracing.serviceName).toBe("checkout")
    expect(tracing.resourceAttributes).toEqual({ "deployment.environment": "prod", "service.namespace": "billing" })
    expect(tracing.exportIntervalMs).toBe(5000)
  })

  it("a signal-specific endpoint is used as it is, and its headers add to the general ones", async () => {
    const tracing = Option.getOrThrow((await configOf({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://general:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:4318/custom/path",
      OTEL_EXPORTER_OTLP_HEADERS: "a=1,b=2",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "b=3"
    })).tracing)
    expect(tracing.url).toBe("http://traces:4318/custom/path")
    expect(Redacted.value(tracing.headers)).toEqual({ a: "1", b: "3" })
    expect(tracing.serviceName).toBe("subshift")
  })

  it("refuses an endpoint that is not an http(s) URL, and headers that are not key=value", async () => {
    expect(await failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toContain("OTEL_EXPORTER_OTLP_ENDPOINT")
    expect(await failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_HEADERS: "novalue" })).toContain("OTEL_EXPORTER_OTLP_HEADERS")
    expect(await failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_BSP_SCHEDULE_DELAY: "0" })).toContain("OTEL_BSP_SCHEDULE_DELAY")
  })
})

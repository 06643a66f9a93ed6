/**
 * Every request carries an `x-request-id`: the client's own when sane, a new one otherwise, echoed
 * in the answer and annotated on the log lines about that request, on the fast path and the router.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as CoreBotCheck from "@subshift/core/ports/BotCheck"
import type * as Config from "@subshift/http-server/Config"
import * as Demo from "@subshift/http-server/Demo"
import * as Server from "@subshift/http-server/Server"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { bearer, configOf, flakyStore, initiateBody, request, storeControls } from "./Harness.js"

interface Line {
  readonly message: unknown
  readonly annotations: Record<string, unknown>
}

const lines: Array<Line> = []
const capture = Logger.make<unknown, void>(({ annotations, message }) => {
  lines.push({ message, annotations: Object.fromEntries(annotations) })
})

const serve = (config: Config.ServerConfig) =>
  ManagedRuntime.make(
    Server.layer(config, { store: flakyStore(storeControls()), botCheck: CoreBotCheck.layerAcceptAll }).pipe(
      Layer.provide(Logger.replace(Logger.defaultLogger, capture))
    )
  )

let runtime: ReturnType<typeof serve>
let url = ""
let alice = ""

beforeAll(async () => {
  // Every request is "slow" here, so that each one writes a log line to look for.
  const config = await configOf({ SUBSHIFT_SLOW_REQUEST_MS: "0" })
  runtime = serve(config)
  url = await runtime.runPromise(Server.baseUrl)
  alice = await Effect.runPromise(Demo.sign(config.jwt, { subject: "cus-alice", scopes: ["checkout"] }))
})

afterAll(() => runtime.dispose())

const logged = async (id: string): Promise<Array<Line>> => {
  await new Promise((resolve) => setTimeout(resolve, 50))
  return lines.filter((l) => l.annotations.requestId === id)
}

describe("x-request-id", () => {
  it("the router keeps a sane id from the request, answers it and annotates the request's log line with it", async () => {
    const opened = await request(`${url}/api/checkout/subscription`, {
      method: "POST",
      headers: { ...bearer(alice), "x-request-id": "edge.Router-1_a" },
      body: initiateBody("sub-alice")
    })
    expect(opened.status).toBe(200)
    expect(opened.headers.get("x-request-id")).toBe("edge.Router-1_a")
    expect((await logged("edge.Router-1_a")).map((l) => l.message)).toContainEqual(["slow request", expect.objectContaining({ method: "POST" })])
  })

  it("the fast path keeps a sane id from the request, answers it and annotates the request's log line with it", async () => {
    const read = await request(`${url}/api/checkout/subscription`, { headers: { ...bearer(alice), "x-request-id": "fast-path-2" } })
    expect(read.headers.get("x-request-id")).toBe("fast-path-2")
    expect((await logged("fast-path-2")).map((l) => l.message)).toContainEqual(["slow request", expect.objectContaining({ method: "GET" })])
  })

  it.each([
    ["too long", "a".repeat(65)],
    ["a space", "two words"],
    ["a slash", "a/b"],
    ["an empty value", ""]
  ])("an id with %s is replaced by a new one, on both paths", async (_, given) => {
    for (const [method, body] of [["GET", undefined], ["POST", initiateBody("sub-alice")]] as const) {
      const answer = await request(`${url}/api/checkout/subscription`, { method, headers: { ...bearer(alice), "x-request-id": given }, body })
      const id = answer.headers.get("x-request-id")!
      expect(id).toMatch(/^[A-Za-z0-9._-]{1,64}$/)
      expect(id).not.toBe(given)
      expect(await logged(id)).toHaveLength(1)
    }
  })

  it("a request without an id gets a new one, different each time, also for an unknown route", async () => {
    const first = await request(`${url}/nowhere`)
    const second = await request(`${url}/nowhere`)
    expect(first.status).toBe(404)
    expect(first.headers.get("x-request-id")).toMatch(/^[A-Za-z0-9._-]{1,64}$/)
    expect(second.headers.get("x-request-id")).not.toBe(first.headers.get("x-request-id"))
  })
})

/**
 * The HTTP transport of webhooks on `node:http(s)`: one POST, no redirect followed (a 3xx is an
 * answer like any other, retried), at most 64 KiB of the answer read, and a deadline on the whole
 * exchange. The host is resolved by the transport's own lookup, which refuses what the network
 * policy refuses and hands the connection the address it checked, so a name that resolves
 * differently a moment later (DNS rebinding) cannot steer the connection elsewhere.
 */
import type { OutboundRequest, TransportResult } from "@subshift/core/ports/Webhooks"
import { WebhookTransport } from "@subshift/core/ports/Webhooks"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Http from "node:http"
import * as Https from "node:https"
import type { LookupFunction } from "node:net"
import { isIP } from "node:net"
import * as Network from "./Network.js"

/** The most of an answer's body read; the rest is dropped with the connection. */
export const MAX_RESPONSE_BYTES = 64 * 1024

const nothing = () => {}

const describe = (error: unknown): string => {
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined
  const message = error instanceof Error ? error.message : String(error)
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message
}

/** The transport under a network policy, and how to close its kept-alive connections. */
export const make = (policy: Network.Policy): { readonly transport: WebhookTransport["Type"]; readonly close: () => void } => {
  const lookup: LookupFunction = (hostname, options, callback) => {
    Network.resolve(hostname).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses
        const refused = wanted.find((a) => Network.refuses(policy, a.address))
        const chosen = wanted[0]
        if (refused !== undefined) {
          callback(Object.assign(new Error(`refused: ${hostname} resolves to ${refused.address}, a private address`), { code: "EREFUSEDADDRESS" }), "", 4)
        } else if (chosen === undefined) {
          callback(Object.assign(new Error(`${hostname} does not resolve`), { code: "ENOTFOUND" }), "", 4)
        } else if (options.all === true) {
          ;(callback as unknown as (e: null, a: ReadonlyArray<{ address: string; family: number }>) => void)(null, [chosen])
        } else {
          callback(null, chosen.address, chosen.family)
        }
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, "", 4)
    )
  }
  const agents = {
    "http:": new Http.Agent({ keepAlive: true, maxSockets: 64, lookup } as Http.AgentOptions),
    "https:": new Https.Agent({ keepAlive: true, maxSockets: 64, lookup } as Https.AgentOptions)
  }

  // What a URL's text comes to under the policy: why it is refused, or the request options to
  // reach it. Both follow from the text alone, so they are kept per URL (a few endpoints, many
  // sends); the address a host name resolves to is checked by `lookup` on every new connection.
  const targets = new Map<string, { readonly refused: string } | { readonly options: Http.RequestOptions; readonly https: boolean }>()
  const targetOf = (text: string) => {
    let target = targets.get(text)
    if (target === undefined) {
      const problem = Network.urlProblem(policy, text)
      if (problem !== undefined) target = { refused: `refused: the URL ${problem}` }
      else {
        const url = new URL(text)
        const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
        const https = url.protocol === "https:"
        // A literal address is connected to without a lookup, so it is checked here.
        target = isIP(host) !== 0 && Network.refuses(policy, host)
          ? { refused: `refused: ${host} is a private address` }
          : {
            https,
            options: {
              protocol: url.protocol, hostname: host, port: url.port === "" ? undefined : Number(url.port),
              path: `${url.pathname}${url.search}`, method: "POST", agent: https ? agents["https:"] : agents["http:"]
            }
          }
      }
      if (targets.size >= 1_000) targets.clear()
      targets.set(text, target)
    }
    return target
  }

  const send = (request: OutboundRequest, resolve: (result: TransportResult) => void): () => void => {
    const target = targetOf(request.url)
    if ("refused" in target) {
      resolve({ _tag: "NoAnswer", error: target.refused })
      return nothing
    }
    // The body goes as a string, written with the headers in one write.
    const body = request.body
    let settled = false
    const finish = (result: TransportResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(result)
    }
    const req = (target.https ? Https : Http).request({
      ...target.options,
      headers: { ...request.headers, "content-length": String(Buffer.byteLength(body, "utf8")) }
    }, (res) => {
      const answer: TransportResult = {
        _tag: "Answered",
        status: res.statusCode ?? 0,
        retryAfter: typeof res.headers["retry-after"] === "string" ? res.headers["retry-after"] : undefined
      }
      let read = 0
      res.on("data", (chunk: Buffer) => {
        read += chunk.length
        if (read > MAX_RESPONSE_BYTES) {
          res.destroy()
          finish(answer)
        }
      })
      res.on("end", () => finish(answer))
      res.on("error", () => finish(answer))
      res.on("close", () => finish(answer))
    })
    const timer = setTimeout(() => {
      req.destroy()
      finish({ _tag: "NoAnswer", error: `no answer within ${Duration.format(request.timeout)}` })
    }, Duration.toMillis(request.timeout))
    req.on("error", (error) => finish({ _tag: "NoAnswer", error: describe(error) }))
    req.end(body, "utf8")
    return () => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      req.destroy()
    }
  }

  return {
    transport: WebhookTransport.of({ send }),
    close: () => {
      agents["http:"].destroy()
      agents["https:"].destroy()
    }
  }
}

/** The transport as a layer; its connections close with it. */
export const layer = (policy: Network.Policy): Layer.Layer<WebhookTransport> =>
  Layer.scoped(
    WebhookTransport,
    Effect.map(Effect.acquireRelease(Effect.sync(() => make(policy)), (made) => Effect.sync(made.close)), (made) => made.transport)
  )

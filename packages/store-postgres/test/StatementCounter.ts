/**
 * A TCP proxy in front of a Postgres server that counts the statements clients send through it,
 * read from the wire: each simple `Query` message is one, and so is each extended-protocol round
 * ended by `Sync`, named by the text of its `Parse`, or, when it binds a named statement parsed
 * earlier on the connection, by that statement's text.
 */
import * as Net from "node:net"

/** A running proxy: the URL to connect through, the statements seen, and how to stop it. */
export interface Counter {
  readonly url: string
  /** The statements sent since the last `reset`, in order. */
  readonly statements: () => ReadonlyArray<string>
  readonly reset: () => void
  readonly close: () => Promise<void>
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim()

/** Starts a proxy to the server of `url` on a free loopback port. */
export const start = async (url: string): Promise<Counter> => {
  const target = new URL(url)
  let seen: Array<string> = []
  const sockets = new Set<Net.Socket>()
  const server = Net.createServer((client) => {
    const upstream = Net.connect(Number(target.port || 5432), target.hostname)
    sockets.add(client).add(upstream)
    let buffer = Buffer.alloc(0)
    let started = false
    let parsed: string | undefined
    const named = new Map<string, string>()
    client.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      for (;;) {
        if (!started) {
          // The startup message (and an SSL request before it) carries no type byte.
          if (buffer.length < 8) break
          const length = buffer.readInt32BE(0)
          if (buffer.length < length) break
          const code = buffer.readInt32BE(4)
          buffer = buffer.subarray(length)
          if (code !== 80877103) started = true
          continue
        }
        if (buffer.length < 5) break
        const type = String.fromCharCode(buffer[0]!)
        const length = buffer.readInt32BE(1)
        if (buffer.length < 1 + length) break
        const body = buffer.subarray(5, 1 + length)
        if (type === "Q") seen.push(oneLine(body.toString("utf8", 0, body.indexOf(0))))
        if (type === "P") {
          const nameEnd = body.indexOf(0)
          parsed = oneLine(body.toString("utf8", nameEnd + 1, body.indexOf(0, nameEnd + 1)))
          if (nameEnd > 0) named.set(body.toString("utf8", 0, nameEnd), parsed)
        }
        if (type === "B" && parsed === undefined) {
          // Bind: the portal's name, then the statement's.
          const portalEnd = body.indexOf(0)
          const statement = body.toString("utf8", portalEnd + 1, body.indexOf(0, portalEnd + 1))
          if (statement !== "") parsed = named.get(statement)
        }
        if (type === "S") {
          seen.push(parsed ?? "(prepared)")
          parsed = undefined
        }
        buffer = buffer.subarray(1 + length)
      }
      upstream.write(chunk)
    })
    upstream.on("data", (chunk) => client.write(chunk))
    const end = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on("close", end).on("error", end)
    upstream.on("close", end).on("error", end)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as Net.AddressInfo).port
  const proxied = new URL(url)
  proxied.hostname = "127.0.0.1"
  proxied.port = String(port)
  return {
    url: proxied.toString(),
    statements: () => [...seen],
    reset: () => {
      seen = []
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

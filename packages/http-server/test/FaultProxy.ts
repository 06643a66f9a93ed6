/**
 * A TCP proxy between a server and Postgres that a test can cut (every connection dropped, new
 * ones closed at once, as while a database restarts), restore, and slow down (each chunk sent to
 * the database held back by a delay, in order).
 */
import * as Net from "node:net"

/** A running proxy. */
export interface FaultProxy {
  readonly port: number
  /** Connections accepted since the start, including the ones closed while cut. */
  readonly accepted: () => number
  /** Drops every open connection and closes new ones as they arrive. */
  readonly cut: () => void
  /** Lets connections through again. */
  readonly restore: () => void
  /** Holds back what the server sends to the database by `ms` (0: none). */
  readonly delay: (ms: number) => void
  readonly close: () => Promise<void>
}

/** Starts a proxy on a free loopback port, forwarding to `host:port`. */
export const start = (target: { readonly host: string; readonly port: number }): Promise<FaultProxy> =>
  new Promise((resolve, reject) => {
    const sockets = new Set<Net.Socket>()
    let up = true
    let delayMs = 0
    let accepted = 0
    const track = (socket: Net.Socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    }
    const server = Net.createServer((client) => {
      accepted++
      if (!up) return void client.destroy()
      const upstream = Net.connect(target.port, target.host)
      track(client)
      track(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
      }
      client.on("error", drop).on("close", drop)
      upstream.on("error", drop).on("close", drop)
      // Towards the database: each chunk leaves `delayMs` after it came, never before the previous one.
      let last = 0
      client.on("data", (chunk: Buffer) => {
        const at = Math.max(Date.now() + delayMs, last)
        last = at
        if (at <= Date.now()) upstream.write(chunk)
        else setTimeout(() => upstream.destroyed || upstream.write(chunk), at - Date.now())
      })
      upstream.pipe(client)
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as Net.AddressInfo).port,
        accepted: () => accepted,
        cut: () => {
          up = false
          for (const socket of sockets) socket.destroy()
        },
        restore: () => void (up = true),
        delay: (ms) => void (delayMs = ms),
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })

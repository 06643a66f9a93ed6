/**
 * A TCP proxy between a server and Postgres that a test can cut (every connection dropped, new
 * ones closed at once, as while a database restarts), restore, slow down (each chunk sent to the
 * database held back by a delay, in order), and stall (connections stay open but no byte gets
 * through either way, as on a black-holed network, until it resumes).
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
  /**
   * Stops forwarding: open connections stay open and new ones are accepted, but every byte in
   * either direction is held, and so is a side's closing. A chunk already waiting out a `delay`
   * still leaves when its delay ends.
   */
  readonly stall: () => void
  /** Stalls like `stall`, right after forwarding the first chunk towards the database that contains `text`. */
  readonly stallAfter: (text: string) => void
  /** Whether the proxy is stalled. */
  readonly stalled: () => boolean
  /**
   * Forwards again: what was held goes through in order, as a network coming back delivers what
   * its peers kept retransmitting, and a side that closed meanwhile closes the other after that.
   * Resolves once those connections are closed on both sides: what they held has been delivered
   * and dealt with.
   */
  readonly resume: () => Promise<void>
  /** Connections a side closed while stalled. */
  readonly closedWhileStalled: () => number
  readonly close: () => Promise<void>
}

// One direction of a connection while stalled: what it holds, and whether its sender closed.
interface Lane {
  readonly held: Array<Buffer>
  ended: boolean
}

/** Starts a proxy on a free loopback port, forwarding to `host:port`. */
export const start = (target: { readonly host: string; readonly port: number }): Promise<FaultProxy> =>
  new Promise((resolve, reject) => {
    const sockets = new Set<Net.Socket>()
    const flushes = new Set<() => Promise<void> | undefined>()
    let up = true
    let stalled = false
    let stallAfter: string | undefined = undefined
    let delayMs = 0
    let accepted = 0
    let closedWhileStalled = 0
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
      const toDatabase: Lane = { held: [], ended: false }
      const toServer: Lane = { held: [], ended: false }
      const drop = () => {
        flushes.delete(flush)
        client.destroy()
        upstream.destroy()
      }
      // Answers when both sides are closed, if one closed while stalled.
      const flush = (): Promise<void> | undefined => {
        const closing = toDatabase.ended || toServer.ended
        for (const [lane, to] of [[toDatabase, upstream], [toServer, client]] as const) {
          for (const chunk of lane.held.splice(0)) if (!to.destroyed) to.write(chunk)
          if (lane.ended && !to.destroyed) to.end()
          lane.ended = false
        }
        if (!closing) return undefined
        flushes.delete(flush)
        return Promise.all([client, upstream].map((socket) =>
          socket.closed ? undefined : new Promise((done) => socket.once("close", done))
        )).then(() => undefined)
      }
      flushes.add(flush)
      // While stalled a side's closing is held like its bytes; otherwise it closes both at once.
      const closed = (lane: Lane) => () => {
        if (!stalled) return drop()
        if (!toDatabase.ended && !toServer.ended) closedWhileStalled++
        lane.ended = true
      }
      client.on("error", closed(toDatabase)).on("close", closed(toDatabase))
      upstream.on("error", closed(toServer)).on("close", closed(toServer))
      // Towards the database: each chunk leaves `delayMs` after it came, never before the previous one.
      let last = 0
      client.on("data", (chunk: Buffer) => {
        if (stalled) return void toDatabase.held.push(chunk)
        const at = Math.max(Date.now() + delayMs, last)
        last = at
        if (at <= Date.now()) upstream.write(chunk)
        else setTimeout(() => upstream.destroyed || upstream.write(chunk), at - Date.now())
        if (stallAfter !== undefined && chunk.includes(stallAfter)) {
          stallAfter = undefined
          stalled = true
        }
      })
      upstream.on("data", (chunk: Buffer) => {
        if (stalled) toServer.held.push(chunk)
        else if (!client.destroyed) client.write(chunk)
      })
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      resolve({
        port: (server.address() as Net.AddressInfo).port,
        accepted: () => accepted,
        cut: () => {
          up = false
          flushes.clear()
          for (const socket of sockets) socket.destroy()
        },
        restore: () => void (up = true),
        delay: (ms) => void (delayMs = ms),
        stall: () => void (stalled = true),
        stallAfter: (text) => void (stallAfter = text),
        stalled: () => stalled,
        resume: () => {
          stalled = false
          stallAfter = undefined
          return Promise.all([...flushes].map((flush) => flush())).then(() => undefined)
        },
        closedWhileStalled: () => closedWhileStalled,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })

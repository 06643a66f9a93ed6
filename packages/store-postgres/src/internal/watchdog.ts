/**
 * Sockets for node-postgres that close themselves when the database stops answering on an open
 * connection. Postgres answers every query (and the startup) and then sends `ReadyForQuery`, even
 * for a statement it cancels or refuses; so once the client has sent something, silence from the
 * database for longer than the timeout means the network or the server has stalled. The socket is
 * then destroyed with an error: node-postgres fails the statement, marks the client unqueryable
 * and its pool discards it, and the server, once it notices the closed connection, rolls back a
 * transaction left open on it.
 */
import * as Net from "node:net"

// The type byte of `ReadyForQuery` ('Z'): the database has answered and waits for a new query.
const READY_FOR_QUERY = 0x5a
// Every message the database sends starts with its type byte and its length (4 bytes, itself included).
const HEADER = 5

/** Sockets for the `stream` option of `PgClient`, with what they could not watch. */
export interface Watchdog {
  /** A new socket for one connection; node-postgres passes the connection's options. */
  readonly socket: (options?: { readonly ssl?: unknown }) => Net.Socket
  /** Whether a connection used TLS: its messages are encrypted on the socket, so it was not watched. */
  readonly blind: () => boolean
}

/** Sockets that close when the database leaves a message unanswered for `timeoutMs`. */
export const make = (timeoutMs: number): Watchdog => {
  let blind = false
  return {
    socket: (options) => {
      // node-postgres itself reads any truthy `ssl` as "use TLS".
      if (options?.ssl) {
        blind = true
        return new Net.Socket()
      }
      return new WatchedSocket(timeoutMs)
    },
    blind: () => blind
  }
}

class WatchedSocket extends Net.Socket {
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  private closing = false
  // Where the socket is in the database's stream of messages.
  private readonly header = Buffer.alloc(HEADER)
  private headerRead = 0
  private bodyLeft = 0

  constructor(private readonly timeoutMs: number) {
    super()
    // Registered before node-postgres's own listener, so a `ReadyForQuery` is seen here before
    // node-postgres reacts to it by sending the next query.
    this.on("data", (chunk: Buffer) => this.received(chunk))
    // Once the client ends the connection nothing is owed any more (the `Terminate` it sends has no answer).
    this.once("finish", () => this.stop())
    this.once("close", () => this.stop())
  }

  // Writes are watched where the stream hands them to the socket: `connect` resets `write` itself.
  override _write(chunk: any, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.sent()
    super._write(chunk, encoding, callback)
  }

  override _writev(chunks: Array<{ chunk: any; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    this.sent()
    super._writev!(chunks, callback)
  }

  private sent() {
    if (this.closing || this.timer !== undefined) return
    this.timer = setTimeout(() => this.expire(), this.timeoutMs)
    this.timer.unref()
  }

  private received(chunk: Buffer) {
    // Any byte is progress: a long answer streaming in is not a stall.
    this.timer?.refresh()
    let at = 0
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - at)
        this.bodyLeft -= n
        at += n
        if (this.bodyLeft === 0) this.messageEnded()
        continue
      }
      const n = Math.min(HEADER - this.headerRead, chunk.length - at)
      chunk.copy(this.header, this.headerRead, at, at + n)
      this.headerRead += n
      at += n
      if (this.headerRead === HEADER) {
        this.headerRead = 0
        this.bodyLeft = this.header.readUInt32BE(1) - 4
        if (this.bodyLeft <= 0) this.messageEnded()
      }
    }
  }

  private messageEnded() {
    if (this.header[0] === READY_FOR_QUERY) this.disarm()
  }

  private disarm() {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private stop() {
    this.closing = true
    this.disarm()
  }

  private expire() {
    this.timer = undefined
    this.destroy(new Error(`no answer from the database within ${this.timeoutMs} ms; the connection was closed`))
  }
}

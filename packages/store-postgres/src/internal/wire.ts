/**
 * The Postgres wire server of the embedded engine, as source text for its worker (see engine.ts,
 * whose worker has no file to load it from). It defines `serveWire(db, { host, port,
 * maxConnections })`, which listens on a loopback port and resolves to `{ conn, stop }`.
 *
 * PGlite is one Postgres session; every client connection is multiplexed onto it. What makes
 * that sound is the unit of work: a connection's messages are buffered until a point where the
 * client waits for the server (Sync, a simple Query, Flush, a function call, the end of a COPY),
 * and that whole unit runs against PGlite while no other connection's does, so a driver that
 * writes Parse, Bind, Describe, Execute and Sync separately never has another connection's
 * messages land between them. After a unit, the session belongs to its connection until a
 * ReadyForQuery ends a unit's output with status `I`: inside a transaction (`T`, `E`), or in the
 * middle of an extended-protocol exchange (no ReadyForQuery yet), only that connection's units run
 * and the others' wait in arrival order. A connection that closes while it holds the session gets
 * a Sync and a ROLLBACK run for it, which frees the session. A startup packet is a unit of its own;
 * an SSL or GSS request is refused with `N` before it, as a server without TLS does; a cancel
 * request is dropped (one session has no other backend to signal). Terminate is not passed on.
 */
export const SOURCE = `
const Net = require("node:net")
const SSL_REQUEST = 80877103
const GSS_REQUEST = 80877104
const CANCEL_REQUEST = 80877102
const PROTOCOL_3 = 196608
const MAX_STARTUP = 10000
const MAX_MESSAGE = 1 << 30
const READY = 0x5a
const IDLE = 0x49
const TERMINATE = 0x58
// Sync, Query, Flush, FunctionCall, CopyDone, CopyFail: the client waits for an answer after them.
const ENDS_UNIT = new Set([0x53, 0x51, 0x48, 0x46, 0x63, 0x66])
const message = (type, body) => {
  const out = Buffer.alloc(5 + body.length)
  out[0] = type
  out.writeInt32BE(4 + body.length, 1)
  body.copy(out, 5)
  return out
}
const RELEASE = Buffer.concat([message(0x53, Buffer.alloc(0)), message(0x51, Buffer.from("ROLLBACK\\0"))])

// Follows the backend messages of one unit's output across its chunks, to tell whether it ended
// with a ReadyForQuery and with which transaction status.
const outputTracker = () => {
  const length = Buffer.alloc(4)
  let header = 0
  let type = 0
  let left = 0
  let last = 0
  let status = 0
  return {
    feed(chunk) {
      for (let i = 0; i < chunk.length;) {
        if (left > 0) {
          const n = Math.min(left, chunk.length - i)
          i += n
          left -= n
          if (left === 0) {
            if (type === READY) status = chunk[i - 1]
            last = type
          }
        } else if (header === 0) {
          type = chunk[i++]
          header = 1
        } else {
          length[header - 1] = chunk[i++]
          if (++header === 5) {
            header = 0
            left = Math.max(0, length.readInt32BE(0) - 4)
            if (left === 0) last = type
          }
        }
      }
    },
    // The status of the ReadyForQuery the output ended with; 0 when it ended otherwise.
    status: () => (header === 0 && left === 0 && last === READY ? status : 0)
  }
}

const serveWire = (db, options) => {
  const queue = []
  const connections = new Set()
  let owner = null
  let busy = false
  let stopped = false
  let idle = Promise.resolve()
  let markIdle = () => {}

  const exec = async (bytes, connection) => {
    const tracker = outputTracker()
    const socket = connection === null ? null : connection.socket
    const live = socket !== null && !socket.destroyed
    if (live) socket.cork()
    try {
      await db.execProtocolRawStream(bytes, {
        onRawData: (data) => {
          const copy = Buffer.from(data)
          tracker.feed(copy)
          if (live && !socket.destroyed) socket.write(copy)
        }
      })
    } finally {
      if (live) socket.uncork()
    }
    return tracker.status()
  }

  const nextUnit = () => {
    const at = owner === null ? (queue.length > 0 ? 0 : -1) : queue.findIndex((unit) => unit.connection === owner)
    return at < 0 ? undefined : queue.splice(at, 1)[0]
  }

  const runUnit = async (unit) => {
    const connection = unit.connection
    if (unit.bytes === undefined) {
      if (owner === connection) await exec(RELEASE, null).catch(() => {})
      if (owner === connection) owner = null
      return
    }
    try {
      const status = await exec(unit.bytes, connection)
      owner = status === IDLE ? null : connection
    } catch (error) {
      // The engine failed under this unit: the session's state is unknown, so it stays with the
      // connection, whose close below rolls it back.
      owner = connection
      connection.socket.destroy()
    }
  }

  const pump = async () => {
    if (busy) return
    busy = true
    idle = new Promise((resolve) => { markIdle = resolve })
    try {
      for (let unit = nextUnit(); unit !== undefined && !stopped; unit = nextUnit()) await runUnit(unit)
    } finally {
      busy = false
      markIdle()
    }
  }

  const enqueue = (connection, bytes) => {
    queue.push({ connection, bytes })
    void pump()
  }

  const onData = (connection, data) => {
    if (connection.closed) return
    let buffer = connection.buffer.length === 0 ? data : Buffer.concat([connection.buffer, data])
    for (;;) {
      if (!connection.started) {
        if (buffer.length < 8) break
        const length = buffer.readInt32BE(0)
        const code = buffer.readInt32BE(4)
        if (length < 8 || length > MAX_STARTUP) return connection.socket.destroy()
        if (buffer.length < length) break
        const packet = buffer.subarray(0, length)
        buffer = buffer.subarray(length)
        if (code === SSL_REQUEST || code === GSS_REQUEST) {
          connection.socket.write("N")
          continue
        }
        if (code !== PROTOCOL_3) return connection.socket.destroy()
        connection.started = true
        enqueue(connection, Buffer.from(packet))
        continue
      }
      if (buffer.length < 5) break
      const length = buffer.readInt32BE(1)
      if (length < 4 || length > MAX_MESSAGE) return connection.socket.destroy()
      if (buffer.length < length + 1) break
      const type = buffer[0]
      const part = buffer.subarray(0, length + 1)
      buffer = buffer.subarray(length + 1)
      if (type === TERMINATE) {
        connection.closed = true
        connection.socket.end()
        return
      }
      connection.parts.push(part)
      if (ENDS_UNIT.has(type)) {
        enqueue(connection, connection.parts.length === 1 ? Buffer.from(part) : Buffer.concat(connection.parts))
        connection.parts = []
      }
    }
    connection.buffer = buffer
  }

  // The units it sent before it went still run, as Postgres would run what it had read; then the
  // release unit rolls back a transaction it left open.
  const onClose = (connection) => {
    connection.closed = true
    connections.delete(connection)
    enqueue(connection, undefined)
  }

  const server = Net.createServer((socket) => {
    if (stopped) return socket.destroy()
    socket.setNoDelay(true)
    const connection = { socket, started: false, closed: false, buffer: Buffer.alloc(0), parts: [] }
    connections.add(connection)
    socket.on("data", (data) => onData(connection, data))
    socket.on("error", () => {})
    socket.on("close", () => onClose(connection))
  })
  server.maxConnections = options.maxConnections

  const stop = async () => {
    stopped = true
    const closed = new Promise((resolve) => server.close(() => resolve()))
    for (const connection of connections) connection.socket.destroy()
    await closed
    await idle
  }

  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port, options.host, () => {
      server.off("error", reject)
      resolve({ conn: options.host + ":" + server.address().port, stop })
    })
  })
}
`

/**
 * Requests Node's HTTP parser refuses before any handler sees them (headers over Node's size
 * limit, a CR or LF inside a header value, an unknown method or version, a broken chunked
 * encoding) are answered with the API's error envelope, a 400 `MalformedRequest`, instead of
 * Node's bare status line. As Node does, the answer is written only when nothing was written on
 * the connection yet; the connection is then closed.
 */
import { MalformedRequest } from "@subshift/http-api/HttpErrors"
import { type Server, STATUS_CODES } from "node:http"
import type { Socket } from "node:net"
import * as Edge from "./Edge.js"

/** The raw HTTP/1.1 text of the edge's answer to `error`, closing the connection. */
const answerOf = (error: MalformedRequest) => {
  const { body, status } = Edge.answerOf(error)
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${
    Buffer.byteLength(body)
  }\r\nconnection: close\r\n\r\n${body}`
}

const tooLarge = answerOf(new MalformedRequest({ message: "the request headers are larger than the server accepts" }))
const notHttp = answerOf(new MalformedRequest({ message: "the request is not valid HTTP/1.1" }))

/** Installs the answer on a Node server. */
export const answer = <S extends Server>(server: S): S => {
  server.on("clientError", (error: Error & { readonly code?: string }, socket: Socket) => {
    if (error.code === "ECONNRESET" || !socket.writable || socket.bytesWritten !== 0) {
      socket.destroy()
      return
    }
    socket.end(error.code === "HPE_HEADER_OVERFLOW" ? tooLarge : notHttp)
  })
  return server
}

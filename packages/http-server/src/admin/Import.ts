/**
 * `POST /api/admin/subscriptions/import`: an NDJSON body read as a stream, a line at a time, so
 * that any number of lines imports in flat memory. The report keeps each line's outcome compactly
 * (its number, id and status; problems only for rejected lines) and is written out as JSON once
 * the body has been read, a piece at a time.
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Problem } from "@subshift/core/domain/Operator"
import { type LineReport, MAX_LINE_LENGTH, SubscriptionImport } from "@subshift/core/usecases/SubscriptionImport"
import { MalformedRequest } from "@subshift/http-api/HttpErrors"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Audit from "./Audit.js"
import { author } from "./Records.js"

/** The path of the import, which the transport guards let through unread. */
export const IMPORT_PATH = "/api/admin/subscriptions/import"

/** Whether a request is an import: its body is NDJSON of any length, read by the handler as a stream. */
export const isImport = (request: HttpServerRequest.HttpServerRequest) =>
  request.method === "POST" && request.url.split("?")[0] === IMPORT_PATH

const NDJSON = /^application\/(x-ndjson|ndjson|jsonl|x-jsonlines)[ \t]*(;[ \t]*charset[ \t]*=[ \t]*("utf-8"|utf-8)[ \t]*)?$/i

/**
 * Splits text into lines (LF or CRLF), the last one too. A line longer than `max` characters is
 * not kept: it stands as a line one character longer than allowed, which the import rejects.
 */
export const splitLines = (max: number) => <E, R>(text: Stream.Stream<string, E, R>): Stream.Stream<string, E, R> =>
  text.pipe(
    Stream.concat(Stream.succeed("\n")),
    Stream.mapAccum({ buffer: "", over: false }, (state, piece) => {
      const lines: Array<string> = []
      let buffer = state.buffer
      let over = state.over
      let from = 0
      for (let at = piece.indexOf("\n"); at !== -1; at = piece.indexOf("\n", from)) {
        const line = over ? "" : buffer + piece.slice(from, at)
        lines.push(over || line.length > max ? "x".repeat(max + 1) : line.endsWith("\r") ? line.slice(0, -1) : line)
        buffer = ""
        over = false
        from = at + 1
      }
      if (!over) buffer += piece.slice(from)
      if (buffer.length > max) {
        buffer = ""
        over = true
      }
      return [{ buffer, over }, lines] as const
    }),
    Stream.flattenIterables
  )

const STATUSES = ["created", "updated", "unchanged", "rejected"] as const

/** The outcomes of an import, kept compactly, and their totals. */
export class Report {
  private readonly numbers: Array<number> = []
  private readonly ids: Array<string | undefined> = []
  private readonly statuses: Array<number> = []
  private readonly problems = new Map<number, ReadonlyArray<Problem>>()
  readonly totals = { lines: 0, created: 0, updated: 0, unchanged: 0, rejected: 0 }

  readonly add = (line: LineReport): void => {
    if (line.problems !== undefined) this.problems.set(this.numbers.length, line.problems)
    this.numbers.push(line.line)
    this.ids.push(line.id)
    this.statuses.push(STATUSES.indexOf(line.status))
    this.totals.lines++
    this.totals[line.status]++
  }

  /** The report as JSON text, a few hundred lines per piece. */
  *json(): Generator<string> {
    yield "{\"lines\":["
    let piece = ""
    for (let i = 0; i < this.numbers.length; i++) {
      const id = this.ids[i]
      const problems = this.problems.get(i)
      piece += `${i === 0 ? "" : ","}{"line":${this.numbers[i]},${id === undefined ? "" : `"id":${JSON.stringify(id)},`}"status":"${
        STATUSES[this.statuses[i]!]
      }"${problems === undefined ? "" : `,"problems":${JSON.stringify(problems)}`}}`
      if (piece.length > 16_384) {
        yield piece
        piece = ""
      }
    }
    yield `${piece}],"totals":${JSON.stringify(this.totals)}}`
  }
}

/** Imports the NDJSON body of the request and answers the report. */
export const handle = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    const type = request.headers["content-type"]
    if (type === undefined || !NDJSON.test(type)) {
      return yield* new MalformedRequest({ message: "the import body is NDJSON: send Content-Type: application/x-ndjson, one subscription per line" })
    }
    const importer = yield* SubscriptionImport
    const report = new Report()
    const lines = request.stream.pipe(
      Stream.mapError(() => new MalformedRequest({ message: "the request body could not be read to its end" })),
      Stream.decodeText(),
      splitLines(MAX_LINE_LENGTH)
    )
    yield* importer.importLines(lines, yield* author, report.add)
    const { created, lines: total, rejected, unchanged, updated } = report.totals
    if (created + updated > 0) {
      yield* Audit.record("subscription.import", `${total} lines`, `created ${created}, updated ${updated}, unchanged ${unchanged}, rejected ${rejected}`)
    }
    // One piece per pull, as the response is written: not the whole report as text at once.
    return HttpServerResponse.stream(Stream.fromIteratorSucceed(report.json(), 1).pipe(Stream.encodeText), { contentType: "application/json" })
  })

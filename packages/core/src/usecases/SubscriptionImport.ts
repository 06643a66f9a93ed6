/**
 * Importing subscriptions from the system of record, one JSON record per line, as the lines
 * arrive: each line is upserted on its own through `OperatorRecords` (the same checks as a PUT,
 * but a replace needs no version), and its outcome reported as soon as it is known.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { StoreUnavailable } from "../domain/Errors.js"
import type * as Event from "../domain/Event.js"
import type { Offer } from "../domain/Offer.js"
import type { Subscription } from "../domain/Subscription.js"
import type { Problem } from "../domain/Operator.js"
import { BillGroups } from "../ports/BillGroups.js"
import { Catalog } from "../ports/Catalog.js"
import { Subscriptions } from "../ports/Subscriptions.js"
import { type Author, type OffersOf, OperatorRecords, type Outcome, type Prepared, type StoredOf, writeOf } from "./OperatorRecords.js"

/** The outcome of one import line. */
export interface LineReport {
  readonly line: number
  readonly id?: string
  readonly status: Outcome | "rejected"
  readonly problems?: ReadonlyArray<Problem>
}

/** How an import runs. */
export interface ImportOptions {
  /** Lines read before they are checked and written together; 500 unless set. */
  readonly chunk?: number
  /** Bill groups a round reads at once; 8 unless set. */
  readonly concurrency?: number
  /** The longest line accepted, in characters; 1 MiB unless set. */
  readonly maxLineLength?: number
}

/** The longest import line accepted, in characters. */
export const MAX_LINE_LENGTH = 1024 * 1024

/** A line of an import: its number, its id if it has one, and its JSON value or why it has none. */
interface ParsedLine {
  readonly number: number
  readonly id: string | undefined
  readonly value?: unknown
  readonly problems?: ReadonlyArray<Problem>
}

/**
 * A copy of a string that holds no larger one. A string parsed out of a line may be a slice of
 * the line, itself a slice of the piece of body it came in: an id kept for the report would keep
 * that whole piece alive until the import ends. Slicing a concatenation copies its characters.
 */
const own = (text: string): string => `${text} `.slice(0, -1)

/** Parses one line; a blank line is skipped (`undefined`). */
const parseLine = (text: string, number: number, maxLength: number): ParsedLine | undefined => {
  if (text.trim() === "") return undefined
  if (text.length > maxLength) return { number, id: undefined, problems: [{ path: "body", message: `the line is longer than ${maxLength} characters` }] }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { number, id: undefined, problems: [{ path: "body", message: "the line is not valid JSON" }] }
  }
  const id = typeof value === "object" && value !== null && typeof (value as { id?: unknown }).id === "string"
    ? own(((value as { id: string }).id).slice(0, 100))
    : undefined
  return { number, id, value }
}

/** The lines of a chunk in rounds: each id once per round, later occurrences in later rounds, in line order. */
const rounds = (lines: ReadonlyArray<ParsedLine>): ReadonlyArray<ReadonlyArray<ParsedLine>> => {
  const result: Array<Array<ParsedLine>> = []
  const seen = new Map<string, number>()
  for (const line of lines) {
    const round = line.id === undefined ? 0 : (seen.get(line.id) ?? -1) + 1
    if (line.id !== undefined) seen.set(line.id, round)
    ;(result[round] ??= []).push(line)
  }
  return result
}

/** The string field of a line's JSON object, if it has one. */
const field = (value: unknown, key: string): string | undefined => {
  const found = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined
  return typeof found === "string" ? found : undefined
}

/** The subscription import. */
export class SubscriptionImport extends Effect.Service<SubscriptionImport>()("@subshift/core/SubscriptionImport", {
  effect: Effect.gen(function*() {
    const records = yield* OperatorRecords
    const subscriptions = yield* Subscriptions
    const catalog = yield* Catalog
    const billGroups = yield* BillGroups
    const prepare = records.prepare

    /**
     * Imports subscriptions, one record per line, each upserted on its own: a line that fails
     * stores nothing and the others are unaffected; the same line twice is `unchanged`. Lines are
     * read as they arrive, a chunk at a time: the records of a chunk are checked one after the
     * other against what was read ahead for them, and written together in one transaction (or one
     * by one, should that conflict with another writer), and a chunk names each id once per round
     * so that a repeated line sees the first.
     * Every line's outcome goes to `report` once its chunk is written, in line order.
     */
    const importLines = <E>(
      lines: Stream.Stream<string, E>,
      author: Author,
      report: (line: LineReport) => void,
      options: ImportOptions = {}
    ): Effect.Effect<void, E | StoreUnavailable> => {
      const cache = new Map<string, Offer>()
      const offersOf: OffersOf = (wanted) => {
        const ids = Array.from(wanted)
        const missing = ids.filter((id) => !cache.has(id))
        if (missing.length === 0) return Effect.succeed(cache)
        return Effect.map(catalog.getMany(missing), (found) => {
          for (const [id, offer] of found) cache.set(id, offer)
          return cache
        })
      }
      const concurrency = options.concurrency ?? 8
      // Commits run one at a time, in line order, each while the next round is read and checked:
      // `pending` is the last commit (with the report of its lines), and `pendingKeys` the ids and
      // names it writes or frees. A round naming any of them waits for it before reading, so that
      // every line sees the lines before it; the store is otherwise the same before and after.
      let pending: Fiber.RuntimeFiber<void, StoreUnavailable> | undefined
      let pendingKeys = new Set<string>()
      const settle = Effect.suspend(() => pending === undefined ? Effect.void : Fiber.join(pending))
      const keysOf = (round: ReadonlyArray<ParsedLine>) => {
        const ids = new Set<string>()
        const names = new Set<string>()
        const groups = new Set<string>()
        for (const line of round) {
          if (line.problems !== undefined) continue
          const id = field(line.value, "id")
          const name = field(line.value, "name")
          const group = field(line.value, "billGroupId")
          if (id !== undefined) ids.add(id)
          if (name !== undefined) names.add(name)
          if (group !== undefined) groups.add(group)
        }
        return { ids, names, groups }
      }
      // The stored subscriptions a round's lines name, by id and by name, in one read, and the
      // bill groups they name, each once; an id or name not read ahead (the line's field was not
      // that string) is read on its own. The records are then checked one after the other, with
      // no fiber of their own: what they read is already here.
      const readAhead = ({ groups, ids, names }: ReturnType<typeof keysOf>) =>
        Effect.zipWith(
          subscriptions.findMany({ ids: Array.from(ids), names: Array.from(names) }),
          Effect.forEach(groups, (group) => Effect.map(billGroups.findById(group), (found) => [group, found] as const), { concurrency }),
          (found, groupsFound) => {
            const byId = new Map<string, Subscription>()
            const byName = new Map<string, Subscription>()
            for (const s of found) {
              byId.set(s.id, s)
              byName.set(s.name, s)
            }
            const byGroup = new Map(groupsFound)
            const storedOf: StoredOf = {
              findById: (id) => ids.has(id) ? Effect.succeed(Option.fromNullable(byId.get(id))) : Effect.zipRight(settle, subscriptions.findById(id)),
              findByName: (name) => names.has(name) ? Effect.succeed(Option.fromNullable(byName.get(name))) : Effect.zipRight(settle, subscriptions.findByName(name)),
              findBillGroup: (id) => {
                const group = byGroup.get(id)
                return group === undefined ? billGroups.findById(id) : Effect.succeed(group)
              }
            }
            return { byId, storedOf }
          },
          // Side by side only when there are bill groups to read: a round without any (the usual
          // case) forks no fibers for it.
          { concurrent: groups.size > 0 }
        )
      // A checked line keeps its number and id, not its JSON value: the value is dropped once the
      // record is checked, rather than kept while the round's commit is in flight.
      type Checked = { readonly number: number; readonly id: string | undefined; readonly outcome: Either.Either<Prepared, ReadonlyArray<Problem>> }
      type Write = { readonly number: number; readonly prepared: Prepared & { readonly event: Event.Event } }
      // The round's steps take their data as arguments rather than closing over it (docs/MEMORY.md).
      // Writes a round's records together in one transaction (or one by one, should that conflict
      // with another writer), and answers each line's report.
      const commitRound = Effect.fnUntraced(function*(results: ReadonlyArray<Checked>, writes: ReadonlyArray<Write>) {
        const failed = new Map<number, ReadonlyArray<Problem>>()
        if (writes.length > 0) {
          const together = yield* Effect.either(subscriptions.commit({
            amendments: [],
            events: writes.map((w) => w.prepared.event),
            subscriptions: writes.map((w) => writeOf(w.prepared))
          }))
          if (Either.isLeft(together)) {
            if (together.left._tag === "StoreUnavailable") return yield* together.left
            // Someone else wrote one of them meanwhile: each on its own, so the others still go in.
            for (const w of writes) {
              const alone = yield* Effect.either(subscriptions.commit({ amendments: [], events: [w.prepared.event], subscriptions: [writeOf(w.prepared)] }))
              if (Either.isLeft(alone)) {
                if (alone.left._tag === "StoreUnavailable") return yield* alone.left
                failed.set(w.number, [{ path: "id", message: `${alone.left.message}; send the line again` }])
              }
            }
          }
        }
        return results.map((r): LineReport => {
          const problems = Either.isLeft(r.outcome) ? r.outcome.left : failed.get(r.number)
          return {
            line: r.number,
            ...(r.id === undefined ? {} : { id: r.id }),
            ...(problems !== undefined ? { status: "rejected" as const, problems } : { status: Either.getOrThrow(r.outcome).outcome })
          }
        })
      })
      // Forked from here rather than inside a round, so that the commit in flight holds only what
      // it writes and reports, not (through the round's scope) the round's lines and what was read
      // ahead for them.
      const forkCommit = (results: ReadonlyArray<Checked>, writes: ReadonlyArray<Write>, collected: Array<LineReport>, last: boolean) =>
        Effect.forkDaemon(Effect.map(commitRound(results, writes), (reports) => {
          for (const line of reports) collected.push(line)
          if (last) for (const line of collected.sort((a, b) => a.line - b.line)) report(line)
        }))
      const runRound = Effect.fnUntraced(function*(round: ReadonlyArray<ParsedLine>, collected: Array<LineReport>, last: boolean) {
        const keys = keysOf(round)
        if ([...keys.ids, ...keys.names].some((key) => pendingKeys.has(key))) yield* settle
        const { byId, storedOf } = yield* readAhead(keys)
        const results: ReadonlyArray<Checked> = yield* Effect.forEach(round, ({ id, number, problems, value }) => {
          const rejected = (problems: ReadonlyArray<Problem>) => Effect.succeed<Checked>({ number, id, outcome: Either.left(problems) })
          return problems !== undefined
            ? rejected(problems)
            : prepare(value, { requireIfMatch: false }, author, offersOf, storedOf).pipe(
              Effect.map((prepared): Checked => ({ number, id, outcome: Either.right(prepared) })),
              Effect.catchTags({
                InvalidRecord: (e) => rejected(e.problems),
                PendingChangeConflict: (e) => rejected([{ path: "pendingChange", message: e.message }]),
                PreconditionRequired: (e) => rejected([{ path: "id", message: e.message }]),
                VersionConflict: (e) => rejected([{ path: "id", message: e.message }])
              })
            )
        })
        const writes = results.flatMap((r): Array<Write> =>
          Either.isRight(r.outcome) && r.outcome.right.event !== undefined ? [{ number: r.number, prepared: r.outcome.right as Write["prepared"] }] : []
        )
        yield* settle
        pendingKeys = new Set(writes.flatMap((w) => {
          const before = byId.get(w.prepared.subscription.id)
          return [w.prepared.subscription.id, w.prepared.subscription.name, ...(before === undefined ? [] : [before.name])]
        }))
        pending = yield* forkCommit(results, writes, collected, last)
      })
      // Lines are grouped as text and parsed only when their chunk is checked: the lines read
      // ahead of it (a whole socket read at once) are held as slices of the body, not as values.
      let number = 0
      const maxLength = options.maxLineLength ?? MAX_LINE_LENGTH
      return lines.pipe(
        Stream.grouped(options.chunk ?? 500),
        Stream.runForEach((texts) => {
          const parsed: Array<ParsedLine> = []
          for (const text of texts) {
            number++
            const line = parseLine(text, number, maxLength)
            if (line !== undefined) parsed.push(line)
          }
          if (parsed.length === 0) return Effect.void
          const collected: Array<LineReport> = []
          const all = rounds(parsed)
          return Effect.forEach(all, (round, i) => runRound(round, collected, i === all.length - 1), { discard: true })
        }),
        // The last commit finishes even when the lines fail or the import is interrupted.
        Effect.ensuring(Effect.suspend(() => pending === undefined ? Effect.void : Fiber.await(pending))),
        Effect.zipRight(settle)
      )
    }

    return { importLines } as const
  })
}) {}

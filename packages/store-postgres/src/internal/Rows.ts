/**
 * The one way the adapter reads a stored object: the statement selects its `jsonb` as text
 * (`data::text AS data`) and a decoder turns the text into the domain value. Plain statements
 * with a hand-written text decode, rather than `SqlSchema` request and result schemas: a row of
 * one text column gains nothing from a Schema decode of the row, whose cost was fiber work on
 * every statement of the hottest path, and the text is what the cached decoder is keyed on.
 */
import * as Effect from "effect/Effect"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** A row whose `data` is a stored object read as text. */
export interface TextRow {
  readonly data: string
}

/** Turns the stored JSON text of one object into its value. */
export type Decode<A> = (text: string) => Effect.Effect<A, ParseResult.ParseError>

/** Decodes the stored JSON text with the Schema, every time: for values read once (events, results). */
export const decoder = <A, I>(schema: Schema.Schema<A, I>): Decode<A> => Schema.decodeUnknown(Schema.parseJson(schema))

/** A decoder that can also be taught a value it was about to read. */
export interface CachedDecode<A> extends Decode<A> {
  /** Records the value of a stored text, as written by this process. */
  readonly remember: (text: string, value: A) => void
}

/** Sets `key` as the most recent entry of `cache`, dropping the least recent beyond `capacity`. */
export const keepRecent = <K, V>(cache: Map<K, V>, capacity: number, key: K, value: V): void => {
  cache.delete(key)
  cache.set(key, value)
  if (cache.size > capacity) cache.delete(cache.keys().next().value!)
}

/**
 * A decoder that remembers values by their stored JSON text, so it can never answer stale data: a
 * changed row has a different text. Writes teach it too (`remember`, with the text Postgres
 * returns for the row just written), so reading back what this process wrote costs neither a
 * `JSON.parse` nor a decode. Offers are read several times per basket update and the basket is
 * read right after its last write; decoding them again each time was most of the adapter's CPU
 * cost. The values are shared, which is safe because the core never mutates what it reads.
 */
export const cachedDecoder = <A, I>(schema: Schema.Schema<A, I>, capacity: number): CachedDecode<A> => {
  const decodeJson = decoder(schema)
  const cache = new Map<string, A>()
  const remember = (text: string, value: A) => keepRecent(cache, capacity, text, value)
  const decode = (text: string): Effect.Effect<A, ParseResult.ParseError> => {
    const hit = cache.get(text)
    if (hit !== undefined) {
      remember(text, hit)
      return Effect.succeed(hit)
    }
    return Effect.tap(decodeJson(text), (value) => remember(text, value))
  }
  return Object.assign(decode, { remember })
}

/** Decodes every row. */
export const decodeRows = <A>(decode: Decode<A>) => (rows: ReadonlyArray<TextRow>) =>
  Effect.forEach(rows, (row) => decode(row.data))

/** Decodes the first row, if there is one. */
export const decodeFirst = <A>(decode: Decode<A>) => (rows: ReadonlyArray<TextRow>) =>
  rows.length === 0 ? Effect.succeedNone : Effect.asSome(decode(rows[0]!.data))

/** Encodes a value as the JSON text its column is sent as (cast `::jsonb` in the statement). */
export const encodeJson = <A, I>(schema: Schema.Schema<A, I>) => Schema.encode(Schema.parseJson(schema))

/** A page size or cursor as a whole number of at least zero. */
export const count = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? 0 : Math.max(0, Math.floor(n)))

/**
 * Operator API keys. A key reads `ssk_<id>_<secret>`: `ssk_` marks it as a Subshift key, the id
 * (12 hex digits) names it in logs and audit entries, and the secret is 32 random bytes. The
 * server keeps only the SHA-256 of the whole key, configured in `SUBSHIFT_API_KEYS` as
 * comma-separated entries `name:id:scope+scope:sha256[:expiresAt]`, e.g.
 * `ops:3f9c2a1b7d40:subscriptions:write+admin:read:<64 hex>:2027-01-01T00:00:00Z`.
 */
import { ADMIN_SCOPES, type AdminScope } from "@subshift/core/domain/Operator"
import * as Either from "effect/Either"
import { createHash, randomBytes } from "node:crypto"

/** The prefix of every operator API key. */
export const KEY_PREFIX = "ssk_"

/** An API key as the configuration holds it: never the secret, only its hash. */
export interface ApiKey {
  readonly name: string
  readonly id: string
  readonly scopes: ReadonlyArray<AdminScope>
  readonly sha256: string
  /** Epoch milliseconds after which the key is refused, if it expires. */
  readonly expiresAt: number | undefined
}

const KEY_SHAPE = /^ssk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/
const ENTRY_SHAPE = /^([A-Za-z0-9._-]{1,64}):([0-9a-f]{12}):([a-z:+]+):([0-9a-f]{64})(?::(.+))?$/

/** The SHA-256 hex digest of a key. */
export const hashKey = (key: string): string => createHash("sha256").update(key, "utf8").digest("hex")

/** The id a well-formed key carries, or `undefined` for anything else. */
export const idOf = (key: string): string | undefined => KEY_SHAPE.exec(key)?.[1]

const isScope = (s: string): s is AdminScope => (ADMIN_SCOPES as ReadonlyArray<string>).includes(s)

/** Parses the scopes of a key, `+`- or comma-separated; every one must be known. */
export const parseScopes = (text: string): Either.Either<ReadonlyArray<AdminScope>, string> => {
  const scopes = text.split(/[+,\s]/).map((s) => s.trim()).filter((s) => s !== "")
  const unknown = scopes.filter((s) => !isScope(s))
  if (unknown.length > 0) return Either.left(`unknown scope ${unknown.join(", ")}; the scopes are ${ADMIN_SCOPES.join(", ")}`)
  if (scopes.length === 0) return Either.left(`a key needs at least one scope of ${ADMIN_SCOPES.join(", ")}`)
  return Either.right([...new Set(scopes)] as ReadonlyArray<AdminScope>)
}

/** Parses `SUBSHIFT_API_KEYS`. */
export const parseApiKeys = (text: string): Either.Either<ReadonlyArray<ApiKey>, string> => {
  const keys: Array<ApiKey> = []
  for (const entry of text.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const match = ENTRY_SHAPE.exec(entry)
    if (match === null) return Either.left(`expected name:id:scope+scope:sha256hex[:expiresAt], got "${entry.slice(0, 40)}…"`)
    const [, name, id, scopeText, sha256, expires] = match as unknown as [string, string, string, string, string, string | undefined]
    const scopes = parseScopes(scopeText)
    if (Either.isLeft(scopes)) return Either.left(`key ${name}: ${scopes.left}`)
    const expiresAt = expires === undefined ? undefined : Date.parse(expires)
    if (expiresAt !== undefined && Number.isNaN(expiresAt)) return Either.left(`key ${name}: the expiry ${expires} is not an ISO-8601 date or instant`)
    if (keys.some((k) => k.id === id)) return Either.left(`key id ${id} appears twice`)
    keys.push({ name, id, scopes: scopes.right, sha256, expiresAt })
  }
  return Either.right(keys)
}

/** A new key and the configuration entry that admits it. */
export interface NewKey {
  readonly key: string
  readonly entry: string
}

/** Makes a new key from the platform's CSPRNG, with the `SUBSHIFT_API_KEYS` entry for it. */
export const generate = (name: string, scopes: ReadonlyArray<AdminScope>, expiresAt?: string): NewKey => {
  const id = randomBytes(6).toString("hex")
  const key = `${KEY_PREFIX}${id}_${randomBytes(32).toString("base64url")}`
  const entry = `${name}:${id}:${scopes.join("+")}:${hashKey(key)}${expiresAt === undefined ? "" : `:${expiresAt}`}`
  return { key, entry }
}

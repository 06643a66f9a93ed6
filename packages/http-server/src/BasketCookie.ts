/**
 * The landing-state cookie: the basket id followed by an HMAC-SHA256 of it under the configured
 * secret. A missing, unsigned or tampered cookie reads as no basket.
 */
import * as Context from "effect/Context"
import * as Redacted from "effect/Redacted"
import { createHmac, timingSafeEqual } from "node:crypto"

/** The cookie the server sets. */
export const NAME = "lmo_ls"
/** The other name a client may send the same cookie under. */
export const LEGACY_NAME = "limio_state"

const VERIFIED_CACHE_SIZE = 10_000

/** Signs and reads basket cookies under one secret. */
export interface BasketCookie {
  /** The `Set-Cookie` value for a basket, living until `expiresAt`. */
  readonly setCookie: (basketId: string, maxAgeSeconds: number) => string
  /** The basket id a cookie jar names, if its signature holds. */
  readonly read: (cookies: Readonly<Record<string, string>>) => string | undefined
}

/** Builds the cookie codec. */
export const make = (secret: Redacted.Redacted<string>, secure: boolean): BasketCookie => {
  const key = Buffer.from(Redacted.value(secret), "utf8")
  const sign = (value: string) => createHmac("sha256", key).update(value, "utf8").digest("base64url")
  // A client sends the same cookie on every request of a checkout: remember the ones that verified.
  const verified = new Map<string, string>()
  const verify = (raw: string | undefined): string | undefined => {
    if (raw === undefined || raw.length > 200) return undefined
    const known = verified.get(raw)
    if (known !== undefined) return known
    const dot = raw.lastIndexOf(".")
    if (dot <= 0) return undefined
    const value = raw.slice(0, dot)
    const given = Buffer.from(raw.slice(dot + 1), "utf8")
    const expected = Buffer.from(sign(value), "utf8")
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!)
    verified.set(raw, value)
    return value
  }
  const attributes = `Path=/api; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`
  return {
    setCookie: (basketId, maxAgeSeconds) =>
      `${NAME}=${basketId}.${sign(basketId)}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; ${attributes}`,
    read: (cookies) => verify(cookies[NAME]) ?? verify(cookies[LEGACY_NAME])
  }
}

/** The cookie codec of the running server, shared by the handlers and the fast path. */
export class Cookies extends Context.Tag("@subshift/http-server/Cookies")<Cookies, BasketCookie>() {}

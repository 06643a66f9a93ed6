/**
 * Webhook secrets and signatures on `node:crypto`. A secret is 24 random bytes, shown once as
 * `whsec_` + base64 (the Standard Webhooks form). It is stored sealed with AES-256-GCM under a
 * key from configuration, so a database dump alone does not let anyone sign: `v1.` + base64 of
 * the 12-byte nonce, the 16-byte tag and the ciphertext. Signatures are `v1,` + base64
 * HMAC-SHA256 of `id.timestamp.body` under the secret's bytes.
 */
import { WebhookCrypto } from "@subshift/core/ports/Webhooks"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto"

const PREFIX = "whsec_"

/** The development sealing key, derived from a fixed phrase; refused in production. */
export const DEV_KEY = createHash("sha256").update("subshift-dev-webhook-key-not-for-production").digest()

/** Reads a 32-byte key given as 64 hex digits or as base64; `undefined` when it is neither. */
export const parseKey = (text: string): Buffer | undefined => {
  const trimmed = text.trim()
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64")
  return bytes.length === 32 ? bytes : undefined
}

/** Seals a secret's bytes under a key. */
export const seal = (key: Buffer, plain: Buffer): string => {
  const nonce = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", key, nonce)
  const sealed = Buffer.concat([cipher.update(plain), cipher.final()])
  return `v1.${Buffer.concat([nonce, cipher.getAuthTag(), sealed]).toString("base64")}`
}

/** Opens a sealed secret; throws when the key is not the one it was sealed with. */
export const open = (key: Buffer, sealed: string): Buffer => {
  if (!sealed.startsWith("v1.")) throw new Error("a sealed webhook secret starts with v1.")
  const bytes = Buffer.from(sealed.slice(3), "base64")
  const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, 12))
  decipher.setAuthTag(bytes.subarray(12, 28))
  return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()])
}

/** The crypto port under a sealing key. Opened secrets are kept in memory by their sealed form. */
export const make = (key: Buffer): WebhookCrypto["Type"] => {
  const opened = new Map<string, Buffer>()
  const secretOf = (sealed: string) => {
    let bytes = opened.get(sealed)
    if (bytes === undefined) {
      bytes = open(key, sealed)
      if (opened.size > 10_000) opened.clear()
      opened.set(sealed, bytes)
    }
    return bytes
  }
  return WebhookCrypto.of({
    newSecret: Effect.sync(() => {
      const bytes = randomBytes(24)
      return { secret: `${PREFIX}${bytes.toString("base64")}`, sealed: seal(key, bytes) }
    }),
    sign: (sealed, { body, id, timestamp }) => `v1,${createHmac("sha256", secretOf(sealed)).update(`${id}.${timestamp}.${body}`).digest("base64")}`
  })
}

/** The crypto port as a layer. */
export const layer = (key: Buffer): Layer.Layer<WebhookCrypto> => Layer.sync(WebhookCrypto, () => make(key))

/**
 * The `BotCheck` port: a reCAPTCHA-style token in, pass or fail out.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { BotCheckUnavailable } from "../domain/Errors.js"

/** The bot check port. */
export class BotCheck extends Context.Tag("@subshift/core/BotCheck")<
  BotCheck,
  {
    readonly verify: (token: string, remoteIp?: string) => Effect.Effect<boolean, BotCheckUnavailable>
  }
>() {}

/** Accepts every token: for development and tests only, never a production default. */
export const layerAcceptAll: Layer.Layer<BotCheck> = Layer.succeed(BotCheck, { verify: () => Effect.succeed(true) })

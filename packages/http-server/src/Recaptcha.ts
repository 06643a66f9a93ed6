/**
 * The `BotCheck` port over a reCAPTCHA-style verify endpoint: the token (and the client IP) are
 * posted with the configured secret; `success` (and a minimum `score`, when configured) decide.
 */
import { BotCheck } from "@subshift/core/ports/BotCheck"
import { BotCheckUnavailable } from "@subshift/core/domain/Errors"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/** Options of the verify call. */
export interface Options {
  readonly verifyUrl: string
  readonly secret: Redacted.Redacted<string>
  readonly minScore: Option.Option<number>
  readonly timeout: Duration.Duration
}

/** A `BotCheck` that asks the verify endpoint. */
export const layer = (options: Options): Layer.Layer<BotCheck> =>
  Layer.succeed(BotCheck, {
    verify: (token, remoteIp) =>
      Effect.tryPromise({
        try: async (signal) => {
          const body = new URLSearchParams({ secret: Redacted.value(options.secret), response: token })
          if (remoteIp !== undefined) body.set("remoteip", remoteIp)
          const response = await fetch(options.verifyUrl, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body,
            signal: AbortSignal.any([signal, AbortSignal.timeout(Duration.toMillis(options.timeout))])
          })
          if (!response.ok) throw new Error(`the verify endpoint answered ${response.status}`)
          return (await response.json()) as { readonly success?: unknown; readonly score?: unknown }
        },
        catch: (e) => new BotCheckUnavailable({ message: `the bot check could not be performed: ${e instanceof Error ? e.message : "unknown"}` })
      }).pipe(
        Effect.map((answer) =>
          answer.success === true &&
          Option.match(options.minScore, {
            onNone: () => true,
            onSome: (min) => typeof answer.score === "number" && answer.score >= min
          })
        )
      )
  })

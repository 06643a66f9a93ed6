/**
 * The webhook configuration, read from the environment:
 * - `SUBSHIFT_WEBHOOK_KEY`: the key that seals endpoint secrets at rest (AES-256-GCM), 32 bytes as
 *   64 hex digits or base64. Outside production a fixed development key stands in; in production
 *   without it webhooks are off (no worker, and registering an endpoint is refused, naming it).
 * - `SUBSHIFT_WEBHOOK_ALLOW_PRIVATE`: in production, allow endpoints on private, loopback and
 *   link-local addresses and plain `http` (`false` unless set).
 * - `SUBSHIFT_WEBHOOKS`: `off` runs no delivery worker in this process (`on` unless set).
 * - `SUBSHIFT_WEBHOOK_POLL_INTERVAL`: how often an idle worker looks for work (200 millis unless set).
 * - `SUBSHIFT_WEBHOOK_TIMEOUT`: how long an attempt waits for an answer (15 seconds unless set).
 * - `SUBSHIFT_WEBHOOK_LEASE`: how long a process holds a delivery it claimed; when it dies, another
 *   process attempts the delivery once this has passed (60 seconds unless set; above the timeout).
 * - `SUBSHIFT_WEBHOOK_SCHEDULE`: the delays after failed attempts, comma-separated durations
 *   (`5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours` then six of `10 hours` unless set).
 */
import * as Webhook from "@subshift/core/domain/Webhook"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Crypto from "./Crypto.js"
import type * as Network from "./Network.js"

/** The validated webhook configuration. */
export interface WebhookConfig {
  /** The sealing key; none in production without `SUBSHIFT_WEBHOOK_KEY`. */
  readonly key: Option.Option<Buffer>
  readonly policy: Network.Policy
  readonly worker: boolean
  readonly pollInterval: Duration.Duration
  readonly timeout: Duration.Duration
  readonly lease: Duration.Duration
  readonly schedule: ReadonlyArray<Duration.Duration>
}

const raw = Config.all({
  nodeEnv: Config.string("NODE_ENV").pipe(Config.withDefault("development")),
  key: Config.option(Config.redacted("SUBSHIFT_WEBHOOK_KEY")),
  allowPrivate: Config.boolean("SUBSHIFT_WEBHOOK_ALLOW_PRIVATE").pipe(Config.withDefault(false)),
  worker: Config.literal("on", "off")("SUBSHIFT_WEBHOOKS").pipe(Config.withDefault("on" as const)),
  pollInterval: Config.duration("SUBSHIFT_WEBHOOK_POLL_INTERVAL").pipe(Config.withDefault(Duration.millis(200))),
  timeout: Config.duration("SUBSHIFT_WEBHOOK_TIMEOUT").pipe(Config.withDefault(Duration.seconds(15))),
  lease: Config.duration("SUBSHIFT_WEBHOOK_LEASE").pipe(Config.withDefault(Duration.seconds(60))),
  schedule: Config.option(Config.string("SUBSHIFT_WEBHOOK_SCHEDULE"))
})

/** The webhook configuration, for the handlers of the admin routes. */
export class Settings extends Context.Tag("@subshift/http-server/webhooks/Settings")<Settings, WebhookConfig>() {}

const invalid = (path: string, message: string) => Effect.fail(ConfigError.InvalidData([path], message))

/** Reads and validates the webhook configuration. The worker runs unless `SUBSHIFT_WEBHOOKS=off`, on every store. */
export const load = (): Effect.Effect<WebhookConfig, ConfigError.ConfigError> => Effect.gen(function*() {
  const c = yield* raw
  const production = c.nodeEnv === "production"
  let key: Option.Option<Buffer> = production ? Option.none() : Option.some(Crypto.DEV_KEY)
  if (Option.isSome(c.key)) {
    const parsed = Crypto.parseKey(Redacted.value(c.key.value))
    if (parsed === undefined) return yield* invalid("SUBSHIFT_WEBHOOK_KEY", "must be 32 bytes, as 64 hex digits or base64")
    key = Option.some(Buffer.from(parsed))
  }
  let schedule = Webhook.schedule
  if (Option.isSome(c.schedule)) {
    const delays = c.schedule.value.split(",").map((d) => Duration.decodeUnknown(d.trim()))
    if (delays.length === 0 || delays.some(Option.isNone)) {
      return yield* invalid("SUBSHIFT_WEBHOOK_SCHEDULE", "expected durations separated by commas, such as 5 seconds, 5 minutes")
    }
    schedule = delays.map((d) => Option.getOrThrow(d))
  }
  if (Duration.lessThan(c.pollInterval, Duration.millis(10))) return yield* invalid("SUBSHIFT_WEBHOOK_POLL_INTERVAL", "must be at least 10 millis")
  if (!Duration.greaterThan(c.lease, c.timeout)) return yield* invalid("SUBSHIFT_WEBHOOK_LEASE", "must be longer than SUBSHIFT_WEBHOOK_TIMEOUT")
  return {
    key,
    policy: { production, allowPrivate: c.allowPrivate },
    worker: c.worker === "on",
    pollInterval: c.pollInterval,
    timeout: c.timeout,
    lease: c.lease,
    schedule
  }
})

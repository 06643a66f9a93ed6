/**
 * The server's configuration, read from the environment through Effect `Config` and validated
 * once at start: a bad value stops the server with a message naming the variable. With
 * `NODE_ENV=production` the development secrets, the test clock and the accept-all bot check
 * are refused, and the demo data, the docs and the page are off unless asked for.
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import { BlockList, isIP } from "node:net"
import * as WebhookConfig from "./webhooks/Config.js"
import { type ApiKey, parseApiKeys } from "./admin/ApiKeys.js"
import * as Heap from "./Heap.js"
import * as Otlp from "./OtlpConfig.js"

/** The development cookie secret; refused in production. */
export const DEV_COOKIE_SECRET = "subshift-dev-cookie-secret-not-for-production"
/** The development HS256 JWT secret; refused in production. */
export const DEV_JWT_SECRET = "subshift-dev-jwt-secret-not-for-production"
/** The development partner API token of the demo partner organisation; refused in production. */
export const DEV_PARTNER_TOKEN = "dev-partner-telco-token"
/** The development JWT issuer and audience. */
export const DEV_ISSUER = "subshift-dev"
export const DEV_AUDIENCE = "subshift"

/** The SHA-256 hex digest of a partner token, as the configuration stores it. */
export const hashToken = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex")

/** Which store the server runs on. */
export type StoreKind = "memory" | "embedded" | "postgres"

/** A partner organisation's API token: only its hash is kept. */
export interface PartnerToken {
  readonly partnerOrg: string
  readonly scopes: ReadonlyArray<string>
  readonly sha256: string
}

/** The validated configuration. */
export interface ServerConfig {
  readonly production: boolean
  readonly port: number
  readonly host: string
  readonly store: {
    readonly kind: StoreKind
    readonly databaseUrl: Option.Option<Redacted.Redacted<string>>
    /**
     * A read replica of the Postgres store: the partner listing and the partner subscription
     * detail read there, and may lag the primary; every other call uses `databaseUrl`.
     */
    readonly readUrl: Option.Option<Redacted.Redacted<string>>
    /** `transaction` when the URLs go through a pooler in transaction mode, such as PgBouncer. */
    readonly pooler: "none" | "transaction"
    /** The database past the pooler, for what needs a session of its own (`LISTEN`). */
    readonly directUrl: Option.Option<Redacted.Redacted<string>>
    readonly dataDir: string
    readonly seedDemo: boolean
    /** A catalog document (JSON or YAML) published at start when it differs from the version in force. */
    readonly catalogFile: Option.Option<string>
    readonly sweepInterval: Duration.Duration
    /** Postgres cancels a statement running longer than this; the request answers 503. */
    readonly statementTimeout: Duration.Duration
    /**
     * The server closes a connection on which the database has left a message unanswered this
     * long (a stalled network or server); the request answers 503.
     */
    readonly queryTimeout: Duration.Duration
  }
  readonly cookie: { readonly secret: Redacted.Redacted<string>; readonly secure: boolean }
  readonly jwt: {
    readonly algorithm: "HS256" | "RS256" | "ES256"
    readonly secret: Option.Option<Redacted.Redacted<string>>
    readonly publicKey: Option.Option<string>
    readonly jwksFile: Option.Option<string>
    readonly issuer: string
    readonly audience: string
    readonly partnerClaim: string
    readonly clockToleranceSeconds: number
  }
  readonly partnerTokens: ReadonlyArray<PartnerToken>
  /** The operator API keys of `/api/admin` (hashes only); none unless configured. */
  readonly apiKeys: ReadonlyArray<ApiKey>
  readonly botCheck: {
    readonly kind: "recaptcha" | "accept-all"
    readonly verifyUrl: string
    readonly secret: Option.Option<Redacted.Redacted<string>>
    readonly minScore: Option.Option<number>
    readonly timeout: Duration.Duration
  }
  readonly bodyLimit: number
  readonly logLevel: LogLevel.LogLevel
  readonly slowRequestMs: number
  /** Where `/metrics` is served (a listener of its own), when it is. */
  readonly metrics: Option.Option<{ readonly port: number; readonly host: string }>
  /** Where spans are exported over OTLP/HTTP, when they are. */
  readonly tracing: Option.Option<Otlp.OtlpConfig>
  /** Serve the change-plan page at `/account/change-plan`. */
  readonly page: boolean
  /** Answer GET and PUT `/api/checkout/subscription` through the fast path (else only the router). */
  readonly fastPath: boolean
  /** How often the scheduler applies the changes that came due. */
  readonly schedulerInterval: Duration.Duration
  /** Run the server on a clock that `POST /api/test-clock/advance` moves forward; never in production. */
  readonly testClock: boolean
  /** On SIGTERM, how long in-flight requests may take to finish before their connections are closed. */
  readonly shutdownTimeout: Duration.Duration
  /** The proxies whose `X-Forwarded-For` is believed (addresses and CIDRs); none unless configured. */
  readonly trustedProxies: BlockList
  /** Serve `/docs` and `/openapi.json`. */
  readonly docs: boolean
  /** How long a client may take to send a whole request (a long NDJSON import is one request). */
  readonly requestTimeout: Duration.Duration
  /** Outbound webhooks: the sealing key, the network policy and the worker's settings. */
  readonly webhooks: WebhookConfig.WebhookConfig
  /** How far the old generation of the heap may grow past what a full collection kept, in percent; 0 leaves it to V8 (see Heap.ts). */
  readonly heapGrowthPercent: number
}

/** Parses `SUBSHIFT_TRUSTED_PROXIES`: addresses and CIDRs (IPv4 or IPv6), comma-separated. */
export const parseTrustedProxies = (text: string): Either.Either<BlockList, string> => {
  const list = new BlockList()
  for (const entry of text.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const [address = "", bits, ...rest] = entry.split("/")
    const family = isIP(address)
    const prefix = bits === undefined ? undefined : Number(bits)
    if (family === 0 || rest.length > 0 || (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === 4 ? 32 : 128)))) {
      return Either.left(`expected an IP address or CIDR, got "${entry.slice(0, 60)}"`)
    }
    const type = family === 4 ? "ipv4" : "ipv6"
    if (prefix === undefined) list.addAddress(address, type)
    else list.addSubnet(address, prefix, type)
  }
  return Either.right(list)
}

const invalid = (path: string, message: string) => ConfigError.InvalidData([path], message)

/** Parses `org:scope+scope:sha256hex` entries, comma-separated. */
export const parsePartnerTokens = (text: string): Either.Either<ReadonlyArray<PartnerToken>, string> => {
  const tokens: Array<PartnerToken> = []
  for (const entry of text.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const [partnerOrg, scopes, sha256, ...rest] = entry.split(":")
    if (partnerOrg === undefined || scopes === undefined || sha256 === undefined || rest.length > 0 || partnerOrg === "") {
      return Either.left(`expected org:scope+scope:sha256hex, got "${entry.slice(0, 40)}"`)
    }
    if (!/^[0-9a-f]{64}$/.test(sha256)) return Either.left(`the hash of ${partnerOrg} is not 64 lower-case hex digits`)
    tokens.push({ partnerOrg, scopes: scopes.split("+").filter((s) => s !== ""), sha256 })
  }
  return Either.right(tokens)
}

const devPartnerTokens = `partner-telco:partner+mma:${hashToken(DEV_PARTNER_TOKEN)}`

const raw = Config.all({
  nodeEnv: Config.string("NODE_ENV").pipe(Config.withDefault("development")),
  port: Config.integer("PORT").pipe(
    Config.validate({ message: "Expected a port number from 0 (any free port) to 65535", validation: (n) => n >= 0 && n <= 65_535 }),
    Config.withDefault(3000)
  ),
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  store: Config.option(Config.literal("memory", "embedded", "postgres")("SUBSHIFT_STORE")),
  databaseUrl: Config.option(Config.redacted("DATABASE_URL")),
  databaseReadUrl: Config.option(Config.redacted("DATABASE_READ_URL")),
  databaseDirectUrl: Config.option(Config.redacted("DATABASE_DIRECT_URL")),
  pooler: Config.literal("none", "transaction")("SUBSHIFT_DB_POOLER").pipe(Config.withDefault("none" as const)),
  dataDir: Config.string("SUBSHIFT_DATA_DIR").pipe(Config.withDefault(".subshift-data")),
  seedDemo: Config.option(Config.boolean("SUBSHIFT_SEED_DEMO")),
  catalogFile: Config.option(Config.string("SUBSHIFT_CATALOG_FILE")),
  sweepInterval: Config.duration("SUBSHIFT_SWEEP_INTERVAL").pipe(Config.withDefault(Duration.minutes(10))),
  statementTimeout: Config.duration("SUBSHIFT_DB_STATEMENT_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30))),
  queryTimeout: Config.option(Config.duration("SUBSHIFT_DB_QUERY_TIMEOUT")),
  cookieSecret: Config.redacted("SUBSHIFT_COOKIE_SECRET").pipe(Config.withDefault(Redacted.make(DEV_COOKIE_SECRET))),
  cookieSecure: Config.option(Config.boolean("SUBSHIFT_COOKIE_SECURE")),
  jwtAlgorithm: Config.literal("HS256", "RS256", "ES256")("SUBSHIFT_JWT_ALG").pipe(Config.withDefault("HS256" as const)),
  jwtSecret: Config.option(Config.redacted("SUBSHIFT_JWT_SECRET")),
  jwtPublicKey: Config.option(Config.string("SUBSHIFT_JWT_PUBLIC_KEY")),
  jwksFile: Config.option(Config.string("SUBSHIFT_JWT_JWKS_FILE")),
  jwtIssuer: Config.string("SUBSHIFT_JWT_ISSUER").pipe(Config.withDefault(DEV_ISSUER)),
  jwtAudience: Config.string("SUBSHIFT_JWT_AUDIENCE").pipe(Config.withDefault(DEV_AUDIENCE)),
  partnerClaim: Config.string("SUBSHIFT_JWT_PARTNER_CLAIM").pipe(Config.withDefault("lmo:partner_org")),
  clockTolerance: Config.integer("SUBSHIFT_JWT_CLOCK_TOLERANCE_SECONDS").pipe(Config.withDefault(5)),
  partnerTokens: Config.string("SUBSHIFT_PARTNER_TOKENS").pipe(Config.withDefault(devPartnerTokens)),
  apiKeys: Config.string("SUBSHIFT_API_KEYS").pipe(Config.withDefault("")),
  botCheck: Config.option(Config.literal("recaptcha", "accept-all")("SUBSHIFT_BOT_CHECK")),
  recaptchaUrl: Config.string("SUBSHIFT_RECAPTCHA_VERIFY_URL").pipe(
    Config.withDefault("https://www.google.com/recaptcha/api/siteverify")
  ),
  recaptchaSecret: Config.option(Config.redacted("SUBSHIFT_RECAPTCHA_SECRET")),
  recaptchaMinScore: Config.option(Config.number("SUBSHIFT_RECAPTCHA_MIN_SCORE")),
  recaptchaTimeout: Config.duration("SUBSHIFT_RECAPTCHA_TIMEOUT").pipe(Config.withDefault(Duration.seconds(3))),
  bodyLimit: Config.integer("SUBSHIFT_BODY_LIMIT").pipe(Config.withDefault(64 * 1024)),
  logLevel: Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info)),
  slowRequestMs: Config.integer("SUBSHIFT_SLOW_REQUEST_MS").pipe(Config.withDefault(500)),
  heapGrowthPercent: Config.integer("SUBSHIFT_HEAP_GROWTH_PERCENT").pipe(
    Config.validate({ message: "Expected a percentage from 0 (V8 decides) to 300", validation: (n) => n >= 0 && n <= 300 }),
    Config.withDefault(Heap.DEFAULT_GROWTH_PERCENT)
  ),
  metricsPort: Config.option(Config.integer("SUBSHIFT_METRICS_PORT").pipe(
    Config.validate({ message: "Expected a port number from 0 (any free port) to 65535", validation: (n) => n >= 0 && n <= 65_535 })
  )),
  metricsHost: Config.option(Config.string("SUBSHIFT_METRICS_HOST")),
  otlp: Otlp.config,
  page: Config.option(Config.literal("on", "off")("SUBSHIFT_PAGE")),
  fastPath: Config.literal("on", "off")("SUBSHIFT_FAST_PATH").pipe(Config.withDefault("on" as const)),
  schedulerInterval: Config.duration("SUBSHIFT_SCHEDULER_INTERVAL").pipe(Config.withDefault(Duration.seconds(60))),
  testClock: Config.literal("on", "off")("SUBSHIFT_TEST_CLOCK").pipe(Config.withDefault("off" as const)),
  shutdownTimeout: Config.duration("SUBSHIFT_SHUTDOWN_TIMEOUT").pipe(Config.withDefault(Duration.seconds(10))),
  trustedProxies: Config.string("SUBSHIFT_TRUSTED_PROXIES").pipe(Config.withDefault("")),
  docs: Config.option(Config.literal("on", "off")("SUBSHIFT_DOCS")),
  requestTimeout: Config.duration("SUBSHIFT_REQUEST_TIMEOUT").pipe(Config.withDefault(Duration.minutes(30)))
})

/** Reads and validates the configuration. */
export const load: Effect.Effect<ServerConfig, ConfigError.ConfigError> = Effect.gen(function*() {
  const c = yield* raw
  const production = c.nodeEnv === "production"
  const fail = (path: string, message: string) => Effect.fail(invalid(path, message))

  // An explicit SUBSHIFT_STORE wins; otherwise a DATABASE_URL means that database, and with
  // neither the data goes to the embedded Postgres so that it survives a restart.
  const kind: StoreKind = Option.getOrElse(c.store, () => (Option.isSome(c.databaseUrl) ? "postgres" as const : "embedded" as const))
  if (kind === "postgres" && Option.isNone(c.databaseUrl)) {
    return yield* fail("DATABASE_URL", "SUBSHIFT_STORE=postgres needs DATABASE_URL")
  }
  if (Option.isSome(c.databaseReadUrl) && kind !== "postgres") {
    return yield* fail("DATABASE_READ_URL", "a read replica needs the Postgres store (DATABASE_URL)")
  }
  if (Option.isSome(c.databaseDirectUrl) && kind !== "postgres") {
    return yield* fail("DATABASE_DIRECT_URL", "a direct database URL needs the Postgres store (DATABASE_URL)")
  }
  if (production && c.testClock === "on") {
    return yield* fail("SUBSHIFT_TEST_CLOCK", "NODE_ENV=production refuses the test clock: it lets any caller move the server's time")
  }
  if (Duration.lessThan(c.statementTimeout, Duration.millis(1))) {
    return yield* fail("SUBSHIFT_DB_STATEMENT_TIMEOUT", "must be at least 1 millisecond")
  }
  // By default a little above the statement timeout, so that a merely slow statement is
  // cancelled by the server, storing nothing, before the client gives up on its connection.
  const queryTimeout = Option.getOrElse(c.queryTimeout, () => Duration.sum(c.statementTimeout, Duration.seconds(5)))
  if (Duration.lessThan(queryTimeout, Duration.millis(1))) {
    return yield* fail("SUBSHIFT_DB_QUERY_TIMEOUT", "must be at least 1 millisecond")
  }
  if (Duration.lessThan(c.schedulerInterval, Duration.seconds(1))) {
    return yield* fail("SUBSHIFT_SCHEDULER_INTERVAL", "must be at least 1 second")
  }
  const cookieSecret = Redacted.value(c.cookieSecret)
  if (cookieSecret.length < 32) return yield* fail("SUBSHIFT_COOKIE_SECRET", "must be at least 32 characters")
  if (production && cookieSecret === DEV_COOKIE_SECRET) {
    return yield* fail("SUBSHIFT_COOKIE_SECRET", "NODE_ENV=production refuses the development cookie secret; set your own")
  }

  let jwtSecret = c.jwtSecret
  if (c.jwtAlgorithm === "HS256") {
    if (Option.isNone(jwtSecret)) {
      if (production) return yield* fail("SUBSHIFT_JWT_SECRET", "NODE_ENV=production needs SUBSHIFT_JWT_SECRET (or an RS256/ES256 key)")
      jwtSecret = Option.some(Redacted.make(DEV_JWT_SECRET))
    }
    const secret = Redacted.value(Option.getOrThrow(jwtSecret))
    if (secret.length < 32) return yield* fail("SUBSHIFT_JWT_SECRET", "an HS256 secret must be at least 32 characters")
    if (production && secret === DEV_JWT_SECRET) {
      return yield* fail("SUBSHIFT_JWT_SECRET", "NODE_ENV=production refuses the development JWT secret")
    }
  } else if (Option.isNone(c.jwtPublicKey) && Option.isNone(c.jwksFile)) {
    return yield* fail("SUBSHIFT_JWT_PUBLIC_KEY", `${c.jwtAlgorithm} needs SUBSHIFT_JWT_PUBLIC_KEY (PEM) or SUBSHIFT_JWT_JWKS_FILE`)
  }
  if (c.clockTolerance < 0 || c.clockTolerance > 300) {
    return yield* fail("SUBSHIFT_JWT_CLOCK_TOLERANCE_SECONDS", "must be between 0 and 300")
  }

  const partnerTokens = parsePartnerTokens(c.partnerTokens)
  if (Either.isLeft(partnerTokens)) return yield* fail("SUBSHIFT_PARTNER_TOKENS", partnerTokens.left)
  if (production && partnerTokens.right.some((t) => t.sha256 === hashToken(DEV_PARTNER_TOKEN))) {
    return yield* fail("SUBSHIFT_PARTNER_TOKENS", "NODE_ENV=production refuses the development partner token")
  }

  const apiKeys = parseApiKeys(c.apiKeys)
  if (Either.isLeft(apiKeys)) return yield* fail("SUBSHIFT_API_KEYS", apiKeys.left)

  const botKind = Option.getOrElse(c.botCheck, () => (production ? "recaptcha" as const : "accept-all" as const))
  if (production && botKind === "accept-all") {
    return yield* fail("SUBSHIFT_BOT_CHECK", "NODE_ENV=production refuses the accept-all bot check: it lets every bot through")
  }
  const trustedProxies = parseTrustedProxies(c.trustedProxies)
  if (Either.isLeft(trustedProxies)) return yield* fail("SUBSHIFT_TRUSTED_PROXIES", trustedProxies.left)
  if (botKind === "recaptcha" && Option.isNone(c.recaptchaSecret)) {
    return yield* fail("SUBSHIFT_RECAPTCHA_SECRET", "the reCAPTCHA bot check needs its secret (or SUBSHIFT_BOT_CHECK=accept-all outside production)")
  }
  if (!/^https?:\/\//.test(c.recaptchaUrl)) return yield* fail("SUBSHIFT_RECAPTCHA_VERIFY_URL", "must be an http(s) URL")
  if (c.bodyLimit < 1024 || c.bodyLimit > 16 * 1024 * 1024) {
    return yield* fail("SUBSHIFT_BODY_LIMIT", "must be between 1024 and 16777216 bytes")
  }

  const config: ServerConfig = {
    production,
    port: c.port,
    host: c.host,
    store: {
      kind,
      databaseUrl: c.databaseUrl,
      readUrl: c.databaseReadUrl,
      pooler: c.pooler,
      directUrl: c.databaseDirectUrl,
      dataDir: c.dataDir,
      seedDemo: Option.getOrElse(c.seedDemo, () => !production),
      catalogFile: c.catalogFile,
      sweepInterval: c.sweepInterval,
      statementTimeout: c.statementTimeout,
      queryTimeout
    },
    cookie: { secret: c.cookieSecret, secure: Option.getOrElse(c.cookieSecure, () => production) },
    jwt: {
      algorithm: c.jwtAlgorithm,
      secret: jwtSecret,
      publicKey: c.jwtPublicKey,
      jwksFile: c.jwksFile,
      issuer: c.jwtIssuer,
      audience: c.jwtAudience,
      partnerClaim: c.partnerClaim,
      clockToleranceSeconds: c.clockTolerance
    },
    partnerTokens: partnerTokens.right,
    apiKeys: apiKeys.right,
    botCheck: {
      kind: botKind,
      verifyUrl: c.recaptchaUrl,
      secret: c.recaptchaSecret,
      minScore: c.recaptchaMinScore,
      timeout: c.recaptchaTimeout
    },
    bodyLimit: c.bodyLimit,
    logLevel: c.logLevel,
    slowRequestMs: c.slowRequestMs,
    metrics: Option.map(c.metricsPort, (port) => ({ port, host: Option.getOrElse(c.metricsHost, () => c.host) })),
    tracing: c.otlp,
    page: Option.getOrElse(c.page, () => (production ? "off" : "on")) === "on",
    fastPath: c.fastPath === "on",
    schedulerInterval: c.schedulerInterval,
    testClock: c.testClock === "on",
    shutdownTimeout: c.shutdownTimeout,
    trustedProxies: trustedProxies.right,
    docs: Option.getOrElse(c.docs, () => (production ? "off" : "on")) === "on",
    requestTimeout: c.requestTimeout,
    webhooks: yield* WebhookConfig.load(),
    heapGrowthPercent: c.heapGrowthPercent
  }
  return config
})

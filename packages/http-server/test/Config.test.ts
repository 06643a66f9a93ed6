import { describe, expect, it } from "@effect/vitest"
import { hashToken } from "@subshift/http-server/Config"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { configOf } from "./Harness.js"

const production = {
  NODE_ENV: "production",
  SUBSHIFT_COOKIE_SECRET: "a-production-cookie-secret-of-32-chars!",
  SUBSHIFT_JWT_SECRET: "a-production-jwt-secret-of-at-least-32-chars",
  SUBSHIFT_PARTNER_TOKENS: `telco:partner:${hashToken("real-token")}`,
  SUBSHIFT_RECAPTCHA_SECRET: "s"
}

const failure = (env: Record<string, string>) => configOf(env).then(() => "started", (e) => String(e))

describe("configuration", () => {
  it("development defaults start with the embedded store and the accept-all bot check", async () => {
    const config = await configOf()
    expect(config.store.kind).toBe("embedded")
    expect(config.botCheck.kind).toBe("accept-all")
    expect(config.bodyLimit).toBe(65536)
  })

  it("the scheduler runs every minute and the test clock is off unless configured", async () => {
    const defaults = await configOf()
    expect(Duration.toSeconds(defaults.schedulerInterval)).toBe(60)
    expect(defaults.testClock).toBe(false)
    const config = await configOf({ SUBSHIFT_SCHEDULER_INTERVAL: "5 seconds", SUBSHIFT_TEST_CLOCK: "on" })
    expect(Duration.toSeconds(config.schedulerInterval)).toBe(5)
    expect(config.testClock).toBe(true)
    expect(await failure({ SUBSHIFT_SCHEDULER_INTERVAL: "10 millis" })).toContain("SUBSHIFT_SCHEDULER_INTERVAL")
    expect(await failure({ SUBSHIFT_TEST_CLOCK: "yes" })).toContain("SUBSHIFT_TEST_CLOCK")
  })

  it("the client gives up on a silent database 5 s after the statement timeout unless SUBSHIFT_DB_QUERY_TIMEOUT says otherwise", async () => {
    const defaults = await configOf()
    expect(Duration.toMillis(defaults.store.statementTimeout)).toBe(30_000)
    expect(Duration.toMillis(defaults.store.queryTimeout)).toBe(35_000)
    const followed = await configOf({ SUBSHIFT_DB_STATEMENT_TIMEOUT: "2 seconds" })
    expect(Duration.toMillis(followed.store.queryTimeout)).toBe(7_000)
    const set = await configOf({ SUBSHIFT_DB_QUERY_TIMEOUT: "12 seconds" })
    expect(Duration.toMillis(set.store.queryTimeout)).toBe(12_000)
    expect(await failure({ SUBSHIFT_DB_QUERY_TIMEOUT: "0 millis" })).toContain("SUBSHIFT_DB_QUERY_TIMEOUT")
    expect(await failure({ SUBSHIFT_DB_QUERY_TIMEOUT: "soon" })).toContain("SUBSHIFT_DB_QUERY_TIMEOUT")
    expect(await failure({ SUBSHIFT_DB_STATEMENT_TIMEOUT: "0 millis" })).toContain("SUBSHIFT_DB_STATEMENT_TIMEOUT")
  })

  it("the webhook worker runs on every store, the embedded one included, unless SUBSHIFT_WEBHOOKS=off", async () => {
    expect((await configOf()).store.kind).toBe("embedded")
    expect((await configOf()).webhooks.worker).toBe(true)
    expect((await configOf({ SUBSHIFT_WEBHOOKS: "off" })).webhooks.worker).toBe(false)
    expect(await failure({ SUBSHIFT_WEBHOOKS: "sometimes" })).toContain("SUBSHIFT_WEBHOOKS")
    expect((await configOf({ SUBSHIFT_STORE: "memory" })).webhooks.worker).toBe(true)
    expect((await configOf({ DATABASE_URL: "postgres://db.example/subshift" })).webhooks.worker).toBe(true)
    expect((await configOf({ DATABASE_URL: "postgres://db.example/subshift", SUBSHIFT_WEBHOOKS: "off" })).webhooks.worker).toBe(false)
  })

  it("the fast path is on unless SUBSHIFT_FAST_PATH=off; another value stops the start naming the variable", async () => {
    expect((await configOf()).fastPath).toBe(true)
    expect((await configOf({ SUBSHIFT_FAST_PATH: "off" })).fastPath).toBe(false)
    expect(await failure({ SUBSHIFT_FAST_PATH: "no" })).toContain("SUBSHIFT_FAST_PATH")
  })

  it("DATABASE_URL selects Postgres", async () => {
    expect((await configOf({ DATABASE_URL: "postgres://localhost/x" })).store.kind).toBe("postgres")
  })

  it("DATABASE_READ_URL, DATABASE_DIRECT_URL and SUBSHIFT_DB_POOLER configure the Postgres store; the URLs need DATABASE_URL", async () => {
    const defaults = await configOf({ DATABASE_URL: "postgres://localhost/x" })
    expect(defaults.store.pooler).toBe("none")
    expect(Option.isNone(defaults.store.readUrl) && Option.isNone(defaults.store.directUrl)).toBe(true)
    const set = await configOf({
      DATABASE_URL: "postgres://bouncer:6432/x",
      DATABASE_READ_URL: "postgres://replica/x",
      DATABASE_DIRECT_URL: "postgres://primary/x",
      SUBSHIFT_DB_POOLER: "transaction"
    })
    expect(set.store.pooler).toBe("transaction")
    expect(Option.map(set.store.readUrl, Redacted.value)).toEqual(Option.some("postgres://replica/x"))
    expect(Option.map(set.store.directUrl, Redacted.value)).toEqual(Option.some("postgres://primary/x"))
    expect(await failure({ DATABASE_READ_URL: "postgres://replica/x" })).toContain("DATABASE_READ_URL")
    expect(await failure({ DATABASE_DIRECT_URL: "postgres://primary/x" })).toContain("DATABASE_DIRECT_URL")
    expect(await failure({ DATABASE_URL: "postgres://localhost/x", SUBSHIFT_DB_POOLER: "session" })).toContain("SUBSHIFT_DB_POOLER")
  })

  it("a bad value stops the start with a message naming the variable", async () => {
    expect(await failure({ PORT: "eighty" })).toContain("PORT")
    expect(await failure({ PORT: "70000" })).toContain("port number")
    expect(await failure({ SUBSHIFT_STORE: "sqlite" })).toContain("SUBSHIFT_STORE")
    expect(await failure({ SUBSHIFT_JWT_ALG: "none" })).toContain("SUBSHIFT_JWT_ALG")
    expect(await failure({ SUBSHIFT_JWT_ALG: "RS256" })).toContain("SUBSHIFT_JWT_PUBLIC_KEY")
    expect(await failure({ SUBSHIFT_PARTNER_TOKENS: "telco:partner:plaintext" })).toContain("SUBSHIFT_PARTNER_TOKENS")
    expect(await failure({ LOG_LEVEL: "loud" })).toContain("LOG_LEVEL")
    expect(await failure({ SUBSHIFT_BOT_CHECK: "recaptcha" })).toContain("SUBSHIFT_RECAPTCHA_SECRET")
  })

  it("NODE_ENV=production refuses every development secret", async () => {
    expect(await failure(production)).toBe("started")
    const { SUBSHIFT_COOKIE_SECRET: _c, ...noCookie } = production
    expect(await failure(noCookie)).toContain("SUBSHIFT_COOKIE_SECRET")
    const { SUBSHIFT_JWT_SECRET: _j, ...noJwt } = production
    expect(await failure(noJwt)).toContain("SUBSHIFT_JWT_SECRET")
    const { SUBSHIFT_PARTNER_TOKENS: _p, ...devTokens } = production
    expect(await failure(devTokens)).toContain("development partner token")
    const { SUBSHIFT_RECAPTCHA_SECRET: _r, ...noCaptcha } = production
    expect(await failure(noCaptcha)).toContain("SUBSHIFT_RECAPTCHA_SECRET")
  })

  it("NODE_ENV=production refuses the test clock, naming SUBSHIFT_TEST_CLOCK", async () => {
    const refused = await failure({ ...production, SUBSHIFT_TEST_CLOCK: "on" })
    expect(refused).toContain("SUBSHIFT_TEST_CLOCK")
    expect(refused).toContain("NODE_ENV=production refuses the test clock")
  })
})

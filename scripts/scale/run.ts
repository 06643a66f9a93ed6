/**
 * `npm run scale`: many Subshift servers on one database, on real infrastructure built on this
 * machine (see topology.ts): HAProxy → 3 server processes → PgBouncer (transaction pooling) →
 * PostgreSQL, with the partner reads on a streaming replica. It measures throughput with 1, 2
 * and 3 servers behind HAProxy, then runs a mixed load for `SCALE_SECONDS` (60) while one server
 * is killed with SIGKILL every quarter of it and restarted, and scheduled changes come due through
 * the servers' test clocks; then it checks the database against every answer.
 */
import * as Config from "@subshift/http-server/Config"
import * as Demo from "@subshift/http-server/Demo"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import * as Bouncer from "../../packages/store-postgres/test/Bouncer.js"
import * as Data from "./data.js"
import * as Hooks from "./hooks.js"
import * as Load from "./load.js"
import { type Kill, report } from "./report.js"
import * as T from "./topology.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const SECONDS = Number(process.env["SCALE_SECONDS"] ?? 60)
const PHASE_SECONDS = Number(process.env["SCALE_PHASE_SECONDS"] ?? 15)
const WORKERS = Number(process.env["SCALE_WORKERS"] ?? 16)
const SUBSCRIPTIONS = 300
const BILL_GROUPS = 60
const ADVANCE_DAYS = 31

const teardowns: T.Topology["teardowns"] = []
const teardown = async () => {
  for (const step of teardowns.splice(0).reverse()) {
    try {
      await step()
    } catch (error) {
      console.error(`teardown: ${(error as Error).message}`)
    }
  }
}
process.once("SIGINT", () => void teardown().then(() => process.exit(130)))

const main = async () => {
  T.ensurePackages()
  console.log("building the packages (npm run build) …")
  execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" })
  if (T.serverEntry.includes("bundle")) execFileSync("npm", ["run", "--silent", "bundle"], { cwd: root, stdio: "inherit" })
  console.log(`servers run ${T.serverEntry}`)
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "subshift-scale-"))
  teardowns.push(() => Fs.rmSync(dir, { recursive: true, force: true }))
  const database = `subshift_scale_${process.pid}`
  await T.createDatabase({ database, teardowns })
  const primaryUrl = T.withDatabase(T.PRIMARY, database)

  console.log("replica: pg_basebackup -R from the primary …")
  const replicaPort = await T.startReplica(dir, teardowns)
  const replicaUrl = T.withDatabase(`postgres://postgres@127.0.0.1:${replicaPort}/postgres`, database)
  const bouncer = await T.startBouncer(teardowns)
  const bouncerUrl = bouncer.through(primaryUrl)

  const servers: Array<T.ServerProcess> = []
  for (const name of ["s1", "s2", "s3"]) servers.push({ name, port: await Bouncer.freePort(), child: undefined, log: "" })
  teardowns.push(() => servers.forEach((s) => s.child?.kill("SIGKILL")))
  // The servers deliver webhooks to a receiver of the harness's own; a killed server's leases
  // expire after 10 s, so that what it held is delivered within the run.
  const operator = Hooks.operatorKey()
  let offsetSeconds = 0
  const receiver = await Hooks.startReceiver(() => offsetSeconds)
  teardowns.push(receiver.close)
  const env = {
    NODE_ENV: "development",
    SUBSHIFT_API_KEYS: operator.entry,
    SUBSHIFT_WEBHOOK_TIMEOUT: "5 seconds",
    SUBSHIFT_WEBHOOK_LEASE: "10 seconds",
    DATABASE_URL: bouncerUrl,
    DATABASE_READ_URL: replicaUrl,
    SUBSHIFT_DB_POOLER: "transaction",
    SUBSHIFT_TEST_CLOCK: "on",
    SUBSHIFT_SCHEDULER_INTERVAL: "5 seconds",
    SUBSHIFT_PAGE: "off",
    LOG_LEVEL: process.env["SCALE_LOG_LEVEL"] ?? "WARN"
  }
  // Moves a server's test clock; answers how many changes its scheduler then applied, or
  // undefined when it did not answer 200 (a server still starting answers 503).
  const advance = (server: T.ServerProcess, seconds: number) =>
    fetch(`http://127.0.0.1:${server.port}/api/test-clock/advance`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ seconds })
    }).then(async (r) => r.status === 200 ? ((await r.json()) as { scheduler: { applied: number } }).scheduler.applied : undefined)
  const offsetOf = (server: T.ServerProcess) =>
    fetch(`http://127.0.0.1:${server.port}/api/test-clock`).then(async (r) => ((await r.json()) as { offsetSeconds: number }).offsetSeconds)
  // A (re)started server's clock is brought to the others' offset; the clock moves skip it until then.
  const restarting = new Set<string>()
  const catchUp = async (server: T.ServerProcess) => {
    for (let behind = offsetSeconds - (await offsetOf(server)); behind > 0; behind = offsetSeconds - (await offsetOf(server))) {
      await advance(server, behind)
    }
  }
  const start = async (server: T.ServerProcess) => {
    await T.spawnServer(server, env, root)
    await catchUp(server)
  }
  console.log("servers: 3 at once through PgBouncer (the migrations race) …")
  await Promise.all(servers.map(start))
  await Data.seed(primaryUrl, { subscriptions: SUBSCRIPTIONS, billGroups: BILL_GROUPS })
  const haproxy = await T.startHaproxy(dir, servers, teardowns)
  const base = `http://127.0.0.1:${haproxy.port}`
  receiver.setSecret(await Hooks.register(base, operator.key, receiver.url))
  const outboxBefore = await Hooks.outboxPosition(primaryUrl)

  const config = await Effect.runPromise(Effect.withConfigProvider(Config.load, ConfigProvider.fromMap(new Map([["PORT", "0"]]))))
  const sign = (subject: string) => Effect.runPromise(Demo.sign(config.jwt, { subject, scopes: ["checkout"], ttlSeconds: 3 * 365 * 86_400 }))
  const tokens = { customerToken: await sign(Data.CUSTOMER), amendToken: await sign(Data.AMEND_ACCOUNT) }
  const load = (until: () => boolean, outcome: Load.Outcome) =>
    Load.run({ base, ...tokens, subscriptions: SUBSCRIPTIONS, billGroups: BILL_GROUPS, workers: WORKERS, until }, outcome)
  await T.sleep(1500)

  // Throughput with 1, 2 and 3 servers (the others put in maintenance in HAProxy), then with 1
  // again: on a shared machine the second 1-server figure shows how much the machine drifted.
  const throughput: Array<{ servers: number; perSecond: number; ordersPerSecond: number; failures: number }> = []
  for (const n of [1, 2, 3, 1]) {
    for (const [i, s] of servers.entries()) await haproxy.admin(`set server servers/${s.name} state ${i < n ? "ready" : "maint"}`)
    await T.sleep(1000)
    const outcome = Load.newOutcome()
    const ends = Date.now() + PHASE_SECONDS * 1000
    await load(() => Date.now() >= ends, outcome)
    const answered = outcome.answers.length
    throughput.push({
      servers: n,
      perSecond: answered / PHASE_SECONDS,
      ordersPerSecond: outcome.answers.filter((a) => a.op === "order" && a.status === 200).length / PHASE_SECONDS,
      failures: outcome.answers.filter((a) => a.status === 0 || a.status >= 500).length
    })
    console.log(`  ${n} server(s): ${(answered / PHASE_SECONDS).toFixed(0)} answers/s`)
  }

  for (const s of servers) await haproxy.admin(`set server servers/${s.name} state ready`)
  await T.sleep(3000)

  // The mixed load with kills and scheduled changes coming due.
  console.log(`mixed load for ${SECONDS} s, a SIGKILL every ${SECONDS / 4} s …`)
  const outcome = Load.newOutcome()
  const kills: Array<Kill> = []
  const advances: Array<{ at: number; tookMs: number; applied: number }> = []
  const lag: Array<number> = []
  const started = Date.now()
  const ends = started + SECONDS * 1000
  const primary = new pg.Client({ connectionString: primaryUrl })
  const replica = new pg.Client({ connectionString: replicaUrl })
  // Only the lag sampler uses them; a connection another process terminates costs one sample.
  for (const client of [primary, replica]) client.on("error", () => {})
  await Promise.all([primary.connect(), replica.connect()])
  // Kills and clock moves run on their own timelines: a slow clock move does not delay a kill.
  const quarter = (SECONDS * 1000) / 4
  const at = (ms: number) => T.sleep(Math.max(0, started + ms - Date.now()))
  const clockMoves = (async () => {
    for (let k = 0; k < 4; k++) {
      await at(quarter * k + quarter / 2)
      // Every live server moves to the same offset; a restarted one catches up when it starts.
      offsetSeconds += ADVANCE_DAYS * 86_400
      const sent = Date.now() - started
      const live = servers.filter((s) => !restarting.has(s.name))
      const runs = await Promise.all(live.map((s) => advance(s, ADVANCE_DAYS * 86_400).catch(() => undefined)))
      advances.push({ at: sent, tookMs: Date.now() - started - sent, applied: runs.reduce((a: number, r) => a + (r ?? 0), 0) })
    }
  })()
  // Each kill runs on its own: a slow restart does not hold back the next kill. The victim is
  // out of HAProxy until it is up again and its clock has caught up with the others'.
  const killing = Promise.all([1, 2, 3].map(async (k) => {
    await at(quarter * k)
    const victim = servers[(k - 1) % servers.length]!
    const killedAt = Date.now()
    await haproxy.admin(`set server servers/${victim.name} state maint`)
    restarting.add(victim.name)
    victim.child?.kill("SIGKILL")
    await new Promise((resolve) => victim.child?.once("exit", resolve))
    const exitMs = Date.now() - killedAt
    const start = await T.spawnServer(victim, env, root)
    const readyMs = Date.now() - killedAt
    const caughtUp = Date.now()
    await catchUp(victim).catch(() => undefined)
    restarting.delete(victim.name)
    const catchUpMs = Date.now() - caughtUp
    await haproxy.admin(`set server servers/${victim.name} state ready`)
    kills.push({ at: killedAt - started, server: victim.name, exitMs, start, readyMs, catchUpMs, backMs: Date.now() - killedAt })
  }))
  const events = Promise.all([clockMoves, killing])
  const sampler = (async () => {
    while (Date.now() < ends) {
      const sample = await Data.replicationLagMs(primary, replica).catch(() => undefined)
      if (sample === undefined) break
      lag.push(sample)
      await T.sleep(500)
    }
  })()
  await Promise.all([load(() => Date.now() >= ends, outcome), events, sampler])
  await Promise.all([primary.end().catch(() => {}), replica.end().catch(() => {})])
  const verdict = await Data.verify(primaryUrl, outcome.amendments)
  console.log("waiting for the webhook deliveries to finish (at most 90 s) …")
  const hooks = await Hooks.verify(primaryUrl, outboxBefore, receiver.receipts, 90_000)
  console.log(report({ seconds: SECONDS, workers: WORKERS, started, throughput, outcome, kills, advances, lag, verdict, hooks }))
  const clean = verdict.lostAmendments.length === 0 && verdict.basketsCommittedTwice === 0 &&
    verdict.scheduledChangesAppliedTwice === 0 && hooks.lost.length === 0 && hooks.invalid === 0 && hooks.outOfOrder === 0
  process.exitCode = clean ? 0 : 1
}

try {
  await main()
} catch (error) {
  console.error("npm run scale failed:", error)
  process.exitCode = 1
} finally {
  await teardown()
}

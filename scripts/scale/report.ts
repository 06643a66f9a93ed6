/** The report of `npm run scale`, as printed (Markdown). */
import type { Verdict } from "./data.js"
import * as Hooks from "./hooks.js"
import type { Answer, Outcome } from "./load.js"
import type { StartTimes } from "./topology.js"

/** One SIGKILL and restart, times from the kill (`start`'s from the spawn). */
export interface Kill {
  readonly at: number
  readonly server: string
  readonly exitMs: number
  readonly start: StartTimes
  readonly readyMs: number
  readonly catchUpMs: number
  readonly backMs: number
}

export interface Run {
  readonly seconds: number
  readonly workers: number
  readonly started: number
  readonly throughput: ReadonlyArray<{ servers: number; perSecond: number; ordersPerSecond: number; failures: number }>
  readonly outcome: Outcome
  readonly kills: ReadonlyArray<Kill>
  readonly advances: ReadonlyArray<{ at: number; tookMs: number; applied: number }>
  readonly lag: ReadonlyArray<number>
  readonly verdict: Verdict
  readonly hooks: Hooks.Verdict
}

const quantile = (xs: ReadonlyArray<number>, q: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
}

const count = (keys: ReadonlyArray<string>) => {
  const counts = new Map<string, number>()
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1)
  return [...counts].sort((a, b) => b[1] - a[1])
}
const tally = (answers: ReadonlyArray<Answer>, key: (a: Answer) => string) => count(answers.map(key))

/** Why an answer that is neither 2xx nor 4xx came, judged by when it came and what it was. */
const classify = (run: Run, answer: Answer): string => {
  const t = answer.at - run.started
  // From the kill until the server is back and HAProxy's checks have seen it go and come.
  const atKill = run.kills.some((k) => t >= k.at - 50 && t <= k.at + k.backMs + 2000)
  const what = answer.status === 0
    ? `connection failed (${answer.kind.replace("network:", "")})`
    : answer.kind === "haproxy"
    ? `HAProxy ${answer.status} (no server answered)`
    : `Subshift ${answer.status} ${answer.kind}`
  return `${what}${atKill ? ", at a kill" : ", NOT at a kill"}`
}

export const report = (run: Run): string => {
  const { outcome, verdict } = run
  const answers = outcome.answers
  const other = answers.filter((a) => a.status === 0 || a.status >= 500)
  const ok = answers.filter((a) => a.status >= 200 && a.status < 300).length
  const client = answers.filter((a) => a.status >= 400 && a.status < 500)
  const s = (x: number) => `${(x / 1000).toFixed(1)} s`
  const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : "not caught up")
  return [
    "## Throughput behind HAProxy (same mixed load, no kills)",
    "",
    "| servers | answers/s | orders committed/s | 5xx or failed |",
    "|---|---|---|---|",
    ...run.throughput.map((t) => `| ${t.servers} | ${t.perSecond.toFixed(0)} | ${t.ordersPerSecond.toFixed(1)} | ${t.failures} |`),
    "",
    `## ${run.seconds} s of mixed load, ${run.workers} concurrent clients, a SIGKILL every ${run.seconds / 4} s`,
    "",
    `answers: ${answers.length} (${(answers.length / run.seconds).toFixed(0)}/s): 2xx ${ok}, 4xx ${client.length}, other ${other.length}`,
    "kills (times from the kill; a restart's parts from its spawn: first answer of any kind, the banner once the store and app are built, /ready 200):",
    ...run.kills.map((k) =>
      `- ${k.server} at ${(k.at / 1000).toFixed(1)} s: exited after ${s(k.exitMs)}; restarted: answering after ${s(k.start.answeringMs)}, ` +
      `built after ${s(k.start.builtMs)}, ready after ${s(k.start.readyMs)}; /ready 200 ${s(k.readyMs)} after the kill; ` +
      `its test clock caught up in ${s(k.catchUpMs)}; back in HAProxy ${s(k.backMs)} after the kill`
    ),
    `test clock: +31 days at ${run.advances.map((a) => `${(a.at / 1000).toFixed(1)} s (answered in ${(a.tookMs / 1000).toFixed(1)} s, ${a.applied} changes applied by those calls)`).join(", ")}`,
    "",
    "committed orders and amends:",
    `- answered 200: ${verdict.answeredAmendments}; missing from the database: ${verdict.lostAmendments.length}` +
    (verdict.lostAmendments.length > 0 ? ` (${verdict.lostAmendments.slice(0, 5).join(", ")})` : ""),
    `- baskets committed twice (an order applied twice): ${verdict.basketsCommittedTwice}`,
    `- amendments stored in all: ${verdict.storedAmendments}`,
    `- answers lost at a kill and sent again with their Idempotency-Key: ${outcome.retries.length}` +
    (outcome.retries.length > 0 ? ` (${count(outcome.retries).map(([k, n]) => `${k} ×${n}`).join(", ")})` : ""),
    `scheduled changes applied: ${verdict.scheduledChangesApplied}; applied twice: ${verdict.scheduledChangesAppliedTwice}`,
    `webhook events (${Hooks.EVENT_TYPES.join(", ")}) written during the run: ${run.hooks.expected}; ` +
    `lost: ${run.hooks.lost.length}${run.hooks.lost.length > 0 ? ` (${run.hooks.lost.slice(0, 5).join(", ")})` : ""}; ` +
    `delivered more than once: ${run.hooks.duplicates} (each with its event's webhook-id); ` +
    `signatures refused: ${run.hooks.invalid}; first receipts out of order for their subscription: ${run.hooks.outOfOrder}`,
    "",
    "answers neither 2xx nor 4xx, classified:",
    ...(other.length === 0 ? ["- none"] : tally(other, (a) => classify(run, a)).map(([k, n]) => `- ${k}: ${n}`)),
    "",
    "4xx answers (expected under this load: locks, conflicts, refused changes):",
    ...tally(client, (a) => `${a.op} ${a.status} ${a.kind}`).slice(0, 12).map(([k, n]) => `- ${k}: ${n}`),
    "",
    `replica replay lag (primary's WAL position until replayed, ${run.lag.length} samples): ` +
    `median ${ms(quantile(run.lag, 0.5))}, p99 ${ms(quantile(run.lag, 0.99))}, max ${ms(Math.max(...run.lag))}`
  ].join("\n")
}

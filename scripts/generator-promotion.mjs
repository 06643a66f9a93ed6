// Shows how much a loop promotes out of V8's young generation when each step runs a generator
// over a 200-line group: one whose function closes over the group, against one that takes it as
// an argument, without Effect and with it (docs/MEMORY.md). Run from the repository root:
//   node scripts/generator-promotion.mjs
// Each case runs in a child process with --trace-gc-nvp; the figure is the sum of its `promoted=`.
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const cases = ["closing", "argument", "effect-gen-closing", "effect-fn-argument"]

if (process.argv[2] === undefined) {
  for (const name of cases) {
    const out = execFileSync(process.execPath, ["--trace-gc-nvp", fileURLToPath(import.meta.url), name], { encoding: "utf8" })
    const promoted = [...out.matchAll(/ promoted=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
    console.log(`${name.padEnd(20)} ${(promoted / 1048576).toFixed(0).padStart(4)} MB promoted`)
  }
} else {
  const Effect = await import("effect/Effect")
  const line = JSON.stringify({ id: "sub-0000000", name: "S0000000", offer: { offerId: "basic", quantity: 1, unitPrice: { amount: 999, currency: "USD" } }, addOns: [{ offerId: "crossword", quantity: 1 }], currentPeriod: { start: "2026-11-01", end: "2026-12-01" } })
  const work = (group) => group.map((text) => JSON.parse(text)).map((value) => ({ value }))
  const byArgument = Effect.fnUntraced(function*(group) { work(group) })
  const step = {
    "closing": (group) => (function*() { work(group) })().next(),
    "argument": (group) => (function*(g) { work(g) })(group).next(),
    "effect-gen-closing": (group) => Effect.runSync(Effect.gen(function*() { work(group) })),
    "effect-fn-argument": (group) => Effect.runSync(byArgument(group))
  }[process.argv[2]]
  for (let i = 0; i < 500; i++) step(Array.from({ length: 200 }, () => `${line} `))
}

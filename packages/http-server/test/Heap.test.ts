/**
 * The server fixes how far V8 lets the heap's old generation grow past what a full collection
 * kept (`SUBSHIFT_HEAP_GROWTH_PERCENT`, 50 unless set; 0 leaves it to V8), and keeps the flag when
 * Node was started with it. What V8 applies is read from its own trace of the limit it sets after
 * a full collection, in a Node process of its own.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { configOf } from "./Harness.js"

const root = fileURLToPath(new URL("../../..", import.meta.url))

// Runs a process that applies `percent` with `flags` given to Node, collects once, and answers the
// factor of the last old-generation limit V8 traced.
const factorAfter = (percent: number, flags: ReadonlyArray<string> = []) =>
  new Promise<string>((resolve, reject) => {
    const script = `import("./packages/http-server/src/Heap.ts").then((heap) => {
      console.log("applied " + heap.applyGrowth(${percent}))
      const kept = Array.from({ length: 100000 }, (_, i) => ({ i, text: "x" + i }))
      globalThis.gc()
      console.log("kept " + kept.length)
    })`
    execFile(process.execPath, ["--conditions=@subshift/source", "--import", "tsx", "--expose-gc", "--trace-gc-verbose", ...flags, "-e", script], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024
    }, (error, stdout) => {
      if (error !== null) return reject(error)
      const after = stdout.slice(stdout.indexOf("applied "))
      const limits = [...after.matchAll(/\[HeapController\] Limit: .*\((\d+\.\d)\)/g)].map((m) => m[1])
      resolve(`${/applied (\S+)/.exec(after)?.[1]} ${limits.at(-1)}`)
    })
  })

describe("the heap's growth", () => {
  it("is 50% unless SUBSHIFT_HEAP_GROWTH_PERCENT says otherwise, from 0 to 300", async () => {
    expect((await configOf()).heapGrowthPercent).toBe(50)
    expect((await configOf({ SUBSHIFT_HEAP_GROWTH_PERCENT: "0" })).heapGrowthPercent).toBe(0)
    expect((await configOf({ SUBSHIFT_HEAP_GROWTH_PERCENT: "120" })).heapGrowthPercent).toBe(120)
    for (const bad of ["301", "-1", "half"]) {
      const failure = await configOf({ SUBSHIFT_HEAP_GROWTH_PERCENT: bad }).then(() => "started", (e) => String(e))
      expect(failure).toContain("SUBSHIFT_HEAP_GROWTH_PERCENT")
    }
  })

  it("V8 grows the old generation by the configured factor after a full collection", async () => {
    expect(await factorAfter(50)).toBe("set 1.5")
    expect(await factorAfter(120)).toBe("set 2.2")
  }, 60_000)

  it("0 leaves the factor to V8, and a factor given to Node is kept", async () => {
    const [applied, factor] = (await factorAfter(0)).split(" ")
    expect(applied).toBe("left-to-v8")
    expect(factor).not.toBe("1.5")
    expect(await factorAfter(50, ["--heap-growing-percent=80"])).toBe("given-to-node 1.8")
  }, 60_000)
})

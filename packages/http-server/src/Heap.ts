/**
 * How much garbage the server's heap may hold. After each full collection, V8 lets the old
 * generation grow by a factor of what survived before it collects again. On a machine with much
 * memory it picks a factor of up to 4 when collecting is cheap, as it is for this server, whose
 * live heap is small and whose garbage is mostly short-lived: long work such as a 100,000-line
 * import then leaves the resident memory 150 MB above its start, nearly all of it garbage. The
 * server fixes the factor at 1 + `SUBSHIFT_HEAP_GROWTH_PERCENT` / 100 (1.5 by default, the
 * factor V8 itself uses for a heap of a few hundred megabytes): full collections come more often,
 * each as cheap, and nothing caps the heap. See docs/MEMORY.md.
 */
import * as v8 from "node:v8"

/** The growth the server sets unless configured. */
export const DEFAULT_GROWTH_PERCENT = 50

const FLAG = "--heap-growing-percent"

/** What `applyGrowth` did. */
export type Applied = "set" | "given-to-node" | "left-to-v8"

/**
 * Sets the heap's growth factor for the rest of the process: unless `percent` is 0 (V8's own
 * choice), or Node was started with the flag itself, which is then kept.
 */
export const applyGrowth = (percent: number, execArgv: ReadonlyArray<string> = process.execArgv): Applied => {
  if (execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`) || arg.startsWith("--heap_growing_percent"))) return "given-to-node"
  if (percent === 0) return "left-to-v8"
  v8.setFlagsFromString(`${FLAG}=${percent}`)
  return "set"
}

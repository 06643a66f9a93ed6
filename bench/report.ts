/** Helpers shared by the benchmark sections: summaries of repeated runs, tables and the chart. */

/** The median of some numbers. */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** A figure measured several times: its median, minimum and maximum. */
export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
  readonly runs: number
}

/** The spread of some runs of one figure. */
export const spread = (values: ReadonlyArray<number>): Spread => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values),
  runs: values.length
})

/** A number rounded to `digits` decimals, with thousands separators. */
export const num = (value: number, digits = 0): string =>
  value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })

/** "median (min – max)" of a spread. */
export const cell = (s: Spread, digits = 0): string => `${num(s.median, digits)} (${num(s.min, digits)} – ${num(s.max, digits)})`

/** A ratio with two decimals. */
export const ratio = (a: number, b: number): string => (a / b).toFixed(2)

/** "met" or "**missed**". */
export const verdict = (ok: boolean): string => (ok ? "met" : "**missed**")

/** A markdown table. */
export const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n")

/** What a section answers: its markdown and, when it has some, the series it adds to the chart. */
export interface Section {
  readonly markdown: string
  readonly chart?: Panel | undefined
}

/** One line of a chart panel: a value per x. */
export interface Series {
  readonly name: string
  readonly values: ReadonlyArray<number>
  readonly dashed?: boolean
  /** Which of the palette's colours; by position unless set (a baseline shares its figure's colour). */
  readonly color?: number
}

/** One panel of the chart: lines over a logarithmic x axis. */
export interface Panel {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly xs: ReadonlyArray<number>
  readonly series: ReadonlyArray<Series>
}

const COLORS = ["#1f5fa8", "#c2410c", "#15803d", "#7c3aed", "#be123c", "#0e7490"]
const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ) at or above `value`. */
const niceCeiling = (value: number): number => {
  const power = 10 ** Math.floor(Math.log10(value))
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * power).find((v) => v >= value) ?? 10 * power
}

const short = (value: number): string =>
  value >= 1_000_000 ? `${num(value / 1_000_000, value % 1_000_000 === 0 ? 0 : 1)}M` :
  value >= 1_000 ? `${num(value / 1_000, value % 1_000 === 0 ? 0 : 1)}k` :
  num(value)

const WIDTH = 460
const HEIGHT = 370
const MARGIN = { top: 40, right: 20, bottom: 140, left: 64 }

/** One panel as an SVG group, `x` pixels from the left. */
const panel = (p: Panel, x: number): string => {
  const plotW = WIDTH - MARGIN.left - MARGIN.right
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom
  const top = niceCeiling(Math.max(...p.series.flatMap((s) => s.values)) * 1.05)
  const logs = p.xs.map(Math.log10)
  const [lo, hi] = [Math.min(...logs), Math.max(...logs)]
  const px = (value: number) => MARGIN.left + (hi === lo ? plotW / 2 : ((Math.log10(value) - lo) / (hi - lo)) * plotW)
  const py = (value: number) => MARGIN.top + plotH - (value / top) * plotH
  const ticks = Array.from({ length: 6 }, (_, i) => (top * i) / 5)
  const parts: Array<string> = [
    `<g transform="translate(${x},0)">`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-weight="bold">${escape(p.title)}</text>`,
    ...ticks.map((t) =>
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py(t)}" y2="${py(t)}" stroke="#e5e7eb"/>` +
      `<text x="${MARGIN.left - 6}" y="${py(t) + 4}" text-anchor="end">${short(t)}</text>`
    ),
    ...p.xs.map((v) =>
      `<line x1="${px(v)}" x2="${px(v)}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="#374151"/>` +
      `<text x="${px(v)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${num(v)}</text>`
    ),
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}" stroke="#374151"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 36}" text-anchor="middle">${escape(p.xLabel)}</text>`,
    `<text transform="translate(14,${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(p.yLabel)}</text>`
  ]
  p.series.forEach((s, i) => {
    const color = COLORS[(s.color ?? i) % COLORS.length]!
    const points = s.values.map((v, j) => `${px(p.xs[j]!).toFixed(1)},${py(v).toFixed(1)}`).join(" ")
    const dash = s.dashed === true ? ` stroke-dasharray="6 4"` : ""
    parts.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`)
    parts.push(...s.values.map((v, j) => `<circle cx="${px(p.xs[j]!).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3" fill="${color}"/>`))
    const ly = MARGIN.top + plotH + 54 + i * 16
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${MARGIN.left + 30}" y="${ly}">${escape(s.name)}</text>`
    )
  })
  parts.push("</g>")
  return parts.join("\n")
}

/** The panels side by side as one SVG document. */
export const chart = (panels: ReadonlyArray<Panel>): string => {
  const width = WIDTH * panels.length
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${HEIGHT}" viewBox="0 0 ${width} ${HEIGHT}" font-family="sans-serif" font-size="12" fill="#111827">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...panels.map((p, i) => panel(p, i * WIDTH)),
    "</svg>",
    ""
  ].join("\n")
}

/**
 * Small statistics and formatting helpers for the benchmarks: medians, nearest-rank
 * percentiles, and aligned text tables.
 */

/** Arithmetic mean; NaN for an empty list. */
export const mean = (xs: ReadonlyArray<number>): number =>
  xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length

/** Median (the mean of the middle two for an even count); NaN for an empty list. */
export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/**
 * Nearest-rank percentile: the smallest value with at least `p`% of the values at or below it.
 * With fewer than 100 values, p99 is the maximum.
 */
export const percentile = (xs: ReadonlyArray<number> | Float64Array, p: number): number => {
  if (xs.length === 0) return Number.NaN
  const s = Float64Array.from(xs).sort()
  const rank = Math.max(1, Math.ceil((p / 100) * s.length))
  return s[rank - 1]!
}

/** Rounds to `digits` decimals, for JSON output. */
export const round = (x: number, digits = 2): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** Formats a number with thousands separators and `digits` decimals. */
export const fmt = (x: number, digits = 0): string =>
  Number.isFinite(x)
    ? x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "n/a"

/** An aligned text table: text columns left-aligned, numeric-looking ones right-aligned. */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+~]?[\d,.]+[x%]?$|^n\/a$/.test(r[i] ?? "")))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

/** Prints a section header. */
export const header = (title: string): void => {
  console.log(`\n=== ${title} ${"=".repeat(Math.max(0, 76 - title.length))}`)
}

/**
 * Fault schedules, drawn from a seed: crashes and restarts, partitions, dropped and delayed
 * messages, and churn (joins and graceful leaves). A schedule keeps at most `replicas - 1`
 * nodes crashed or cut off at once, so no range loses every copy, unless told otherwise.
 */

/** The kinds of fault a schedule may hold. */
export type Kind = "crash" | "partition" | "drop" | "delay" | "churn"

export const KINDS: ReadonlyArray<Kind> = ["crash", "partition", "drop", "delay", "churn"]

/** One fault: from `at` to `until` (ms of simulated time from the start of the run). */
export type Event =
  | { readonly kind: "crash"; readonly at: number; readonly until: number; readonly node: number; readonly keepsStore: boolean }
  | { readonly kind: "partition"; readonly at: number; readonly until: number; readonly side: ReadonlyArray<number> }
  | { readonly kind: "drop"; readonly at: number; readonly until: number; readonly chance: number }
  | { readonly kind: "delay"; readonly at: number; readonly until: number; readonly maxMs: number }
  | { readonly kind: "join"; readonly at: number; readonly node: number }
  | { readonly kind: "leave"; readonly at: number; readonly node: number }

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same numbers everywhere. */
export const prng = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Options of a schedule. */
export interface Options {
  readonly nodes: number
  readonly kinds: ReadonlyArray<Kind>
  /** Length of the faulty part of the run, in ms. */
  readonly span: number
  /** Most nodes crashed or cut off at once. */
  readonly maxDown: number
}

/** A fault schedule for `seed`, in time order. Nodes beyond `nodes` are joiners added by churn. */
export const draw = (seed: number, options: Options): ReadonlyArray<Event> => {
  const random = prng(seed)
  const int = (n: number) => Math.floor(random() * n)
  const events: Array<Event> = []
  // Intervals during which nodes are crashed or cut off, to keep at most maxDown at once.
  const busy: Array<{ at: number; until: number; nodes: ReadonlyArray<number> }> = []
  const downAt = (at: number, until: number) =>
    busy.filter((b) => b.at < until && at < b.until).flatMap((b) => b.nodes)
  const leaving = new Set<number>()
  let joiners = 0
  const count = Math.max(1, Math.round(options.span / 4000))
  for (let i = 0; i < count && options.kinds.length > 0; i++) {
    const kind = options.kinds[int(options.kinds.length)]!
    const at = int(options.span)
    const until = at + 2000 + int(8000)
    switch (kind) {
      case "crash": {
        const node = int(options.nodes)
        const taken = downAt(at, until)
        if (taken.length >= options.maxDown || taken.includes(node) || leaving.has(node)) break
        busy.push({ at, until, nodes: [node] })
        events.push({ kind, at, until, node, keepsStore: random() < 0.5 })
        break
      }
      case "partition": {
        const taken = downAt(at, until)
        const room = options.maxDown - taken.length
        if (room <= 0) break
        const size = 1 + int(room)
        const side: Array<number> = []
        for (let k = 0; k < 20 && side.length < size; k++) {
          const n = int(options.nodes)
          if (!side.includes(n) && !taken.includes(n) && !leaving.has(n)) side.push(n)
        }
        if (side.length === 0) break
        busy.push({ at, until, nodes: side })
        events.push({ kind, at, until, side })
        break
      }
      case "drop":
        events.push({ kind, at, until, chance: 0.02 + random() * 0.08 })
        break
      case "delay":
        events.push({ kind, at, until, maxMs: 20 + int(280) })
        break
      case "churn": {
        if (random() < 0.5) {
          events.push({ kind: "join", at, node: options.nodes + joiners++ })
        } else {
          const node = int(options.nodes)
          const ahead = downAt(at, Number.POSITIVE_INFINITY)
          if (node === 0 || leaving.has(node) || ahead.includes(node) || ahead.length >= options.maxDown) break
          leaving.add(node)
          // A node that leaves counts as down from then on, for the limit.
          busy.push({ at, until: Number.POSITIVE_INFINITY, nodes: [node] })
          events.push({ kind: "leave", at, node })
        }
        break
      }
    }
  }
  return events.sort((a, b) => a.at - b.at)
}

/** One line per event, for a trace. */
export const describe = (e: Event, name: (n: number) => string): string => {
  const t = (ms: number) => `${(ms / 1000).toFixed(1)}s`
  switch (e.kind) {
    case "crash":
      return `${t(e.at)} crash ${name(e.node)} until ${t(e.until)} (${e.keepsStore ? "keeps" : "loses"} its store)`
    case "partition":
      return `${t(e.at)} partition {${e.side.map(name).join(",")}} until ${t(e.until)}`
    case "drop":
      return `${t(e.at)} drop ${(e.chance * 100).toFixed(0)}% of messages until ${t(e.until)}`
    case "delay":
      return `${t(e.at)} delay messages up to ${e.maxMs} ms until ${t(e.until)}`
    case "join":
      return `${t(e.at)} ${name(e.node)} joins`
    case "leave":
      return `${t(e.at)} ${name(e.node)} leaves`
  }
}

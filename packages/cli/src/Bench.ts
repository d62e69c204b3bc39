/**
 * `dht-client bench`, in the spirit of `redis-benchmark`: `ops` requests of Get and Set in a
 * given ratio, `concurrency` of them in flight, against the cluster the client points at.
 * Gets read keys that a fill phase wrote first (not timed), so they find their values. It
 * reports throughput and latency percentiles per operation, with a progress bar on a TTY.
 */
import type { DhtClient } from "@crustyring/client"
import { Console, Effect, Ref } from "effect"

export interface Options {
  readonly ops: number
  readonly concurrency: number
  readonly valueSize: number
  /** Gets per Set: `get:set` weights. */
  readonly ratio: { readonly get: number; readonly set: number }
  /** Distinct keys used. */
  readonly keys: number
}

/** One operation's results. */
export interface OpStats {
  readonly count: number
  readonly failed: number
  readonly opsPerSecond: number
  /** Latencies in milliseconds. */
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly max: number
}

export interface Result {
  readonly ops: number
  readonly concurrency: number
  readonly valueSize: number
  readonly seconds: number
  readonly opsPerSecond: number
  readonly get: OpStats
  readonly set: OpStats
  readonly all: OpStats
}

/** Parses `get:set`, e.g. `1:1` or `9:1`. */
export const parseRatio = (text: string): Options["ratio"] | undefined => {
  const m = /^(\d+):(\d+)$/.exec(text.trim())
  if (!m) return undefined
  const get = Number(m[1])
  const set = Number(m[2])
  return get + set > 0 ? { get, set } : undefined
}

const percentile = (sorted: Float64Array, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!

const stats = (latencies: Array<number>, failed: number, seconds: number): OpStats => {
  const sorted = Float64Array.from(latencies).sort()
  const round = (n: number) => Math.round(n * 1000) / 1000
  return {
    count: latencies.length,
    failed,
    opsPerSecond: Math.round(latencies.length / seconds),
    p50: round(percentile(sorted, 0.5)),
    p99: round(percentile(sorted, 0.99)),
    p999: round(percentile(sorted, 0.999)),
    max: round(sorted.length === 0 ? 0 : sorted[sorted.length - 1]!)
  }
}

const bar = (done: number, total: number) => {
  const width = 30
  const filled = Math.round((width * done) / total)
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total}`
}

/** Runs the benchmark; progress goes to stderr when it is a terminal. */
export const run = (client: DhtClient.Service, options: Options): Effect.Effect<Result> =>
  Effect.gen(function*() {
    const value = new Uint8Array(options.valueSize).fill(120)
    const key = (i: number) => `bench:${i % options.keys}`
    // Fill the keys the Gets read, untimed.
    if (options.ratio.get > 0) {
      yield* Effect.forEach(
        Array.from({ length: Math.min(options.keys, options.ops) }, (_, i) => i),
        (i) => Effect.ignore(client.set(key(i), value)),
        { concurrency: options.concurrency, discard: true }
      )
    }
    const latencies = { get: [] as Array<number>, set: [] as Array<number> }
    const failed = { get: 0, set: 0 }
    const next = yield* Ref.make(0)
    const tty = process.stderr.isTTY === true
    const period = options.ratio.get + options.ratio.set
    const started = performance.now()
    const progress = tty
      ? setInterval(() => process.stderr.write(`\r${bar(latencies.get.length + latencies.set.length, options.ops)}`), 200)
      : undefined
    const worker = Effect.gen(function*() {
      for (;;) {
        const i = yield* Ref.getAndUpdate(next, (n) => n + 1)
        if (i >= options.ops) return
        const op = i % period < options.ratio.get ? "get" : "set"
        const t0 = performance.now()
        const outcome = yield* Effect.result(op === "get" ? Effect.asVoid(client.get(key(i))) : Effect.asVoid(client.set(key(i), value)))
        // A Get of a key the fill could not write is a miss, not a failure.
        if (outcome._tag === "Failure" && outcome.failure._tag !== "KeyNotFound") failed[op]++
        else latencies[op].push(performance.now() - t0)
      }
    })
    yield* Effect.all(Array.from({ length: options.concurrency }, () => worker), { concurrency: "unbounded" }).pipe(
      Effect.ensuring(Effect.sync(() => {
        if (progress) clearInterval(progress)
        if (tty) process.stderr.write(`\r${bar(options.ops, options.ops)}\n`)
      }))
    )
    const seconds = (performance.now() - started) / 1000
    return {
      ops: options.ops,
      concurrency: options.concurrency,
      valueSize: options.valueSize,
      seconds: Math.round(seconds * 1000) / 1000,
      opsPerSecond: Math.round((latencies.get.length + latencies.set.length) / seconds),
      get: stats(latencies.get, failed.get, seconds),
      set: stats(latencies.set, failed.set, seconds),
      all: stats([...latencies.get, ...latencies.set], failed.get + failed.set, seconds)
    }
  })

/** The result as a table. */
export const format = (r: Result): string => {
  const rows = [
    ["op", "requests", "failed", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms"],
    ...(["get", "set", "all"] as const).filter((op) => r[op].count + r[op].failed > 0).map((op) => {
      const s = r[op]
      return [op, String(s.count), String(s.failed), String(s.opsPerSecond), s.p50.toFixed(2), s.p99.toFixed(2), s.p999.toFixed(2), s.max.toFixed(2)]
    })
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  return [
    `${r.ops} requests, ${r.concurrency} in flight, ${r.valueSize}-byte values: ${r.opsPerSecond} ops/s in ${r.seconds} s`,
    ...rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "))
  ].join("\n")
}

/** Prints a result: the table, or one line of JSON. */
export const print = (r: Result, json: boolean) => Console.log(json ? JSON.stringify(r) : format(r))

/**
 * Runs many seeds of the simulator, shrinks the schedule of each failing seed to the events it
 * needs to fail, and sums the outcomes up. Each seed runs under a fresh `SimClock`. Seeds are
 * independent, so `runJobs` shares them out over child processes, one per core: each child is
 * the simulator itself (`main.ts --plan ... --outcomes`), printing one JSON line per seed.
 */
import { Effect, Stream } from "effect"
import { ChildProcess, type ChildProcessSpawner } from "effect/process"
import * as Faults from "./Faults.ts"
import * as SimClock from "./SimClock.ts"
import * as Simulation from "./Simulation.ts"

/** One failing seed: its failures and the shortest schedule found that still fails. */
export interface Failed {
  readonly seed: number
  readonly nodes: number
  readonly failures: ReadonlyArray<string>
  readonly trace: ReadonlyArray<string>
}

/** What one seed gave: its outcome, and its shrunk failure if it failed. */
export interface Result {
  readonly outcome: Simulation.Outcome
  readonly failed?: Failed
}

/** What a batch of seeds found. */
export interface Summary {
  readonly seedsRun: number
  readonly seedsFailed: number
  readonly failed: ReadonlyArray<Failed>
  readonly lostWrites: number
  readonly resurrectedDeletes: number
  readonly meanHops: number
  readonly maxHops: number
  readonly settleSeconds: { readonly mean: number; readonly max: number }
  readonly bytesPerNode: number
  readonly wallMs: number
}

/** The options every seed of a batch shares. */
export type Shared = Omit<Simulation.Options, "seed" | "nodes">

/** One seed under a fresh simulated clock. */
export const once = (options: Simulation.Options): Effect.Effect<Simulation.Outcome> =>
  Simulation.run(options).pipe(Effect.provide(SimClock.layer))

/** Drops events one at a time while the run still fails, up to `budget` reruns. */
const shrink = (options: Simulation.Options, events: ReadonlyArray<Faults.Event>, budget: number) =>
  Effect.gen(function*() {
    let kept = [...events]
    let tries = 0
    for (let i = kept.length - 1; i >= 0 && tries < budget; i--) {
      const without = kept.filter((_, k) => k !== i)
      tries++
      const outcome = yield* once({ ...options, events: without })
      if (outcome.failures.length > 0) kept = without
    }
    return kept
  })

/** Runs one seed, and shrinks its schedule if it fails. */
export const seed = (options: Simulation.Options, shrinkBudget = 8): Effect.Effect<Result> =>
  Effect.gen(function*() {
    const outcome = yield* once(options)
    if (outcome.failures.length === 0) return { outcome }
    const events = shrinkBudget > 0 ? yield* shrink(options, outcome.events, shrinkBudget) : outcome.events
    return {
      outcome,
      failed: {
        seed: options.seed,
        nodes: options.nodes,
        failures: outcome.failures,
        trace: events.map((e) => Faults.describe(e, (n) => `n${n}`))
      }
    }
  })

/** Sums up the results of a batch that took `wallMs`. */
export const summarize = (results: ReadonlyArray<Result>, wallMs: number): Summary => {
  const outcomes = results.map((r) => r.outcome)
  const failed = results.flatMap((r) => r.failed ? [r.failed] : [])
  const settles = outcomes.filter((o) => o.settleMs >= 0).map((o) => o.settleMs / 1000)
  const hops = outcomes.map((o) => o.meanHops)
  return {
    seedsRun: outcomes.length,
    seedsFailed: failed.length,
    failed,
    lostWrites: outcomes.reduce((n, o) => n + o.lostWrites, 0),
    resurrectedDeletes: outcomes.reduce((n, o) => n + o.resurrected, 0),
    meanHops: hops.reduce((a, b) => a + b, 0) / Math.max(1, hops.length),
    maxHops: Math.max(0, ...outcomes.map((o) => o.maxHops)),
    settleSeconds: {
      mean: settles.reduce((a, b) => a + b, 0) / Math.max(1, settles.length),
      max: Math.max(0, ...settles)
    },
    bytesPerNode: Math.round(outcomes.reduce((n, o) => n + o.bytesPerNode, 0) / Math.max(1, outcomes.length)),
    wallMs
  }
}

/** Runs `seeds` one after another (each with `nodesOf(seed)` nodes), calling `onFailed` for each failing seed. */
export const runAll = (
  seeds: ReadonlyArray<number>,
  options: Shared,
  nodesOf: (seed: number) => number,
  onFailed: (f: Failed) => Effect.Effect<void> = () => Effect.void,
  shrinkBudget = 8
): Effect.Effect<Summary> =>
  Effect.gen(function*() {
    const started = performance.now()
    const results: Array<Result> = []
    for (const s of seeds) {
      const result = yield* seed({ ...options, seed: s, nodes: nodesOf(s) }, shrinkBudget)
      results.push(result)
      if (result.failed) yield* onFailed(result.failed)
    }
    return summarize(results, Math.round(performance.now() - started))
  })

/** The simulator's entry point, which a job runs: the source in the repo, the build when installed. */
const MAIN = new URL(import.meta.url.endsWith(".ts") ? "./main.ts" : "./main.js", import.meta.url).pathname

/** The command-line flags that give a child the shared options. */
const flagsOf = (options: Shared, shrinkBudget: number): ReadonlyArray<string> => [
  "--faults",
  options.kinds.length === 0 ? "none" : options.kinds.join(","),
  "--vnodes",
  String(options.vnodes ?? 1),
  "--minutes",
  String(options.minutes ?? 1),
  "--shrink",
  String(shrinkBudget),
  ...(options.moreDown ? ["--more-down"] : [])
]

/**
 * Runs `seeds` in `jobs` child processes at once, as `runAll` does in one. Seeds are dealt out
 * in turn, so each child gets a like share of small and large rings. A child that dies fails
 * the batch with its exit code.
 */
export const runJobs = (
  seeds: ReadonlyArray<number>,
  options: Shared,
  nodesOf: (seed: number) => number,
  jobs: number,
  onFailed: (f: Failed) => Effect.Effect<void> = () => Effect.void,
  shrinkBudget = 8
): Effect.Effect<Summary, Error, ChildProcessSpawner.ChildProcessSpawner> =>
  Effect.gen(function*() {
    if (options.events !== undefined) return yield* Effect.fail(new Error("a schedule of events runs in one process: use runAll"))
    const started = performance.now()
    const shares = Array.from({ length: Math.max(1, Math.min(jobs, seeds.length)) }, (_, j) => seeds.filter((_, i) => i % jobs === j))
    const results: Array<Result> = []
    yield* Effect.forEach(shares, (share) =>
      Effect.scoped(Effect.gen(function*() {
        const plan = share.map((s) => `${s}:${nodesOf(s)}`).join(",")
        const child = yield* ChildProcess.make(
          process.execPath,
          [MAIN, ...flagsOf(options, shrinkBudget), "--plan", plan, "--outcomes"],
          { stderr: "inherit" }
        )
        yield* child.stdout.pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.filter((line) => line.startsWith("{")),
          Stream.runForEach((line) =>
            Effect.gen(function*() {
              const result = JSON.parse(line) as Result
              results.push(result)
              if (result.failed) yield* onFailed(result.failed)
            })
          )
        )
        const code = yield* child.exitCode
        if (code !== 0 && code !== 1) return yield* Effect.fail(new Error(`simulator job for seeds ${share.join(",")} exited with code ${code}`))
      })), { concurrency: "unbounded", discard: true }).pipe(Effect.mapError((e) => e instanceof Error ? e : new Error(String(e))))
    results.sort((a, b) => seeds.indexOf(a.outcome.seed) - seeds.indexOf(b.outcome.seed))
    return summarize(results, Math.round(performance.now() - started))
  })

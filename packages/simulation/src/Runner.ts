/**
 * Runs many seeds of the simulator, shrinks the schedule of each failing seed to the events it
 * needs to fail, and sums the outcomes up. Each seed runs under a fresh `TestClock`.
 */
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as Faults from "./Faults.ts"
import * as Simulation from "./Simulation.ts"

/** One failing seed: its failures and the shortest schedule found that still fails. */
export interface Failed {
  readonly seed: number
  readonly nodes: number
  readonly failures: ReadonlyArray<string>
  readonly trace: ReadonlyArray<string>
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

/** One seed under a fresh TestClock. */
export const once = (options: Simulation.Options): Effect.Effect<Simulation.Outcome> =>
  Simulation.run(options).pipe(Effect.provide(TestClock.layer()))

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

/** Runs `seeds` (each with `nodesOf(seed)` nodes), calling `onFailed` for each failing seed. */
export const runAll = (
  seeds: ReadonlyArray<number>,
  options: Omit<Simulation.Options, "seed" | "nodes">,
  nodesOf: (seed: number) => number,
  onFailed: (f: Failed) => Effect.Effect<void> = () => Effect.void,
  shrinkBudget = 8
): Effect.Effect<Summary> =>
  Effect.gen(function*() {
    const started = performance.now()
    const outcomes: Array<Simulation.Outcome> = []
    const failed: Array<Failed> = []
    for (const seed of seeds) {
      const opts = { ...options, seed, nodes: nodesOf(seed) }
      const outcome = yield* once(opts)
      outcomes.push(outcome)
      if (outcome.failures.length > 0) {
        const events = shrinkBudget > 0 ? yield* shrink(opts, outcome.events, shrinkBudget) : outcome.events
        const f: Failed = {
          seed,
          nodes: opts.nodes,
          failures: outcome.failures,
          trace: events.map((e) => Faults.describe(e, (n) => `n${n}`))
        }
        failed.push(f)
        yield* onFailed(f)
      }
    }
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
      wallMs: Math.round(performance.now() - started)
    } satisfies Summary
  })

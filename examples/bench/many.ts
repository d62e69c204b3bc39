/**
 * Many nodes in one process, as users' own test suites run them (#18, point 6): a
 * `TestCluster` of N nodes (default 16) in this process, and the owner-direct client in this
 * process too, 16 Gets or Sets in flight over 500 keys. Prints ops/s and p50 for each, beside
 * the same load against one node. Section l of `npm run bench` runs the same measurement; run
 * this file under `--cpu-prof` to see where the time goes:
 *
 *   npx node examples/bench/many.ts [N]
 *   npx node --cpu-prof --cpu-prof-dir=/tmp/prof examples/bench/many.ts 16
 *   npx node examples/bench/cpuprofile.ts /tmp/prof/<file>.cpuprofile
 */
import { TestCluster } from "@crustyring/testing"
import { Effect, Exit, Scope } from "effect"
import { performance } from "node:perf_hooks"
import { percentile } from "./stats.ts"

export const IN_FLIGHT = 16
export const KEYS = 500

/** One load phase's result. */
export interface Phase {
  readonly opsPerSec: number
  readonly p50: number
}

/**
 * Starts a `TestCluster` of `nodes` nodes (defaults otherwise), preloads the keys, and runs
 * Gets then Sets with `IN_FLIGHT` in flight through its owner-direct client, each for
 * `warmupMs` unmeasured and then `seconds` measured.
 */
export const measure = async (nodes: number, options: { readonly seconds: number; readonly warmupMs: number }) => {
  const scope = Effect.runSync(Scope.make())
  const run = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(Scope.provide(scope)(effect))
  try {
    const cluster = await run(TestCluster.make({ nodes, registry: false, logLevel: "Error" }))
    const client = await run(cluster.client())
    const value = Buffer.alloc(100, 0x61)
    for (let i = 0; i < KEYS; i++) await Effect.runPromise(client.set(`m${i}`, value))
    const load = async (op: "get" | "set", ms: number) => {
      const latencies: Array<number> = []
      const end = performance.now() + ms
      let next = 0
      const worker = async () => {
        while (performance.now() < end) {
          const key = `m${next++ % KEYS}`
          const t0 = performance.now()
          await Effect.runPromise(op === "get" ? Effect.asVoid(client.get(key)) : Effect.asVoid(client.set(key, value)))
          latencies.push(performance.now() - t0)
        }
      }
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
      return latencies
    }
    const out = {} as Record<"get" | "set", Phase>
    for (const op of ["get", "set"] as const) {
      await load(op, options.warmupMs)
      const latencies = await load(op, options.seconds * 1000)
      out[op] = {
        opsPerSec: Math.round(latencies.length / options.seconds),
        p50: Math.round(percentile(Float64Array.from(latencies), 50) * 100) / 100
      }
    }
    return out
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

if (import.meta.main) {
  const n = Number(process.argv[2] ?? 16)
  const options = { seconds: 5, warmupMs: 1000 }
  const one = await measure(1, options)
  const many = await measure(n, options)
  console.log(`1 node:  Get ${one.get.opsPerSec}/s (p50 ${one.get.p50} ms), Set ${one.set.opsPerSec}/s (p50 ${one.set.p50} ms)`)
  console.log(`${n} nodes: Get ${many.get.opsPerSec}/s (p50 ${many.get.p50} ms), Set ${many.set.opsPerSec}/s (p50 ${many.set.p50} ms)`)
  console.log(`ratio: Get ${(many.get.opsPerSec / one.get.opsPerSec).toFixed(2)}x, Set ${(many.set.opsPerSec / one.set.opsPerSec).toFixed(2)}x of one node (goal: at least 0.25x)`)
  console.log(JSON.stringify({ nodes: n, one, many }))
}

/**
 * Section (a) for one server alone, to profile it: the server in this process, the load
 * generator in a child, so a CPU profile of this process is the server's cost.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof examples/bench/profile.ts node   # or: bare
 *   node examples/bench/cpuprofile.ts /tmp/prof/<file>.cpuprofile           # top self time
 */
import { TestCluster } from "@crustyring/testing"
import { Effect, Exit, Scope } from "effect"
import * as Bare from "./bare.ts"
import * as Load from "./load.ts"

const server = process.argv[2] === "bare" ? "bare" : "node"
const options = { concurrency: 64, keys: 10_000, valueBytes: 100, warmupMs: 1000, durationMs: 5000 }

let target: string
let stop: () => Promise<void>
if (server === "bare") {
  const bare = await Bare.start()
  target = `127.0.0.1:${bare.port}`
  stop = bare.close
} else {
  const scope = Effect.runSync(Scope.make())
  const cluster = await Effect.runPromise(Scope.provide(scope)(TestCluster.make({ nodes: 1, registry: false, logLevel: "Error" })))
  target = cluster.nodes[0]!.address
  stop = () => Effect.runPromise(Scope.close(scope, Exit.void))
}
const result = await Load.child(target, options)
await stop()
for (const r of [result.set, result.get]) {
  console.log(`${server} ${r.op}: ${Math.round(r.opsPerSec)} ops/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, server CPU ${r.serverCpuUsPerOp.toFixed(1)} us/op`)
}

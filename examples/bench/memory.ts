/**
 * Section (f) in a clean process: start one server ("node": a Crusty Ring node; "bare": the
 * baseline Map server), measure memory after a forced GC, have a raw gRPC client in another
 * process (load.ts) write `count` keys of `valueBytes`, GC again and measure. The client runs
 * elsewhere so its own garbage does not inflate this process's RSS. Run with --expose-gc;
 * prints one JSON line.
 *
 *   node --expose-gc examples/bench/memory.ts node 100000 100
 */
import { TestCluster } from "@crustyring/testing"
import { Position } from "@crustyring/ring"
import { Effect, Exit, Scope } from "effect"
import { execFile } from "node:child_process"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import * as Bare from "./bare.ts"
import * as Load from "./load.ts"

const mode = process.argv[2] === "bare" ? "bare" : "node"
const count = Number(process.argv[3] ?? 100_000)
const valueBytes = Number(process.argv[4] ?? 100)

const gc = (globalThis as { gc?: () => void }).gc
const sample = async () => {
  for (let i = 0; i < 3; i++) {
    gc?.()
    await sleep(50)
  }
  const m = process.memoryUsage()
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
}

const scope = Effect.runSync(Scope.make())
let target: string
let stored: () => Promise<number>
let stop: () => Promise<void>
if (mode === "bare") {
  const bare = await Bare.start()
  target = `127.0.0.1:${bare.port}`
  stored = async () => bare.size()
  stop = bare.close
} else {
  const cluster = await Effect.runPromise(
    Scope.provide(scope)(TestCluster.make({ nodes: 1, registry: false, logLevel: "Error" }))
  )
  const node = cluster.nodes[0]!
  target = node.address
  stored = () => Effect.runPromise(node.node.storage.count(Position.make(0n), Position.make(0n)))
  stop = () => Effect.runPromise(Scope.close(scope, Exit.void))
}

const client = Load.connect(target)
// Warm the request path (misses store nothing) before the first sample.
for (let i = 0; i < 1000; i += 50) {
  await Promise.all(Array.from({ length: 50 }, (_, j) => Load.send(client, { ty: "Get", key: Buffer.from(`warm-${i + j}`) })))
}
client.close()
const before = await sample()
const t0 = performance.now()
// Async, so this process keeps serving while the client process writes.
await new Promise<void>((resolve, reject) =>
  execFile(
    process.execPath,
    [fileURLToPath(new URL("./load.ts", import.meta.url)), target, JSON.stringify({ fill: count, concurrency: 64, valueBytes })],
    (err) => (err ? reject(err) : resolve())
  )
)
const loadMs = performance.now() - t0
const after = await sample()
const keys = await stored()
await stop()
console.log(JSON.stringify({ mode, count, valueBytes, keys, loadMs, gcExposed: gc !== undefined, before, after }))

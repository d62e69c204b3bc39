/**
 * The shared harness of the mechanism tests: a memory cluster under TestClock whose nodes all
 * stop when a test ends, faults by rule and by crash, simulated time moved until an effect
 * completes, and the true ring computed from the nodes' IDs.
 */
import { Position, Ring } from "@crustyring/ring"
import type { NodeConfig } from "@crustyring/node"
import type { MemoryNetwork } from "@crustyring/protocol"
import { MemoryNetwork as Network } from "@crustyring/protocol"
import { Duration, Effect, Exit, Fiber, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"

export type Node = MemoryCluster.MemoryNode

export const FAST: Partial<NodeConfig.Settings> = { pingInterval: Duration.millis(250), failureTimeout: Duration.seconds(1) }
export const DROP: MemoryNetwork.Decision = { drop: true, delayMs: 0 }
export const bytes = (s: string) => Buffer.from(s, "utf8")
export const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString("utf8"))

/** Lets the work in flight (messages, background sends) run, without moving the clock. */
export const flush = Effect.gen(function*() {
  for (let i = 0; i < 200; i++) yield* Effect.yieldNow
})

/** Runs `effect` in the background and lets simulated time pass, `step` at a time, until it completes. */
export const withTime = <A, E>(effect: Effect.Effect<A, E>, step: Duration.Input = "100 millis", limit = 600) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    yield* flush
    for (let i = 0; i < limit && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust(step)
    return yield* Fiber.join(fiber)
  })

/**
 * A memory cluster under TestClock whose nodes all stop when the test ends, passed or failed:
 * a leave needs simulated time, which moves only when the test adjusts it. Faults: `crash`
 * (every message to or from a node is lost, its calls in flight fail, and it stops in the
 * background, its leave failing) and `rule` (drop or delay the messages between two nodes).
 */
export const harness = (config: Partial<NodeConfig.Settings> = {}) =>
  Effect.gen(function*() {
    // The nodes' scopes hang off a scope of the harness, closed only after every node has
    // stopped with time passing; the test's own scope closes without moving the clock.
    const scope = yield* Scope.make()
    const cluster = yield* MemoryCluster.make({ ...FAST, ...config }).pipe(Scope.provide(scope))
    const nodes: Array<Node> = []
    const crashed = new Set<string>()
    const stopping: Array<Fiber.Fiber<void>> = []
    const starting: Array<Fiber.Fiber<Node, unknown>> = []
    const faults: { rule: (from: string, to: string) => MemoryNetwork.Decision | undefined } = { rule: () => undefined }
    cluster.network.decide = (from, to) =>
      crashed.has(from) || crashed.has(to) ? DROP : faults.rule(from, to) ?? Network.deliver
    yield* Effect.addFinalizer(() =>
      withTime(
        Effect.gen(function*() {
          for (const f of starting) yield* Fiber.await(f)
          for (const n of [...nodes].reverse()) yield* n.close
          for (const f of stopping) yield* Fiber.await(f)
          yield* Scope.close(scope, Exit.void)
        }),
        "1 second",
        300
      ).pipe(Effect.ignore)
    )
    return {
      cluster,
      nodes,
      faults,
      crashed,
      /** Starts a node (in the background, with simulated time passing until it serves). */
      start: (options: MemoryCluster.StartOptions) =>
        Effect.tap(withTime(cluster.start(options)), (n) => Effect.sync(() => nodes.push(n))),
      /** Starts a node in the background; the test moves the clock. */
      spawn: (options: MemoryCluster.StartOptions) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkDetach(Effect.tap(cluster.start(options), (n) => Effect.sync(() => nodes.push(n))))
          starting.push(fiber)
          return fiber
        }),
      /** Crashes a node: nothing reaches it or leaves it, and it stops without handing anything over. */
      crash: (node: Node) =>
        Effect.gen(function*() {
          crashed.add(node.address)
          cluster.network.sever(node.address)
          const fiber = yield* Effect.forkDetach(node.close)
          stopping.push(fiber)
          return fiber
        }),
      query: cluster.query
    }
  })
export type Harness = Effect.Success<ReturnType<typeof harness>>

/** Starts `count` nodes `${prefix}0`.., one a second, each joining through the first, and lets the ring settle. */
export const startRing = (h: Harness, count: number, prefix = "n", config: (name: string) => Partial<NodeConfig.Settings> = () => ({})) =>
  Effect.gen(function*() {
    const out: Array<Node> = []
    for (let i = 0; i < count; i++) {
      const name = `${prefix}${i}`
      out.push(yield* h.start({ name, config: config(name), ...(i === 0 ? {} : { seeds: [MemoryCluster.addressOf(`${prefix}0`)] }) }))
      yield* TestClock.adjust("1 second")
    }
    yield* TestClock.adjust("5 seconds")
    return out
  })

/** The true ring of the nodes, from their IDs. */
export const ringOf = (nodes: ReadonlyArray<Node>) => Ring.make(nodes.map((n) => ({ id: n.node.self.id, node: n })))
export const ownerOf = (nodes: ReadonlyArray<Node>, key: string) => Ring.owner(ringOf(nodes), Position.position(bytes(key)))!.node
/** `count` keys `${prefix}-i` owned by `owner` on the ring of `nodes`. */
export const keysOwnedBy = (nodes: ReadonlyArray<Node>, owner: Node, count: number, prefix = "key") => {
  const out: Array<string> = []
  for (let i = 0; out.length < count; i++) if (ownerOf(nodes, `${prefix}-${i}`) === owner) out.push(`${prefix}-${i}`)
  return out
}
/** What `node` stores for `key`: none, or its value (undefined for a tombstone). */
export const held = (node: Node, key: string) =>
  Effect.map(Effect.orDie(node.node.storage.lookup(bytes(key))), Option.map((e) => text(e.value)))

/** The nodes in ring order, from their IDs. */
export const sortedOf = (nodes: ReadonlyArray<Node>): ReadonlyArray<Node> => ringOf(nodes).members.map((m) => m.node)

/** The nodes that should hold `key`: its owner and the next `replicas - 1` nodes clockwise. */
export const replicaSet = (nodes: ReadonlyArray<Node>, key: string, replicas = 3): ReadonlyArray<Node> => {
  const sorted = sortedOf(nodes)
  const at = sorted.indexOf(ownerOf(nodes, key))
  return Array.from({ length: Math.min(replicas, sorted.length) }, (_, k) => sorted[(at + k) % sorted.length]!)
}

/**
 * Stabilizer, on real nodes over the in-memory network under TestClock: after joins that run
 * at the same time, every node's predecessor and successor list converge on the true ring; a
 * node adopts a closer successor it learns of; a node alone with a predecessor takes it as its
 * successor, so two rings merge into one.
 */
import { describe, expect, it } from "@effect/vitest"
import { Membership, type NodeConfig } from "@crustyring/node"
import { MemoryNetwork, Proto, type Wire } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Duration, Effect, Exit, Fiber, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"

type Node = MemoryCluster.MemoryNode

const FAST: Partial<NodeConfig.Settings> = { pingInterval: Duration.millis(250), failureTimeout: Duration.seconds(1) }
const DROP: MemoryNetwork.Decision = { drop: true, delayMs: 0 }
const bytes = (s: string) => Buffer.from(s, "utf8")
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString("utf8"))

/** Lets the work in flight (messages, background sends) run, without moving the clock. */
const flush = Effect.gen(function*() {
  for (let i = 0; i < 200; i++) yield* Effect.yieldNow
})

/** Runs `effect` in the background and lets simulated time pass, `step` at a time, until it completes. */
const withTime = <A, E>(effect: Effect.Effect<A, E>, step: Duration.Input = "100 millis", limit = 600) =>
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
const harness = (config: Partial<NodeConfig.Settings> = {}) =>
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
      crashed.has(from) || crashed.has(to) ? DROP : faults.rule(from, to) ?? MemoryNetwork.deliver
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
type Harness = Effect.Success<ReturnType<typeof harness>>

/** Starts `count` nodes `${prefix}0`.., one a second, each joining through the first, and lets the ring settle. */
const startRing = (h: Harness, count: number, prefix = "n", config: (name: string) => Partial<NodeConfig.Settings> = () => ({})) =>
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
const ringOf = (nodes: ReadonlyArray<Node>) => Ring.make(nodes.map((n) => ({ id: n.node.self.id, node: n })))
/** The nodes in ring order. */
const sortedOf = (nodes: ReadonlyArray<Node>) => ringOf(nodes).members.map((m) => m.node)
const ownerOf = (nodes: ReadonlyArray<Node>, key: string) => Ring.owner(ringOf(nodes), Position.position(bytes(key)))!.node
/** `count` keys `${prefix}-i` owned by `owner` on the ring of `nodes`. */
const keysOwnedBy = (nodes: ReadonlyArray<Node>, owner: Node, count: number, prefix = "key") => {
  const out: Array<string> = []
  for (let i = 0; out.length < count; i++) if (ownerOf(nodes, `${prefix}-${i}`) === owner) out.push(`${prefix}-${i}`)
  return out
}

/** The successor list a node should have on the true ring: the others clockwise, at most 8. */
const expectedSuccessors = (nodes: ReadonlyArray<Node>, node: Node) => {
  const sorted = sortedOf(nodes)
  const at = sorted.indexOf(node)
  return Array.from({ length: Math.min(8, sorted.length - 1) }, (_, i) => sorted[(at + 1 + i) % sorted.length]!.address)
}
const predecessorOf = (nodes: ReadonlyArray<Node>, node: Node) => {
  const sorted = sortedOf(nodes)
  return sorted[(sorted.indexOf(node) - 1 + sorted.length) % sorted.length]!.address
}

/** Tells `to` that `candidate` may be its predecessor, as stabilization does. */
const notify = (h: Harness, to: Node, candidate: Node) => {
  const peer = h.cluster.network.client<Wire.PeerClient>(Proto.proto.peer.Peer.service, candidate.address, to.address)
  return MemoryNetwork.call<object>(to.address, "3 seconds", (o, cb) =>
    peer.Notify({ node: { id: candidate.node.self.id.toString(), addr: candidate.address } }, o, cb))
}

describe("Stabilizer", () => {
  it.effect("after seven joins at the same moment, every predecessor and successor list matches the true ring", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness()
      const first = yield* h.start({ name: "n0" })
      const joining = yield* Effect.forEach(Array.from({ length: 7 }, (_, i) => `n${i + 1}`), (name) =>
        h.spawn({ name, seeds: [first.address] }))
      for (let i = 0; i < 600 && joining.some((f) => f.pollUnsafe() === undefined); i++) yield* TestClock.adjust("100 millis")
      const joined = yield* Effect.forEach(joining, Fiber.join)
      const nodes = [first, ...joined]
      // Joins set one successor each; stabilization fills the lists and fixes the rest.
      yield* TestClock.adjust("5 seconds")
      for (const n of nodes) {
        const view = yield* n.node.membership.view
        expect(view.phase).toBe("ready")
        expect(view.successors.map((m) => m.address), `successors of ${n.address}`).toEqual(expectedSuccessors(nodes, n))
        expect(Option.map(view.predecessor, (p) => p.address), `predecessor of ${n.address}`).toEqual(Option.some(predecessorOf(nodes, n)))
        expect(Option.isNone(view.incoming)).toBe(true)
        expect(n.node.membership.down.size).toBe(0)
      }
      // The ring serves: every key from every node, owned where the true ring says.
      for (const owner of nodes) {
        const [key] = keysOwnedBy(nodes, owner, 1, "settled")
        yield* h.query(nodes[0]!.address, { ty: "Set", key: bytes(key!), value: bytes("v") })
        for (const n of nodes) {
          const got = yield* h.query(n.address, { ty: "Get", key: bytes(key!) })
          expect(text(got.value)).toBe("v")
          if (n === owner) expect(got.hops).toBe(0)
        }
      }
    }))

  it.effect("a node adopts a closer successor that its successor knows of", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness()
      const nodes = yield* startRing(h, 5)
      const sorted = sortedOf(nodes)
      const [node, skipped] = [sorted[0]!, sorted[1]!]
      // Its list loses its first successor (as if it had missed that join).
      yield* node.node.membership.update((v) => ({ ...v, successors: v.successors.filter((m) => m.id !== skipped.node.self.id) }))
      expect(Membership.next(yield* node.node.membership.view).address).toBe(sorted[2]!.address)
      // One period (500 ms): it asks its successor, whose predecessor is closer, and adopts it.
      yield* TestClock.adjust("600 millis")
      const view = yield* node.node.membership.view
      expect(Membership.next(view).address).toBe(skipped.address)
      expect(view.successors.map((m) => m.address)).toEqual(expectedSuccessors(nodes, node))
    }))

  it.effect("a node alone with a predecessor takes it as successor: two rings merge into one", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ repairInterval: Duration.seconds(1) })
      // Two rings of one, formed apart, each with a key of its own.
      const a = yield* h.start({ name: "a" })
      const b = yield* h.start({ name: "b" })
      yield* h.query(a.address, { ty: "Set", key: bytes("from-a"), value: bytes("1") })
      yield* h.query(b.address, { ty: "Set", key: bytes("from-b"), value: bytes("2") })
      yield* TestClock.adjust("2 seconds")
      expect((yield* a.node.membership.view).successors).toEqual([])

      // b tells a that it may precede it: a is alone with a predecessor.
      yield* notify(h, a, b)
      const notified = yield* a.node.membership.view
      expect(Option.map(notified.predecessor, (p) => p.address)).toEqual(Option.some(b.address))
      expect(notified.successors).toEqual([])
      // Its next stabilization takes b as its successor.
      yield* TestClock.adjust("600 millis")
      expect(Membership.next(yield* a.node.membership.view).address).toBe(b.address)
      // a then notifies b, which is alone with a predecessor in turn: one ring of two.
      yield* TestClock.adjust("2 seconds")
      const [va, vb] = [yield* a.node.membership.view, yield* b.node.membership.view]
      expect(Membership.next(va).address).toBe(b.address)
      expect(Membership.next(vb).address).toBe(a.address)
      expect(Option.map(va.predecessor, (p) => p.address)).toEqual(Option.some(b.address))
      expect(Option.map(vb.predecessor, (p) => p.address)).toEqual(Option.some(a.address))
      // And repair merges the two rings' keys.
      yield* TestClock.adjust("5 seconds")
      for (const n of [a, b]) {
        expect(text((yield* h.query(n.address, { ty: "Get", key: bytes("from-a") })).value)).toBe("1")
        expect(text((yield* h.query(n.address, { ty: "Get", key: bytes("from-b") })).value)).toBe("2")
      }
    }))
})

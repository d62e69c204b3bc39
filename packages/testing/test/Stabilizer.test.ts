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
import { DROP, FAST, flush, harness, keysOwnedBy, ownerOf, ringOf, sortedOf, startRing, text, bytes, withTime, type Harness, type Node } from "./Harness.ts"


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

/**
 * Leave, on real nodes over the in-memory network under TestClock: a graceful leave (closing
 * a node) hands its range to its predecessor, which takes it over, with every key still
 * readable, and ends the node's membership; reads and writes during the leave are not lost.
 */
import { describe, expect, it } from "@effect/vitest"
import { Membership, type NodeConfig } from "@crustyring/node"
import { MemoryNetwork, Proto, type Wire } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Duration, Effect, Exit, Fiber, Option, Scope, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"
import { DROP, FAST, flush, harness, held, keysOwnedBy, ownerOf, replicaSet, ringOf, sortedOf, startRing, text, bytes, withTime, type Harness, type Node } from "./Harness.ts"


/** Closes `node` gracefully in the background, letting simulated time pass until it has left. */
const leave = (h: Harness, node: Node) =>
  Effect.gen(function*() {
    yield* withTime(node.close)
    h.nodes.splice(h.nodes.indexOf(node), 1)
  })

/**
 * One copy per key and failure detection slower than the delays the tests add, so nobody is
 * marked down: four nodes, and the leaving node (second in ring order) between its
 * predecessor (first) and the rest.
 */
const slowRing = Effect.gen(function*() {
  const h = yield* harness({ replicas: 1, writeQuorum: 1, pingInterval: Duration.millis(500), failureTimeout: Duration.seconds(5) })
  const nodes = yield* startRing(h, 4)
  const sorted = sortedOf(nodes)
  return { h, nodes, predecessor: sorted[0]!, leaving: sorted[1]!, other: sorted[3]! }
})

/**
 * `slowRing` with 20 keys of the leaving node's range written (`${value}-${key}`), and the
 * predecessor's messages to the leaving node (the take-over's count, the stream request, its
 * read-throughs, the release) taking 1.5 s each.
 */
const slowTakeOver = (prefix: string, value: string) =>
  Effect.gen(function*() {
    const ring = yield* slowRing
    const { h, leaving, nodes, other, predecessor } = ring
    const keys = keysOwnedBy(nodes, leaving, 20, prefix)
    for (const key of keys) yield* h.query(other.address, { ty: "Set", key: bytes(key), value: bytes(`${value}-${key}`) })
    h.faults.rule = (from, to) => from === predecessor.address && to === leaving.address ? { drop: false, delayMs: 1500 } : undefined
    return { ...ring, keys }
  })

describe("Leave", () => {
  it.effect("a graceful leave hands the range to the predecessor, with every key still readable", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // One copy per key: the leaving node's keys exist nowhere else until it hands them over.
      const h = yield* harness({ replicas: 1, writeQuorum: 1 })
      const nodes = yield* startRing(h, 4)
      const sorted = sortedOf(nodes)
      const [predecessor, leaving, successor] = [sorted[0]!, sorted[1]!, sorted[2]!]
      const keys = nodes.flatMap((n) => keysOwnedBy(nodes, n, 10, "leave"))
      for (const key of keys) yield* h.query(sorted[3]!.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })
      const theirs = keysOwnedBy(nodes, leaving, 10, "leave")
      for (const key of theirs) expect(yield* held(predecessor, key)).toEqual(Option.none())

      yield* leave(h, leaving)
      expect(h.cluster.network.listening(leaving.address)).toBe(false)
      // The predecessor holds the range now; the leaving node released it before it went.
      for (const key of theirs) {
        expect(yield* held(predecessor, key), key).toEqual(Option.some(`v-${key}`))
        expect(yield* held(leaving, key), key).toEqual(Option.none())
      }
      const live = nodes.filter((n) => n !== leaving)
      expect(Membership.next(yield* predecessor.node.membership.view).address).toBe(successor.address)
      expect(Option.map((yield* successor.node.membership.view).predecessor, (p) => p.address)).toEqual(Option.some(predecessor.address))
      for (const n of live) {
        for (const key of keys) {
          const got = yield* h.query(n.address, { ty: "Get", key: bytes(key) })
          expect(text(got.value), `${key} at ${n.address}`).toBe(`v-${key}`)
        }
      }
      // A leave ends the membership: nobody counts it as down.
      yield* TestClock.adjust("5 seconds")
      for (const n of live) {
        expect(n.node.membership.down.size).toBe(0)
        const view = yield* n.node.membership.view
        expect(Membership.known(view).map((m) => m.address)).not.toContain(leaving.address)
        expect(Membership.memberCount(view, n.node.membership.down)).toBe(3)
      }
    }))

  it.effect("with three replicas, a leave keeps every key readable and the copies settle on the new replica sets", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ repairInterval: Duration.seconds(2) })
      const nodes = yield* startRing(h, 5)
      const leaving = nodes[2]!
      const keys = nodes.flatMap((n) => keysOwnedBy(nodes, n, 6, "settle"))
      for (const key of keys) yield* h.query(nodes[0]!.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })
      yield* leave(h, leaving)
      const live = nodes.filter((n) => n !== leaving)
      for (const n of live) {
        for (const key of keys) expect(text((yield* h.query(n.address, { ty: "Get", key: bytes(key) })).value)).toBe(`v-${key}`)
      }
      yield* TestClock.adjust("10 seconds")
      for (const key of keys) {
        const set = replicaSet(live, key)
        for (const n of live) expect(Option.isSome(yield* held(n, key)), `${key} on ${n.address}`).toBe(set.includes(n))
      }
    }))

  it.effect("reads and writes during a leave, while the range streams to the predecessor, are not lost", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const { h, keys, leaving, predecessor } = yield* slowTakeOver("during", "old")
      const takingOver = () =>
        Option.exists(SubscriptionRef.getUnsafe(predecessor.node.membership.ref).incoming, (i) => i.from.address === leaving.address)

      const leaves = yield* Effect.forkChild(leaving.close)
      yield* TestClock.adjust("100 millis")
      expect(takingOver()).toBe(true)
      // The stream has not arrived: the predecessor holds none of the range yet, and serves it.
      for (const key of keys) expect(yield* held(predecessor, key)).toEqual(Option.none())
      const ops = yield* Effect.forkChild(Effect.all([
        Effect.forEach(keys.slice(0, 8), (k) => h.query(predecessor.address, { ty: "Set", key: bytes(k), value: bytes(`new-${k}`) })),
        Effect.forEach(keys.slice(8, 12), (k) => h.query(predecessor.address, { ty: "Delete", key: bytes(k) })),
        Effect.forEach(keys.slice(12), (k) => h.query(predecessor.address, { ty: "Get", key: bytes(k) }))
      ], { concurrency: "unbounded" }))
      yield* TestClock.adjust("6 seconds")
      const [sets, deletes, reads] = yield* Fiber.join(ops)
      expect(sets.map((r) => text(r.value))).toEqual(keys.slice(0, 8).map((k) => `old-${k}`))
      expect(deletes.map((r) => text(r.value))).toEqual(keys.slice(8, 12).map((k) => `old-${k}`))
      expect(reads.map((r) => text(r.value))).toEqual(keys.slice(12).map((k) => `old-${k}`))
      expect(leaves.pollUnsafe()).toBeDefined()
      h.nodes.splice(h.nodes.indexOf(leaving), 1)
      h.faults.rule = () => undefined

      for (const n of h.nodes) {
        for (const k of keys.slice(0, 8)) expect(text((yield* h.query(n.address, { ty: "Get", key: bytes(k) })).value)).toBe(`new-${k}`)
        for (const k of keys.slice(8, 12)) expect((yield* h.query(n.address, { ty: "Get", key: bytes(k) })).error).toBe("Key not present in database.")
        for (const k of keys.slice(12)) expect(text((yield* h.query(n.address, { ty: "Get", key: bytes(k) })).value)).toBe(`old-${k}`)
      }
      for (const k of keys.slice(0, 8)) expect(yield* held(predecessor, k)).toEqual(Option.some(`new-${k}`))
    }))

  it.effect("the taker's status shows the hand-off under way, keys received of the giver's count, and drops it when done", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const { h, keys, leaving, predecessor } = yield* slowTakeOver("progress", "v")
      const status = MemoryNetwork.call<Wire.NodeStatus__Output>(predecessor.address, "5 seconds", (o, cb) =>
        h.cluster.network.client<Wire.ClusterClient>(Proto.proto.cluster.Cluster.service, "client:1", predecessor.address).Status({}, o, cb))

      const leaves = yield* Effect.forkChild(leaving.close)
      // The count has come back (1.5 s); the stream request has not arrived yet.
      yield* TestClock.adjust("2 seconds")
      yield* flush
      const during = yield* status
      expect(during.repair).toMatchObject({ kind: "handoff", done: "0", total: String(keys.length) })
      // The stream arrives (3 s), then the release (4.5 s): the hand-off is over.
      yield* TestClock.adjust("4 seconds")
      yield* flush
      expect(leaves.pollUnsafe()).toBeDefined()
      h.nodes.splice(h.nodes.indexOf(leaving), 1)
      h.faults.rule = () => undefined
      const after = yield* status
      expect(after.repair?.kind).not.toBe("handoff")
      for (const key of keys) expect(yield* held(predecessor, key)).toEqual(Option.some(`v-${key}`))
    }))

  it.effect("queries at a leaving node wait while its range is frozen for the take-over, then go to the taker", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const { h, leaving, nodes, predecessor } = yield* slowRing
      const [kept, written] = keysOwnedBy(nodes, leaving, 2, "frozen")
      yield* h.query(leaving.address, { ty: "Set", key: bytes(kept!), value: bytes("old") })
      // The take-over request takes 1.5 s to reach the predecessor: the leaving node's range
      // stays frozen (operations held at the gate) that long.
      h.faults.rule = (from, to) => from === leaving.address && to === predecessor.address ? { drop: false, delayMs: 1500 } : undefined
      const leaves = yield* Effect.forkChild(leaving.close)
      yield* TestClock.adjust("100 millis")
      const ops = yield* Effect.forkChild(Effect.all([
        h.query(leaving.address, { ty: "Set", key: bytes(written!), value: bytes("new") }),
        h.query(leaving.address, { ty: "Get", key: bytes(kept!) })
      ], { concurrency: "unbounded" }))
      yield* TestClock.adjust("500 millis")
      // Neither is answered from the leaving node's own copy while it hands the range over.
      expect(ops.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("6 seconds")
      const [set, get] = yield* Fiber.join(ops)
      expect(set.error).toBeUndefined()
      expect(text(get.value)).toBe("old")
      // Once thawed, they were forwarded: the leaving node owns nothing any more.
      expect(set.hops).toBeGreaterThan(0)
      expect(get.hops).toBeGreaterThan(0)
      expect(leaves.pollUnsafe()).toBeDefined()
      h.nodes.splice(h.nodes.indexOf(leaving), 1)
      h.faults.rule = () => undefined
      expect(yield* held(predecessor, written!)).toEqual(Option.some("new"))
    }))

  it.effect("the last node of a ring leaves at once, with no one to hand over to", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness()
      const alone = yield* h.start({ name: "alone" })
      yield* h.query(alone.address, { ty: "Set", key: bytes("k"), value: bytes("v") })
      const closing = yield* Effect.forkChild(alone.close)
      yield* flush
      expect(closing.pollUnsafe()).toBeDefined()
      h.nodes.splice(0, 1)
      expect(h.cluster.network.listening(alone.address)).toBe(false)
    }))
})

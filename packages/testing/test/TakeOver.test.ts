/**
 * TakeOver, the predecessor's side of a graceful leave, on real nodes over the in-memory
 * network under TestClock: it accepts only a leave of its own successor; while the range
 * streams in it serves it by reading through to the leaving node; the successor learns its new
 * predecessor (PredecessorLeft); two neighbours leaving at once both hand their ranges over.
 */
import { describe, expect, it } from "@effect/vitest"
import { Membership, type NodeConfig } from "@crustyring/node"
import { MemoryNetwork, Proto, type Wire } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Duration, Effect, Exit, Fiber, Option, Scope, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"
import { DROP, FAST, flush, harness, held, keysOwnedBy, ownerOf, replicaSet, ringOf, sortedOf, startRing, text, bytes, withTime, type Harness, type Node } from "./Harness.ts"


const ref = (n: Node): Wire.NodeRef => ({ id: n.node.self.id.toString(), addr: n.address })

/** Asks `taker` to take over the range of `leaving`, as a leaving node does. */
const takeOver = (h: Harness, taker: Node, leaving: Node, successors: ReadonlyArray<Node>) => {
  const peer = h.cluster.network.client<Wire.PeerClient>(Proto.proto.peer.Peer.service, leaving.address, taker.address)
  return MemoryNetwork.call<object>(taker.address, "5 seconds", (o, cb) =>
    peer.TakeOver({ leaving: ref(leaving), successors: successors.map(ref) }, o, cb))
}

describe("TakeOver", () => {
  it.effect("a take-over is refused unless the leaving node is the taker's successor", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness()
      const nodes = yield* startRing(h, 4)
      const sorted = sortedOf(nodes)
      const views = yield* Effect.forEach(sorted, (n) => n.node.membership.view)
      // sorted[2] is not sorted[0]'s successor.
      const refused = yield* Effect.flip(takeOver(h, sorted[0]!, sorted[2]!, [sorted[3]!]))
      expect(refused._tag).toBe("FailedPrecondition")
      expect(refused.message).toContain(`${sorted[2]!.address} is not the successor of ${sorted[0]!.address}`)
      // Nothing changed.
      for (const [i, n] of sorted.entries()) {
        const view = yield* n.node.membership.view
        expect(view.successors.map((m) => m.address)).toEqual(views[i]!.successors.map((m) => m.address))
        expect(Option.isNone(view.incoming)).toBe(true)
      }
    }))

  it.effect("while the range streams in, the taker serves it by reading through to the leaving node", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // Failure detection slower than the delay below.
      const h = yield* harness({ replicas: 1, writeQuorum: 1, pingInterval: Duration.millis(500), failureTimeout: Duration.seconds(5) })
      const nodes = yield* startRing(h, 3)
      const sorted = sortedOf(nodes)
      const [taker, leaving, successor] = [sorted[0]!, sorted[1]!, sorted[2]!]
      const keys = keysOwnedBy(nodes, leaving, 15, "through")
      for (const key of keys) yield* h.query(taker.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })
      // Once it has taken the leave on, the taker's first two messages to the leaving node (the
      // take-over's reply and the stream request) take 2 s; everything else goes at once.
      let slowed = 0
      const takingOver = () =>
        Option.exists(SubscriptionRef.getUnsafe(taker.node.membership.ref).incoming, (i) => i.from.address === leaving.address)
      h.faults.rule = (from, to) => {
        if (from !== taker.address || to !== leaving.address || slowed >= 2 || !takingOver()) return undefined
        slowed++
        return { drop: false, delayMs: 2000 }
      }
      const leaves = yield* Effect.forkChild(leaving.close)
      yield* TestClock.adjust("50 millis")
      yield* flush

      // Taken over: the taker's range reaches the successor, the range is on its way.
      const view = yield* taker.node.membership.view
      expect(Membership.next(view).address).toBe(successor.address)
      expect(Option.map(view.incoming, (i) => [i.kind, i.from.address, i.start, i.end])).toEqual(
        Option.some(["handoff", leaving.address, leaving.node.self.id, successor.node.self.id])
      )
      expect(slowed).toBe(2)
      // The leaving node is gone from the taker's membership, not down.
      expect(taker.node.membership.gone.has(leaving.node.self.id)).toBe(true)
      expect(taker.node.membership.down.size).toBe(0)
      for (const key of keys) expect(yield* held(taker, key)).toEqual(Option.none())

      // Reads at the taker answer at once, from the leaving node: the stream has not arrived.
      const read = keys.slice(0, 10)
      const results = yield* Effect.forEach(read, (k) => h.query(taker.address, { ty: "Get", key: bytes(k) }), { concurrency: "unbounded" })
      expect(results.map((r) => text(r.value))).toEqual(read.map((k) => `v-${k}`))
      for (const key of keys.slice(10)) expect(yield* held(taker, key)).toEqual(Option.none())
      expect(Option.isSome((yield* taker.node.membership.view).incoming)).toBe(true)

      yield* TestClock.adjust("5 seconds")
      expect(leaves.pollUnsafe()).toBeDefined()
      h.nodes.splice(h.nodes.indexOf(leaving), 1)
      for (const key of keys) expect(yield* held(taker, key)).toEqual(Option.some(`v-${key}`))
      expect(Option.isNone((yield* taker.node.membership.view).incoming)).toBe(true)
      // PredecessorLeft: the successor now has the taker as predecessor, and forgot the leaver.
      const after = yield* successor.node.membership.view
      expect(Option.map(after.predecessor, (p) => p.address)).toEqual(Option.some(taker.address))
      expect(successor.node.membership.down.size).toBe(0)
    }))

  it.effect("two neighbours leaving at once: the later waits for the earlier to finish, and both ranges end on their predecessor", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ replicas: 1, writeQuorum: 1 })
      const nodes = yield* startRing(h, 5)
      const sorted = sortedOf(nodes)
      const [taker, first, second] = [sorted[0]!, sorted[1]!, sorted[2]!]
      const keys = nodes.flatMap((n) => keysOwnedBy(nodes, n, 8, "pair"))
      for (const key of keys) yield* h.query(sorted[4]!.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })

      // The second asks the first, which is stopping too and refuses; once the first has
      // handed its range to the taker, the second's predecessor is the taker.
      const both = yield* Effect.forkChild(Effect.all([first.close, second.close], { concurrency: "unbounded" }))
      for (let i = 0; i < 300 && both.pollUnsafe() === undefined; i++) yield* TestClock.adjust("100 millis")
      expect(both.pollUnsafe()).toBeDefined()
      for (const n of [first, second]) h.nodes.splice(h.nodes.indexOf(n), 1)

      const live = [taker, sorted[3]!, sorted[4]!]
      for (const key of [...keysOwnedBy(nodes, first, 8, "pair"), ...keysOwnedBy(nodes, second, 8, "pair")]) {
        expect(yield* held(taker, key), key).toEqual(Option.some(`v-${key}`))
      }
      expect(Membership.next(yield* taker.node.membership.view).address).toBe(sorted[3]!.address)
      for (const n of live) {
        for (const key of keys) expect(text((yield* h.query(n.address, { ty: "Get", key: bytes(key) })).value), `${key} at ${n.address}`).toBe(`v-${key}`)
      }
    }))
})

/**
 * Router, on real nodes over the in-memory network under TestClock: a query sent to any node
 * reaches the key's owner on the ring computed from the nodes' IDs; forwarding goes around a
 * next hop that does not answer, and around a member marked down; the hop limit stops a query.
 */
import { describe, expect, it } from "@effect/vitest"
import { Membership, type NodeConfig } from "@crustyring/node"
import { MemoryNetwork, Proto, type Wire } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Duration, Effect, Exit, Fiber, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"
import { DROP, FAST, flush, harness, held, keysOwnedBy, ownerOf, replicaSet, ringOf, sortedOf, startRing, text, bytes, withTime, type Harness, type Node } from "./Harness.ts"


/** Sends a query to `address` as another node forwards it, with `hops` forwards so far. */
const forward = (h: Harness, address: string, query: Wire.Query, hops: number) => {
  const peer = h.cluster.network.client<Wire.PeerClient>(Proto.proto.peer.Peer.service, "client:1", address)
  return MemoryNetwork.call<Wire.QueryResult__Output>(address, "5 seconds", (o, cb) => peer.Forward({ query, hops }, o, cb))
}

/** Names in ring order: the order of their IDs. */
const ringOrder = (names: ReadonlyArray<string>) =>
  [...names].sort((a, b) => {
    const x = Position.nodeId(MemoryCluster.addressOf(a))
    const y = Position.nodeId(MemoryCluster.addressOf(b))
    return x < y ? -1 : x > y ? 1 : 0
  })

describe("Router", () => {
  it.effect("a query sent to any node is served by the key's owner on the ring of the nodes' IDs", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // One copy per key: the node that holds a key is the node that served its Set.
      const h = yield* harness({ replicas: 1, writeQuorum: 1 })
      const nodes = yield* startRing(h, 6)
      const ring = ringOf(nodes)

      // Each node's own range is the one the true ring gives it.
      for (const n of nodes) {
        const view = yield* n.node.membership.view
        expect(Membership.next(view).id).toBe(Ring.successor(ring, n.node.self.id)!.id)
      }

      // Ten keys owned by each node: some queries are local, most are forwarded.
      const keys = nodes.flatMap((n) => keysOwnedBy(nodes, n, 10, "routed"))
      for (const [i, key] of keys.entries()) {
        const entry = nodes[i % nodes.length]!
        const result = yield* h.query(entry.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })
        expect(result.error).toBeUndefined()
      }
      for (const key of keys) {
        const owner = ownerOf(nodes, key)
        for (const n of nodes) expect(Option.isSome(yield* held(n, key)), `${key} on ${n.address} (owner ${owner.address})`).toBe(n === owner)
        // Read from every node: the owner answers locally (0 hops), every other node forwards.
        for (const n of nodes) {
          const got = yield* h.query(n.address, { ty: "Get", key: bytes(key) })
          expect(text(got.value)).toBe(`v-${key}`)
          if (n === owner) expect(got.hops).toBe(0)
          else expect(got.hops).toBeGreaterThan(0)
        }
      }
    }))

  it.effect("a next hop that does not answer (and is not yet down) is skipped for the next closest node", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // No fingers: each node knows its predecessor and 8 successors. In a ring of 11, the
      // 9th successor is the one node it does not know, so a query for it goes through the 8th.
      // A long failure timeout: the crashed node stays in every view during the test.
      const h = yield* harness({ failureTimeout: Duration.minutes(10), fingers: false, leaveTimeout: Duration.seconds(2) })
      const nodes = yield* startRing(h, 11)
      const sorted = sortedOf(nodes)
      const entry = sorted[0]!
      const hop = sorted[8]! // entry's last known successor: the first candidate
      const owner = sorted[9]! // unknown to entry
      const entryView = yield* entry.node.membership.view
      expect(Membership.known(entryView).map((m) => m.address)).not.toContain(owner.address)
      expect(entryView.successors.at(-1)?.address).toBe(hop.address)

      const [key] = keysOwnedBy(nodes, owner, 1)
      expect((yield* h.query(entry.address, { ty: "Set", key: bytes(key!), value: bytes("before") })).hops).toBe(2)

      // `hop` crashes; once it has stopped, its port refuses connections.
      const stopped = yield* h.crash(hop)
      yield* TestClock.adjust("5 seconds")
      expect(stopped.pollUnsafe()).toBeDefined()
      expect(h.cluster.network.listening(hop.address)).toBe(false)
      h.crashed.clear()

      // Still the first candidate in entry's view, and down nowhere.
      expect((yield* entry.node.membership.view).successors.map((m) => m.address)).toContain(hop.address)
      for (const n of nodes) if (n !== hop) expect(n.node.membership.down.size).toBe(0)

      // The query goes round it: entry -> 7th successor -> owner.
      const set = yield* h.query(entry.address, { ty: "Set", key: bytes(key!), value: bytes("after") })
      expect(set.error).toBeUndefined()
      expect(text(set.value)).toBe("before")
      expect(set.hops).toBe(2)
      expect(text((yield* h.query(entry.address, { ty: "Get", key: bytes(key!) })).value)).toBe("after")
      expect(yield* held(owner, key!)).toEqual(Option.some("after"))
    }))

  it.effect("a member marked down is routed around: every live node answers every key, its range included", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness()
      const nodes = yield* startRing(h, 5)
      const down = nodes[2]!
      const keys = nodes.flatMap((n) => keysOwnedBy(nodes, n, 8, "around"))
      for (const key of keys) {
        expect((yield* h.query(nodes[0]!.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })).error).toBeUndefined()
      }

      // It goes silent (every message lost both ways).
      yield* h.crash(down)
      yield* TestClock.adjust("3 seconds")
      const live = nodes.filter((n) => n !== down)
      for (const n of live) {
        expect([...n.node.membership.down.values()].map((d) => d.member.address)).toContain(down.address)
        expect(Membership.known(yield* n.node.membership.view).map((m) => m.address)).not.toContain(down.address)
      }
      // Its range now belongs to its predecessor, on the ring of the live nodes.
      for (const n of live) {
        for (const key of keys) {
          const got = yield* h.query(n.address, { ty: "Get", key: bytes(key) })
          expect(got.error, `${key} at ${n.address}`).toBeUndefined()
          expect(text(got.value)).toBe(`v-${key}`)
          if (n === ownerOf(live, key)) expect(got.hops).toBe(0)
        }
      }
    }))

  it.effect("the hop limit: a query forwarded maxHops times fails with UNAVAILABLE instead of being forwarded again", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ replicas: 1, writeQuorum: 1 })
      const nodes = yield* startRing(h, 3)
      const owner = nodes[1]!
      const other = nodes.find((n) => n !== owner)!
      const [key] = keysOwnedBy(nodes, owner, 1)
      yield* h.query(owner.address, { ty: "Set", key: bytes(key!), value: bytes("v") })
      const get: Wire.Query = { ty: "Get", key: bytes(key!) }

      // One forward left: it goes through, and arrives with 64 hops.
      const last = yield* forward(h, other.address, get, 63)
      expect(text(last.value)).toBe("v")
      expect(last.hops).toBe(64)
      // None left: the node that would forward refuses.
      const refused = yield* Effect.flip(forward(h, other.address, get, 64))
      expect(refused._tag).toBe("Unavailable")
      expect(refused.message).toContain("hop limit of 64 reached")
      // The owner itself still serves a query that used up its hops: the limit is on forwards.
      const atOwner = yield* forward(h, owner.address, get, 64)
      expect(text(atOwner.value)).toBe("v")
      expect(atOwner.hops).toBe(64)
    }))

  it.effect("the hop limit of the config: the node that would forward past its maxHops refuses", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // As in the skip test: in a ring of 11 with no fingers, a query for the 9th successor
      // goes through the 8th, its second hop. The 8th allows one hop only.
      const order = ringOrder(Array.from({ length: 11 }, (_, i) => `n${i}`))
      const h = yield* harness({ fingers: false })
      const nodes = yield* startRing(h, 11, "n", (name) => name === order[8] ? { maxHops: 1 } : {})
      const sorted = sortedOf(nodes)
      expect(sorted.map((n) => n.address)).toEqual(order.map(MemoryCluster.addressOf))
      const entry = sorted[0]!
      const [near] = keysOwnedBy(nodes, sorted[8]!, 1)
      const [far] = keysOwnedBy(nodes, sorted[9]!, 1)
      // One hop to the 8th, which owns `near`: fine.
      const ok = yield* h.query(entry.address, { ty: "Set", key: bytes(near!), value: bytes("v") })
      expect(ok.error).toBeUndefined()
      expect(ok.hops).toBe(1)
      // `far` needs a second forward, from the 8th.
      const failed = yield* Effect.flip(h.query(entry.address, { ty: "Set", key: bytes(far!), value: bytes("v") }))
      expect(failed._tag).toBe("Unavailable")
      expect(failed.message).toContain("hop limit of 1 reached")
      for (const n of nodes) expect(yield* held(n, far!)).toEqual(Option.none())
      // From the 7th, the same key takes one hop only.
      const fine = yield* h.query(sorted[7]!.address, { ty: "Set", key: bytes(far!), value: bytes("v") })
      expect(fine.hops).toBe(1)
    }))
})

describe("Router with virtual nodes", () => {
  it.effect("a query for a key another position of the same process owns is handed over in the process: one hop, no call to itself", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ vnodes: 4, replicas: 1, writeQuorum: 1 })
      const [a, b] = yield* startRing(h, 2)
      // Every position of both processes, and the keys each of A's positions after the first owns.
      const ring = Ring.make([a!, b!].flatMap((n) => n.node.vnodes.map((m) => ({ id: m.self.id, address: m.self.address }))))
      const owner = (key: string) => Ring.owner(ring, Position.position(bytes(key)))!.address
      const keys = Array.from({ length: 400 }, (_, i) => `local-${i}`)
        .filter((k) => owner(k).startsWith(`${a!.address}#`))
        .slice(0, 12)
      expect(keys.length).toBe(12)
      const calls: Array<string> = []
      h.faults.rule = (from, to) => {
        calls.push(`${from} -> ${to}`)
        return undefined
      }
      for (const key of keys) {
        const set = yield* h.query(a!.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })
        const got = yield* h.query(a!.address, { ty: "Get", key: bytes(key) })
        expect([set.error, set.hops, text(got.value), got.hops], key).toEqual([undefined, 1, `v-${key}`, 1])
      }
      // Only the client's calls and their replies crossed the network.
      expect(calls.filter((c) => !c.includes("client:")), "calls between nodes").toEqual([])
      for (const key of keys) expect(yield* held(a!, key)).toEqual(Option.some(`v-${key}`))
    }))
})


/**
 * Router, on real nodes over the in-memory network under TestClock: a query sent to any node
 * reaches the key's owner on the ring computed from the nodes' IDs; forwarding goes around a
 * next hop that does not answer, and around a member marked down; the hop limit stops a query.
 */
import { describe, expect, it } from "@effect/vitest"
import { Membership } from "@crustyring/node"
import { MemoryNetwork, Proto, type Wire } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Duration, Effect, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"

type Node = MemoryCluster.MemoryNode

const FAST = { pingInterval: Duration.millis(250), failureTimeout: Duration.seconds(1) }
const bytes = (s: string) => Buffer.from(s, "utf8")
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString("utf8"))

/** The true ring of the nodes, from their IDs. */
const ringOf = (nodes: ReadonlyArray<Node>) => Ring.make(nodes.map((n) => ({ id: n.node.self.id, node: n })))
const ownerOf = (nodes: ReadonlyArray<Node>, key: string) => Ring.owner(ringOf(nodes), Position.position(bytes(key)))!.node

/** `count` keys, named after `prefix`, whose owner on the ring of `nodes` is `owner`. */
const keysOwnedBy = (nodes: ReadonlyArray<Node>, owner: Node, count: number, prefix = "key") => {
  const out: Array<string> = []
  for (let i = 0; out.length < count; i++) if (ownerOf(nodes, `${prefix}-${i}`) === owner) out.push(`${prefix}-${i}`)
  return out
}

/** Starts `count` nodes n0..n{count-1}, all joining through n0, and lets the ring settle. */
const startRing = (cluster: MemoryCluster.MemoryCluster, count: number, settle: Duration.Input = "5 seconds") =>
  Effect.gen(function*() {
    const nodes = [yield* cluster.start({ name: "n0" })]
    for (let i = 1; i < count; i++) nodes.push(yield* cluster.start({ name: `n${i}`, seeds: [MemoryCluster.addressOf("n0")] }))
    yield* TestClock.adjust(settle)
    return nodes
  })

/** A `peer.Peer` client at `address`, as another node would call it. */
const forward = (cluster: MemoryCluster.MemoryCluster, address: string, query: Wire.Query, hops: number) => {
  const peer = cluster.network.client<Wire.PeerClient>(Proto.proto.peer.Peer.service, "client:1", address)
  return MemoryNetwork.call<Wire.QueryResult__Output>(address, "5 seconds", (o, cb) => peer.Forward({ query, hops }, o, cb))
}

/** Stops the nodes, letting simulated time run so that leaves and crashed nodes' give-ups finish. */
const stopAll = (nodes: ReadonlyArray<Node>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(Effect.forEach(nodes, (n) => n.close, { discard: true }))
    for (let i = 0; i < 120 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("1 second")
    yield* Fiber.join(fiber)
  })

describe("Router", () => {
  it.effect("a query sent to any node is served by the key's owner on the ring of the nodes' IDs", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // One copy per key: the node that holds a key is the node that served its Set.
      const cluster = yield* MemoryCluster.make({ ...FAST, replicas: 1, writeQuorum: 1 })
      const nodes = yield* startRing(cluster, 6)
      const ring = ringOf(nodes)

      // Each node's own range is the one the true ring gives it.
      for (const n of nodes) {
        const view = yield* n.node.membership.view
        expect(Membership.next(view).id).toBe(Ring.successor(ring, n.node.self.id)!.id)
      }

      const keys = Array.from({ length: 60 }, (_, i) => `routed-${i}`)
      // Every node owns some of them, so some queries are local and most are forwarded.
      for (const n of nodes) expect(keys.some((k) => ownerOf(nodes, k) === n)).toBe(true)
      for (const [i, key] of keys.entries()) {
        const entry = nodes[i % nodes.length]!
        const result = yield* cluster.query(entry.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })
        expect(result.error).toBeUndefined()
      }
      for (const key of keys) {
        const owner = ownerOf(nodes, key)
        for (const n of nodes) {
          const held = yield* n.node.storage.lookup(bytes(key))
          expect(Option.isSome(held), `${key} on ${n.address} (owner ${owner.address})`).toBe(n === owner)
        }
        // Read from every node: the owner answers locally (0 hops), every other node forwards.
        for (const n of nodes) {
          const got = yield* cluster.query(n.address, { ty: "Get", key: bytes(key) })
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
      const cluster = yield* MemoryCluster.make({
        ...FAST,
        failureTimeout: Duration.minutes(10),
        fingers: false,
        leaveTimeout: Duration.seconds(2)
      })
      const nodes = yield* startRing(cluster, 11)
      const sorted = ringOf(nodes).members.map((m) => m.node)
      const entry = sorted[0]!
      const hop = sorted[8]! // entry's last known successor: the first candidate
      const owner = sorted[9]! // unknown to entry
      const entryView = yield* entry.node.membership.view
      expect(Membership.known(entryView).map((m) => m.address)).not.toContain(owner.address)
      expect(entryView.successors.at(-1)?.address).toBe(hop.address)

      const [key] = keysOwnedBy(nodes, owner, 1)
      expect((yield* cluster.query(entry.address, { ty: "Set", key: bytes(key!), value: bytes("before") })).hops).toBe(2)

      // `hop` crashes: nothing reaches it while it stops, then its port refuses connections.
      const crashed = new Set([hop.address])
      cluster.network.decide = (from, to) => crashed.has(from) || crashed.has(to) ? { drop: true, delayMs: 0 } : MemoryNetwork.deliver
      cluster.network.sever(hop.address)
      const stopping = yield* Effect.forkChild(hop.close)
      yield* TestClock.adjust("5 seconds")
      expect(stopping.pollUnsafe()).toBeDefined()
      expect(cluster.network.listening(hop.address)).toBe(false)
      crashed.clear()

      // Still the first candidate in entry's view, not down anywhere.
      const live = nodes.filter((n) => n !== hop)
      expect((yield* entry.node.membership.view).successors.map((m) => m.address)).toContain(hop.address)
      for (const n of live) expect(n.node.membership.down.size).toBe(0)

      // The query goes round it: entry -> 7th successor -> owner.
      const set = yield* cluster.query(entry.address, { ty: "Set", key: bytes(key!), value: bytes("after") })
      expect(set.error).toBeUndefined()
      expect(text(set.value)).toBe("before")
      expect(set.hops).toBe(2)
      const got = yield* cluster.query(entry.address, { ty: "Get", key: bytes(key!) })
      expect(text(got.value)).toBe("after")
      expect(Option.map(yield* owner.node.storage.get(bytes(key!)), text)).toEqual(Option.some("after"))
      yield* stopAll(live)
    }))

  it.effect("a member marked down is routed around: every live node answers every key, its range included", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const cluster = yield* MemoryCluster.make({ ...FAST })
      const nodes = yield* startRing(cluster, 5)
      const down = nodes[2]!
      const keys = Array.from({ length: 40 }, (_, i) => `around-${i}`)
      const theirs = keys.filter((k) => ownerOf(nodes, k) === down)
      expect(theirs.length).toBeGreaterThan(0)
      for (const key of keys) {
        expect((yield* cluster.query(nodes[0]!.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })).error).toBeUndefined()
      }

      // It goes silent (messages dropped both ways); it is not closed, so it is still there.
      cluster.network.decide = (from, to) => from === down.address || to === down.address ? { drop: true, delayMs: 0 } : MemoryNetwork.deliver
      cluster.network.sever(down.address)
      yield* TestClock.adjust("3 seconds")
      const live = nodes.filter((n) => n !== down)
      for (const n of live) {
        expect([...n.node.membership.down.values()].map((d) => d.member.address)).toContain(down.address)
        expect(Membership.known(yield* n.node.membership.view).map((m) => m.address)).not.toContain(down.address)
      }
      // Its range now belongs to its predecessor, on the ring of the live nodes.
      for (const key of theirs) expect(ownerOf(live, key)).not.toBe(down)
      for (const n of live) {
        for (const key of keys) {
          const got = yield* cluster.query(n.address, { ty: "Get", key: bytes(key) })
          expect(got.error, `${key} at ${n.address}`).toBeUndefined()
          expect(text(got.value)).toBe(`v-${key}`)
          if (n === ownerOf(live, key)) expect(got.hops).toBe(0)
        }
      }
    }))

  it.effect("the hop limit: a query forwarded maxHops times fails with UNAVAILABLE instead of being forwarded again", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const cluster = yield* MemoryCluster.make({ ...FAST, replicas: 1, writeQuorum: 1 })
      const nodes = yield* startRing(cluster, 3)
      const owner = nodes[1]!
      const other = ringOf(nodes).members.map((m) => m.node).find((n) => n !== owner)!
      const [key] = keysOwnedBy(nodes, owner, 1)
      yield* cluster.query(owner.address, { ty: "Set", key: bytes(key!), value: bytes("v") })
      const get: Wire.Query = { ty: "Get", key: bytes(key!) }

      // One forward left: it goes through, and arrives with 64 hops.
      const last = yield* forward(cluster, other.address, get, 63)
      expect(text(last.value)).toBe("v")
      expect(last.hops).toBe(64)
      // None left: the node that would forward refuses.
      const refused = yield* Effect.flip(forward(cluster, other.address, get, 64))
      expect(refused._tag).toBe("Unavailable")
      expect(refused.message).toContain("hop limit of 64 reached")
      // The owner itself still serves a query that used up its hops: the limit is on forwards.
      const atOwner = yield* forward(cluster, owner.address, get, 64)
      expect(text(atOwner.value)).toBe("v")
      expect(atOwner.hops).toBe(64)
    }))

  it.effect("the hop limit of the config: a route longer than maxHops fails, a shorter one succeeds", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // As in the skip test: in a ring of 11 with no fingers the 9th successor is 2 hops away.
      const cluster = yield* MemoryCluster.make({ ...FAST, fingers: false, maxHops: 1 })
      const nodes = yield* startRing(cluster, 11)
      const sorted = ringOf(nodes).members.map((m) => m.node)
      const entry = sorted[0]!
      const [near] = keysOwnedBy(nodes, sorted[3]!, 1)
      const [far] = keysOwnedBy(nodes, sorted[9]!, 1)
      const ok = yield* cluster.query(entry.address, { ty: "Set", key: bytes(near!), value: bytes("v") })
      expect(ok.error).toBeUndefined()
      expect(ok.hops).toBe(1)
      const failed = yield* Effect.flip(cluster.query(entry.address, { ty: "Set", key: bytes(far!), value: bytes("v") }))
      expect(failed._tag).toBe("Unavailable")
      expect(failed.message).toContain("hop limit of 1 reached")
      // Nothing was written anywhere.
      for (const n of nodes) expect(Option.isNone(yield* n.node.storage.lookup(bytes(far!)))).toBe(true)
    }))
})

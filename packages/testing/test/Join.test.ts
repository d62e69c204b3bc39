/**
 * Join, on real nodes over the in-memory network under TestClock: a join moves the joiner's
 * range, with its keys, from the old owner, which keeps nothing of it; a join with an ID held
 * by a live node is refused and leaves the ring as it was; a node restarted after a crash
 * takes its place back.
 */
import { describe, expect, it } from "@effect/vitest"
import { Bootstrap, Membership, Node as DhtNode, NodeConfig, Storage, Transport } from "@crustyring/node"
import { Address, MemoryNetwork } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Duration, Effect, Exit, Fiber, Layer, Option, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"
import { DROP, FAST, flush, harness, held, keysOwnedBy, ownerOf, replicaSet, ringOf, sortedOf, startRing, text, bytes, withTime, type Harness, type Node } from "./Harness.ts"


const ALL = Position.make(0n)
/** The keys `node` stores, tombstones included. */
const keysOf = (node: Node) =>
  Effect.map(Effect.orDie(Stream.runCollect(node.node.storage.scan(ALL, ALL))), (es) => [...es].map((e) => text(e.key)!).sort())

/**
 * A node on the cluster's network that listens at `listen` but advertises `advertise`, so
 * its ring ID is the hash of `advertise`: another machine claiming a live node's address.
 */
const impostor = (h: Harness, listen: string, advertise: string, seed: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    return yield* Layer.buildWithScope(
      DhtNode.layer.pipe(Layer.provide(Layer.mergeAll(
        NodeConfig.layer({ ...FAST, port: 7000, advertise: Address.unsafeMake(advertise) }),
        Bootstrap.layerPeers([Address.unsafeMake(seed)]),
        Storage.layerMemory,
        Transport.layerMemory(h.cluster.network, listen)
      ))),
      scope
    ).pipe(Effect.onExit(() => Scope.close(scope, Exit.void)))
  })

describe("Join", () => {
  it.effect("a join moves the joiner's range with its keys from the old owner, which keeps none of them", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // One copy per key, so where a key is tells who owns it.
      const h = yield* harness({ replicas: 1, writeQuorum: 1 })
      const before = yield* startRing(h, 3)
      const joinerId = Position.nodeId(MemoryCluster.addressOf("joiner"))
      const oldOwner = Ring.owner(ringOf(before), joinerId)!.node
      const oldNext = Ring.successor(ringOf(before), oldOwner.node.self.id)!.node
      const keys = Array.from({ length: 200 }, (_, i) => `moving-${i}`)
      for (const key of keys) yield* h.query(before[0]!.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })
      const moving = keys.filter((k) => Ring.owner(Ring.make([...before.map((n) => ({ id: n.node.self.id })), { id: joinerId }]), Position.position(bytes(k)))!.id === joinerId)
      expect(moving.length).toBeGreaterThan(5)
      for (const key of moving) expect(yield* held(oldOwner, key)).toEqual(Option.some(`v-${key}`))

      // The start returns once the hand-off is complete.
      const joiner = yield* h.start({ name: "joiner", seeds: [before[0]!.address] })
      const after = [...before, joiner]
      expect(yield* keysOf(joiner)).toEqual([...moving].sort())
      for (const key of moving) expect(yield* held(oldOwner, key), key).toEqual(Option.none())
      // Everything else stayed where it was.
      for (const n of before) {
        expect(yield* keysOf(n)).toEqual(keys.filter((k) => ownerOf(after, k) === n).sort())
      }
      // The pointers around it.
      const view = yield* joiner.node.membership.view
      expect(view.phase).toBe("ready")
      expect(Option.isNone(view.incoming)).toBe(true)
      expect(Option.map(view.predecessor, (p) => p.address)).toEqual(Option.some(oldOwner.address))
      expect(Membership.next(view).address).toBe(oldNext.address)
      expect(Membership.next(yield* oldOwner.node.membership.view).address).toBe(joiner.address)
      // Every key is served, from every node.
      yield* TestClock.adjust("2 seconds")
      for (const n of after) {
        for (const key of keys.filter((_, i) => i % 7 === 0)) {
          expect(text((yield* h.query(n.address, { ty: "Get", key: bytes(key) })).value)).toBe(`v-${key}`)
        }
      }
    }))

  it.effect("a join with a ring ID already held by a live node is refused, and the ring stays as it was", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness()
      const nodes = yield* startRing(h, 3)
      const victim = nodes[1]!
      yield* h.query(victim.address, { ty: "Set", key: bytes("k"), value: bytes("v") })
      const views = yield* Effect.forEach(nodes, (n) => n.node.membership.view)

      const exit = yield* withTime(Effect.exit(impostor(h, "impostor:7000", victim.address, nodes[0]!.address)))
      expect(Exit.isFailure(exit)).toBe(true)
      const message = Exit.isFailure(exit) ? String(exit.cause) : ""
      expect(message).toContain("already held by live node")
      expect(message).toContain(victim.address)
      expect(h.cluster.network.listening("impostor:7000")).toBe(false)

      // Nobody took it in: the views are unchanged, and the victim still owns its range.
      yield* TestClock.adjust("2 seconds")
      for (const [i, n] of nodes.entries()) {
        const view = yield* n.node.membership.view
        expect(view.successors.map((m) => m.address)).toEqual(views[i]!.successors.map((m) => m.address))
        expect(Option.map(view.predecessor, (m) => m.address)).toEqual(Option.map(views[i]!.predecessor, (m) => m.address))
        expect(n.node.membership.down.size).toBe(0)
      }
      expect((yield* victim.node.membership.view).phase).toBe("ready")
      expect(text((yield* h.query(nodes[2]!.address, { ty: "Get", key: bytes("k") })).value)).toBe("v")
    }))

  it.effect("a node restarted after a crash, before it was found down, takes its place back with its store", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // Slow detection: the crash goes unnoticed; one copy per key, so only its store has them.
      const h = yield* harness({ replicas: 1, writeQuorum: 1, failureTimeout: Duration.minutes(5), leaveTimeout: Duration.seconds(2) })
      const nodes = yield* startRing(h, 3)
      const victim = nodes[1]!
      const keys = keysOwnedBy(nodes, victim, 10, "back")
      for (const key of keys) yield* h.query(nodes[0]!.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })

      const stopped = yield* h.crash(victim)
      yield* TestClock.adjust("5 seconds")
      expect(stopped.pollUnsafe()).toBeDefined()
      h.crashed.clear()
      h.nodes.splice(h.nodes.indexOf(victim), 1)
      for (const n of nodes) if (n !== victim) expect(n.node.membership.down.size).toBe(0)

      const back = yield* h.start({ name: "n1", seeds: [nodes[0]!.address], store: victim.store })
      expect(back.node.self.id).toBe(victim.node.self.id)
      yield* TestClock.adjust("3 seconds")
      const view = yield* back.node.membership.view
      expect(view.phase).toBe("ready")
      const live = [nodes[0]!, back, nodes[2]!]
      expect(Membership.next(view).id).toBe(Ring.successor(ringOf(live), back.node.self.id)!.id)
      for (const key of keys) {
        const got = yield* h.query(nodes[2]!.address, { ty: "Get", key: bytes(key) })
        expect(text(got.value)).toBe(`v-${key}`)
      }
      const predecessor = Ring.predecessor(ringOf(live), back.node.self.id)!.node
      expect(Membership.next(yield* predecessor.node.membership.view).address).toBe(back.address)
    }))
})

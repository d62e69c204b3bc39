/**
 * Repair, on real nodes over the in-memory network under TestClock: the node that takes over a
 * crashed node's range pulls it from the replicas; anti-entropy brings a replica that missed
 * writes up to date; a node that is no longer a replica drops its copies; tombstones are
 * collected after their grace period.
 */
import { describe, expect, it } from "@effect/vitest"
import { Membership, type NodeConfig } from "@crustyring/node"
import { MemoryNetwork } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Duration, Effect, Exit, Fiber, Option, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"
import { DROP, FAST, flush, harness, held, keysOwnedBy, ownerOf, replicaSet, ringOf, sortedOf, startRing, text, bytes, withTime, type Harness, type Node } from "./Harness.ts"


const ALL = Position.make(0n)

/** Every key `node` stores, tombstones included, as key -> value (undefined for a tombstone). */
const contents = (node: Node) =>
  Effect.map(
    Effect.orDie(Stream.runCollect(node.node.storage.scan(ALL, ALL))),
    (entries) => new Map([...entries].map((e) => [text(e.key)!, text(e.value)] as const))
  )

/**
 * Problems with the placement of `expected` (key -> value, undefined for deleted) once repair
 * has settled: each key on exactly its replica set of the ring of `nodes`, with that value.
 */
const placementProblems = (nodes: ReadonlyArray<Node>, expected: ReadonlyMap<string, string | undefined>, replicas = 3) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    const stores = new Map<Node, Map<string, string | undefined>>()
    for (const n of nodes) stores.set(n, yield* contents(n))
    for (const [key, value] of expected) {
      const set = replicaSet(nodes, key, replicas)
      for (const n of nodes) {
        const store = stores.get(n)!
        if (set.includes(n) && (!store.has(key) || store.get(key) !== value)) {
          problems.push(`${key} on ${n.address}: ${store.has(key) ? JSON.stringify(store.get(key)) : "missing"}, expected ${JSON.stringify(value)}`)
        }
        if (!set.includes(n) && store.has(key)) problems.push(`${key} still on ${n.address}, outside its replica set`)
      }
    }
    return problems
  })

describe("Repair", () => {
  it.effect("catch-up after a crash: the node that takes over the range pulls it from the replicas", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // No periodic round in the test's span: the round that pulls runs because the view changed.
      const h = yield* harness({ repairInterval: Duration.hours(1), readRepairChance: 0 })
      const nodes = yield* startRing(h, 4)
      const sorted = sortedOf(nodes)
      const crashed = sorted[1]!
      // Under [id, next) ownership its predecessor's range grows over the crashed node's.
      const taker = sorted[0]!
      const keys = keysOwnedBy(nodes, crashed, 20, "caught")
      for (const key of keys) yield* h.query(sorted[3]!.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })
      yield* flush
      // The taker is not a replica of that range: it holds none of it.
      for (const key of keys) {
        expect(yield* held(taker, key)).toEqual(Option.none())
        for (const n of replicaSet(nodes, key)) expect(yield* held(n, key)).toEqual(Option.some(`v-${key}`))
      }

      yield* h.crash(crashed)
      for (let i = 0; i < 100 && !taker.node.membership.down.has(crashed.node.self.id); i++) yield* TestClock.adjust("50 millis")
      expect(taker.node.membership.down.has(crashed.node.self.id)).toBe(true)
      expect(Membership.next(yield* taker.node.membership.view).address).toBe(sorted[2]!.address)

      // No read: only repair can bring the keys, and it does at once.
      yield* TestClock.adjust("1 second")
      for (const key of keys) expect(yield* held(taker, key), key).toEqual(Option.some(`v-${key}`))
      expect(Option.isNone((yield* taker.node.membership.view).incoming)).toBe(true)
      const live = nodes.filter((n) => n !== crashed)
      for (const n of live) {
        for (const key of keys) expect(text((yield* h.query(n.address, { ty: "Get", key: bytes(key) })).value)).toBe(`v-${key}`)
      }
    }))

  it.effect("anti-entropy: a replica that missed writes (its messages dropped) converges after a repair round", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ repairInterval: Duration.seconds(2), readRepairChance: 0 })
      const nodes = yield* startRing(h, 4)
      const sorted = sortedOf(nodes)
      const owner = sorted[0]!
      const missing = sorted[1]!
      const keys = keysOwnedBy(nodes, owner, 30, "entropy")
      // The first replica gets none of the owner's messages while the writes go on; the
      // second acknowledges them.
      h.faults.rule = (from, to) => from === owner.address && to === missing.address ? DROP : undefined
      for (const key of keys) {
        expect((yield* h.query(owner.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })).error).toBeUndefined()
      }
      h.faults.rule = () => undefined
      yield* flush
      for (const key of keys) {
        expect(yield* held(missing, key)).toEqual(Option.none())
        expect(yield* held(sorted[2]!, key)).toEqual(Option.some(`v-${key}`))
      }
      expect(missing.node.membership.down.size + owner.node.membership.down.size).toBe(0)

      yield* TestClock.adjust("6 seconds")
      for (const key of keys) {
        const a = yield* owner.node.storage.lookup(bytes(key))
        const b = yield* missing.node.storage.lookup(bytes(key))
        expect(Option.map(b, (e) => text(e.value)), key).toEqual(Option.some(`v-${key}`))
        expect(Option.map(b, (e) => e.version)).toEqual(Option.map(a, (e) => e.version))
      }
    }))

  it.effect("anti-entropy both ways: lost copies come back, and a newer copy on a replica reaches the owner", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ repairInterval: Duration.seconds(2), readRepairChance: 0 })
      const nodes = yield* startRing(h, 4)
      const sorted = sortedOf(nodes)
      const owner = sorted[0]!
      const replica = sorted[1]!
      const keys = keysOwnedBy(nodes, owner, 20, "both")
      for (const key of keys) yield* h.query(owner.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })
      yield* flush
      // The replica loses its copies of the owner's range (no write fails: nothing signals it).
      const removed = yield* replica.node.storage.removeRange(owner.node.self.id, sorted[1]!.node.self.id)
      expect(removed).toBe(keys.length)
      // And holds a newer version of one key than the owner (as written across a partition).
      const newerKey = keys[0]!
      const before = Option.getOrThrow(yield* owner.node.storage.lookup(bytes(newerKey)))
      yield* replica.node.storage.merge({ key: bytes(newerKey), value: bytes("newer"), version: { hlc: before.version.hlc + 1000n, writer: replica.node.self.id } })

      yield* TestClock.adjust("5 seconds")
      for (const key of keys) {
        const want = key === newerKey ? "newer" : `v-${key}`
        for (const n of replicaSet(nodes, key)) expect(yield* held(n, key), `${key} on ${n.address}`).toEqual(Option.some(want))
      }
    }))

  it.effect("dropping foreign copies: after a join, a node that is no longer a replica of a range drops its copies", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ repairInterval: Duration.seconds(2) })
      const nodes = yield* startRing(h, 3)
      // Keys in every range of the ring as it will be after the join, some of them deleted.
      const joiner = "n3"
      const future = [...nodes.map((n) => n.node.self.id), Position.nodeId(MemoryCluster.addressOf(joiner))]
      const futureRing = Ring.make(future.map((id) => ({ id })))
      const expected = new Map<string, string | undefined>()
      for (let i = 0; expected.size < 40; i++) {
        const key = `foreign-${i}`
        const owner = Ring.owner(futureRing, Position.position(bytes(key)))!
        if ([...expected.keys()].filter((k) => Ring.owner(futureRing, Position.position(bytes(k)))!.id === owner.id).length < 10) {
          expected.set(key, `v-${key}`)
        }
      }
      for (const key of expected.keys()) yield* h.query(nodes[0]!.address, { ty: "Set", key: bytes(key), value: bytes(`v-${key}`) })
      for (const key of [...expected.keys()].filter((_, i) => i % 5 === 0)) {
        yield* h.query(nodes[1]!.address, { ty: "Delete", key: bytes(key) })
        expected.set(key, undefined)
      }
      yield* flush
      // Three nodes, three replicas: every node holds every key.
      for (const n of nodes) expect((yield* contents(n)).size).toBe(expected.size)

      const all = [...nodes, yield* h.start({ name: joiner, seeds: [nodes[0]!.address] })]
      yield* TestClock.adjust("10 seconds")
      const problems = yield* placementProblems(all, expected)
      expect(problems).toEqual([])
      // Each of the first three nodes dropped the copies of the one range it no longer replicates.
      for (const n of nodes) expect((yield* contents(n)).size).toBeLessThan(expected.size)
    }))

  it.effect("tombstones are collected after the grace period, and not before; live keys stay", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ tombstoneGrace: Duration.seconds(10), repairInterval: Duration.seconds(1) })
      const nodes = yield* startRing(h, 3)
      yield* h.query(nodes[0]!.address, { ty: "Set", key: bytes("gone"), value: bytes("v") })
      yield* h.query(nodes[0]!.address, { ty: "Set", key: bytes("kept"), value: bytes("v") })
      yield* h.query(nodes[1]!.address, { ty: "Delete", key: bytes("gone") })
      yield* flush
      for (const n of nodes) {
        // A tombstone: an entry without a value.
        expect(yield* held(n, "gone")).toEqual(Option.some(undefined))
        expect(yield* n.node.storage.tombstones).toBe(1)
      }
      yield* TestClock.adjust("9 seconds")
      for (const n of nodes) expect(yield* held(n, "gone")).toEqual(Option.some(undefined))

      // Past the grace: collected within a few rounds everywhere (a replica that has not
      // collected yet may hand it back once to one that has; it is collected again).
      yield* TestClock.adjust("4 seconds")
      for (const n of nodes) {
        expect(yield* held(n, "gone")).toEqual(Option.none())
        expect(yield* n.node.storage.tombstones).toBe(0)
        expect(yield* held(n, "kept")).toEqual(Option.some("v"))
      }
      expect((yield* h.query(nodes[2]!.address, { ty: "Get", key: bytes("gone") })).error).toBe("Key not present in database.")
      // And it stays collected.
      yield* TestClock.adjust("5 seconds")
      for (const n of nodes) expect(yield* held(n, "gone")).toEqual(Option.none())
    }))
})

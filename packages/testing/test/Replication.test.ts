/**
 * Replication, on real nodes over the in-memory network under TestClock: a write is
 * acknowledged once `writeQuorum` copies hold it, and reaches the whole replica set after; a
 * node that cannot reach enough replicas answers UNAVAILABLE "quorum not reached"; a read that
 * finds a stale copy repairs it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Membership, type NodeConfig, Version } from "@crustyring/node"
import { MemoryNetwork } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Duration, Effect, Exit, Fiber, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"
import { DROP, FAST, flush, harness, held, keysOwnedBy, ownerOf, replicaSet, ringOf, sortedOf, startRing, text, bytes, withTime, type Harness, type Node } from "./Harness.ts"


/** Cuts `node` off from the other nodes (clients still reach it). */
const isolate = (h: Harness, node: Node) => {
  const peers = new Set(h.nodes.map((n) => n.address))
  h.faults.rule = (from, to) =>
    (from === node.address && peers.has(to) && to !== node.address) || (to === node.address && peers.has(from) && from !== node.address)
      ? DROP
      : undefined
  h.cluster.network.sever(node.address)
}
const heal = (h: Harness) => {
  h.faults.rule = () => undefined
}
const downOf = (node: Node) => [...node.node.membership.down.values()].map((d) => d.member.address).sort()

describe("Replication", () => {
  for (const { ackAt, writeQuorum } of [{ writeQuorum: 2, ackAt: 100 }, { writeQuorum: 3, ackAt: 500 }]) {
    it.effect(`a write is acknowledged once ${writeQuorum} copies hold it (and not before), then reaches every replica`, () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.UTC(2026, 0, 1))
        const h = yield* harness({ replicas: 3, writeQuorum })
        const nodes = yield* startRing(h, 4)
        const key = "quorum"
        const [owner, first, second] = replicaSet(nodes, key)
        const outsider = nodes.find((n) => ![owner, first, second].includes(n))!
        // The owner's messages reach its first replica after 100 ms, its second after 500 ms.
        h.faults.rule = (from, to) =>
          from !== owner!.address ? undefined : to === first!.address
          ? { drop: false, delayMs: 100 }
          : to === second!.address
          ? { drop: false, delayMs: 500 }
          : undefined

        const write = yield* Effect.forkChild(h.query(owner!.address, { ty: "Set", key: bytes(key), value: bytes("v") }))
        yield* TestClock.adjust("50 millis")
        expect(write.pollUnsafe()).toBeUndefined()
        expect(yield* held(owner!, key)).toEqual(Option.some("v"))
        expect(yield* held(first!, key)).toEqual(Option.none())

        yield* TestClock.adjust(Duration.millis(ackAt - 50 - 10))
        expect(write.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust("20 millis")
        yield* flush
        // Acknowledged now: W copies hold it.
        expect(write.pollUnsafe()).toBeDefined()
        const result = yield* Fiber.join(write)
        expect(result.error).toBeUndefined()
        expect(result.value).toBeUndefined()
        expect(yield* held(first!, key)).toEqual(Option.some("v"))
        if (writeQuorum === 2) expect(yield* held(second!, key)).toEqual(Option.none())

        // The last send finishes in the background: the whole replica set holds it, no one else.
        yield* TestClock.adjust("500 millis")
        for (const n of [owner!, first!, second!]) expect(yield* held(n, key), n.address).toEqual(Option.some("v"))
        expect(yield* held(outsider, key)).toEqual(Option.none())
      }))
  }

  it.effect("with write quorum 1 the owner acknowledges alone, and the copies still go to every replica at once, not at the next repair round", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ replicas: 3, writeQuorum: 1, repairInterval: Duration.hours(1) })
      const nodes = yield* startRing(h, 4)
      const key = "one-ack"
      const [owner, first, second] = replicaSet(nodes, key)
      const outsider = nodes.find((n) => ![owner, first, second].includes(n))!
      // The owner's messages to its replicas take 100 ms.
      h.faults.rule = (from, to) => (from === owner!.address && (to === first!.address || to === second!.address) ? { drop: false, delayMs: 100 } : undefined)

      const write = yield* Effect.forkChild(h.query(owner!.address, { ty: "Set", key: bytes(key), value: bytes("v") }))
      yield* flush
      // Acknowledged at once, on the owner's copy alone.
      expect(write.pollUnsafe()).toBeDefined()
      expect((yield* Fiber.join(write)).error).toBeUndefined()
      expect(yield* held(first!, key)).toEqual(Option.none())

      yield* TestClock.adjust("150 millis")
      yield* flush
      for (const n of [owner!, first!, second!]) expect(yield* held(n, key), n.address).toEqual(Option.some("v"))
      expect(yield* held(outsider, key)).toEqual(Option.none())
    }))

  it.effect("a write whose replicas already hold a greater version (same millisecond, greater writer) is stamped again above it, and wins", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ replicas: 3, writeQuorum: 3 })
      const nodes = yield* startRing(h, 3)
      const key = "tie"
      const [owner, first] = replicaSet(nodes, key)
      // A write coordinated elsewhere in this millisecond, by a writer with a greater ID, as a
      // side of a partition would make it: it reached one replica only.
      const now = yield* Effect.clockWith((c) => Effect.succeed(c.currentTimeMillisUnsafe()))
      const elsewhere = { hlc: Version.fromMillis(now) + 5n, writer: 2n ** 64n - 1n }
      yield* first!.store.merge({ key: bytes(key), value: bytes("old"), version: elsewhere })
      const result = yield* h.query(owner!.address, { ty: "Set", key: bytes(key), value: bytes("new") })
      expect(result.error).toBeUndefined()
      expect(text(result.value)).toBe("old")
      yield* flush
      for (const n of replicaSet(nodes, key)) {
        expect(yield* held(n, key), n.address).toEqual(Option.some("new"))
        const entry = Option.getOrThrow(yield* n.store.lookup(bytes(key)))
        expect(Version.compare(entry.version, elsewhere), n.address).toBe(1)
      }
    }))

  it.effect("a node whose replicas are all down answers UNAVAILABLE \"quorum not reached\" and writes nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ replicas: 3, writeQuorum: 2, readQuorum: 2 })
      const nodes = yield* startRing(h, 3)
      const [cut, ...rest] = nodes
      // Cut off from the other nodes; it marks both down (and they mark it down).
      isolate(h, cut!)
      yield* TestClock.adjust("3 seconds")
      expect(downOf(cut!)).toEqual(rest.map((n) => n.address).sort())

      const failed = yield* Effect.flip(h.query(cut!.address, { ty: "Set", key: bytes("lonely"), value: bytes("v") }))
      expect(failed._tag).toBe("Unavailable")
      expect(failed.message).toContain("quorum not reached")
      expect(failed.message).toContain("nothing was written")
      expect(failed.message).toContain("2 members down")
      for (const n of nodes) expect(yield* held(n, "lonely"), n.address).toEqual(Option.none())
      const removed = yield* Effect.flip(h.query(cut!.address, { ty: "Delete", key: bytes("lonely") }))
      expect(removed.message).toContain("quorum not reached")

      // A read quorum of 2 cannot be met either.
      yield* TestClock.adjust("10 seconds")
      const read = yield* Effect.flip(h.query(cut!.address, { ty: "Get", key: bytes("lonely") }))
      expect(read._tag).toBe("Unavailable")
      expect(read.message).toContain("quorum not reached")

      // The other side still has two of the three members: it takes writes.
      const ok = yield* h.query(rest[0]!.address, { ty: "Set", key: bytes("majority"), value: bytes("v") })
      expect(ok.error).toBeUndefined()
      heal(h)
      yield* TestClock.adjust("3 seconds")
    }))

  // Regression tests for a bug found while writing these (failing on commit 22f7228): after a
  // crash, the node that takes over the crashed node's range marks it `incoming` of kind
  // "repair" until its catch-up has pulled it (a while, at `repairRate`), and KeyValue read
  // that range from `min(1, replicas)` copies, not the read quorum. With read quorum 3 and two
  // copies of three reachable, a read of the taken-over range succeeded; with no replica left
  // (a node cut off from the rest), it was answered from the node's own copy alone.
  it.effect("read quorum 3, two of three copies reachable: reads fail with \"quorum not reached\", in a range taken over after a crash too", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // A slow catch-up (one key a second), so the taken-over range stays incoming throughout.
      const h = yield* harness({ replicas: 3, writeQuorum: 2, readQuorum: 3, repairRate: 1, readRepairChance: 0 })
      const nodes = yield* startRing(h, 4)
      const sorted = sortedOf(nodes)
      const [taker, crashed, next, last] = [sorted[0]!, sorted[1]!, sorted[2]!, sorted[3]!]
      const takenOver = keysOwnedBy(nodes, crashed, 30, "taken")
      const [own] = keysOwnedBy(nodes, taker, 1, "own")
      for (const key of [...takenOver, own!]) yield* h.query(taker.address, { ty: "Set", key: bytes(key), value: bytes("v") })
      yield* h.crash(crashed)
      for (let i = 0; i < 100 && !taker.node.membership.down.has(crashed.node.self.id); i++) yield* TestClock.adjust("50 millis")
      // The crashed node's range is the taker's now, still being pulled from the replicas.
      const view = yield* taker.node.membership.view
      expect(Membership.next(view).address).toBe(next.address)
      expect(Option.map(view.incoming, (i) => [i.kind, i.start])).toEqual(Option.some(["repair", crashed.node.self.id]))

      // The last replica becomes unreachable from the taker: two copies of three are left.
      h.faults.rule = (from, to) =>
        (from === taker.address && to === last.address) || (from === last.address && to === taker.address) ? DROP : undefined
      const read = (key: string) => Effect.forkChild(Effect.flip(h.query(taker.address, { ty: "Get", key: bytes(key) })))
      const reads = [yield* read(own!), yield* read(takenOver[0]!)]
      yield* TestClock.adjust("4 seconds")
      expect(Option.isSome((yield* taker.node.membership.view).incoming)).toBe(true)
      for (const [i, fiber] of reads.entries()) {
        const error = yield* Fiber.join(fiber)
        expect(error.message, i === 0 ? "own range" : "taken-over range").toContain("quorum not reached")
      }
    }))

  it.effect("a node cut off from the rest does not answer a read-quorum-2 read alone, even just after it marked them down", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ replicas: 3, writeQuorum: 2, readQuorum: 2 })
      const nodes = yield* startRing(h, 3)
      const [cut, ...rest] = nodes
      isolate(h, cut!)
      // The moment it has marked both others down (its range then grows over theirs, to repair).
      for (let i = 0; i < 100 && downOf(cut!).length < 2; i++) yield* TestClock.adjust("50 millis")
      expect(downOf(cut!)).toEqual(rest.map((n) => n.address).sort())
      const read = yield* Effect.result(h.query(cut!.address, { ty: "Get", key: bytes("lonely") }))
      expect(read._tag, `a read with read quorum 2 on a node alone answered ${JSON.stringify(read)}`).toBe("Failure")
      heal(h)
    }))

  it.effect("replicas that are not yet down but do not answer: the write fails with \"quorum not reached\" at the deadline", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // Failure detection slower than the RPC deadline (3 s): the replicas stay in the view.
      const h = yield* harness({ pingInterval: Duration.millis(500), failureTimeout: Duration.seconds(20) })
      const nodes = yield* startRing(h, 3)
      const key = "unacknowledged"
      const [owner, first, second] = replicaSet(nodes, key)
      h.faults.rule = (from, to) => from === owner!.address && to !== "client:1" ? DROP : undefined
      const write = yield* Effect.forkChild(Effect.flip(h.query(owner!.address, { ty: "Set", key: bytes(key), value: bytes("v") })))
      yield* TestClock.adjust("2900 millis")
      expect(write.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("200 millis")
      const failed = yield* Fiber.join(write)
      expect(failed._tag).toBe("Unavailable")
      expect(failed.message).toContain("quorum not reached: 1 of 2 replicas acknowledged")
      expect(owner!.node.membership.down.size).toBe(0)
      for (const n of [first!, second!]) expect(yield* held(n, key)).toEqual(Option.none())
      // Documented: a failed write is not rolled back; the coordinator keeps its copy.
      expect(yield* held(owner!, key)).toEqual(Option.some("v"))
      heal(h)
    }))

  it.effect("read repair with read quorum 2: a stale replica gets the newest version after a read", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // No periodic repair and no chance reads in the test's span: only the read can repair.
      const h = yield* harness({ readQuorum: 2, readRepairChance: 0, repairInterval: Duration.hours(1) })
      const nodes = yield* startRing(h, 3)
      const key = "repaired"
      const [owner, first, second] = replicaSet(nodes, key)
      yield* h.query(owner!.address, { ty: "Set", key: bytes(key), value: bytes("old") })
      yield* flush
      for (const n of nodes) expect(yield* held(n, key)).toEqual(Option.some("old"))

      // The first replica misses the next write (the owner's messages to it are lost).
      h.faults.rule = (from, to) => from === owner!.address && to === first!.address ? DROP : undefined
      const write = yield* h.query(owner!.address, { ty: "Set", key: bytes(key), value: bytes("new") })
      expect(text(write.value)).toBe("old")
      heal(h)
      yield* TestClock.adjust("100 millis")
      expect(yield* held(first!, key)).toEqual(Option.some("old"))
      expect(yield* held(second!, key)).toEqual(Option.some("new"))

      // A read at the owner consults it and the first replica: the newest wins and is written
      // back, with no time passing (the missed write's own timeout, 3 s, is far off).
      const got = yield* h.query(owner!.address, { ty: "Get", key: bytes(key) })
      expect(text(got.value)).toBe("new")
      yield* flush
      expect(yield* held(first!, key)).toEqual(Option.some("new"))
      const atOwner = yield* owner!.node.storage.lookup(bytes(key))
      const atFirst = yield* first!.node.storage.lookup(bytes(key))
      expect(Option.map(atFirst, (e) => e.version)).toEqual(Option.map(atOwner, (e) => e.version))
    }))

  it.effect("read repair with read quorum 2: a stale coordinator takes the newer copy it reads", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ readQuorum: 2, readRepairChance: 0, repairInterval: Duration.hours(1) })
      const nodes = yield* startRing(h, 3)
      const key = "coordinator-stale"
      const [owner, first] = replicaSet(nodes, key)
      yield* h.query(owner!.address, { ty: "Set", key: bytes(key), value: bytes("old") })
      // The first replica holds a newer version (as if written across a partition).
      const before = Option.getOrThrow(yield* owner!.node.storage.lookup(bytes(key)))
      yield* first!.node.storage.merge({
        key: bytes(key),
        value: bytes("newer"),
        version: { hlc: before.version.hlc + 1000n, writer: first!.node.self.id }
      })
      expect(yield* held(owner!, key)).toEqual(Option.some("old"))

      const got = yield* h.query(owner!.address, { ty: "Get", key: bytes(key) })
      expect(text(got.value)).toBe("newer")
      expect(yield* held(owner!, key)).toEqual(Option.some("newer"))
    }))

  it.effect("read repair after a single-copy read (read-repair chance 1): the other copies are checked and repaired", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ readQuorum: 1, readRepairChance: 1, repairInterval: Duration.hours(1) })
      const nodes = yield* startRing(h, 3)
      const key = "checked"
      const [owner, first, second] = replicaSet(nodes, key)
      yield* h.query(owner!.address, { ty: "Set", key: bytes(key), value: bytes("old") })
      yield* flush
      h.faults.rule = (from, to) => from === owner!.address && to === first!.address ? DROP : undefined
      yield* h.query(owner!.address, { ty: "Set", key: bytes(key), value: bytes("new") })
      heal(h)
      yield* TestClock.adjust("100 millis")
      expect(yield* held(first!, key)).toEqual(Option.some("old"))
      expect(yield* held(second!, key)).toEqual(Option.some("new"))

      const got = yield* h.query(owner!.address, { ty: "Get", key: bytes(key) })
      expect(text(got.value)).toBe("new")
      // The check runs after the answer, with no time passing: the stale copy is repaired.
      yield* flush
      expect(yield* held(first!, key)).toEqual(Option.some("new"))
    }))

  it.effect("without a read quorum or chance check, a stale replica stays stale until repair (control)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ readQuorum: 1, readRepairChance: 0, repairInterval: Duration.hours(1) })
      const nodes = yield* startRing(h, 3)
      const key = "unchecked"
      const [owner, first] = replicaSet(nodes, key)
      yield* h.query(owner!.address, { ty: "Set", key: bytes(key), value: bytes("old") })
      yield* flush
      h.faults.rule = (from, to) => from === owner!.address && to === first!.address ? DROP : undefined
      yield* h.query(owner!.address, { ty: "Set", key: bytes(key), value: bytes("new") })
      heal(h)
      expect(text((yield* h.query(owner!.address, { ty: "Get", key: bytes(key) })).value)).toBe("new")
      yield* TestClock.adjust("100 millis")
      expect(yield* held(first!, key)).toEqual(Option.some("old"))
    }))
})

/**
 * A real in-process cluster (registry + nodes over loopback gRPC), checked the way a user sees
 * it: through the client, and against the ownership rule of the architecture, computed here
 * with the reference `Ring` from @crustyring/ring.
 */
import { assert, describe, expect, it, layer } from "@effect/vitest"
import { DhtClient } from "@crustyring/client"
import type { Membership } from "@crustyring/node"
import { Position, Ring } from "@crustyring/ring"
import { Context, Effect, Layer, Option, Random } from "effect"
import { TestCluster } from "../src/index.ts"
import * as Placement from "./Placement.ts"

const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8")
const bytes = (s: string): Uint8Array => Buffer.from(s, "utf8")

const KEYS = 1000
const keyOf = (i: number) => `key-${i}`
const valueOf = (i: number) => `value-${i}-${"x".repeat(i % 17)}`
const allKeys = Array.from({ length: KEYS }, (_, i) => i)

/** A client that talks to exactly one node. */
// Random routing: with one node, every request enters the cluster there.
const clientOf = (address: string) => DhtClient.make({ nodes: [address] }, { routing: "random" })

/** The nodes of a cluster. These tests never stop a node, so that is all of them. */
const nodesOf = (cluster: TestCluster.TestCluster): ReadonlyArray<TestCluster.ClusterNode> => [...cluster.nodes]

/** The owner of a key by the architecture's rule, over the given nodes. */
const ownerOf = (nodes: ReadonlyArray<TestCluster.ClusterNode>, key: string): TestCluster.ClusterNode =>
  Placement.trueRing(nodes).owner(key)

/** Every key 0..KEYS-1 (or `indices`) with its value. */
const expectedOf = (indices: ReadonlyArray<number> = allKeys): Placement.Expected => ({
  present: new Map(indices.map((i) => [keyOf(i), valueOf(i)]))
})

/** Waits until repair has settled: each key on exactly its owner and the owner's next two successors. */
const settled = (nodes: ReadonlyArray<TestCluster.ClusterNode>, expected: Placement.Expected = expectedOf()) =>
  Placement.eventually("each key on exactly its replica set", Placement.settledProblems(nodes, expected), "40 seconds") // dropping stale copies takes two stable repair rounds (5 s each by default)

/** Writes keys 0..KEYS-1 through the cluster's client; each is new, so Set returns no previous value. */
const writeKeys = (cluster: TestCluster.TestCluster) =>
  Effect.gen(function*() {
    const client = yield* cluster.client()
    const previous = yield* Effect.forEach(allKeys, (i) => client.set(keyOf(i), valueOf(i)), { concurrency: 32 })
    const replaced = previous.flatMap((p, i) => (Option.isSome(p) ? [keyOf(i)] : []))
    expect(replaced, "fresh keys have no previous value").toEqual([])
  })

/** Reads every key through a client of each running node; returns the mismatches, empty when all is well. */
const readEverywhere = (cluster: TestCluster.TestCluster, indices: ReadonlyArray<number> = allKeys) =>
  Effect.gen(function*() {
    const nodes = nodesOf(cluster)
    const problems: Array<string> = []
    for (const n of nodes) {
      const client = yield* clientOf(n.address)
      yield* Effect.forEach(indices, (i) =>
        client.get(keyOf(i)).pipe(
          Effect.match({
            onFailure: (e) => {
              problems.push(`${keyOf(i)} via ${n.address}: ${e._tag} ${e.message}`)
            },
            onSuccess: (v) => {
              if (text(v) !== valueOf(i)) problems.push(`${keyOf(i)} via ${n.address}: got ${JSON.stringify(text(v))}`)
            }
          })
        ), { concurrency: 32, discard: true })
    }
    return problems
  })

/** Live keys stored on a node, replicas included. */
const storedOn = (n: TestCluster.ClusterNode) => Effect.orDie(n.node.storage.count(Position.make(0n), Position.make(0n)))

/** Checks that every node's successor and predecessor are the true ones by ID order. */
const assertViewsConverged = (views: ReadonlyArray<Membership.View>) => {
  const ring = Ring.make(views.map((v) => v.self))
  assert.isAbove(views.length, 1)
  for (const v of views) {
    const succ = Ring.successor(ring, v.self.id)!
    const pred = Ring.predecessor(ring, v.self.id)!
    assert.strictEqual(v.phase, "ready", `${v.self.address} is ready`)
    assert.strictEqual(v.successors[0]?.address, succ.address, `successor of ${v.self.address}`)
    assert.strictEqual(Option.getOrUndefined(v.predecessor)?.address, pred.address, `predecessor of ${v.self.address}`)
  }
}

/** Every node's view, read from the nodes themselves. */
const viewsOf = (nodes: ReadonlyArray<TestCluster.ClusterNode>) => Effect.forEach(nodes, (n) => n.node.membership.view)

// ---------------------------------------------------------------------------------------------
// One 5-node cluster with 1,000 keys, shared by the read-only checks below.

class Populated extends Context.Service<Populated, TestCluster.TestCluster>()("test/Populated") {}

const PopulatedLive = Layer.effect(
  Populated,
  Effect.gen(function*() {
    const cluster = yield* TestCluster.make({ nodes: 5 })
    yield* writeKeys(cluster)
    return cluster
  })
)

layer(PopulatedLive, { excludeTestServices: true, timeout: "60 seconds" })("a 5-node cluster with 1,000 keys", (it) => {
  it.effect("every key reads back correctly from every node", () =>
    Effect.gen(function*() {
      const cluster = yield* Populated
      assert.lengthOf(cluster.nodes, 5)
      expect(yield* readEverywhere(cluster)).toEqual([])
    }))

  it.effect("each key is stored on its owner and the owner's next two successors, and nowhere else", () =>
    Effect.gen(function*() {
      const cluster = yield* Populated
      const nodes = cluster.nodes
      // Right away: every owner holds its keys, and each key is owned exactly once.
      Placement.noProblems("placement", yield* Placement.placementProblems(nodes, expectedOf()))
      // Once the background copies have landed: three copies of each key, on its replica set.
      yield* settled(nodes)
      // Per node, the count is exactly the keys it is a replica of, and the keys are spread over
      // several owners.
      const ring = Placement.trueRing(nodes)
      const owned = new Map<string, number>()
      const held = new Map<string, number>()
      for (const i of allKeys) {
        const o = ring.owner(keyOf(i)).address
        owned.set(o, (owned.get(o) ?? 0) + 1)
        for (const r of ring.replicaSet(keyOf(i))) held.set(r.address, (held.get(r.address) ?? 0) + 1)
      }
      let total = 0
      for (const n of nodes) {
        const count = yield* storedOn(n)
        assert.strictEqual(count, held.get(n.address) ?? 0, `keys stored on ${n.address}`)
        total += count
      }
      assert.strictEqual(total, KEYS * Placement.DEFAULT_REPLICAS, "three copies of every key")
      assert.isAtLeast(owned.size, 2)
      // The status walk agrees: each key owned once, three copies in all.
      const statuses = yield* (yield* cluster.client()).ring()
      assert.strictEqual(statuses.reduce((a, s) => a + s.ownedKeys, 0), KEYS)
      assert.strictEqual(statuses.reduce((a, s) => a + s.keys, 0), KEYS * Placement.DEFAULT_REPLICAS)
      for (const s of statuses) assert.strictEqual(s.ownedKeys, owned.get(s.address) ?? 0, `keys owned by ${s.address}`)
    }))

  it.effect("a query reports its hops: 0 through the owner, at least 1 through any other node", () =>
    Effect.gen(function*() {
      const cluster = yield* Populated
      const nodes = cluster.nodes
      const clients = yield* Effect.forEach(nodes, (n) => Effect.map(clientOf(n.address), (c) => [n, c] as const))
      for (const i of allKeys.slice(0, 40)) {
        const key = keyOf(i)
        const owner = ownerOf(nodes, key)
        for (const [n, client] of clients) {
          const reply = yield* client.query({ ty: "Get", key: bytes(key) })
          assert.strictEqual(reply.node, n.address)
          assert.isUndefined(reply.value.error, `${key} via ${n.address}`)
          assert.strictEqual(text(reply.value.value!), valueOf(i))
          if (n === owner) assert.strictEqual(reply.hops, 0, `${key} through its owner`)
          else {
            assert.isAtLeast(reply.hops, 1, `${key} through non-owner ${n.address}`)
            assert.isAtMost(reply.hops, nodes.length - 1, "each forward gets strictly closer")
          }
        }
      }
    }))

  it.effect("membership views match the true ring after sequential joins", () =>
    Effect.gen(function*() {
      const cluster = yield* Populated
      const views = yield* cluster.views
      assert.lengthOf(views, 5)
      assertViewsConverged(views)
      // The registry lists exactly the joined nodes.
      const client = yield* cluster.client()
      expect([...(yield* client.nodes)].sort()).toEqual(cluster.nodes.map((n) => n.address).sort())
    }))
})

// ---------------------------------------------------------------------------------------------

describe("cluster", () => {
  it.live("Set returns the previous value, Delete the removed one, across nodes", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 3 })
      const [a, b, c] = yield* Effect.forEach(cluster.nodes, (n) => clientOf(n.address))
      // Write, overwrite and delete each key through different nodes, so most steps are forwarded.
      for (const key of ["alpha", "beta", "gamma", "delta", "epsilon"]) {
        assert.isTrue(Option.isNone(yield* a!.set(key, "1")), `${key}: first Set has no previous value`)
        expect(Option.map(yield* b!.set(key, "2"), text)).toEqual(Option.some("1"))
        expect(text(yield* c!.get(key))).toBe("2")
        expect(text(yield* c!.delete(key))).toBe("2")
        for (const client of [a!, b!, c!]) {
          const gone = yield* Effect.flip(client.get(key))
          assert.strictEqual(gone._tag, "KeyNotFound", `${key} after delete`)
        }
        const again = yield* Effect.flip(a!.delete(key))
        assert.strictEqual(again._tag, "KeyNotFound", `${key}: second delete`)
        // A deleted key can be set again, with no previous value.
        assert.isTrue(Option.isNone(yield* b!.set(key, "3")))
        expect(text(yield* a!.get(key))).toBe("3")
      }
      const never = yield* Effect.flip(c!.delete("never-set"))
      assert.strictEqual(never._tag, "KeyNotFound")
      expect(never.message).toContain("never-set")
      // Values are bytes: binary and empty values round-trip.
      const binary = Uint8Array.from([0, 255, 1, 128])
      yield* a!.set("binary", binary)
      expect([...(yield* b!.get("binary"))]).toEqual([...binary])
      yield* a!.set("empty", new Uint8Array(0))
      expect((yield* c!.get("empty")).length).toBe(0)
    }))

  it.live("a node that joins later takes over its keys from the previous owner", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 5 })
      yield* writeKeys(cluster)
      yield* settled(nodesOf(cluster))
      const before = [...cluster.nodes]
      let moved = 0
      // A new node's range is random; add nodes until one has taken over at least one key (almost
      // always the first), checking the hand-off after each join.
      for (let round = 0; round < 3 && moved === 0; round++) {
        const previous = nodesOf(cluster)
        const joined = yield* cluster.addNode()
        const now = nodesOf(cluster)
        assert.lengthOf(now, previous.length + 1)
        const ring = Placement.trueRing(now)
        const mine = allKeys.filter((i) => ring.owner(keyOf(i)) === joined)
        const prevOwner = new Map(mine.map((i) => [i, ownerOf(previous, keyOf(i))]))
        // The join returns once the hand-off is complete: the new node holds its range.
        for (const i of mine) {
          const here = yield* Effect.orDie(joined.node.storage.get(bytes(keyOf(i))))
          assert.strictEqual(Option.map(here, text).pipe(Option.getOrUndefined), valueOf(i), `${keyOf(i)} on the new node`)
        }
        Placement.noProblems("placement right after the join", yield* Placement.placementProblems(now, expectedOf()))
        // Repair then copies the ranges the new node replicates onto it, and drops the copies of
        // the nodes it displaced from replica sets: nothing else is stored on the new node.
        yield* settled(now)
        // The previous owner, which precedes the new node and so is not one of its replicas, has
        // let the keys go: at the release, or, when its view was not complete yet and it kept
        // them as a replica, at the repair that followed.
        for (const i of mine) {
          const old = prevOwner.get(i)!
          assert.notStrictEqual(old, joined)
          assert.notInclude(ring.replicaSet(keyOf(i)), old)
          const left = yield* Effect.orDie(old.node.storage.lookup(bytes(keyOf(i))))
          assert.isTrue(Option.isNone(left), `${keyOf(i)} released by its previous owner ${old.address}`)
        }
        const replicaOf = allKeys.filter((i) => ring.replicaSet(keyOf(i)).includes(joined)).length
        assert.strictEqual(yield* storedOn(joined), replicaOf)
        moved += mine.length
        assertViewsConverged(yield* viewsOf(now))
      }
      assert.isAbove(moved, 0, "some keys changed owner")
      assert.isAbove(cluster.nodes.length, before.length)

      // Still every key on its replica set, and readable from every node old and new.
      expect(yield* readEverywhere(cluster)).toEqual([])
    }))

  it.live("a registry-less cluster, joined through the first node, serves every key", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 4, registry: false })
      assert.isUndefined(cluster.registry)
      assert.lengthOf(cluster.nodes, 4)
      assertViewsConverged(yield* cluster.views)
      const some = allKeys.slice(0, 300)
      const client = yield* cluster.client()
      yield* Effect.forEach(some, (i) => client.set(keyOf(i), valueOf(i)), { concurrency: 32, discard: true })
      expect(yield* readEverywhere(cluster, some)).toEqual([])
      Placement.noProblems("placement", yield* Placement.placementProblems(cluster.nodes, expectedOf(some)))
      yield* settled(cluster.nodes, expectedOf(some))
    }))

  it.live("a single node owns everything and answers with 0 hops", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 1 })
      const client = yield* clientOf(cluster.nodes[0]!.address)
      for (const key of ["a", "b", "c"]) {
        yield* client.set(key, key)
        const reply = yield* client.query({ ty: "Get", key: bytes(key) })
        assert.strictEqual(reply.hops, 0)
        assert.strictEqual(text(reply.value.value!), key)
      }
      const missing = yield* client.query({ ty: "Get", key: bytes("missing") })
      assert.strictEqual(missing.value.error, "Key not present in database.")
    }))

  it.live("cluster.views covers nodes added later and drops stopped ones", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 2 })
      const added = yield* cluster.addNode()
      const views = yield* cluster.views
      expect(views.map((v) => v.self.address).sort()).toEqual(cluster.nodes.map((n) => n.address).sort())
      yield* added.stop
      expect((yield* cluster.views).map((v) => v.self.address)).not.toContain(added.address)
    }))
})

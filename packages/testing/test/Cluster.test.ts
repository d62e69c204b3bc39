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

/** Keys not stored on exactly their owner, described; empty when placement is right. */
const misplaced = (nodes: ReadonlyArray<TestCluster.ClusterNode>) =>
  Effect.map(holders(nodes), (found) =>
    found.flatMap((at, i) => {
      const owner = ownerOf(nodes, keyOf(i)).address
      return at.length === 1 && at[0] === owner ? [] : [`${keyOf(i)}: owner ${owner}, stored on [${at.join(", ")}]`]
    }))

/** The owner of a key by the architecture's rule, over the given nodes. */
const ownerOf = (nodes: ReadonlyArray<TestCluster.ClusterNode>, key: string): TestCluster.ClusterNode => {
  const ring = Ring.make(nodes.map((n) => ({ id: n.node.self.id, node: n })))
  return Ring.owner(ring, Position.position(bytes(key)))!.node
}

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

/** Where each key is stored: the addresses of the nodes whose storage holds it. */
const holders = (nodes: ReadonlyArray<TestCluster.ClusterNode>, indices: ReadonlyArray<number> = allKeys) =>
  Effect.forEach(indices, (i) =>
    Effect.map(
      Effect.forEach(nodes, (n) => Effect.map(Effect.orDie(n.node.storage.get(bytes(keyOf(i)))), (v) => [n, v] as const)),
      (found) => found.filter(([, v]) => Option.isSome(v)).map(([n]) => n.address)
    ))

const totalStored = (nodes: ReadonlyArray<TestCluster.ClusterNode>) =>
  Effect.map(
    Effect.forEach(nodes, (n) => Effect.orDie(n.node.storage.count(Position.make(0n), Position.make(0n)))),
    (counts) => counts.reduce((a, b) => a + b, 0)
  )

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

  it.effect("each key is stored on exactly its owner, and nowhere else", () =>
    Effect.gen(function*() {
      const cluster = yield* Populated
      const nodes = cluster.nodes
      expect(yield* misplaced(nodes)).toEqual([])
      assert.strictEqual(yield* totalStored(nodes), KEYS)
      // Per node, the count is exactly the keys it owns, and the keys are spread over several nodes.
      const owned = new Map<string, number>()
      for (const i of allKeys) {
        const o = ownerOf(nodes, keyOf(i)).address
        owned.set(o, (owned.get(o) ?? 0) + 1)
      }
      for (const n of nodes) {
        const count = yield* Effect.orDie(n.node.storage.count(Position.make(0n), Position.make(0n)))
        assert.strictEqual(count, owned.get(n.address) ?? 0, `keys stored on ${n.address}`)
      }
      assert.isAtLeast(owned.size, 2)
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
      const before = [...cluster.nodes]
      let moved = 0
      // A new node's range is random; add nodes until one has taken over at least one key (almost
      // always the first), checking the hand-off after each join.
      for (let round = 0; round < 3 && moved === 0; round++) {
        const previous = nodesOf(cluster)
        const joined = yield* cluster.addNode()
        const now = nodesOf(cluster)
        assert.lengthOf(now, previous.length + 1)
        const mine = allKeys.filter((i) => ownerOf(now, keyOf(i)) === joined)
        const prevOwner = new Map(mine.map((i) => [i, ownerOf(previous, keyOf(i))]))
        for (const i of mine) {
          const key = bytes(keyOf(i))
          const here = yield* Effect.orDie(joined.node.storage.get(key))
          assert.strictEqual(Option.map(here, text).pipe(Option.getOrUndefined), valueOf(i), `${keyOf(i)} on the new node`)
          const old = prevOwner.get(i)!
          assert.notStrictEqual(old, joined)
          const left = yield* Effect.orDie(old.node.storage.get(key))
          assert.isTrue(Option.isNone(left), `${keyOf(i)} released by its previous owner ${old.address}`)
        }
        // Nothing else moved onto the new node.
        const count = yield* Effect.orDie(joined.node.storage.count(Position.make(0n), Position.make(0n)))
        assert.strictEqual(count, mine.length)
        moved += mine.length
        assertViewsConverged(yield* viewsOf(now))
      }
      assert.isAbove(moved, 0, "some keys changed owner")
      assert.isAbove(cluster.nodes.length, before.length)

      // Still every key exactly once, on its owner, and readable from every node old and new.
      const nodes = nodesOf(cluster)
      expect(yield* misplaced(nodes)).toEqual([])
      assert.strictEqual(yield* totalStored(nodes), KEYS)
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
      const found = yield* holders(cluster.nodes, some)
      const wrong = found.flatMap((at, j) => {
        const key = keyOf(some[j]!)
        const owner = ownerOf(cluster.nodes, key).address
        return at.length === 1 && at[0] === owner ? [] : [`${key}: owner ${owner}, stored on [${at.join(", ")}]`]
      })
      expect(wrong).toEqual([])
      assert.strictEqual(yield* totalStored(cluster.nodes), some.length)
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

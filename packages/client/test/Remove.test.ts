/**
 * Down members and `remove` against a scripted ring of `peer.Peer` servers (no real DHT): the
 * ring walk parses each node's down members and member count, `RingStatus.down` merges them,
 * and `DhtClient.remove` asks every node, refuses a member that still answers before any node
 * forgets it, and fails with a tagged error when no node knew the address.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Position } from "@crustyring/ring"
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import { DhtClient, PromiseClient, RingStatus } from "../src/index.ts"
import { scriptedRing } from "./ScriptedPeer.ts"

/** Addresses nothing listens on: the scripted nodes only report them. */
const GONE = "127.0.0.1:9"
const OTHER = "127.0.0.1:8"

const STILL_ANSWERS = `${GONE} still answers; stop it or let it leave instead`

describe("down members in the ring walk", () => {
  it.live("each node's down members and member count are parsed; RingStatus.down merges them", () =>
    Effect.gen(function*() {
      const ring = yield* scriptedRing([
        { down: [{ address: GONE, silentMs: 5_000 }], members: 5 },
        { down: [{ address: GONE, silentMs: 12_000 }, { address: OTHER, silentMs: 2_500 }], members: 5 },
        { members: 5 }
      ])
      const client: DhtClient.Service = yield* DhtClient.make({ nodes: [ring[0]!.address] })
      const nodes = yield* client.ring()
      expect(nodes.map((n) => n.address).sort()).toEqual(ring.map((n) => n.address).sort())
      const [a, b, c] = ring.map((p) => nodes.find((n) => n.address === p.address)!)
      assert.deepStrictEqual(nodes.map((n) => n.members), [5, 5, 5])
      assert.deepStrictEqual(a!.down, [
        { id: Position.nodeId(GONE).toString(), idHex: Position.toHex(Position.nodeId(GONE)), address: GONE, silentMs: 5_000 }
      ])
      assert.deepStrictEqual(b!.down.map((d) => [d.address, d.silentMs]), [[GONE, 12_000], [OTHER, 2_500]])
      assert.deepStrictEqual(c!.down, [])

      // Once each, with the longest silence, in ring order.
      const merged = RingStatus.down(nodes)
      const byId = [GONE, OTHER].sort((a, b) => (Position.nodeId(a) < Position.nodeId(b) ? -1 : 1))
      assert.deepStrictEqual(merged.map((d) => d.address), byId)
      assert.strictEqual(merged.find((d) => d.address === GONE)!.silentMs, 12_000)
    }))

  it.live("a member that a node still counts as down but that answered the walk is not listed as down", () =>
    Effect.gen(function*() {
      const ring = yield* scriptedRing([{}, {}])
      const [a, b] = ring.map((n) => n.address) as [string, string]
      const client: DhtClient.Service = yield* DhtClient.make({ nodes: [a] })
      const nodes = yield* client.ring()
      const stale = nodes.map((n) =>
        n.address === a ? { ...n, down: [{ id: "1", idHex: "0000000000000001", address: b, silentMs: 3_000 }] } : n
      )
      assert.deepStrictEqual(RingStatus.down(stale), [])
    }))
})

describe("DhtClient.remove", () => {
  it.live("asks every node of the ring; the result lists who forgot it and who did not know it", () =>
    Effect.gen(function*() {
      const ring = yield* scriptedRing([
        { remove: () => ({ removed: 1 }) },
        { remove: () => ({ removed: 1 }) },
        { remove: () => ({ removed: 0 }) }
      ])
      const client = yield* DhtClient.make({ nodes: [ring[0]!.address] })
      // The address is normalised before it is sent.
      const removed = yield* client.remove(`http://${GONE}/`)
      assert.strictEqual(removed.address, GONE)
      for (const n of ring) assert.deepStrictEqual(n.removes, [GONE])
      expect(removed.forgotten.map((f) => f.node).sort()).toEqual([ring[0]!.address, ring[1]!.address].sort())
      assert.deepStrictEqual(removed.forgotten.map((f) => f.removed), [1, 1])
      assert.deepStrictEqual(removed.unaware, [ring[2]!.address])
      assert.deepStrictEqual(removed.unanswered, [])
    }))

  it.live("a member that still answers is refused by the first node, before any other node is asked", () =>
    Effect.gen(function*() {
      const refuse = () => ({ status: grpc.status.FAILED_PRECONDITION, details: STILL_ANSWERS })
      const ring = yield* scriptedRing([{ remove: refuse }, { remove: refuse }, { remove: refuse }])
      const client = yield* DhtClient.make({ nodes: [ring[0]!.address] })
      const e = yield* Effect.flip(client.remove(GONE))
      assert.strictEqual(e._tag, "RemoveRefused")
      if (e._tag !== "RemoveRefused") return
      assert.strictEqual(e.address, GONE)
      assert.strictEqual(e.reason, STILL_ANSWERS)
      assert.strictEqual(e.forgotten, 0)
      assert.strictEqual(e.message, `${e.node} refused to remove ${GONE}: ${STILL_ANSWERS}`)
      assert.strictEqual(ring.reduce((n, p) => n + p.removes.length, 0), 1)
      assert.deepStrictEqual(ring.find((p) => p.address === e.node)!.removes, [GONE])
    }))

  it.live("a refusal from a later node still fails the removal, counting the nodes that forgot it", () =>
    Effect.gen(function*() {
      // Whichever node the walk starts from, exactly one of the three refuses.
      let calls = 0
      const answer = () =>
        ++calls === 2 ? { status: grpc.status.FAILED_PRECONDITION, details: STILL_ANSWERS } : { removed: 1 }
      const ring = yield* scriptedRing([{ remove: answer }, { remove: answer }, { remove: answer }])
      const client = yield* DhtClient.make({ nodes: [ring[0]!.address] })
      const e = yield* Effect.flip(client.remove(GONE))
      assert.strictEqual(e._tag, "RemoveRefused")
      if (e._tag !== "RemoveRefused") return
      assert.strictEqual(e.forgotten, 2)
      expect(e.message).toMatch(/\(2 nodes had forgotten it already\)$/)
    }))

  it.live("no node knows the address: NotAMember, naming it and how many nodes were asked", () =>
    Effect.gen(function*() {
      const ring = yield* scriptedRing([{}, {}, {}])
      const client = yield* DhtClient.make({ nodes: [ring[1]!.address] })
      const e = yield* Effect.flip(client.remove(GONE))
      assert.strictEqual(e._tag, "NotAMember")
      if (e._tag !== "NotAMember") return
      assert.strictEqual(e.address, GONE)
      assert.strictEqual(e.asked, 3)
      assert.strictEqual(e.message, `no node knows ${GONE} (asked 3 nodes)`)
    }))

  it.live("a node that does not answer in time is listed, and does not fail the removal", () =>
    Effect.gen(function*() {
      const ring = yield* scriptedRing([{ remove: () => ({ removed: 1 }) }, { remove: () => "hang" }, { remove: () => ({ removed: 1 }) }])
      const client = yield* DhtClient.make({ nodes: [ring[0]!.address] }, { timeout: "300 millis" })
      const start = performance.now()
      const removed = yield* client.remove(GONE)
      expect(performance.now() - start).toBeLessThan(2_000)
      assert.lengthOf(removed.forgotten, 2)
      assert.deepStrictEqual(removed.unanswered.map((u) => u.node), [ring[1]!.address])
      expect(removed.unanswered[0]!.message).toContain(ring[1]!.address)
      expect(removed.unanswered[0]!.message).toMatch(/Deadline exceeded/i)
    }))

  it.live("when no node that answered knew it and some did not answer, it fails as Unavailable", () =>
    Effect.gen(function*() {
      const ring = yield* scriptedRing([{}, { remove: () => "hang" }])
      const client = yield* DhtClient.make({ nodes: [ring[0]!.address] }, { timeout: "300 millis" })
      const e = yield* Effect.flip(client.remove(GONE))
      assert.strictEqual(e._tag, "Unavailable")
      expect(e.message).toMatch(new RegExp(`^remove ${GONE}: no node that answered knows it, and 1 of 2 did not answer \\(last error: `))
    }))

  it.live("a malformed address, or a virtual node's, is refused as InvalidRequest before anything is sent", () =>
    Effect.gen(function*() {
      const ring = yield* scriptedRing([{ remove: () => ({ removed: 1 }) }])
      const client = yield* DhtClient.make({ nodes: [ring[0]!.address] })
      const bad = yield* Effect.flip(client.remove("nonsense"))
      assert.strictEqual(bad._tag, "InvalidRequest")
      expect(bad.message).toMatch(/^remove: address must be host:port, got "nonsense"$/)
      const vnode = yield* Effect.flip(client.remove(`${GONE}#3`))
      assert.strictEqual(vnode._tag, "InvalidRequest")
      expect(vnode.message).toContain(`give its process, ${GONE}`)
      assert.deepStrictEqual(ring[0]!.removes, [])
    }))

  it.live("the Promise facade removes too, and rejects with the same tagged errors", () =>
    Effect.gen(function*() {
      const ring = yield* scriptedRing([{ remove: (addr) => ({ removed: addr === GONE ? 1 : 0 }) }])
      const client = yield* Effect.promise(() => PromiseClient.connect({ nodes: [ring[0]!.address] }))
      yield* Effect.addFinalizer(() => Effect.promise(() => client.close()))
      const removed = yield* Effect.promise(() => client.remove(GONE))
      assert.deepStrictEqual(removed.forgotten, [{ node: ring[0]!.address, removed: 1 }])
      const rejected = yield* Effect.promise(() => client.remove(OTHER).then(() => undefined, (e: unknown) => e))
      assert.strictEqual((rejected as { _tag: string })._tag, "NotAMember")
    }))
})

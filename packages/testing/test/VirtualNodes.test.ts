/**
 * Virtual nodes (`vnodes`): each process takes several ring positions, served on one port and
 * backed by one store. Checked as a user sees it: every key readable through every process, and
 * once repair settles, each key held by exactly `replicas` distinct processes, the ones the
 * placement rule names, also after a process leaves.
 */
import { describe, expect, it } from "@effect/vitest"
import { DhtClient } from "@crustyring/client"
import { Address, Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Duration, Effect, Option, Stream } from "effect"
import { TestCluster } from "../src/index.ts"
import * as Placement from "./Placement.ts"

const VNODES = 6
const REPLICAS = 3
const KEYS = 400
const keyOf = (i: number) => `vkey-${i}`
const valueOf = (i: number) => `value-${i}`
const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8")

const CONFIG = { vnodes: VNODES, replicas: REPLICAS, repairInterval: Duration.seconds(1) }

/** Every virtual node of the running processes, as the ring should be. */
const trueRing = (nodes: ReadonlyArray<TestCluster.ClusterNode>) =>
  Ring.make(nodes.flatMap((n) => n.node.vnodes.map((m) => ({ id: m.self.id, address: m.self.address, node: n }))))

/** The processes that should hold `key`: its owner's, then the next distinct ones clockwise. */
const holdersOf = (ring: ReturnType<typeof trueRing>, key: string): ReadonlyArray<string> => {
  const all = Ring.replicas(ring, Position.position(Buffer.from(key)), ring.members.length)
  const out: Array<string> = []
  for (const m of all) {
    if (out.length === REPLICAS) break
    if (!out.includes(m.node.address)) out.push(m.node.address)
  }
  return out.sort()
}

/** What is wrong with the views: each virtual node's successor must be the true next one. */
const ringProblems = (nodes: ReadonlyArray<TestCluster.ClusterNode>) =>
  Effect.gen(function*() {
    const ring = trueRing(nodes)
    const problems: Array<string> = []
    for (const n of nodes) {
      for (const m of n.node.vnodes) {
        const view = yield* m.view
        const expected = Ring.successor(ring, view.self.id)!
        const actual = view.successors[0]
        if (view.phase !== "ready") problems.push(`${view.self.address} is ${view.phase}`)
        if (actual?.id !== expected.id) problems.push(`${view.self.address}: successor ${actual?.address} instead of ${expected.address}`)
      }
    }
    return problems
  })

/** Keys whose live copies are not on exactly their holders' processes. */
const placementProblems = (nodes: ReadonlyArray<TestCluster.ClusterNode>) =>
  Effect.gen(function*() {
    const ring = trueRing(nodes)
    const where = new Map<string, Array<string>>()
    for (const n of nodes) {
      const entries = yield* Stream.runCollect(n.node.storage.scan(Position.make(0n), Position.make(0n))).pipe(Effect.orDie)
      for (const e of entries) {
        if (e.value === undefined) continue
        const key = text(e.key)
        where.set(key, [...(where.get(key) ?? []), n.address])
      }
    }
    const problems: Array<string> = []
    for (let i = 0; i < KEYS; i++) {
      const held = [...(where.get(keyOf(i)) ?? [])].sort()
      const expected = holdersOf(ring, keyOf(i))
      if (held.join(",") !== expected.join(",")) problems.push(`${keyOf(i)} on [${held}] instead of [${expected}]`)
    }
    return problems
  })

/** Reads every key through each running process; the mismatches. */
const readProblems = (nodes: ReadonlyArray<TestCluster.ClusterNode>) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    for (const n of nodes) {
      const client = yield* DhtClient.make({ nodes: [n.address] }, { routing: "random" })
      yield* Effect.forEach(Array.from({ length: KEYS }, (_, i) => i), (i) =>
        client.get(keyOf(i)).pipe(
          Effect.match({
            onFailure: (e) => {
              problems.push(`${keyOf(i)} via ${n.address}: ${e._tag} ${e.message}`)
            },
            onSuccess: (v) => {
              if (text(v) !== valueOf(i)) problems.push(`${keyOf(i)} via ${n.address}: got ${text(v)}`)
            }
          })
        ), { concurrency: 32, discard: true })
    }
    return problems
  })

describe("virtual nodes", () => {
  it.live("every process serves every key, and each key lives on `replicas` distinct processes", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 4, config: CONFIG })
      const running = yield* cluster.running
      for (const n of running) {
        expect(n.node.vnodes.map((m) => m.self.address)).toEqual(
          Array.from({ length: VNODES }, (_, i) => Address.withVnode(Address.unsafeMake(n.address), i))
        )
      }
      yield* Placement.eventually("every virtual node has its true successor", ringProblems(running), "20 seconds")

      const client = yield* cluster.client()
      const previous = yield* Effect.forEach(Array.from({ length: KEYS }, (_, i) => i), (i) => client.set(keyOf(i), valueOf(i)), {
        concurrency: 32
      })
      expect(previous.filter(Option.isSome), "fresh keys have no previous value").toEqual([])
      expect(yield* readProblems(running)).toEqual([])
      yield* Placement.eventually("each key on exactly its replica processes", placementProblems(running), "30 seconds")

      // A process leaves: its positions' ranges go to the others, and copies are made again.
      yield* cluster.stopNode(running[1]!)
      const left = yield* cluster.running
      expect(yield* readProblems(left)).toEqual([])
      yield* Placement.eventually("each key on the three remaining processes", placementProblems(left), "30 seconds")
    }), { timeout: 120_000 })

  it.live("the registry lists every virtual node, and an owner-direct client needs no forwarding", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 3, config: { ...CONFIG, vnodes: 4 } })
      const running = yield* cluster.running
      yield* Placement.eventually("every virtual node has its true successor", ringProblems(running), "20 seconds")
      const client = yield* cluster.client()
      for (let i = 0; i < 50; i++) yield* client.set(keyOf(i), valueOf(i))
      const walked = yield* client.ring()
      expect(walked.map((s) => s.address).sort()).toEqual(running.flatMap((n) => n.node.vnodes.map((m) => m.self.address)).sort())
      const replies = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => client.query({ ty: 0, key: Buffer.from(keyOf(i)) })
      )
      expect(replies.map((r) => r.value.value === null ? "missing" : text(r.value.value!))).toEqual(
        Array.from({ length: 50 }, (_, i) => valueOf(i))
      )
      expect(replies.map((r) => r.hops), "straight to the owner's virtual node").toEqual(replies.map(() => 0))

      // One ping answers for a whole process; a virtual node it does not run is absent.
      const ping = (address: string) =>
        Effect.scoped(Effect.flatMap(Grpc.client(Proto.proto.peer.Peer, address), (c) =>
          Grpc.call<Wire.PingReply__Output>(address, "2 seconds", (o, cb) => c.Ping({}, o, cb))))
      expect((yield* ping(`${running[0]!.address}#3`)).vnodes).toBe(4)
      const missing = yield* Effect.flip(ping(`${running[0]!.address}#4`))
      expect(missing._tag).toBe("Unavailable")
      expect(missing.message).toContain("no virtual node 4")
    }), { timeout: 60_000 })
})

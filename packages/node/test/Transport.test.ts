/**
 * The transport seam: real nodes (every service, every handler) on the in-memory network under
 * `TestClock`, with no socket. Minutes of cluster time run in moments.
 */
import { describe, expect, it } from "@effect/vitest"
import { Address, MemoryNetwork, Proto, type Wire } from "@crustyring/protocol"
import { Context, Duration, Effect, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import { Bootstrap, Membership, Node, NodeConfig, Storage, Transport } from "../src/index.ts"

const FAST: Partial<NodeConfig.Settings> = {
  pingInterval: Duration.millis(250),
  failureTimeout: Duration.seconds(1)
}

const start = (network: MemoryNetwork.Network, name: string, seeds: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const self = `${name}:7000`
    const node = yield* Layer.buildWithScope(
      Node.layer.pipe(Layer.provide(Layer.mergeAll(
        NodeConfig.layer({ ...NodeConfig.defaults, vnodes: 1, ...FAST, port: 7000, advertise: Address.unsafeMake(self) }),
        seeds.length === 0 ? Bootstrap.layerNewRing : Bootstrap.layerPeers(seeds.map(Address.unsafeMake)),
        Storage.layerMemory,
        Transport.layerMemory(network, self)
      ))),
      scope
    )
    return { self, node, scope }
  })

describe("Transport.memory", () => {
  it.effect("three real nodes form a ring, serve queries and mark a crashed one down, all in simulated time", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const network = yield* MemoryNetwork.make
      const a = yield* start(network, "a", [])
      const b = yield* start(network, "b", [a.self])
      const c = yield* start(network, "c", [a.self])
      yield* TestClock.adjust("5 seconds")
      const client = network.client<Wire.DhtNodeClient>(Proto.proto.dht.DhtNode.service, "client:1", b.self)
      const set = yield* MemoryNetwork.call<Wire.QueryResult__Output>(b.self, "3 seconds", (o, cb) =>
        client.QueryDht({ ty: "Set", key: Buffer.from("k"), value: Buffer.from("v") }, o, cb))
      expect(set.error).toBeUndefined()
      const got = yield* MemoryNetwork.call<Wire.QueryResult__Output>(c.self, "3 seconds", (o, cb) =>
        client.QueryDht({ ty: "Get", key: Buffer.from("k") }, o, cb))
      expect(Buffer.from(got.value ?? []).toString()).toBe("v")

      // c crashes: nothing reaches it or leaves it, and its calls in flight fail.
      const crashed = new Set([c.self])
      network.decide = (from, to) => crashed.has(from) || crashed.has(to) ? { drop: true, delayMs: 0 } : MemoryNetwork.deliver
      network.sever(c.self)
      yield* TestClock.adjust("5 seconds")
      for (const n of [a, b]) {
        const membership = n.node.pipe(Context.get(Node.DhtNode)).membership
        expect([...membership.down.values()].map((d) => d.member.address)).toEqual([c.self])
        const view = yield* membership.view
        expect(Membership.known(view).map((m) => m.address)).not.toContain(c.self)
      }
      // It comes back: taken back within a probe or two.
      crashed.clear()
      yield* TestClock.adjust("3 seconds")
      for (const n of [a, b]) {
        const membership = n.node.pipe(Context.get(Node.DhtNode)).membership
        expect(membership.down.size).toBe(0)
      }
    }))
})

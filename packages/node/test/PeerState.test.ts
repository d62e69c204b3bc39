/**
 * What `Peers` remembers of a peer process (when it last answered, that it predates
 * `GetNeighborsBatch`) lives as long as the pooled connection to it: a node that runs for months
 * keeps nothing of the processes it stopped calling, and a process that comes back (perhaps
 * upgraded) is asked afresh. Against a real grpc-js server; the connection's idle minute passes on
 * the TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Address, Proto, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import * as grpc from "@grpc/grpc-js"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { NodeConfig, Peers } from "../src/index.ts"

/** A peer process of an older version: Ping and GetNeighbors, and UNIMPLEMENTED for the batch call. */
const olderPeer = Effect.gen(function*() {
  const batchAsks: Array<number> = []
  const server = new grpc.Server()
  let address = ""
  server.addService(Proto.proto.peer.Peer.service, {
    Ping: (_call: unknown, cb: grpc.sendUnaryData<Wire.PingReply>) => cb(null, { vnodes: 1 }),
    GetNeighbors: (call: grpc.ServerUnaryCall<unknown, Wire.Neighbors>, cb: grpc.sendUnaryData<Wire.Neighbors>) => {
      const self = Address.withVnode(address as Address.Address, Number(call.metadata.get(Address.VNODE_HEADER)[0] ?? 0))
      cb(null, { self: { id: Position.nodeId(self).toString(), addr: self }, successors: [], gone: [], phase: "ready" })
    },
    GetNeighborsBatch: (_call: unknown, cb: grpc.sendUnaryData<Wire.NeighborsBatch>) => {
      batchAsks.push(1)
      cb({ code: grpc.status.UNIMPLEMENTED, details: "not in this version" })
    }
  })
  const port = yield* Effect.callback<number, Error>((resume) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => resume(e ? Effect.fail(e) : Effect.succeed(p))))
  yield* Effect.addFinalizer(() => Effect.sync(() => server.forceShutdown()))
  address = `127.0.0.1:${port}`
  return { address: Address.unsafeMake(address), batchAsks }
})

const peers = Effect.map(
  Layer.build(Peers.layer.pipe(Layer.provide(NodeConfig.layer({ rpcTimeout: Duration.seconds(2) })))),
  (ctx) => Context.get(ctx, Peers.Peers)
)

describe("Peers' memory of a peer process", () => {
  it.effect("lasts while its connection is in use, and goes with it after an idle minute", () =>
    Effect.gen(function*() {
      const peer = yield* olderPeer
      const calls = yield* peers

      yield* calls.ping(peer.address)
      expect(calls.answeredAt(peer.address)).toBeDefined()
      // The first batch call finds the peer older and falls back; the second goes one by one.
      const answers = yield* calls.neighborsBatch(peer.address, [0])
      expect(Option.getOrThrow(answers[0]!).self.address).toBe(peer.address)
      yield* calls.neighborsBatch(peer.address, [0])
      expect(peer.batchAsks).toHaveLength(1)

      // Calls within the minute keep the connection, and what is known of the process.
      yield* TestClock.adjust("50 seconds")
      yield* calls.ping(peer.address)
      yield* TestClock.adjust("50 seconds")
      expect(calls.answeredAt(peer.address)).toBeDefined()
      yield* calls.neighborsBatch(peer.address, [0])
      expect(peer.batchAsks).toHaveLength(1)

      // A minute without calls closes the connection and forgets the process.
      yield* TestClock.adjust("61 seconds")
      expect(calls.answeredAt(peer.address)).toBeUndefined()
      // Asked afresh: the batch call is tried again, and the fallback still answers.
      const again = yield* calls.neighborsBatch(peer.address, [0])
      expect(Option.getOrThrow(again[0]!).self.address).toBe(peer.address)
      expect(peer.batchAsks).toHaveLength(2)
    }), { timeout: 30_000 })

  it.effect("goes with a reset connection", () =>
    Effect.gen(function*() {
      const peer = yield* olderPeer
      const calls = yield* peers
      yield* calls.neighborsBatch(peer.address, [0])
      expect(peer.batchAsks).toHaveLength(1)
      yield* calls.reset(peer.address)
      yield* calls.neighborsBatch(peer.address, [0])
      expect(peer.batchAsks).toHaveLength(2)
    }), { timeout: 30_000 })
})

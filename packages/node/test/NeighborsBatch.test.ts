/**
 * `GetNeighborsBatch`: a process's stabilization asks a peer process for the neighbours of
 * several of its virtual nodes in one call. Against a real node with virtual nodes, and against
 * a node that predates the call (it answers UNIMPLEMENTED), where the caller falls back to one
 * `GetNeighbors` per virtual node.
 */
import { describe, expect, it } from "@effect/vitest"
import { Address, Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import * as grpc from "@grpc/grpc-js"
import { Context, Duration, Effect, Layer, Option, References } from "effect"
import { Bootstrap, Node, NodeConfig, Peers, Storage } from "../src/index.ts"

const quiet = Effect.provideService(References.MinimumLogLevel, "Error")

const startNode = (vnodes: number) =>
  Effect.gen(function*() {
    const ctx = yield* Layer.build(
      Node.layer.pipe(
        Layer.provide(Layer.mergeAll(NodeConfig.layer({ host: "127.0.0.1", port: 0, vnodes }), Bootstrap.layerNewRing, Storage.layerMemory))
      )
    ).pipe(quiet)
    return Context.get(ctx, Node.DhtNode).self.address as string
  })

const peers = Effect.map(Layer.build(Peers.layer.pipe(Layer.provide(NodeConfig.layer({ rpcTimeout: Duration.seconds(2) })))), (ctx) => Context.get(ctx, Peers.Peers))

const ref = (address: string): Wire.NodeRef => ({ id: Position.nodeId(address).toString(), addr: address })

describe("GetNeighborsBatch", () => {
  it.live("answers for each requested virtual node in order, and without self for one the process does not run", () =>
    Effect.gen(function*() {
      const address = yield* startNode(3)
      const calls = yield* peers
      const answers = yield* calls.neighborsBatch(address, [2, 0, 5, 1])
      expect(answers.map((a) => Option.map(a, (n) => n.self.address).pipe(Option.getOrUndefined))).toEqual([
        `${address}#2`,
        address,
        undefined,
        `${address}#1`
      ])
      // Each answer is what GetNeighbors tells for that virtual node.
      const single = yield* calls.neighbors(Address.withVnode(address as Address.Address, 2))
      expect(Option.getOrThrow(answers[0]!)).toEqual(single)
      expect(Option.getOrThrow(answers[0]!).phase).toBe("ready")
    }), { timeout: 30_000 })

  it.live("refuses more indexes than a process can run, with INVALID_ARGUMENT", () =>
    Effect.gen(function*() {
      const address = yield* startNode(1)
      const client = yield* Grpc.client(Proto.proto.peer.Peer, address)
      const error = yield* Effect.flip(Grpc.call<Wire.NeighborsBatch__Output>(address, "2 seconds", (o, cb) =>
        (client as unknown as Wire.PeerClient).GetNeighborsBatch({ vnodes: Array.from({ length: 257 }, (_, i) => i) }, o, cb)))
      expect(error._tag).toBe("InvalidArgument")
      expect(error.message).toMatch(/at most 256 virtual nodes a call, got 257/)
    }), { timeout: 30_000 })

  it.live("falls back to one GetNeighbors per virtual node against a node without the batch call", () =>
    Effect.gen(function*() {
      // An older node: only GetNeighbors, answered for the virtual node its header names.
      const asked: Array<number> = []
      const server = new grpc.Server()
      server.addService(Proto.proto.peer.Peer.service, {
        GetNeighbors: (call: grpc.ServerUnaryCall<unknown, Wire.Neighbors>, cb: grpc.sendUnaryData<Wire.Neighbors>) => {
          const index = Number(call.metadata.get(Address.VNODE_HEADER)[0] ?? 0)
          asked.push(index)
          cb(null, { self: ref(Address.withVnode(address, index)), successors: [], gone: [], phase: "ready" })
        }
      })
      const port = yield* Effect.callback<number>((resume) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (_e, p) => resume(Effect.succeed(p))))
      yield* Effect.addFinalizer(() => Effect.sync(() => server.forceShutdown()))
      const address = Address.unsafeMake(`127.0.0.1:${port}`)
      const calls = yield* peers
      const first = yield* calls.neighborsBatch(address, [1, 0])
      expect(first.map((a) => Option.getOrThrow(a).self.address)).toEqual([`${address}#1`, address])
      expect(asked).toEqual([1, 0])
      // Remembered: the next round asks one by one straight away.
      yield* calls.neighborsBatch(address, [2])
      expect(asked).toEqual([1, 0, 2])
    }), { timeout: 30_000 })
})

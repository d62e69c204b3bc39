/**
 * Every node-to-node RPC checks its arguments: keys, entries, node references (whose ID must be
 * the one their address hashes to), counts and versions. (Positions, ranges and versions are
 * uint64 on the wire, so they always arrive in range.) Raw gRPC calls against one
 * real node, each bad one answered INVALID_ARGUMENT naming the problem and changing nothing; and
 * a peer's reply carrying a version far ahead of this node's clock is refused too.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import * as grpc from "@grpc/grpc-js"
import { Context, Effect, Layer, References } from "effect"
import { Bootstrap, Node, NodeConfig, Peers, Storage } from "../src/index.ts"

const startNode = Effect.gen(function*() {
  const ctx = yield* Layer.build(
    Node.layer.pipe(
      Layer.provide(Layer.mergeAll(NodeConfig.layer({ host: "127.0.0.1", port: 0 }), Bootstrap.layerNewRing, Storage.layerMemory))
    )
  ).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))
  return Context.get(ctx, Node.DhtNode).self.address as string
})

/** One raw peer.Peer call: "OK" or the status code, with the details. */
const peerCall = (client: grpc.Client, method: string, request: unknown) =>
  Effect.callback<{ readonly code: string; readonly details: string }>((resume) => {
    const fn = (client as unknown as Record<string, (...args: Array<unknown>) => unknown>)[method]!
    const options = { deadline: Date.now() + 5000 }
    if (method === "FetchRange") {
      const stream = fn.call(client, request, options) as grpc.ClientReadableStream<unknown>
      stream.on("data", () => {})
      stream.on("error", (e: grpc.ServiceError) => resume(Effect.succeed({ code: grpc.status[e.code]!, details: e.details })))
      stream.on("end", () => resume(Effect.succeed({ code: "OK", details: "" })))
      return
    }
    fn.call(client, request, options, (e: grpc.ServiceError | null) =>
      resume(Effect.succeed(e ? { code: grpc.status[e.code]!, details: e.details } : { code: "OK", details: "" })))
  })

const now = BigInt(Date.now()) << 16n
const entry = (key: string, hlc: bigint = now): Wire.Entry => ({
  key: Buffer.from(key),
  value: Buffer.from("v"),
  tombstone: false,
  version: { hlc: String(hlc), writer: "1" }
})
const ref = (address: string, id: string = Position.nodeId(address).toString()) => ({ id, addr: address })
const FAR_FUTURE = (BigInt(Date.now() + 365 * 86_400_000) << 16n)

/** Each bad call, and what its message must mention. */
const BAD: ReadonlyArray<readonly [string, string, unknown, RegExp]> = [
  ["no digest buckets", "Digest", { start: "0", end: "0", buckets: 0 }, /buckets must be 1 to/],
  ["too many digest buckets", "Digest", { start: "5", end: "6", buckets: 4 }, /buckets must be 1 to 1, got 4/],
  ["an empty key to Fetch", "Fetch", { key: Buffer.alloc(0) }, /key must be 1 to 1024 bytes, got 0/],
  ["a key of 1025 bytes to Fetch", "Fetch", { key: Buffer.alloc(1025, 0x61) }, /got 1025/],
  ["a Write without an entry", "Write", {}, /missing entry/],
  ["a Write far in the future", "Write", { entry: entry("w", FAR_FUTURE) }, /ahead of this node's clock/],
  ["a Write with an empty key", "Write", { entry: entry("") }, /key must be 1 to/],
  ["a Push with one bad entry", "Push", { entries: [entry("good"), entry("bad", FAR_FUTURE)] }, /ahead of this node's clock/],
  ["a joiner whose ID is not its address's", "Join", { node: ref("127.0.0.1:9", "12345") }, /has ID .* but its address gives/],
  ["a join without a joiner", "Join", {}, /malformed joiner/],
  ["a notify with a bad address", "Notify", { node: { id: "1", addr: "no port" } }, /malformed node/],
  ["a take-over from a forged member", "TakeOver", { leaving: ref("127.0.0.1:9", "7"), successors: [] }, /has ID/],
  [
    "a take-over with too many successors",
    "TakeOver",
    { leaving: ref("127.0.0.1:9"), successors: Array.from({ length: 100 }, (_, i) => ref(`127.0.0.1:${1000 + i}`)) },
    /at most \d+ successors, got 100/
  ],
  ["a predecessor-left without a predecessor", "PredecessorLeft", { leaving: ref("127.0.0.1:9") }, /malformed predecessor/],
  ["a remove of no address", "Remove", { addr: "::nonsense::" }, /addr must be host:port/]
]

describe("peer RPC arguments", () => {
  it.live("each malformed peer call gets INVALID_ARGUMENT naming the problem, and changes nothing", () =>
    Effect.gen(function*() {
      const address = yield* startNode
      const client = yield* Grpc.client(Proto.proto.peer.Peer, address)
      for (const [name, method, request, mentions] of BAD) {
        const outcome = yield* peerCall(client, method, request)
        expect(outcome.code, `${name}: ${outcome.details}`).toBe("INVALID_ARGUMENT")
        expect(outcome.details, name).toMatch(mentions)
      }
      // The Push with one bad entry stored none of its entries, and the node still serves.
      const fetched = yield* Effect.callback<Wire.FetchReply__Output>((resume) => {
        ;(client as unknown as Wire.PeerClient).Fetch({ key: Buffer.from("good") }, { deadline: Date.now() + 5000 }, (e, r) =>
          resume(e ? Effect.die(e) : Effect.succeed(r!)))
      })
      assert.isNull(fetched.entry ?? null, "nothing of the refused batch was stored")
      expect((yield* peerCall(client, "Push", { entries: [entry("good")] })).code).toBe("OK")
      expect((yield* peerCall(client, "Ping", {})).code).toBe("OK")
    }))

  it.live("a peer's reply whose version is far ahead of this node's clock is refused", () =>
    Effect.gen(function*() {
      // A broken peer that answers every Fetch with a version a year ahead.
      const server = yield* Grpc.listen({ host: "127.0.0.1", port: 0 })
      const context = yield* Effect.context<never>()
      const implementation: Partial<Wire.PeerHandlers> = {
        Fetch: Grpc.unary(context, () => Effect.succeed({ entry: entry("k", FAR_FUTURE), value: Buffer.from("v") })) as Wire.PeerHandlers["Fetch"]
      }
      yield* server.add({ definition: Proto.proto.peer.Peer.service, implementation: implementation as grpc.UntypedServiceImplementation })
      const peers = yield* Peers.make.pipe(Effect.provide(NodeConfig.layer({ host: "127.0.0.1", port: 0 })))
      const e = yield* Effect.flip(peers.fetch(`127.0.0.1:${server.port}` as never, Buffer.from("k")))
      expect(e._tag).toBe("Internal")
      expect(e.message).toMatch(/ahead of this node's clock/)
    }))
})

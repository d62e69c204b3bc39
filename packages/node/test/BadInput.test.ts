/**
 * Malformed requests against one real node over raw gRPC: each must get INVALID_ARGUMENT with a
 * message naming the problem, on the client contract (`dht.DhtNode/QueryDht`) and on the
 * node-to-node `peer.Peer/Forward` alike, and the node must keep serving afterwards.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import * as grpc from "@grpc/grpc-js"
import { Context, Effect, Layer, References } from "effect"
import { Bootstrap, Node, NodeConfig, Storage } from "../src/index.ts"

const KIB = 1024
const MIB = 1024 * 1024

/** One node on 127.0.0.1, alone in its ring, stopped with the test's scope. */
const startNode = (config: Partial<NodeConfig.Settings> = {}) =>
  Effect.gen(function*() {
    const ctx = yield* Layer.build(
      Node.layer.pipe(
        Layer.provide(Layer.mergeAll(
          NodeConfig.layer({ vnodes: 1, ...config, host: "127.0.0.1", port: 0 }),
          Bootstrap.layerNewRing,
          Storage.layerMemory
        ))
      )
    ).pipe(Effect.provideService(References.MinimumLogLevel, "Warn"))
    const node = Context.get(ctx, Node.DhtNode)
    const address = node.self.address as string
    const dht = yield* Grpc.client(Proto.proto.dht.DhtNode, address)
    const peer = yield* Grpc.client(Proto.proto.peer.Peer, address)
    type Outcome =
      | { readonly ok: true; readonly result: Wire.QueryResult__Output }
      | { readonly ok: false; readonly code: grpc.status; readonly details: string }
    const settle = (
      invoke: (o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Wire.QueryResult__Output) => void) => grpc.ClientUnaryCall
    ) =>
      Effect.callback<Outcome>((resume) => {
        const call = invoke({ deadline: Date.now() + 5_000 }, (e, r) =>
          resume(Effect.succeed(e ? { ok: false, code: e.code, details: e.details } : { ok: true, result: r! })))
        return Effect.sync(() => call.cancel())
      })
    /** Sends a query straight to QueryDht, with no client-side checks. */
    const query = (q: Wire.Query) => settle((o, cb) => dht.QueryDht(q, o, cb))
    /** Sends a query as a peer would, through Forward. */
    const forward = (q: Wire.Query | null, hops = 0) =>
      settle((o, cb) => peer.Forward(q === null ? { hops } : { query: q, hops }, o, cb))
    return { node, address, query, forward }
  })

type Sender = (q: Wire.Query) => Effect.Effect<
  | { readonly ok: true; readonly result: Wire.QueryResult__Output }
  | { readonly ok: false; readonly code: grpc.status; readonly details: string }
>

/** Fails the test unless the call ended with INVALID_ARGUMENT; returns the message. */
const expectInvalid = (send: Sender, q: Wire.Query) =>
  Effect.map(send(q), (outcome) => {
    if (outcome.ok) {
      assert.fail(`expected INVALID_ARGUMENT, got a result: ${JSON.stringify(outcome.result)}`)
    }
    assert.strictEqual(outcome.code, grpc.status.INVALID_ARGUMENT, `status ${grpc.status[outcome.code]}: ${outcome.details}`)
    return outcome.details
  })

/** Fails the test unless the call succeeded; returns the result. */
const expectOk = (send: Sender, q: Wire.Query) =>
  Effect.map(send(q), (outcome) => {
    if (!outcome.ok) assert.fail(`expected success, got ${grpc.status[outcome.code]}: ${outcome.details}`)
    return outcome.result
  })

/** Each bad request, and what its message must mention. */
const badRequests: ReadonlyArray<{ readonly name: string; readonly query: Wire.Query; readonly mentions: ReadonlyArray<string> }> = [
  { name: "empty key (Get)", query: { ty: "Get", key: Buffer.alloc(0) }, mentions: ["empty"] },
  { name: "empty key (Set)", query: { ty: "Set", key: Buffer.alloc(0), value: Buffer.from("v") }, mentions: ["empty"] },
  { name: "key of 1025 bytes", query: { ty: "Get", key: Buffer.alloc(KIB + 1, 0x61) }, mentions: ["1 KiB", "1025"] },
  {
    name: "key of 1025 bytes (Set)",
    query: { ty: "Set", key: Buffer.alloc(KIB + 1, 0x61), value: Buffer.from("v") },
    mentions: ["1 KiB"]
  },
  {
    name: "value over 1 MiB",
    query: { ty: "Set", key: Buffer.from("big"), value: Buffer.alloc(MIB + 1, 0x62) },
    mentions: ["1 MiB", String(MIB + 1)]
  },
  { name: "unknown operation 7", query: { ty: 7 as unknown as Wire.OperationType, key: Buffer.from("k") }, mentions: ["unknown operation", "7"] },
  { name: "unknown operation 3", query: { ty: 3 as unknown as Wire.OperationType, key: Buffer.from("k") }, mentions: ["unknown operation"] },
  { name: "Set without value", query: { ty: "Set", key: Buffer.from("k") }, mentions: ["needs a value"] }
]

describe("bad input on a single node", () => {
  it.live("QueryDht answers INVALID_ARGUMENT naming each problem, and keeps serving", () =>
    Effect.gen(function*() {
      const { query } = yield* startNode()
      for (const bad of badRequests) {
        const message = yield* expectInvalid(query, bad.query)
        for (const m of bad.mentions) expect(message, bad.name).toContain(m)
      }
      // Nothing was stored by the refused requests, and the node still serves.
      const missing = yield* expectOk(query, { ty: "Get", key: Buffer.from("k") })
      assert.strictEqual(missing.error, "Key not present in database.")
      const big = yield* expectOk(query, { ty: "Get", key: Buffer.from("big") })
      assert.strictEqual(big.error, "Key not present in database.")
      const set = yield* expectOk(query, { ty: "Set", key: Buffer.from("k"), value: Buffer.from("v") })
      assert.isUndefined(set.error)
      assert.isUndefined(set.value)
    }))

  it.live("the Forward peer RPC applies the same validation", () =>
    Effect.gen(function*() {
      const { forward, query } = yield* startNode()
      for (const bad of badRequests) {
        const message = yield* expectInvalid((q) => forward(q, 1), bad.query)
        for (const m of bad.mentions) expect(message, `Forward: ${bad.name}`).toContain(m)
      }
      // A Forward without any query is refused too, not a crash.
      const outcome = yield* forward(null)
      assert.isFalse(outcome.ok)
      if (!outcome.ok) {
        assert.strictEqual(outcome.code, grpc.status.INVALID_ARGUMENT)
        expect(outcome.details).toMatch(/missing|empty/)
      }
      // A valid forwarded query is served, and its hop count is reported back.
      const set = yield* expectOk((q) => forward(q, 2), { ty: "Set", key: Buffer.from("f"), value: Buffer.from("1") })
      assert.isUndefined(set.error)
      assert.strictEqual(set.hops, 2)
      const got = yield* expectOk(query, { ty: "Get", key: Buffer.from("f") })
      assert.strictEqual(Buffer.from(got.value!).toString(), "1")
    }))

  it.live("the typed adapter maps the refusal to InvalidArgument with the message", () =>
    Effect.gen(function*() {
      const { address } = yield* startNode()
      const client = yield* Grpc.client(Proto.proto.dht.DhtNode, address)
      const e = yield* Effect.flip(
        Grpc.call<Wire.QueryResult__Output>(address, "3 seconds", (o, cb) =>
          client.QueryDht({ ty: 7 as unknown as Wire.OperationType, key: Buffer.from("k") }, o, cb))
      )
      assert.strictEqual(e._tag, "InvalidArgument")
      expect(e.message).toContain("unknown operation")
    }))

  it.live("a key of exactly 1 KiB and a value of exactly 1 MiB are accepted and read back", () =>
    Effect.gen(function*() {
      const { query } = yield* startNode()
      const key = Buffer.alloc(KIB, 0x6b)
      const value = Buffer.alloc(MIB, 0x76)
      value[MIB - 1] = 0x21
      const set = yield* expectOk(query, { ty: "Set", key, value })
      assert.isUndefined(set.error)
      const got = yield* expectOk(query, { ty: "Get", key })
      assert.isUndefined(got.error)
      assert.strictEqual(got.value!.length, MIB)
      assert.isTrue(Buffer.from(got.value!).equals(value))
      // A key one byte shorter is a different key.
      const other = yield* expectOk(query, { ty: "Get", key: key.subarray(1) })
      assert.strictEqual(other.error, "Key not present in database.")
    }))

  it.live("an empty value is stored as a value, not refused as a missing one", () =>
    Effect.gen(function*() {
      const { query } = yield* startNode()
      const set = yield* expectOk(query, { ty: "Set", key: Buffer.from("e"), value: Buffer.alloc(0) })
      assert.isUndefined(set.error)
      const got = yield* expectOk(query, { ty: "Get", key: Buffer.from("e") })
      assert.isUndefined(got.error, "the key exists")
      assert.strictEqual((got.value ?? Buffer.alloc(0)).length, 0)
      const del = yield* expectOk(query, { ty: "Delete", key: Buffer.from("e") })
      assert.isUndefined(del.error, "Delete finds the empty value")
    }))

  it.live("a configured value limit rejects 11 bytes and accepts 10", () =>
    Effect.gen(function*() {
      const { query, forward } = yield* startNode({ maxValueBytes: 10 })
      const message = yield* expectInvalid(query, { ty: "Set", key: Buffer.from("k"), value: Buffer.alloc(11, 0x61) })
      expect(message).toContain("10 bytes")
      expect(message).toContain("11")
      const viaPeer = yield* expectInvalid((q) => forward(q), { ty: "Set", key: Buffer.from("k"), value: Buffer.alloc(11, 0x61) })
      expect(viaPeer).toContain("10 bytes")
      yield* expectOk(query, { ty: "Set", key: Buffer.from("k"), value: Buffer.alloc(10, 0x61) })
      const got = yield* expectOk(query, { ty: "Get", key: Buffer.from("k") })
      assert.strictEqual(Buffer.from(got.value!).toString(), "a".repeat(10))
    }))
})

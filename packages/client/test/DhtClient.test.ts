/**
 * DhtClient against a stub DhtNode server (no real DHT): the node pick, and how wire results
 * and gRPC statuses become client errors.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import * as grpc from "@grpc/grpc-js"
import { Effect, Random } from "effect"
import { DhtClient } from "../src/index.ts"

/** A DhtNode on an ephemeral port that answers every query with `answer`; counts calls. */
const stubNode = (answer: (q: Wire.Query__Output) => Wire.QueryResult | grpc.StatusObject) =>
  Effect.gen(function*() {
    const server = yield* Grpc.listen({ host: "127.0.0.1", port: 0 })
    const calls: Array<Wire.Query__Output> = []
    const handlers: Wire.DhtNodeHandlers = {
      QueryDht: (call, callback) => {
        calls.push(call.request)
        const a = answer(call.request)
        if ("code" in a) callback(a)
        else callback(null, a)
      }
    }
    yield* server.add({ definition: Proto.proto.dht.DhtNode.service, implementation: handlers })
    return { address: `127.0.0.1:${server.port}`, calls }
  })

describe("DhtClient", () => {
  it.live("a client of one node serves every request (no out-of-range node pick)", () =>
    Effect.gen(function*() {
      const stub = yield* stubNode(() => ({ value: Buffer.from("v") }))
      const client = yield* DhtClient.make({ nodes: [stub.address] })
      for (let i = 0; i < 40; i++) {
        const v = yield* client.get(`k${i}`)
        assert.strictEqual(Buffer.from(v).toString(), "v")
      }
      assert.lengthOf(stub.calls, 40)
    }))

  it.live("maps the original's missing-key error to KeyNotFound, and statuses to client errors", () =>
    Effect.gen(function*() {
      const missing = yield* stubNode(() => ({ error: "Key not present in database." }))
      const refusing = yield* stubNode(() => ({ code: grpc.status.INVALID_ARGUMENT, details: "key must not be empty", metadata: new grpc.Metadata() }))
      const pick = <A, E>(address: string, f: (c: DhtClient.Service) => Effect.Effect<A, E>) =>
        Effect.flatMap(DhtClient.make({ nodes: [address] }), f)
      const notFound = yield* Effect.flip(pick(missing.address, (c) => c.get("k")))
      assert.strictEqual(notFound._tag, "KeyNotFound")
      expect(notFound.message).toContain("k")
      const delMissing = yield* Effect.flip(pick(missing.address, (c) => c.delete("k")))
      assert.strictEqual(delMissing._tag, "KeyNotFound")
      const invalid = yield* Effect.flip(pick(refusing.address, (c) => c.get("k")))
      assert.strictEqual(invalid._tag, "InvalidRequest")
      expect(invalid.message).toContain("key must not be empty")
    }))

  it.live("skips an unreachable node and retries the request on another", () =>
    Effect.gen(function*() {
      const stub = yield* stubNode((q) => ({ value: Buffer.from(`got ${q.key.toString()}`) }))
      const client = yield* DhtClient.make({ nodes: ["127.0.0.1:1", stub.address] }, { timeout: "2 seconds" })
      for (let i = 0; i < 6; i++) {
        const v = yield* client.get(`k${i}`)
        assert.strictEqual(Buffer.from(v).toString(), `got k${i}`)
      }
      assert.lengthOf(stub.calls, 6)
      // With only the dead node, the request fails as Unavailable naming it.
      const dead = yield* DhtClient.make({ nodes: ["127.0.0.1:1"] }, { timeout: "2 seconds", attempts: 2 })
      const e = yield* Effect.flip(dead.get("k"))
      assert.strictEqual(e._tag, "Unavailable")
      expect(e.message).toContain("127.0.0.1:1")
    }))
})

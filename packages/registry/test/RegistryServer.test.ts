import { assert, describe, expect, it } from "@effect/vitest"
import { Address, Grpc, Proto, RegistryClient, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Context, Effect, Layer, Option, References } from "effect"
import { Registry, RegistryServer } from "../src/index.ts"

/** Starts a registry on an ephemeral port, stopped with the test's scope. Returns "127.0.0.1:port". */
const startRegistry = Effect.gen(function*() {
  const ctx = yield* Layer.build(
    RegistryServer.layer({ host: "127.0.0.1", port: 0 }).pipe(Layer.provide(Registry.layer))
  ).pipe(Effect.provideService(References.MinimumLogLevel, "Warn"))
  const port = Context.get(ctx, RegistryServer.RegistryServer).port
  assert.isAbove(port, 0)
  return `127.0.0.1:${port}`
})

const addr = (s: string) => Address.unsafeMake(s)

describe("RegistryServer over gRPC", () => {
  it.live("register, confirm, nodes and unregister round-trip", () =>
    Effect.gen(function*() {
      const target = yield* startRegistry
      const client = yield* RegistryClient.make(target)
      const [a, b, c] = [addr("127.0.0.1:50001"), addr("127.0.0.1:50002"), addr("127.0.0.1:50003")]

      const first = yield* client.register(a)
      assert.strictEqual(first.id, Position.nodeId(a))
      assert.strictEqual(first.id, 0xc7eb349fed1a6c5bn, "uint64 survives the wire exactly")
      assert.isTrue(Option.isNone(first.neighbor))
      expect(yield* client.nodes).toEqual([])

      yield* client.confirm(a)
      expect(yield* client.nodes).toEqual([{ id: Position.nodeId(a), address: a }])

      const second = yield* client.register(b)
      assert.strictEqual(second.id, Position.nodeId(b))
      expect(Option.getOrUndefined(second.neighbor)).toEqual({ id: Position.nodeId(a), address: a })
      yield* client.confirm(b)
      yield* client.register(c)
      yield* client.confirm(c)

      const nodes = yield* client.nodes
      const expected = [a, b, c].map((x) => ({ id: Position.nodeId(x), address: x })).sort((x, y) =>
        x.id < y.id ? -1 : 1
      )
      expect(nodes).toEqual(expected)

      yield* client.unregister(a)
      expect((yield* client.nodes).map((n) => n.address)).toEqual(expected.filter((n) => n.address !== a).map((n) => n.address))
      // Unregistering an unknown node is not an error.
      yield* client.unregister(addr("127.0.0.1:1"))
    }))

  it.live("accepts the original client's http://host:port form", () =>
    Effect.gen(function*() {
      const target = yield* startRegistry
      const raw = yield* Grpc.client(Proto.proto.registry.Registry, target)
      const info = yield* Grpc.call<Wire.RegisterInfo__Output>(target, "3 seconds", (o, cb) =>
        raw.RegisterNode({ addr: "http://127.0.0.1:50001" }, o, cb))
      assert.strictEqual(info.id, Position.nodeId("127.0.0.1:50001").toString())
      assert.isNull(info.neighbor ?? null, "first node has no neighbor")
      yield* Grpc.call(target, "3 seconds", (o, cb) => raw.ConfirmNode({ addr: "http://127.0.0.1:50001/" }, o, cb))
      const nodes = yield* Grpc.call<Wire.Nodes__Output>(target, "3 seconds", (o, cb) => raw.GetConnectedNodes({}, o, cb))
      expect(nodes.nodes.map((n) => ({ id: n.id, addr: n.addr }))).toEqual([
        { id: Position.nodeId("127.0.0.1:50001").toString(), addr: "127.0.0.1:50001" }
      ])
    }))

  it.live("a malformed address gets INVALID_ARGUMENT over the wire, naming it", () =>
    Effect.gen(function*() {
      const target = yield* startRegistry
      const client = yield* RegistryClient.make(target)
      for (const input of ["nonsense", "host:99999", ":5000", ""]) {
        const bad = input as Address.Address
        for (const call of [client.register(bad), client.confirm(bad), client.unregister(bad)]) {
          const e = yield* Effect.flip(call)
          assert.strictEqual(e._tag, "InvalidArgument", `${JSON.stringify(input)}: ${e.message}`)
          expect(e.message).toContain(JSON.stringify(input))
        }
      }
      // The registry is still serving and recorded nothing.
      expect(yield* client.nodes).toEqual([])
    }))

  it.live("stops serving when its scope closes", () =>
    Effect.gen(function*() {
      const target = yield* Effect.scoped(startRegistry)
      const client = yield* RegistryClient.make(target, "2 seconds")
      const e = yield* Effect.flip(client.nodes)
      assert.strictEqual(e._tag, "Unavailable", e.message)
      expect(e.message).toContain(target)
    }))
})

import { assert, describe, expect, it } from "@effect/vitest"
import { Address, Grpc, Proto, RegistryClient, type Wire } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Context, Duration, Effect, Exit, Layer, Option, References, Schedule, Scope } from "effect"
import { Registry, RegistryServer } from "../src/index.ts"

/**
 * Starts a registry on an ephemeral port, stopped with the test's scope. Returns "127.0.0.1:port".
 * By default its book trusts every address, as these tests register addresses with nothing behind them.
 */
const startRegistryWith = (book: Layer.Layer<Registry.Registry>) =>
  Effect.gen(function*() {
    const ctx = yield* Layer.build(
      RegistryServer.layer({ host: "127.0.0.1", port: 0 }).pipe(Layer.provide(book))
    ).pipe(Effect.provideService(References.MinimumLogLevel, "Error"))
    const port = Context.get(ctx, RegistryServer.RegistryServer).port
    assert.isAbove(port, 0)
    return `127.0.0.1:${port}`
  })

const startRegistry = startRegistryWith(Registry.layerMemory)

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

/**
 * A stand-in for a node: a gRPC server on 127.0.0.1 that answers only `Peer/Ping` (grpc-js
 * answers the other Peer calls UNIMPLEMENTED) and counts the pings. `stop` shuts it down, as a
 * crash would; it is also stopped with the test's scope.
 */
const fakeNode = (port = 0) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Effect.scope)
    const context = yield* Effect.context<never>()
    let pings = 0
    const server = yield* Grpc.listen({ host: "127.0.0.1", port, drain: "100 millis" }).pipe(Scope.provide(scope))
    yield* server.add({
      definition: Proto.proto.peer.Peer.service,
      implementation: { Ping: Grpc.unary(context, () => Effect.sync(() => (pings++, {}))) }
    })
    return {
      address: addr(`127.0.0.1:${server.port}`),
      port: server.port,
      stop: Scope.close(scope, Exit.void),
      get pings() {
        return pings
      }
    }
  })

/** Polls `check` every 25 ms until it returns undefined; fails with its last answer after `timeout`. */
const eventually = (what: string, check: Effect.Effect<string | undefined, unknown>, timeout: Duration.Input = "5 seconds") =>
  Effect.suspend(() => {
    let last = "not checked yet"
    return check.pipe(
      Effect.flatMap((problem) => problem === undefined ? Effect.void : Effect.fail((last = problem))),
      Effect.retry(Schedule.spaced("25 millis")),
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.die(new Error(`${what}: not within ${Duration.format(Duration.fromInputUnsafe(timeout))}; last: ${last}`))
      })
    )
  })

/** Undefined when the registry lists exactly `expected`, else what it lists. */
const listsExactly = (client: RegistryClient.RegistryClient, expected: ReadonlyArray<string>) =>
  Effect.map(client.nodes, (ns) => {
    const listed = ns.map((n) => n.address as string).sort()
    return listed.join() === [...expected].sort().join() ? undefined : `lists ${JSON.stringify(listed)}`
  })

describe("RegistryServer drops dead nodes", () => {
  const fast = Registry.layerWith({ healthInterval: "100 millis", failureTimeout: "500 millis" })

  it.live("a node that stops answering pings leaves GetConnectedNodes within the deadline; live ones stay", () =>
    Effect.gen(function*() {
      const target = yield* startRegistryWith(fast)
      const client = yield* RegistryClient.make(target)
      const [a, b] = [yield* fakeNode(), yield* fakeNode()]
      for (const n of [a, b]) {
        yield* client.register(n.address)
        yield* client.confirm(n.address)
      }
      // Both answer, so both stay listed through more than a failureTimeout of health checks.
      yield* eventually("10 pings each", Effect.sync(() => (a.pings >= 10 && b.pings >= 10 ? undefined : `${a.pings}, ${b.pings}`)))
      expect(yield* listsExactly(client, [a.address, b.address])).toBeUndefined()

      yield* b.stop
      const stopped = Date.now()
      yield* eventually(`${b.address} dropped`, listsExactly(client, [a.address]))
      const took = Date.now() - stopped
      assert.isAtLeast(took, 300, "not before failureTimeout (less the time since its last answer)")
      // A joiner is sent to the live node.
      const joiner = yield* client.register(addr("127.0.0.1:1"))
      assert.strictEqual(Option.getOrUndefined(joiner.neighbor)?.address, a.address)
    }))

  it.live("RegisterNode never hands out a node that does not answer, even before the health check drops it", () =>
    Effect.gen(function*() {
      // Rounds an hour apart: only the contact check can notice the dead node here.
      const target = yield* startRegistryWith(Registry.layerWith({ healthInterval: "1 hour" }))
      const client = yield* RegistryClient.make(target)
      const [a, b] = [yield* fakeNode(), yield* fakeNode()]
      for (const n of [a, b]) {
        yield* client.register(n.address)
        yield* client.confirm(n.address)
      }
      // A joiner whose contact, by ID, would be b.
      const members = [a, b].map((n) => ({ id: Position.nodeId(n.address), address: n.address }))
      const joiner = Array.from({ length: 1000 }, (_, i) => addr(`10.1.0.1:${i + 1}`)).find((j) =>
        Ring.predecessor(Ring.make([...members, { id: Position.nodeId(j), address: j }]), Position.nodeId(j))?.address === b.address
      )!
      assert.isDefined(joiner)
      assert.strictEqual(Option.getOrUndefined((yield* client.register(joiner)).neighbor)?.address, b.address)

      yield* b.stop
      const r = yield* client.register(joiner)
      assert.strictEqual(Option.getOrUndefined(r.neighbor)?.address, a.address)
      expect(yield* listsExactly(client, [a.address]), "b was dropped at once").toBeUndefined()

      // With a dead too, the joiner gets no contact at all, so it founds the ring.
      yield* a.stop
      assert.isTrue(Option.isNone((yield* client.register(addr("10.1.0.2:1"))).neighbor))
      expect(yield* listsExactly(client, [])).toBeUndefined()
    }))

  it.live("a node dropped after a crash registers again at the same address and stays listed", () =>
    Effect.gen(function*() {
      const target = yield* startRegistryWith(fast)
      const client = yield* RegistryClient.make(target)
      const first = yield* fakeNode()
      yield* client.register(first.address)
      yield* client.confirm(first.address)
      yield* first.stop
      yield* eventually(`${first.address} dropped`, listsExactly(client, []))

      const again = yield* fakeNode(first.port)
      assert.strictEqual(again.address, first.address)
      const r = yield* client.register(again.address)
      assert.strictEqual(r.id, Position.nodeId(first.address))
      assert.isTrue(Option.isNone(r.neighbor))
      yield* client.confirm(again.address)
      // Kept through more than a failureTimeout of health checks.
      yield* eventually("10 pings", Effect.sync(() => (again.pings >= 10 ? undefined : `${again.pings} pings`)))
      expect(yield* listsExactly(client, [again.address])).toBeUndefined()
    }))
})

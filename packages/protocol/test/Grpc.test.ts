/**
 * The gRPC adapter's absolute deadlines: every client call carries its deadline as an absolute
 * time, and a server refuses a call that arrives after it, so a request held up in the network
 * cannot run after its caller gave up on it. Real servers on 127.0.0.1:0.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect, Result } from "effect"
import { Grpc, Proto, type Wire } from "../src/index.ts"

/** A server whose Ping counts the calls it ran, and records the deadline header each carried. */
const pingServer = Effect.gen(function*() {
  const ran: Array<string | undefined> = []
  const server = yield* Grpc.listen({ host: "127.0.0.1", port: 0 })
  const context = yield* Effect.context<never>()
  const implementation: Partial<Wire.PeerHandlers> = {
    Ping: Grpc.unary(context, (_req: unknown, call) =>
      Effect.sync(() => {
        const header = call.metadata.get(Grpc.DEADLINE_HEADER)[0]
        ran.push(typeof header === "string" ? header : undefined)
        return { vnodes: 1 }
      }))
  }
  yield* server.add({ definition: Proto.proto.peer.Peer.service, implementation: implementation as grpc.UntypedServiceImplementation })
  return { address: `127.0.0.1:${server.port}`, ran }
})

describe("Grpc absolute deadlines", () => {
  it.live("a client call carries its deadline as an absolute time, and runs", () =>
    Effect.gen(function*() {
      const { address, ran } = yield* pingServer
      const client = yield* Grpc.client(Proto.proto.peer.Peer, address)
      const before = Date.now()
      yield* Grpc.call(address, "2 seconds", (o, cb) => client.Ping({}, o, cb))
      expect(ran).toHaveLength(1)
      const deadline = Number(ran[0])
      assert.isTrue(deadline >= before + 1900 && deadline <= Date.now() + 2100, `deadline ${deadline - before} ms ahead`)
    }))

  it.live("a call that arrives after its caller's deadline is refused with DEADLINE_EXCEEDED and not run", () =>
    Effect.gen(function*() {
      const { address, ran } = yield* pingServer
      // A bare grpc-js client, to send a deadline header from the past, as a request delayed in
      // the network would arrive.
      const raw = new Proto.proto.peer.Peer(address, grpc.credentials.createInsecure()) as unknown as Wire.PeerClient
      yield* Effect.addFinalizer(() => Effect.sync(() => (raw as unknown as grpc.Client).close()))
      const late = new grpc.Metadata()
      late.set(Grpc.DEADLINE_HEADER, String(Date.now() - 5000))
      const refused = yield* Effect.result(
        Grpc.call(address, "2 seconds", (o, cb) => raw.Ping({}, late, o, cb))
      )
      assert.isTrue(Result.isFailure(refused))
      if (Result.isFailure(refused)) {
        expect(refused.failure._tag).toBe("DeadlineExceeded")
        expect(refused.failure.message).toMatch(/after its caller's deadline/)
      }
      expect(ran).toEqual([])
      // Without the header (any client of the original contract), the call runs as before.
      yield* Grpc.call(address, "2 seconds", (o, cb) => raw.Ping({}, o, cb))
      expect(ran).toEqual([undefined])
    }))

  it("lateBy reads the header: 0 in time or without one, else how late", () => {
    const m = new grpc.Metadata()
    expect(Grpc.lateBy(m, 1000)).toBe(0)
    m.set(Grpc.DEADLINE_HEADER, "1000")
    expect(Grpc.lateBy(m, 999)).toBe(0)
    expect(Grpc.lateBy(m, 1000)).toBe(0)
    expect(Grpc.lateBy(m, 1250)).toBe(250)
    m.set(Grpc.DEADLINE_HEADER, "garbage")
    expect(Grpc.lateBy(m, 1250)).toBe(0)
  })
})

describe("Grpc per-connection limits", () => {
  it.live("one connection gets at most maxConcurrentStreams calls at once; more wait, and all complete", () =>
    Effect.gen(function*() {
      const server = yield* Grpc.listen({ host: "127.0.0.1", port: 0, limits: { maxMessageBytes: 64 * 1024, maxConcurrentStreams: 2 } })
      let open = 0
      let most = 0
      const context = yield* Effect.context<never>()
      const implementation: Partial<Wire.PeerHandlers> = {
        Ping: Grpc.unary(context, () =>
          Effect.gen(function*() {
            open++
            most = Math.max(most, open)
            yield* Effect.sleep("50 millis")
            open--
            return { vnodes: 1 }
          }))
      }
      yield* server.add({ definition: Proto.proto.peer.Peer.service, implementation: implementation as grpc.UntypedServiceImplementation })
      const address = `127.0.0.1:${server.port}`
      const client = yield* Grpc.client(Proto.proto.peer.Peer, address)
      yield* Effect.forEach(Array.from({ length: 10 }), () => Grpc.call(address, "10 seconds", (o, cb) => client.Ping({}, o, cb)), {
        concurrency: "unbounded"
      })
      expect(most).toBe(2)
    }))

  it.live("a request larger than maxMessageBytes is refused before any handler runs", () =>
    Effect.gen(function*() {
      const server = yield* Grpc.listen({ host: "127.0.0.1", port: 0, limits: { maxMessageBytes: 64 * 1024, maxConcurrentStreams: 2 } })
      let ran = 0
      const context = yield* Effect.context<never>()
      const implementation: Partial<Wire.PeerHandlers> = {
        Fetch: Grpc.unary(context, () => Effect.sync(() => (ran++, { found: false }))) as Wire.PeerHandlers["Fetch"]
      }
      yield* server.add({ definition: Proto.proto.peer.Peer.service, implementation: implementation as grpc.UntypedServiceImplementation })
      const address = `127.0.0.1:${server.port}`
      const client = yield* Grpc.client(Proto.proto.peer.Peer, address)
      const big = yield* Effect.flip(Grpc.call(address, "5 seconds", (o, cb) => client.Fetch({ key: Buffer.alloc(100 * 1024) }, o, cb)))
      expect(big._tag).toBe("InvalidArgument")
      expect(big.message).toMatch(/larger than max/)
      expect(ran).toBe(0)
      yield* Grpc.call(address, "5 seconds", (o, cb) => client.Fetch({ key: Buffer.alloc(1024) }, o, cb))
      expect(ran).toBe(1)
    }))
})

describe("Grpc.unaryFast", () => {
  /** A Ping whose fast path answers when `fast.answer` is set, and whose Effect path counts its runs. */
  const fastServer = Effect.gen(function*() {
    const state = { answer: undefined as number | undefined, fastCalls: 0, effectRuns: 0 }
    const server = yield* Grpc.listen({ host: "127.0.0.1", port: 0 })
    const context = yield* Effect.context<never>()
    const implementation: Partial<Wire.PeerHandlers> = {
      Ping: Grpc.unaryFast(
        context,
        () => {
          state.fastCalls++
          return state.answer === undefined ? undefined : { vnodes: state.answer }
        },
        () =>
          Effect.sync(() => {
            state.effectRuns++
            return { vnodes: 99 }
          })
      )
    }
    yield* server.add({ definition: Proto.proto.peer.Peer.service, implementation: implementation as grpc.UntypedServiceImplementation })
    const address = `127.0.0.1:${server.port}`
    const client = yield* Grpc.client(Proto.proto.peer.Peer, address)
    const ping = Grpc.call<Wire.PingReply__Output>(address, "2 seconds", (o, cb) => client.Ping({}, o, cb))
    return { state, ping, address }
  })

  it.live("answers from the fast path when it has an answer, and runs the Effect only when it has none", () =>
    Effect.gen(function*() {
      const { ping, state } = yield* fastServer
      state.answer = 7
      expect((yield* ping).vnodes).toBe(7)
      expect(state).toEqual({ answer: 7, fastCalls: 1, effectRuns: 0 })
      state.answer = undefined
      expect((yield* ping).vnodes).toBe(99)
      expect(state).toEqual({ answer: undefined, fastCalls: 2, effectRuns: 1 })
    }))

  it.live("refuses a late call before either path runs", () =>
    Effect.gen(function*() {
      const { address, state } = yield* fastServer
      state.answer = 7
      const raw = new Proto.proto.peer.Peer(address, grpc.credentials.createInsecure()) as unknown as Wire.PeerClient
      yield* Effect.addFinalizer(() => Effect.sync(() => (raw as unknown as grpc.Client).close()))
      const late = new grpc.Metadata()
      late.set(Grpc.DEADLINE_HEADER, String(Date.now() - 5000))
      const refused = yield* Effect.result(Grpc.call(address, "2 seconds", (o, cb) => raw.Ping({}, late, o, cb)))
      assert.isTrue(Result.isFailure(refused) && refused.failure._tag === "DeadlineExceeded")
      expect(state.fastCalls + state.effectRuns).toBe(0)
    }))
})

/**
 * TLS admission per call, in this process: a server reads its caller's certificate once per
 * connection (reading it costs about 30 us, on every call otherwise), yet judges every call,
 * each connection by its own certificate, and refuses a call once the certificate of a live
 * connection has expired. Real gRPC servers on 127.0.0.1:0, certificates as `dht-certs` makes them.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Grpc, Proto, Tls, type Wire } from "@crustyring/protocol"
import * as grpc from "@grpc/grpc-js"
import { Duration, Effect, Schedule } from "effect"
import * as tls from "node:tls"
import * as Certs from "../src/Certs.ts"

const DAY = 86_400_000

/** A CA, a node certificate for 127.0.0.1, a client `alice`, and a client whose certificate expires in `expiresInMs`. */
const makeCerts = (expiresInMs: number) =>
  Effect.promise(async () => {
    const ca = await Certs.createCa(new Date(Date.now() - 1000))
    const node = await Certs.createNode(ca, ["127.0.0.1"])
    const alice = await Certs.createClient(ca, "alice")
    const brief = await Certs.createClient(ca, "brief", new Date(Date.now() - Certs.VALIDITY_DAYS * DAY + expiresInMs))
    return { ca, node, alice, brief }
  })

const security = (ca: Certs.Pair, pair: Certs.Pair) =>
  Tls.make({ ca: Buffer.from(ca.cert), cert: Buffer.from(pair.cert), key: Buffer.from(pair.key) }).pipe(Effect.orDie)

/** A TLS server with a Ping for nodes only (a peer call) and a Status for clients. */
const serve = (server: Tls.Security) =>
  Effect.gen(function*() {
    const listening = yield* Effect.provideService(Grpc.listen({ host: "127.0.0.1", port: 0 }), Tls.Security, server)
    const context = yield* Effect.context<never>()
    const implementation: Partial<Wire.PeerHandlers> = {
      Ping: Grpc.unary(context, () => Effect.succeed({ vnodes: 1 })),
      Status: Grpc.unary(context, () => Effect.succeed({}))
    }
    yield* listening.add({
      definition: Proto.proto.peer.Peer.service,
      implementation: implementation as grpc.UntypedServiceImplementation,
      audience: (method) => (method === "Ping" ? "nodes" : "clients")
    })
    return `127.0.0.1:${listening.port}`
  })

/** The status a call ends with: "OK" or its code's name. */
const outcome = (client: Wire.PeerClient, method: "Ping" | "Status") =>
  Effect.callback<string>((resume) => {
    const deadline = { deadline: Date.now() + 5000 }
    const done = (e: grpc.ServiceError | null) => resume(Effect.succeed(e ? (grpc.status[e.code] ?? String(e.code)) : "OK"))
    if (method === "Ping") client.Ping({}, deadline, done)
    else client.Status({}, deadline, done)
  })

/** Counts the server's reads of peer certificates while `effect` runs. */
const countingReads = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const original = tls.TLSSocket.prototype.getPeerCertificate
    let reads = 0
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        tls.TLSSocket.prototype.getPeerCertificate = function(this: tls.TLSSocket, ...args: Array<unknown>) {
          reads++
          return (original as (...a: Array<unknown>) => tls.PeerCertificate).apply(this, args)
        } as typeof original
      }),
      () => Effect.sync(() => void (tls.TLSSocket.prototype.getPeerCertificate = original))
    )
    const result = yield* effect
    return { result, reads }
  })

describe("TLS admission", () => {
  it.live("a connection's certificate is read once, and each connection is judged by its own", () =>
    Effect.gen(function*() {
      const c = yield* makeCerts(Certs.VALIDITY_DAYS * DAY)
      const address = yield* serve(yield* security(c.ca, c.node))
      const node = yield* Grpc.client(Proto.proto.peer.Peer, address, yield* security(c.ca, c.node))
      const alice = yield* Grpc.client(Proto.proto.peer.Peer, address, yield* security(c.ca, c.alice))
      // Connect both first, so that the counted calls are on live connections.
      assert.strictEqual(yield* outcome(node, "Status"), "OK")
      assert.strictEqual(yield* outcome(alice, "Status"), "OK")
      const { reads, result } = yield* Effect.scoped(countingReads(Effect.gen(function*() {
        const out: Array<string> = []
        for (let i = 0; i < 10; i++) {
          out.push(yield* outcome(node, "Ping"), yield* outcome(alice, "Ping"), yield* outcome(alice, "Status"))
        }
        return out
      })))
      // The node may call peer methods and a client may not, on every call of its connection.
      for (let i = 0; i < result.length; i += 3) assert.deepStrictEqual(result.slice(i, i + 3), ["OK", "PERMISSION_DENIED", "OK"])
      // 30 calls over two connections, whose certificates were read on their first calls.
      assert.strictEqual(reads, 0, `the server read a peer certificate ${reads} times`)
    }))

  it.live("a call on a live connection is refused once the caller's certificate has expired", () =>
    Effect.gen(function*() {
      const c = yield* makeCerts(3000)
      const address = yield* serve(yield* security(c.ca, c.node))
      const brief = yield* Grpc.client(Proto.proto.peer.Peer, address, yield* security(c.ca, c.brief))
      assert.strictEqual(yield* outcome(brief, "Status"), "OK")
      // The same connection, until the certificate's end: then UNAUTHENTICATED.
      const outcomes: Array<string> = []
      const last = yield* outcome(brief, "Status").pipe(
        Effect.tap((o) => Effect.sync(() => outcomes.push(o))),
        Effect.repeat({ schedule: Schedule.spaced(Duration.millis(100)), until: (o) => o !== "OK" }),
        Effect.timeout("10 seconds")
      )
      assert.strictEqual(last, "UNAUTHENTICATED")
      expect(outcomes.slice(0, -1).every((o) => o === "OK")).toBe(true)
    }))
})

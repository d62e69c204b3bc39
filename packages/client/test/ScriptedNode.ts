/**
 * Scripted DhtNode servers on loopback for client tests: each answers from a script (a result,
 * a status as our nodes send it, or no answer at all), or crashes on its first call.
 */
import { Errors, Grpc, Proto, type Wire } from "@crustyring/protocol"
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"

/** What a node says while its write cannot reach enough replicas. */
export const QUORUM = "quorum not reached: 1 of 2 replicas acknowledged"

/** How a scripted node answers one call: a result, a status, or nothing at all. */
export type Answer = Wire.QueryResult | { readonly status: grpc.status; readonly details: string } | "hang"

/** One call as the scripted node saw it. */
export interface Seen {
  readonly key: string
  readonly at: number
}

/** The status a node of ours sends: marked as its own answer, not a transport failure. */
export const statusOf = (code: grpc.status, details: string): Partial<grpc.StatusObject> => {
  const metadata = new grpc.Metadata()
  metadata.set(Errors.ORIGIN_KEY, "1")
  return { code, details, metadata }
}

/**
 * A DhtNode on an ephemeral port that answers call `n` (from 0) with `script(n, query)`.
 * Calls left hanging are answered UNAVAILABLE when the scope closes, so that shutdown is quick.
 */
export const scriptedNode = (script: (n: number, q: Wire.Query__Output) => Answer) =>
  Effect.gen(function*() {
    const hanging = new Set<grpc.sendUnaryData<Wire.QueryResult>>()
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const cb of hanging) cb(statusOf(grpc.status.UNAVAILABLE, "shutting down"))
        hanging.clear()
      })
    )
    const server = yield* Grpc.listen({ host: "127.0.0.1", port: 0, drain: "1 second" })
    const calls: Array<Seen> = []
    const handlers: Wire.DhtNodeHandlers = {
      QueryDht: (call, callback) => {
        const answer = script(calls.length, call.request)
        calls.push({ key: call.request.key.toString(), at: performance.now() })
        if (answer === "hang") {
          hanging.add(callback)
          call.on("cancelled", () => hanging.delete(callback))
        } else if ("status" in answer) {
          callback(statusOf(answer.status, answer.details))
        } else {
          callback(null, answer)
        }
      }
    }
    yield* server.add({ definition: Proto.proto.dht.DhtNode.service, implementation: handlers })
    return { address: `127.0.0.1:${server.port}`, calls }
  })

/**
 * A DhtNode that crashes on its first call: the server is forced down with the call in flight,
 * as when the process dies, and the port refuses connections from then on.
 */
export const crashingNode = Effect.gen(function*() {
  const server = yield* Effect.acquireRelease(
    Effect.sync(() => new grpc.Server(Grpc.channelOptions)),
    (s) => Effect.sync(() => s.forceShutdown())
  )
  const calls: Array<Seen> = []
  const handlers: Wire.DhtNodeHandlers = {
    QueryDht: (call) => {
      calls.push({ key: call.request.key.toString(), at: performance.now() })
      server.forceShutdown()
    }
  }
  server.addService(Proto.proto.dht.DhtNode.service, handlers)
  const port = yield* Effect.callback<number, Error>((resume) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      resume(err ? Effect.fail(err) : Effect.succeed(p)))
  )
  return { address: `127.0.0.1:${port}`, calls }
})

/**
 * How the registry asks a node whether it is alive: one `peer.Peer/Ping` with a deadline. The
 * health check and the contact check of `register` both go through this service, so tests can
 * swap the network for a table of live addresses.
 */
import { Address, Errors, Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Context, Deferred, type Duration, Effect, Layer } from "effect"

/** The registry's liveness probe. */
export interface Service {
  /** Succeeds when the node at `address` answers a `Ping` within `timeout`; fails with why not. */
  readonly ping: (address: Address.Address, timeout: Duration.Input) => Effect.Effect<void, Errors.RpcError>
}

/** The registry's liveness probe. */
export class Pinger extends Context.Service<Pinger, Service>()("@crustyring/registry/Pinger") {}

/**
 * Pings over gRPC, with a client per ping: nothing is kept open for a node that may be gone, and
 * a node that comes back at the same address is reached at once: no reconnect backoff carries
 * over from the failed pings (the restart test in `RegistryServer.test.ts` covers this). The
 * virtual nodes of one process ("host:port#i") share the ping in flight to it, so a round pings
 * each process once: the reply says how many virtual nodes the process runs.
 */
export const make: Effect.Effect<Service> = Effect.sync(() => {
  const inFlight = new Map<string, Deferred.Deferred<number, Errors.RpcError>>()
  const probe = (target: string, timeout: Duration.Input) =>
    Effect.scoped(
      Effect.flatMap(Grpc.client(Proto.proto.peer.Peer, target), (client) =>
        Grpc.call<Wire.PingReply__Output>(target, timeout, (options, callback) => client.Ping({}, options, callback)))
    ).pipe(Effect.map((reply) => Math.max(1, reply.vnodes)))
  return {
    ping: (address, timeout) =>
      Effect.gen(function*() {
        const target = Address.target(address)
        let shared = inFlight.get(target)
        if (!shared) {
          const result = yield* Deferred.make<number, Errors.RpcError>()
          shared = result
          inFlight.set(target, result)
          yield* Effect.forkDetach(Effect.exit(probe(target, timeout)).pipe(
            Effect.flatMap((exit) => Deferred.done(result, exit)),
            Effect.ensuring(Effect.sync(() => inFlight.delete(target)))
          ))
        }
        const count = yield* Deferred.await(shared)
        if (Address.vnode(address) >= count) {
          return yield* new Errors.Unavailable({ message: `${target} no longer runs ${address}` })
        }
      })
  }
})

/** Pings over gRPC. */
export const layer: Layer.Layer<Pinger> = Layer.effect(Pinger, make)

/** Treats every node as alive without a network. For tests of the book alone. */
export const layerNoop: Layer.Layer<Pinger> = Layer.succeed(Pinger, { ping: () => Effect.void })

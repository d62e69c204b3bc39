/**
 * How the registry asks a node whether it is alive: one `peer.Peer/Ping` with a deadline. The
 * health check and the contact check of `register` both go through this service, so tests can
 * swap the network for a table of live addresses.
 */
import { type Address, type Errors, Grpc, Proto } from "@crustyring/protocol"
import { Context, type Duration, Effect, Layer } from "effect"

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
 * over from the failed pings (the restart test in `RegistryServer.test.ts` covers this). A registry pings one node per ring member per interval,
 * so this is cheap.
 */
export const make: Effect.Effect<Service> = Effect.succeed({
  ping: (address, timeout) =>
    Effect.scoped(
      Effect.flatMap(Grpc.client(Proto.proto.peer.Peer, address), (client) =>
        Effect.asVoid(Grpc.call(address, timeout, (options, callback) => client.Ping({}, options, callback))))
    )
})

/** Pings over gRPC. */
export const layer: Layer.Layer<Pinger> = Layer.effect(Pinger, make)

/** Treats every node as alive without a network. For tests of the book alone. */
export const layerNoop: Layer.Layer<Pinger> = Layer.succeed(Pinger, { ping: () => Effect.void })

/**
 * How a node is reached and reaches its peers: gRPC over sockets (the default), or an in-memory
 * network (`MemoryNetwork`) that hands each call to the target node's own handlers in the same
 * process, for unit tests and the simulator. Either way the calls go through the same handlers
 * (`DhtServer`) and the same client code (`Peers`); only the wire differs.
 */
import { Address, Errors, Grpc, MemoryNetwork, Proto, Tls, type Wire } from "@crustyring/protocol"
import { Context, type Duration, Effect, Layer, type Scope, type Stream } from "effect"

/** A connection to one peer process, with a client for each of its addresses (virtual nodes). */
export interface Connection {
  readonly client: (address: string) => Wire.PeerClient
}

/** The transport. */
export interface Service {
  /** Serves this node on `host:port` (port 0 picks a free one) until the scope closes. */
  readonly listen: (
    options: { readonly host: string; readonly port: number; readonly limits?: Grpc.Limits }
  ) => Effect.Effect<Grpc.Server, Errors.Unavailable, Scope.Scope>
  /** A connection to the process at `target` ("host:port"), closed with the scope. */
  readonly connect: (target: string) => Effect.Effect<Connection, never, Scope.Scope>
  /** Runs one unary call with a deadline, as `Grpc.call`. */
  readonly call: <Res>(
    target: string,
    timeout: Duration.Input,
    invoke: (options: import("@grpc/grpc-js").CallOptions, callback: (error: import("@grpc/grpc-js").ServiceError | null, response?: Res) => void) => import("@grpc/grpc-js").ClientUnaryCall
  ) => Effect.Effect<Res, Errors.RpcError>
  /** Runs one server-streaming call within a deadline, as `Grpc.callStream`. */
  readonly callStream: <Res>(
    target: string,
    timeout: Duration.Input,
    invoke: (options: import("@grpc/grpc-js").CallOptions) => import("@grpc/grpc-js").ClientReadableStream<Res>
  ) => Stream.Stream<Res, Errors.RpcError>
  /**
   * Why calls to `target` fail when the cause is the credentials (TLS against plaintext, another
   * cluster's CA, a certificate without the address): one line naming it, or undefined when the
   * target is simply down. For errors that must not be retried.
   */
  readonly mismatch: (target: string) => Effect.Effect<string | undefined>
}

/** The node's transport. Without one in context, a node uses gRPC. */
export class Transport extends Context.Service<Transport, Service>()("@crustyring/node/Transport") {}

/** gRPC over sockets: one connection of its own per peer process. */
export const grpc: Service = {
  listen: (options) => Grpc.listen(options),
  connect: (target) =>
    Effect.map(Grpc.channel(target), (channel) => {
      const clients = new Map<string, Wire.PeerClient>()
      return {
        client: (address) => {
          let client = clients.get(address)
          if (!client) {
            client = Grpc.clientOn(Proto.proto.peer.Peer, channel, address) as unknown as Wire.PeerClient
            clients.set(address, client)
          }
          return client
        }
      }
    }),
  call: Grpc.call,
  callStream: Grpc.callStream,
  mismatch: (target) => Effect.flatMap(Effect.service(Tls.Security), (security) => Tls.mismatch(Address.target(target), security))
}

/** gRPC over sockets, as a layer. */
export const layerGrpc: Layer.Layer<Transport> = Layer.succeed(Transport, grpc)

/** The transport in context, or gRPC. */
export const current: Effect.Effect<Service> = Effect.map(
  Effect.serviceOption(Transport),
  (t) => t._tag === "Some" ? t.value : grpc
)

/**
 * The in-memory network, for the process at `self` ("host:port"): it listens there whatever
 * port its config names, and its calls come from there, so faults can tell who talks to whom.
 */
export const memory = (network: MemoryNetwork.Network, self: string): Service => ({
  listen: () => network.listen(self),
  connect: () =>
    Effect.sync(() => {
      const clients = new Map<string, Wire.PeerClient>()
      return {
        client: (address) => {
          let client = clients.get(address)
          if (!client) clients.set(address, client = network.client<Wire.PeerClient>(Proto.proto.peer.Peer.service, self, address))
          return client
        }
      }
    }),
  call: MemoryNetwork.call,
  callStream: MemoryNetwork.callStream,
  mismatch: () => Effect.succeed(undefined)
})

/** The in-memory network as the transport of the process at `self`. */
export const layerMemory = (network: MemoryNetwork.Network, self: string): Layer.Layer<Transport> =>
  Layer.succeed(Transport, memory(network, self))

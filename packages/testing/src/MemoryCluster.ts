/**
 * Real nodes on the in-memory network: every service and handler of a node, with no socket, in
 * one process. Run it under `TestClock` (inside `it.effect`, or with `TestClock.layer()`), and
 * minutes of cluster time pass in moments; faults come from the network's `decide` function.
 * The sibling of `TestCluster`, which runs the same nodes over real gRPC on loopback.
 */
import { Bootstrap, Node, NodeConfig, Storage, Transport } from "@crustyring/node"
import { Address, MemoryNetwork, Proto, type Wire } from "@crustyring/protocol"
import { Context, type Duration, Effect, Exit, Layer, Scope } from "effect"

/** One node of the cluster. */
export interface MemoryNode {
  /** Its address, "name:7000". */
  readonly address: string
  readonly node: Node.RunningNode
  /** Its store: keep it to restart the node "with its data directory". */
  readonly store: Context.Service.Shape<typeof Storage.Storage>
  /** Stops it: gracefully (a leave), unless it was crashed first. */
  readonly close: Effect.Effect<void>
}

/** How to start one node. */
export interface StartOptions {
  /** Its name; the address is "name:7000". */
  readonly name: string
  /** Seeds to join through (addresses); none starts a new ring. */
  readonly seeds?: ReadonlyArray<string>
  /** Settings over the defaults (and the cluster's). */
  readonly config?: Partial<NodeConfig.Settings>
  /** A store to start with, e.g. one kept from before a crash; a new memory store otherwise. */
  readonly store?: Context.Service.Shape<typeof Storage.Storage>
}

/** A cluster on one memory network. */
export interface MemoryCluster {
  readonly network: MemoryNetwork.Network
  /** Starts a node; it serves once this returns. */
  readonly start: (options: StartOptions) => Effect.Effect<MemoryNode, Node.StartError>
  /** A client of the `dht.DhtNode` contract at `address`, calling from `from`. */
  readonly client: (address: string, from?: string) => Wire.DhtNodeClient
  /** Runs one query at `address`, with a deadline on the Clock. */
  readonly query: (address: string, query: Wire.Query, timeout?: Duration.Input) => Effect.Effect<Wire.QueryResult__Output, import("@crustyring/protocol").Errors.RpcError>
}

/** The address of the node called `name`. */
export const addressOf = (name: string): string => `${name}:7000`

/**
 * A new memory network and a way to start nodes on it, each with `config` over the defaults
 * (one ring position per node unless `config` sets `vnodes`).
 * Nodes still running stop with the scope.
 */
export const make = (config: Partial<NodeConfig.Settings> = {}): Effect.Effect<MemoryCluster, never, Scope.Scope> =>
  Effect.gen(function*() {
    const network = yield* MemoryNetwork.make
    const outer = yield* Effect.scope
    const client = (address: string, from = "client:1") =>
      network.client<Wire.DhtNodeClient>(Proto.proto.dht.DhtNode.service, from, address)
    return {
      network,
      client,
      query: (address, query, timeout: Duration.Input = "10 seconds") =>
        MemoryNetwork.call<Wire.QueryResult__Output>(address, timeout, (o, cb) => client(address).QueryDht(query, o, cb)),
      start: (options) =>
        Effect.gen(function*() {
          const scope = yield* Scope.fork(outer)
          const self = addressOf(options.name)
          const store = options.store ?? (yield* Storage.makeMemory)
          const seeds = options.seeds ?? []
          const context = yield* Layer.buildWithScope(
            Node.layer.pipe(Layer.provide(Layer.mergeAll(
              NodeConfig.layer({ vnodes: 1, ...config, ...options.config, port: 7000, advertise: Address.unsafeMake(self) }),
              seeds.length === 0 ? Bootstrap.layerNewRing : Bootstrap.layerPeers(seeds.map(Address.unsafeMake)),
              Layer.succeed(Storage.Storage, store),
              Transport.layerMemory(network, self)
            ))),
            scope
          ).pipe(Effect.onError(() => Scope.close(scope, Exit.void)))
          return {
            address: self,
            node: Context.get(context, Node.DhtNode),
            store,
            close: Scope.close(scope, Exit.void)
          } satisfies MemoryNode
        })
    } satisfies MemoryCluster
  })

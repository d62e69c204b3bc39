/**
 * A real cluster on loopback, in this process: a registry and N nodes on ephemeral ports, each
 * a full node over real gRPC. For tests, ours and yours; everything stops with the scope.
 *
 * ```ts
 * it.live("reads what it wrote", () =>
 *   Effect.gen(function*() {
 *     const cluster = yield* TestCluster.make({ nodes: 3 })
 *     const client = yield* cluster.client()
 *     yield* client.set("k", "v")
 *   }))
 * ```
 */
import { DhtClient } from "@crustyring/client"
import { Bootstrap, Membership, Node, NodeConfig, Storage } from "@crustyring/node"
import { Address } from "@crustyring/protocol"
import { Registry, RegistryServer } from "@crustyring/registry"
import { Context, Effect, Exit, Layer, type LogLevel, References, Scope } from "effect"

/** One node of the cluster. */
export interface ClusterNode {
  readonly address: string
  readonly node: Node.RunningNode
  /** Stops this node alone (its server shuts down); the rest keep running. */
  readonly stop: Effect.Effect<void>
}

/** Options of a test cluster. */
export interface Options {
  /** Nodes to start. @default 3 */
  readonly nodes?: number
  /** Start a registry and join through it; otherwise nodes join through the first node. @default true */
  readonly registry?: boolean
  /**
   * Node settings for every node; host and port are always 127.0.0.1:0. Nodes take one ring
   * position each (`vnodes: 1`) unless this says otherwise: small rings start fast and are easy
   * to reason about in a test; pass `vnodes` for the production layout.
   */
  readonly config?: Partial<NodeConfig.Settings>
  /** Log level of the nodes. @default "Error", or $CRUSTY_LOG_LEVEL */
  readonly logLevel?: LogLevel.LogLevel
  /** Storage of every node, e.g. `DurableStorage.layer(...)`. @default the memory store */
  readonly storage?: Layer.Layer<Storage.Storage, { readonly message: string }>
}

/** Options of one added node. */
export interface AddOptions {
  readonly config?: Partial<NodeConfig.Settings>
  /** Storage of this node. @default the cluster's */
  readonly storage?: Layer.Layer<Storage.Storage, { readonly message: string }>
  readonly via?: "registry" | "peer"
  readonly contact?: string
}

/** A running test cluster. */
export interface TestCluster {
  /** The registry address, when there is one. */
  readonly registry: string | undefined
  /** The nodes started so far, in start order, stopped ones included. */
  readonly nodes: ReadonlyArray<ClusterNode>
  /**
   * Starts one more node. It joins through the registry when the cluster has one, else through
   * the first running node; `via: "peer"` joins through `contact` (default: the first running
   * node) even when there is a registry.
   */
  readonly addNode: (options?: AddOptions) => Effect.Effect<ClusterNode, Node.StartError>
  /** Stops a node gracefully: it hands its range over and leaves the ring. */
  readonly stopNode: (node: ClusterNode) => Effect.Effect<void>
  /** The running nodes. */
  readonly running: Effect.Effect<ReadonlyArray<ClusterNode>>
  /** A client of the cluster; through the registry when there is one. */
  readonly client: (options?: DhtClient.Options) => Effect.Effect<DhtClient.Service, never, Scope.Scope>
  /** Membership views of the running nodes. */
  readonly views: Effect.Effect<ReadonlyArray<Membership.View>>
}

/** Starts a cluster that stops when the scope closes. */
export const make = (options: Options = {}): Effect.Effect<TestCluster, Node.StartError, Scope.Scope> =>
  Effect.gen(function*() {
    const logLevel = options.logLevel ?? (process.env.CRUSTY_LOG_LEVEL as LogLevel.LogLevel | undefined) ?? "Error"
    const quiet = <A, E, R>(e: Effect.Effect<A, E, R>) => Effect.provideService(e, References.MinimumLogLevel, logLevel)
    const useRegistry = options.registry ?? true
    const clusterScope = yield* Effect.scope

    const registry = useRegistry
      ? yield* Layer.build(RegistryServer.layer({ host: "127.0.0.1", port: 0 }).pipe(Layer.provide(Registry.layer))).pipe(
        Effect.map((ctx) => `127.0.0.1:${Context.get(ctx, RegistryServer.RegistryServer).port}`),
        Effect.mapError((e) => new Node.StartError({ message: e.message })),
        quiet
      )
      : undefined

    const nodes: Array<ClusterNode> = []
    const running = new Set<ClusterNode>()

    const addNode = (add: AddOptions = {}) =>
      Effect.gen(function*() {
        const config = add.config ?? {}
        const scope = yield* Scope.fork(clusterScope)
        const first = [...running][0]
        const contact = add.contact ?? first?.address
        const bootstrap = registry !== undefined && add.via !== "peer"
          ? Bootstrap.layerRegistry(registry)
          : contact !== undefined
          ? Bootstrap.layerPeer(Address.unsafeMake(contact))
          : Bootstrap.layerNewRing
        const layer = Node.layer.pipe(
          Layer.provide(Layer.mergeAll(
            NodeConfig.layer({ vnodes: 1, ...options.config, ...config, host: "127.0.0.1", port: 0 }),
            bootstrap,
            add.storage ?? options.storage ?? Storage.layerMemory
          ))
        )
        const ctx = yield* Layer.buildWithScope(layer, scope).pipe(
          quiet,
          Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause))),
          Effect.mapError((e) => e instanceof Node.StartError ? e : new Node.StartError({ message: e.message }))
        )
        const node = Context.get(ctx, Node.DhtNode)
        const member: ClusterNode = {
          address: node.self.address,
          node,
          stop: Effect.suspend(() => {
            running.delete(member)
            return Scope.close(scope, Exit.void)
          })
        }
        nodes.push(member)
        running.add(member)
        return member
      })

    // Stop nodes one at a time, newest first, so each leaves gracefully to the ones that remain.
    yield* Effect.addFinalizer(() => Effect.forEach([...running].reverse(), (n) => n.stop, { discard: true }))

    for (let i = 0; i < (options.nodes ?? 3); i++) yield* addNode()

    return {
      registry,
      nodes,
      addNode,
      stopNode: (n) => n.stop,
      running: Effect.sync(() => [...running]),
      // A client of the registry, or of the nodes running when it is made.
      client: (clientOptions) =>
        DhtClient.make(
          registry !== undefined ? { registry } : { nodes: [...running].map((n) => n.address) },
          clientOptions
        ).pipe(Effect.orDie),
      views: Effect.suspend(() => Effect.forEach([...running], (n) => n.node.membership.view))
    } satisfies TestCluster
  })

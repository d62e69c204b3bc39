/**
 * One DHT node, assembled: it binds its gRPC server, takes its ring ID from its advertised
 * address, joins through its bootstrap and then serves. Everything it starts stops with its
 * scope: closing the scope shuts the server down gracefully.
 */
import { Address, Admin, Grpc, Health } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Clock, Context, Duration, Effect, Layer, Option, Schedule, Schema } from "effect"
import * as AdminSource from "./AdminSource.ts"
import { Bootstrap } from "./Bootstrap.ts"
import * as Dashboard from "./Dashboard.ts"
import * as DhtServer from "./DhtServer.ts"
import * as Events from "./Events.ts"
import * as FailureDetector from "./FailureDetector.ts"
import * as Fingers from "./Fingers.ts"
import * as InFlight from "./InFlight.ts"
import * as Join from "./Join.ts"
import * as KeyValue from "./KeyValue.ts"
import * as Leave from "./Leave.ts"
import * as Membership from "./Membership.ts"
import * as Metrics from "./Metrics.ts"
import { NodeConfig, validate } from "./NodeConfig.ts"
import * as Peers from "./Peers.ts"
import * as Remembered from "./Remembered.ts"
import * as Repair from "./Repair.ts"
import * as Replication from "./Replication.ts"
import * as RingView from "./RingView.ts"
import * as Router from "./Router.ts"
import * as Stabilizer from "./Stabilizer.ts"
import { Storage } from "./Storage.ts"
import * as Transfers from "./Transfers.ts"
import * as Transport from "./Transport.ts"
import * as Version from "./Version.ts"
import * as VirtualNodes from "./VirtualNodes.ts"

/** A running node: who it is, where it listens, and handles for inspection. */
export interface RunningNode {
  /** Its first (or only) virtual node, at the advertised address itself. */
  readonly self: Membership.Member
  /** The port the server bound. */
  readonly port: number
  readonly membership: Membership.Service
  /** Every virtual node's membership, the first being `membership`. */
  readonly vnodes: ReadonlyArray<Membership.Service>
  readonly storage: Context.Service.Shape<typeof Storage>
  /**
   * Whether it serves: SERVING once every virtual node has joined, NOT_SERVING while it joins
   * and from the moment it starts to leave. The gRPC health service reports the same.
   */
  readonly health: Health.Health
}

/** The node could not start: it could not bind, or could not join. The message says why. */
export class StartError extends Schema.TaggedError<StartError>()("StartError", {
  message: Schema.String
}) {}

/** The running node of this scope. */
export class DhtNode extends Context.Service<DhtNode, RunningNode>()("@crustyring/node/DhtNode") {}

/** The address a node advertises when none is given: `host:port`, with 127.0.0.1 for a wildcard host. */
export const advertised = (host: string, port: number): Address.Address => {
  const wildcard = host === "0.0.0.0" || host === "::" || host === ""
  return Address.unsafeMake(`${wildcard ? "127.0.0.1" : host}:${port}`)
}

/** Starts a node with the config, bootstrap and storage in context. Fails if it cannot bind or join. */
export const make = Effect.gen(function*() {
  const config = yield* NodeConfig
  const invalid = validate(config)
  if (invalid !== undefined) return yield* new StartError({ message: invalid })
  const transport = yield* Transport.current
  const server = yield* transport.listen({
    host: config.host,
    port: config.port,
    limits: {
      ...Grpc.defaultLimits,
      // A request holds one entry, or a peer's batch of a few MiB (see Repair): room for both.
      maxMessageBytes: Math.max(Grpc.defaultLimits.maxMessageBytes, config.maxKeyBytes + config.maxValueBytes + 4 * 1024 * 1024)
    }
  })
  const address = config.advertise ?? advertised(config.host, server.port)
  // Every log line of this node, its background fibers' included, names it.
  yield* Effect.annotateLogsScoped({ node: address })
  const bootstrap = yield* Bootstrap
  const vnodes = VirtualNodes.make(config.vnodes)
  const listLength = Membership.successorListLength(config.replicas, config.vnodes)
  // One client pool and one clock for the whole process.
  // The remembered members, if any (a data directory), for every virtual node's join.
  const remembered = yield* Effect.serviceOption(Remembered.Remembered)
  // One set of metrics for the process: the one in context (the CLI's), or one of its own.
  const metrics = Option.getOrElse(yield* Effect.serviceOption(Metrics.Metrics), () => (config.metrics ? Metrics.make() : Metrics.disabled))
  const withMetrics = Layer.succeed(Metrics.Metrics, metrics)
  // The process's ring events (the dashboard's), and where its admin server listens.
  const events = yield* Events.make()
  const adminPort = { port: 0 }
  const shared = yield* Layer.build(Layer.mergeAll(
    withMetrics,
    Layer.succeed(Events.Events, events),
    Layer.succeed(AdminSource.AdminPort, adminPort),
    Peers.layer.pipe(Layer.provide(Layer.mergeAll(Layer.succeed(Transport.Transport, transport), withMetrics))),
    Version.layer,
    Option.match(remembered, { onNone: () => Layer.empty, onSome: (r) => Layer.succeed(Remembered.Remembered, r) })
  ))

  // When the first virtual node began to leave: all of them share one leave timeout.
  const stopping: { since?: number } = {}
  const leaveMs = Duration.toMillis(config.leaveTimeout)
  const contexts: Array<Context.Context<Layer.Success<ReturnType<typeof services>> | Peers.Peers | Version.Hlc>> = []
  for (let i = 0; i < config.vnodes; i++) {
    const vaddress = Address.withVnode(address, i)
    const self: Membership.Member = { id: Position.nodeId(vaddress), address: vaddress }
    const layer = services(self, listLength, vnodes, i === 0 ? bootstrap : joinFirst(bootstrap, address))
    const context = yield* Layer.build(layer.pipe(Layer.provideMerge(Layer.succeedContext(shared))))
    vnodes.members.push(Context.get(context, Membership.Membership))
    contexts.push(context)
  }
  const built = yield* Effect.forEach(contexts, (context) => DhtServer.make.pipe(Effect.provideContext(context)))
  const handlers = built.map((b) => b.services)
  for (let k = 0; k < handlers[0]!.length; k++) {
    yield* server.add({
      ...handlers[0]![k]!,
      implementation: Grpc.dispatch(handlers.map((h) => h[k]!.implementation))
    })
  }
  // After the node's own services, so the time a starting node answers UNIMPLEMENTED (to a
  // node deciding who starts a ring) stays as short as it can be.
  const health = yield* Health.serve(server, ["dht.DhtNode"])
  if (config.httpPort !== undefined) {
    const dashboard = yield* Dashboard.routes({
      address,
      copies: config.replicas,
      walk: RingView.walk(address).pipe(Effect.provideContext(contexts[0]!)),
      events
    })
    const admin = yield* Admin.serve({
      host: config.host,
      port: config.httpPort,
      source: { ...AdminSource.make(address, health, metrics, built.map((b) => b.status)), routes: dashboard }
    })
    adminPort.port = admin.port
    yield* Effect.logInfo(`admin server on ${admin.scheme}://${config.host}:${admin.port} (the dashboard at /; /metrics /healthz /readyz /status)`)
  }
  for (const [i, context] of contexts.entries()) {
    yield* Join.run().pipe(Effect.provideContext(context))
    // Its first stabilization at once, as the process's loop may be between rounds: the
    // successor list, and with it the replica set, is complete before the next position joins.
    if (i > 0) {
      yield* Stabilizer.stabilize([Context.get(context, Membership.Membership)]).pipe(
        Effect.provideContext(context),
        Effect.catchCause((cause) => Effect.logError("stabilization failed", cause))
      )
    }
    if (i === 0) {
      // One loop per process for stabilization and failure detection, over every virtual node
      // ready so far; virtual nodes route through what all of them know, so one finger table
      // serves them all.
      yield* Effect.forkScoped(Stabilizer.run.pipe(Effect.provideContext(context)), { startImmediately: true })
      yield* Effect.forkScoped(Fingers.run.pipe(Effect.provideContext(context)), { startImmediately: true })
      yield* Effect.forkScoped(FailureDetector.run.pipe(Effect.provideContext(context)), { startImmediately: true })
    }
    yield* Effect.forkScoped(Context.get(context, Repair.Repair).run, { startImmediately: true })
    // Added after the server, so it runs before the server stops: the server still serves
    // during the leave. Virtual nodes leave in reverse order, the first one last, all within
    // one `leaveTimeout`; a position left without time stops as if it crashed, and the
    // replicas of its range take it over.
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        stopping.since ??= now
        const left = leaveMs - (now - stopping.since)
        const name = Context.get(context, Membership.Membership).self.address
        if (left <= 0) return Effect.logWarning(`no time left to leave gracefully as ${name}`)
        return Leave.run().pipe(
          Effect.provideContext(context),
          Effect.timeoutOrElse({
            duration: Duration.millis(left),
            orElse: () => Effect.logError(`${name}: leave did not complete within ${Duration.format(config.leaveTimeout)}; stopping anyway`)
          }),
          Effect.catchCause((cause) => Effect.logError("graceful leave failed", cause))
        )
      })
    )
  }

  if (config.vnodes > 1) yield* Effect.logInfo(`all ${config.vnodes} virtual nodes of ${address} joined`)
  yield* health.set("SERVING")
  // Added last, so it runs first when the node stops: not serving from the start of the leave.
  yield* Effect.addFinalizer(() => health.set("NOT_SERVING"))
  if (Option.isSome(remembered)) {
    yield* Effect.forkScoped(rememberMembers(remembered.value, vnodes, address), { startImmediately: true })
  }

  return {
    self: vnodes.members[0]!.self,
    port: server.port,
    membership: vnodes.members[0]!,
    vnodes: vnodes.members,
    storage: yield* Storage,
    health
  } satisfies RunningNode
}).pipe(
  Effect.mapError((e) => new StartError({ message: e.message }))
)

/**
 * Saves the members this process knows (every virtual node's neighbours, fingers and down
 * members, other processes only) whenever they change, checked every second, so a restart
 * rejoins through them.
 */
const rememberMembers = (remembered: Remembered.Service, vnodes: VirtualNodes.Service, address: Address.Address) =>
  Effect.gen(function*() {
    let last = ""
    const own = Address.target(address)
    yield* Effect.gen(function*() {
      const all = new Set<Address.Address>()
      for (const m of vnodes.members) {
        const view = yield* m.view
        for (const k of [...Membership.known(view), ...[...m.down.values()].map((d) => d.member)]) {
          if (Address.target(k.address) !== own) all.add(k.address)
        }
      }
      const members = [...all].sort()
      const key = members.join(",")
      if (key === last) return
      last = key
      yield* remembered.save(members)
    }).pipe(Effect.repeat(Schedule.spaced("1 second")))
  })

/** The services of one virtual node, over the process's config, storage and peers. */
const services = (
  self: Membership.Member,
  listLength: number,
  vnodes: VirtualNodes.Service,
  bootstrap: Context.Service.Shape<typeof Bootstrap>
) =>
  Repair.layer.pipe(
    Layer.provideMerge(Router.layer),
    Layer.provideMerge(KeyValue.layer),
    Layer.provideMerge(Replication.layer),
    Layer.provideMerge(Layer.mergeAll(
      InFlight.layer,
      Transfers.layer,
      Membership.layer(self, listLength),
      Layer.succeed(VirtualNodes.VirtualNodes, vnodes),
      Layer.succeed(Bootstrap, bootstrap)
    ))
  )

/**
 * The bootstrap of a virtual node after the first: it joins through the first, which serves by
 * then, after the same bootstrap has seen it (a registry lists it).
 */
const joinFirst = (bootstrap: Context.Service.Shape<typeof Bootstrap>, first: Address.Address): Context.Service.Shape<typeof Bootstrap> => ({
  ...bootstrap,
  plan: (self) => Effect.map(bootstrap.plan(self), () => ({ contacts: [first], mayStart: false }))
})

/** A node as a layer; it needs `NodeConfig`, `Bootstrap` and `Storage`. */
export const layer: Layer.Layer<DhtNode, StartError, NodeConfig | Bootstrap | Storage> =
  Layer.effect(DhtNode, make)

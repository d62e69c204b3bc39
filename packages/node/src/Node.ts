/**
 * One DHT node, assembled: it binds its gRPC server, takes its ring ID from its advertised
 * address, joins through its bootstrap and then serves. Everything it starts stops with its
 * scope: closing the scope shuts the server down gracefully.
 */
import { Address, Grpc } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Context, Effect, Layer, Schema } from "effect"
import type { Bootstrap } from "./Bootstrap.ts"
import * as DhtServer from "./DhtServer.ts"
import * as FailureDetector from "./FailureDetector.ts"
import * as Fingers from "./Fingers.ts"
import * as InFlight from "./InFlight.ts"
import * as Join from "./Join.ts"
import * as KeyValue from "./KeyValue.ts"
import * as Leave from "./Leave.ts"
import * as Membership from "./Membership.ts"
import { NodeConfig, validate } from "./NodeConfig.ts"
import * as Peers from "./Peers.ts"
import * as Repair from "./Repair.ts"
import * as Replication from "./Replication.ts"
import * as Router from "./Router.ts"
import * as Stabilizer from "./Stabilizer.ts"
import { Storage } from "./Storage.ts"
import * as Version from "./Version.ts"

/** A running node: who it is, where it listens, and handles for inspection. */
export interface RunningNode {
  readonly self: Membership.Member
  /** The port the server bound. */
  readonly port: number
  readonly membership: Membership.Service
  readonly storage: Context.Service.Shape<typeof Storage>
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
  const server = yield* Grpc.listen({ host: config.host, port: config.port })
  const address = config.advertise ?? advertised(config.host, server.port)
  const self: Membership.Member = { id: Position.nodeId(address), address }

  const services = Repair.layer.pipe(
    Layer.provideMerge(Router.layer),
    Layer.provideMerge(KeyValue.layer),
    Layer.provideMerge(Replication.layer),
    Layer.provideMerge(Peers.layer),
    Layer.provideMerge(Layer.mergeAll(
      InFlight.layer,
      Version.layer,
      Membership.layer(self, Membership.successorListLength(config.replicas))
    ))
  )
  const context = yield* Layer.build(services)
  const handlers = yield* DhtServer.make.pipe(Effect.provideContext(context))
  for (const service of handlers) yield* server.add(service)
  yield* Join.run().pipe(Effect.provideContext(context))
  yield* Effect.forkScoped(Stabilizer.run.pipe(Effect.provideContext(context)), { startImmediately: true })
  yield* Effect.forkScoped(Fingers.run.pipe(Effect.provideContext(context)), { startImmediately: true })
  yield* Effect.forkScoped(FailureDetector.run.pipe(Effect.provideContext(context)), { startImmediately: true })
  yield* Effect.forkScoped(Context.get(context, Repair.Repair).run, { startImmediately: true })
  // Added last, so it runs first when the scope closes: the server still serves during the leave.
  yield* Effect.addFinalizer(() =>
    Leave.run().pipe(
      Effect.provideContext(context),
      Effect.catchCause((cause) => Effect.logError("graceful leave failed", cause))
    )
  )

  return {
    self,
    port: server.port,
    membership: Context.get(context, Membership.Membership),
    storage: yield* Storage
  } satisfies RunningNode
}).pipe(
  Effect.mapError((e) => new StartError({ message: e.message }))
)

/** A node as a layer; it needs `NodeConfig`, `Bootstrap` and `Storage`. */
export const layer: Layer.Layer<DhtNode, StartError, NodeConfig | Bootstrap | Storage> =
  Layer.effect(DhtNode, make)

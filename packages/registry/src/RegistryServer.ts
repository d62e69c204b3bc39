/**
 * The registry's gRPC server (`registry.Registry`), over the `Registry` service.
 */
import { Admin, type Errors, Grpc, Health, Proto, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Context, Effect, Layer, Metric, Option, type Scope, SubscriptionRef } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { type Entry, Registry } from "./Registry.ts"

/** The methods that change the book: under TLS, only callers with a node certificate. */
const NODE_METHODS: ReadonlySet<string> = new Set(["RegisterNode", "ConfirmNode", "UnregisterNode"])

const toNode = (e: Entry): Wire.Node => ({ id: e.id.toString(), addr: e.address })

/** The running registry server. */
export class RegistryServer extends Context.Service<RegistryServer, { readonly port: number; readonly health: Health.Health }>()(
  "@crustyring/registry/RegistryServer"
) {}

/** Where the registry serves: gRPC on `host:port`, and the admin server on `httpPort` if given (0 picks one). */
export interface Options {
  readonly host: string
  readonly port: number
  readonly httpPort?: number | undefined
}

/** The registry's own metrics, rendered with its book's sizes at scrape time. */
const metricsOf = (registry: Context.Service.Shape<typeof Registry>) => {
  const context = Context.make(Metric.MetricRegistry, new Map())
  const members = Metric.gauge("registry_members", { description: "Nodes the registry lists as members" })
  const entries = Metric.gauge("registry_entries", { description: "Nodes in the registry's book, joining ones included" })
  return Effect.map(Effect.all([registry.members, registry.entries]), ([m, e]) => {
    members.updateUnsafe(m.length, context)
    entries.updateUnsafe(e.length, context)
    return PrometheusMetrics.formatUnsafe(context, { prefix: "crusty" })
  })
}

/** Serves the registry on `host:port` (port 0 picks one) until the scope closes. */
export const make = (options: Options): Effect.Effect<RegistryServer["Service"], Errors.Unavailable, Registry | Scope.Scope> =>
  Effect.gen(function*() {
    const registry = yield* Registry
    const context = yield* Effect.context<never>()
    const server = yield* Grpc.listen(options)
    const handlers: Wire.RegistryHandlers = {
      RegisterNode: Grpc.unary(context, (req: Wire.ConnectionAddr__Output) =>
        Effect.map(registry.register(req.addr), (r) => ({
          id: r.id.toString(),
          ...Option.match(r.neighbor, { onNone: () => ({}), onSome: (n) => ({ neighbor: toNode(n) }) })
        }))),
      GetConnectedNodes: Grpc.unary(context, () => Effect.map(registry.members, (ms) => ({ nodes: ms.map(toNode) }))),
      ConfirmNode: Grpc.unary(context, (req: Wire.ConnectionAddr__Output) => Effect.as(registry.confirm(req.addr), {})),
      UnregisterNode: Grpc.unary(context, (req: Wire.ConnectionAddr__Output) => Effect.as(registry.unregister(req.addr), {}))
    }
    yield* server.add({
      definition: Proto.proto.registry.Registry.service,
      implementation: handlers,
      // Only nodes may change the book; anyone the cluster admits may read it.
      audience: (method) => (NODE_METHODS.has(method) ? "nodes" : "clients")
    })
    // The registry serves as soon as it listens; it stops serving when it begins to stop.
    const health = yield* Health.serve(server, ["registry.Registry"], "SERVING")
    yield* Effect.addFinalizer(() => health.set("NOT_SERVING"))
    yield* Effect.logInfo(`registry listening on ${options.host}:${server.port}`)
    if (options.httpPort !== undefined) {
      const admin = yield* Admin.serve({
        host: options.host,
        port: options.httpPort,
        source: {
          ready: Effect.map(SubscriptionRef.get(health.status), (s) => (s === "SERVING" ? { ready: true } : { ready: false, reason: "stopping" })),
          metrics: metricsOf(registry),
          status: Effect.map(Effect.all([registry.members, registry.entries]), ([members, entries]) => ({
            members: members.map((e) => ({ address: e.address, id: Position.toHex(e.id) })),
            entries: entries.map((e) => ({ address: e.address, id: Position.toHex(e.id), state: e.state }))
          }))
        }
      })
      yield* Effect.logInfo(`admin server on ${admin.scheme}://${options.host}:${admin.port} (/metrics /healthz /readyz /status)`)
    }
    return { port: server.port, health }
  })

/**
 * The registry server as a layer. It needs a `Registry`: `Registry.layer` (health-checked with
 * the defaults), `Registry.layerWith(options)`, or `Registry.layerMemory` for tests.
 */
export const layer = (options: Options): Layer.Layer<RegistryServer, Errors.Unavailable, Registry> =>
  Layer.effect(RegistryServer, make(options))

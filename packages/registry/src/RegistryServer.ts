/**
 * The registry's gRPC server (`registry.Registry`), over the `Registry` service.
 */
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Context, Effect, Layer, Option } from "effect"
import { type Entry, Registry } from "./Registry.ts"

/** The methods that change the book: under TLS, only callers with a node certificate. */
const NODE_METHODS: ReadonlySet<string> = new Set(["RegisterNode", "ConfirmNode", "UnregisterNode"])

const toNode = (e: Entry): Wire.Node => ({ id: e.id.toString(), addr: e.address })

/** The running registry server. */
export class RegistryServer extends Context.Service<RegistryServer, { readonly port: number }>()(
  "@crustyring/registry/RegistryServer"
) {}

/** Serves the registry on `host:port` (port 0 picks one) until the scope closes. */
export const make = (options: { readonly host: string; readonly port: number }) =>
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
    yield* Effect.logInfo(`registry listening on ${options.host}:${server.port}`)
    return { port: server.port }
  })

/**
 * The registry server as a layer. It needs a `Registry`: `Registry.layer` (health-checked with
 * the defaults), `Registry.layerWith(options)`, or `Registry.layerMemory` for tests.
 */
export const layer = (options: { readonly host: string; readonly port: number }) =>
  Layer.effect(RegistryServer, make(options))

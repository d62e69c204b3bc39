/**
 * Typed calls to a registry (`registry.Registry`), each with a deadline. Used by nodes that
 * bootstrap through a registry and by clients that discover nodes through one.
 */
import { Position } from "@crustyring/ring"
import { Duration, Effect, Option, Scope } from "effect"
import * as Address from "./Address.ts"
import * as Errors from "./Errors.ts"
import * as Grpc from "./Grpc.ts"
import * as Proto from "./Proto.ts"
import type * as Wire from "./Wire.ts"

/** A registered node. */
export interface RegisteredNode {
  readonly id: Position.Position
  readonly address: Address.Address
}

/** Calls to one registry. */
export interface RegistryClient {
  readonly address: string
  /** Registers an address; returns its ID and the member to contact, if any. */
  readonly register: (address: Address.Address) => Effect.Effect<{ readonly id: Position.Position; readonly neighbor: Option.Option<RegisteredNode> }, Errors.RpcError>
  /** The members whose join is complete. */
  readonly nodes: Effect.Effect<ReadonlyArray<RegisteredNode>, Errors.RpcError>
  /** Marks a registered node as a serving member. */
  readonly confirm: (address: Address.Address) => Effect.Effect<void, Errors.RpcError>
  /** Removes a node. */
  readonly unregister: (address: Address.Address) => Effect.Effect<void, Errors.RpcError>
}

const toNode = (n: Wire.Node__Output, target: string): Effect.Effect<RegisteredNode, Errors.Internal> => {
  const id = Position.parse(n.id)
  const a = Address.normalize(n.addr)
  return id !== undefined && "address" in a
    ? Effect.succeed({ id, address: a.address })
    : Effect.fail(new Errors.Internal({ message: `registry ${target} sent a malformed node: ${JSON.stringify(n)}` }))
}

/** A client for the registry at `target`, closed with the scope. */
export const make = (target: string, timeout: Duration.Input = "3 seconds"): Effect.Effect<RegistryClient, never, Scope.Scope> =>
  Effect.map(Grpc.client(Proto.proto.registry.Registry, target), (c) => ({
    address: target,
    register: (address) =>
      Grpc.call<Wire.RegisterInfo__Output>(target, timeout, (o, cb) => c.RegisterNode({ addr: address }, o, cb)).pipe(
        Effect.flatMap((r) =>
          Effect.all({
            id: Option.match(Option.fromUndefinedOr(Position.parse(r.id)), {
              onNone: () => Effect.fail(new Errors.Internal({ message: `registry ${target} sent a malformed id ${r.id}` })),
              onSome: Effect.succeed
            }),
            neighbor: r.neighbor ? Effect.asSome(toNode(r.neighbor, target)) : Effect.succeedNone
          })
        )
      ),
    nodes: Grpc.call<Wire.Nodes__Output>(target, timeout, (o, cb) => c.GetConnectedNodes({}, o, cb)).pipe(
      Effect.flatMap((r) => Effect.forEach(r.nodes, (n) => toNode(n, target)))
    ),
    confirm: (address) =>
      Grpc.call(target, timeout, (o, cb) => c.ConfirmNode({ addr: address }, o, cb)).pipe(Effect.asVoid),
    unregister: (address) =>
      Grpc.call(target, timeout, (o, cb) => c.UnregisterNode({ addr: address }, o, cb)).pipe(Effect.asVoid)
  }))

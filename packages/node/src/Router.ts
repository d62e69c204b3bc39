/**
 * Decides where a key is served: here, when this node owns it, or at the known node closest to
 * it. Every forward gets strictly closer to the key, and a hop budget stops a broken ring from
 * bouncing a request around.
 */
import { Errors, type Wire } from "@crustyring/protocol"
import { Ownership, Position } from "@crustyring/ring"
import { Context, Effect, Layer, Option } from "effect"
import { InFlight } from "./InFlight.ts"
import { KeyValue } from "./KeyValue.ts"
import * as Membership from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { type OwnerInfo, Peers } from "./Peers.ts"
import * as Query from "./Query.ts"

/** Where a position is served from this node's point of view. */
export type Location =
  | { readonly _tag: "Local"; readonly view: Membership.View }
  | { readonly _tag: "Remote"; readonly next: Membership.Member }

/** Locates a position in a view: local if owned, else the closest preceding known node. */
export const locate = (view: Membership.View, position: Position.Position): Location => {
  if (Membership.owns(view, position)) return { _tag: "Local", view }
  // Never undefined: `known` holds at least self, and self does not own the key here.
  const next = Ownership.closestPreceding(Membership.known(view), position)!
  return { _tag: "Remote", next }
}

/** The router. */
export interface Service {
  /** Runs a query here or forwards it; `hops` is how many forwards brought it here. */
  readonly route: (query: Query.Query, hops: number) => Effect.Effect<Wire.QueryResult, Errors.RpcError>
  /** Finds the owner of a position, forwarding as queries do. */
  readonly findOwner: (position: Position.Position, hops: number) => Effect.Effect<OwnerInfo, Errors.RpcError>
}

/** Query routing. */
export class Router extends Context.Service<Router, Service>()("@crustyring/node/Router") {}

/** Routing over the node's membership view, local storage and peer calls. */
export const make = Effect.gen(function*() {
  const config = yield* NodeConfig
  const membership = yield* Membership.Membership
  const inFlight = yield* InFlight
  const keyValue = yield* KeyValue
  const peers = yield* Peers

  const hopLimit = (position: Position.Position) =>
    new Errors.Unavailable({
      message: `hop limit of ${config.maxHops} reached routing position ${Position.toHex(position)}: the ring is not converged`
    })

  // Ownership is checked inside `track`, so a range hand-off waits for this operation to finish.
  type Step<A> = { readonly _tag: "Done"; readonly value: A } | { readonly _tag: "Forward"; readonly next: Membership.Member }
  const runLocal = <A>(
    position: Position.Position,
    f: (view: Membership.View) => Effect.Effect<A, Errors.RpcError>
  ): Effect.Effect<Step<A>, Errors.RpcError> =>
    inFlight.track(
      Effect.flatMap(membership.view, (view): Effect.Effect<Step<A>, Errors.RpcError> => {
        const location = locate(view, position)
        return location._tag === "Local"
          ? Effect.map(f(view), (value) => ({ _tag: "Done", value }))
          : Effect.succeed({ _tag: "Forward", next: location.next })
      })
    )

  const route = Effect.fn("Router.route")(function*(query: Query.Query, hops: number) {
    const position = Position.position(query.key)
    const step = yield* runLocal(position, () => keyValue.apply(query))
    if (step._tag === "Done") return Query.toResult(query, step.value, hops)
    if (hops >= config.maxHops) return yield* hopLimit(position)
    return yield* peers.forward(step.next.address, Query.encode(query), hops + 1)
  })

  const findOwner = Effect.fn("Router.findOwner")(function*(position: Position.Position, hops: number) {
    const view = yield* membership.view
    const location = locate(view, position)
    if (location._tag === "Local") return { owner: view.self, successor: Membership.next(view), hops }
    if (hops >= config.maxHops) return yield* hopLimit(position)
    return yield* peers.findOwner(location.next.address, position, hops + 1)
  })

  return { route, findOwner } satisfies Service
})

/** Query routing. */
export const layer = Layer.effect(Router, make)

/** Exposed for the status RPC: whether a view has a range arriving. */
export const isReceiving = (view: Membership.View): boolean => Option.isSome(view.incoming)

/**
 * Decides where a key is served: here, when this node owns it, or at the known node closest to
 * it. Every forward gets strictly closer to the key, and a hop budget stops a broken ring from
 * bouncing a request around.
 */
import { Address, Errors, type Wire } from "@crustyring/protocol"
import { Interval, Position, Ring } from "@crustyring/ring"
import { Context, Effect, Layer } from "effect"
import { InFlight } from "./InFlight.ts"
import { KeyValue } from "./KeyValue.ts"
import * as Membership from "./Membership.ts"
import * as Metrics from "./Metrics.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { type OwnerInfo, Peers } from "./Peers.ts"
import * as Query from "./Query.ts"
import * as VirtualNodes from "./VirtualNodes.ts"

/** Where a position is served from this node's point of view. */
export type Location =
  | { readonly _tag: "Local"; readonly view: Membership.View }
  | { readonly _tag: "Remote"; readonly candidates: ReadonlyArray<Membership.Member> }

/**
 * Locates a position in a view: local if owned; else the known nodes that are closer to it than
 * this node, closest first. The first is the next hop; the others are fallbacks when it is
 * unreachable. A leaving node owns nothing and may hand a request to any other node.
 */
export const locate = (
  view: Membership.View,
  position: Position.Position,
  extra: ReadonlyArray<Membership.Member> = []
): Location => {
  if (view.phase !== "leaving" && Membership.owns(view, position)) return { _tag: "Local", view }
  const own = Interval.distance(view.self.id, position)
  const seen = new Set<Position.Position>([view.self.id])
  const candidates: Array<Membership.Member> = []
  for (const m of [...Membership.known(view), ...extra]) {
    if (seen.has(m.id)) continue
    seen.add(m.id)
    if (view.phase === "leaving" || Interval.distance(m.id, position) < own) candidates.push(m)
  }
  candidates.sort((a, b) => {
    const da = Interval.distance(a.id, position)
    const db = Interval.distance(b.id, position)
    return da < db ? -1 : da > db ? 1 : 0
  })
  return { _tag: "Remote", candidates }
}

/** How many known nodes a request tries before it gives up on a route. */
const ROUTE_ATTEMPTS = 3

/** The router. */
export interface Service {
  /** Runs a query here or forwards it; `hops` is how many forwards brought it here. */
  readonly route: (query: Query.Query, hops: number) => Effect.Effect<Wire.QueryResult, Errors.RpcError>
  /**
   * Runs a query here at once when this node owns its key and can answer without waiting (see
   * `KeyValue.applySync`); `undefined` otherwise, and `route` takes it.
   */
  readonly routeSync: (query: Query.Query, hops: number) => Wire.QueryResult | undefined
  /** Finds the owner of a position, forwarding as queries do. */
  readonly findOwner: (position: Position.Position, hops: number) => Effect.Effect<OwnerInfo, Errors.RpcError>
}

/** Query routing. */
export class Router extends Context.Service<Router, Service>()("@crustyring/node/Router") {}

/** Routing over the node's membership view, local storage and peer calls. */
export const make = Effect.gen(function*() {
  const config = yield* NodeConfig
  const metrics = yield* Metrics.current
  const membership = yield* Membership.Membership
  const inFlight = yield* InFlight
  const keyValue = yield* KeyValue
  const peers = yield* Peers
  const vnodes = yield* VirtualNodes.VirtualNodes

  /**
   * With virtual nodes, the members closest before `position` that any virtual node of this
   * process knows: their views together cover much of the ring, so they shorten the route.
   */
  const nearby = (position: Position.Position): Effect.Effect<ReadonlyArray<Membership.Member>> =>
    vnodes.count === 1 ? Effect.succeed([]) : Effect.map(vnodes.known, (ring) => {
      const n = ring.members.length
      const at = Ring.ownerIndex(ring, position)
      return at === -1 ? [] : Array.from({ length: Math.min(ROUTE_ATTEMPTS, n) }, (_, i) => ring.members[(at - i + n) % n]!)
    })

  const hopLimit = (position: Position.Position) =>
    new Errors.Unavailable({
      message: `hop limit of ${config.maxHops} reached routing position ${Position.toHex(position)}: the ring is not converged`
    })

  // Ownership is checked inside `track`, so a range hand-off waits for this operation to finish.
  type Step<A> =
    | { readonly _tag: "Done"; readonly value: A }
    | { readonly _tag: "Forward"; readonly candidates: ReadonlyArray<Membership.Member> }
  const runLocal = <A>(
    position: Position.Position,
    f: (view: Membership.View) => Effect.Effect<A, Errors.RpcError>,
    extra: ReadonlyArray<Membership.Member>
  ): Effect.Effect<Step<A>, Errors.RpcError> =>
    inFlight.track(
      Effect.flatMap(membership.view, (view): Effect.Effect<Step<A>, Errors.RpcError> => {
        const location = locate(view, position, extra)
        return location._tag === "Local"
          ? Effect.map(f(view), (value) => ({ _tag: "Done", value }))
          : Effect.succeed({ _tag: "Forward", candidates: location.candidates })
      })
    )

  /** Sends to the first candidate that answers; an unreachable one is skipped for the next. */
  const forward = <A>(
    position: Position.Position,
    candidates: ReadonlyArray<Membership.Member>,
    hops: number,
    send: (to: Membership.Member) => Effect.Effect<A, Errors.RpcError>
  ): Effect.Effect<A, Errors.RpcError> => {
    if (hops >= config.maxHops) return Effect.fail(hopLimit(position))
    const tries = candidates.slice(0, ROUTE_ATTEMPTS)
    if (tries.length === 0) {
      return Effect.fail(new Errors.Unavailable({ message: `no route to position ${Position.toHex(position)}` }))
    }
    metrics.forwarded()
    const attempt = (i: number): Effect.Effect<A, Errors.RpcError> =>
      send(tries[i]!).pipe(
        Effect.catchTag("Unavailable", (e) =>
          i + 1 < tries.length && e.unreachable === true
            ? Effect.andThen(
              Effect.logDebug(`next hop ${tries[i]!.address} unreachable, trying ${tries[i + 1]!.address}`),
              attempt(i + 1)
            )
            : Effect.fail(e))
      )
    return attempt(0)
  }

  const selfIndex = Address.vnode(membership.self.address)
  /**
   * Another virtual node of this process that owns `position`: a query for it is handed over
   * in the process rather than sent to the process's own port, counted as a forward.
   */
  const localOwner = (position: Position.Position, hops: number): VirtualNodes.Local | undefined => {
    if (vnodes.count === 1 || hops >= config.maxHops) return undefined
    const index = vnodes.localOwner(position)
    return index === undefined || index === selfIndex ? undefined : vnodes.locals[index]
  }

  // Untraced: this runs once per request, and a span plus a captured stack per call showed up
  // as the largest Effect cost in the CPU profile (see examples/bench).
  const route = Effect.fnUntraced(function*(query: Query.Query, hops: number) {
    const position = Position.position(query.key)
    const step = yield* runLocal(position, () => keyValue.apply(query), vnodes.count === 1 ? [] : yield* nearby(position))
    if (step._tag === "Done") return Query.toResult(query, step.value, hops)
    const local = localOwner(position, hops)
    if (local !== undefined) {
      metrics.forwarded()
      return yield* local.route(query, hops + 1)
    }
    return yield* forward(position, step.candidates, hops, (to) => peers.forward(to.address, Query.encode(query), hops + 1))
  })

  const findOwner = Effect.fn("Router.findOwner")(function*(position: Position.Position, hops: number) {
    const view = yield* membership.view
    const location = locate(view, position, yield* nearby(position))
    if (location._tag === "Local") return { owner: view.self, successor: Membership.next(view), hops }
    return yield* forward(position, location.candidates, hops, (to) => peers.findOwner(to.address, position, hops + 1))
  })

  const routeSync = (query: Query.Query, hops: number): Wire.QueryResult | undefined => {
    const result = inFlight.trackSync(() => {
      const view = membership.viewSync()
      // A node alone owns every key: no need to hash this one.
      if (view.phase === "leaving" || (view.successors.length > 0 && !Membership.owns(view, Position.position(query.key)))) {
        return undefined
      }
      const outcome = keyValue.applySync(view, query)
      return outcome === undefined ? undefined : Query.toResult(query, outcome, hops)
    })
    if (result !== undefined || vnodes.count === 1) return result
    const local = localOwner(Position.position(query.key), hops)
    const handed = local?.routeSync(query, hops + 1)
    if (handed !== undefined) metrics.forwarded()
    return handed
  }

  vnodes.locals[selfIndex] = { route, routeSync }
  return { route, routeSync, findOwner } satisfies Service
})

/** Query routing. */
export const layer = Layer.effect(Router, make)

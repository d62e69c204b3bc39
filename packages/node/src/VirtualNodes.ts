/**
 * The virtual nodes of one process. A process may take several ring positions ("host:port",
 * "host:port#1", ...) to even out the share of keys each process holds. They are ordinary ring
 * members, each with its own membership view, but they share the process's store, so one
 * process holds one copy of a key however many of its positions replicate it. This service lets
 * them see each other: to route through what any of them knows, and to drop only the copies
 * that none of them needs.
 */
import { Address, type Errors, type Wire } from "@crustyring/protocol"
import { type Position, Ring } from "@crustyring/ring"
import { Clock, Context, Deferred, Effect, Layer, Option } from "effect"
import * as Membership from "./Membership.ts"
import type { Query } from "./Query.ts"

/** How long a merged view of the process's knowledge is reused before it is rebuilt. */
const KNOWN_TTL_MS = 250

/** The virtual nodes of this process. */
export interface Service {
  /** How many this process runs. */
  readonly count: number
  /** Their memberships, in index order, as they are built. */
  readonly members: Array<Membership.Service>
  /** Every member any of them knows, sorted by ID; rebuilt at most every 250 ms. */
  readonly known: Effect.Effect<Ring.Ring<Membership.Member>>
  /**
   * The last liveness probe of each process ("host:port"), started at `at`: how many virtual
   * nodes it runs. The failure detectors of all virtual nodes share it, so a process is pinged
   * once per round however many of its positions they watch.
   */
  readonly probes: Map<string, { readonly at: number; readonly result: Deferred.Deferred<number, Errors.RpcError> }>
  /**
   * How each virtual node runs a query handed to it by another of the process (its router's
   * `route` and `routeSync`), by index: a query for a key another position of this process
   * owns is run there directly, not sent to this process over the network.
   */
  readonly locals: Array<Local>
  /** Each virtual node's `Status` answer, by index, for `StatusAll`: one call answers for all. */
  readonly statuses: Array<Effect.Effect<Wire.NodeStatus, Errors.RpcError>>
  /** The index of the virtual node of this process that owns `position` in its own view, if any. */
  readonly localOwner: (position: Position.Position) => number | undefined
  /**
   * The positions of this process that have left gracefully, each with the member that took
   * its range over. A position leaving after them may still see one of them as its
   * predecessor (a successor list can lag); it asks the member that took over instead.
   */
  readonly left: Map<Position.Position, Membership.Member>
}

/** A virtual node's query entry points, for the other virtual nodes of its process. */
export interface Local {
  readonly route: (query: Query, hops: number) => Effect.Effect<Wire.QueryResult, Errors.RpcError>
  readonly routeSync: (query: Query, hops: number) => Wire.QueryResult | undefined
}

/** The virtual nodes of this process. */
export class VirtualNodes extends Context.Service<VirtualNodes, Service>()("@crustyring/node/VirtualNodes") {}

/** An empty set for `count` virtual nodes; each registers its membership as it is built. */
export const make = (count: number): Service => {
  const members: Array<Membership.Service> = []
  let cache:
    | {
      readonly at: number
      readonly views: ReadonlyArray<Membership.View>
      readonly down: ReadonlySet<bigint>
      readonly ring: Ring.Ring<Membership.Member>
    }
    | undefined
  // The positions of this process in ID order, once every virtual node has registered.
  let sorted: ReadonlyArray<{ readonly id: Position.Position; readonly index: number }> | undefined
  const localOwner = (position: Position.Position): number | undefined => {
    if (members.length < count) return undefined
    sorted ??= members.map((m) => ({ id: m.self.id, index: Address.vnode(m.self.address) })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    // The greatest position at or before `position`, wrapping round to the last.
    let lo = 0
    let hi = sorted.length - 1
    let at = sorted.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      if (sorted[mid]!.id <= position) {
        at = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    const index = sorted[at]!.index
    const view = members[index]?.viewSync()
    // It owns the position only if no other process's position lies between them.
    return view !== undefined && view.phase === "ready" && Membership.owns(view, position) ? index : undefined
  }
  return {
    count,
    members,
    locals: [],
    statuses: [],
    localOwner,
    probes: new Map(),
    left: new Map(),
    known: Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (cache && now - cache.at < KNOWN_TTL_MS) return cache.ring
      const views: Array<Membership.View> = []
      for (const m of members) views.push(yield* m.view)
      // A member any of them has found down is skipped.
      const down = new Set<bigint>()
      for (const m of members) for (const id of m.down.keys()) down.add(id)
      // Views are immutable: the same views and the same down members make the same ring.
      if (cache && sameViews(cache.views, views) && sameSet(cache.down, down)) {
        cache = { ...cache, at: now }
        return cache.ring
      }
      const all: Array<Membership.Member> = []
      for (const view of views) {
        for (const k of Membership.known(view)) {
          if (down.has(k.id)) continue
          if (view.phase !== "ready" && k.id === view.self.id) continue
          all.push(k)
        }
      }
      const ring = Ring.make(all)
      cache = { at: now, views, down, ring }
      return ring
    })
  }
}

const sameViews = (a: ReadonlyArray<Membership.View>, b: ReadonlyArray<Membership.View>) =>
  a.length === b.length && a.every((v, k) => v === b[k])

const sameSet = (a: ReadonlySet<bigint>, b: ReadonlySet<bigint>) => a.size === b.size && [...a].every((x) => b.has(x))

/**
 * Whom `leaving` should ask to take its range over, given its view's predecessor: past every
 * position of this process that has left already, to the member that took each over. Stops at
 * `leaving` itself, and after as many steps as the process has positions.
 */
export const takerOf = (
  vnodes: Option.Option<Service>,
  leaving: Membership.Member,
  predecessor: Membership.Member
): Membership.Member => {
  if (Option.isNone(vnodes)) return predecessor
  let at = predecessor
  for (let i = 0; i < vnodes.value.count; i++) {
    const next = vnodes.value.left.get(at.id)
    if (next === undefined || next.id === leaving.id) return at
    at = next
  }
  return at
}

/** A process of one position: the original layout. */
export const layerSingle: Layer.Layer<VirtualNodes> = Layer.sync(VirtualNodes, () => make(1))

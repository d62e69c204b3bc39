/**
 * The virtual nodes of one process. A process may take several ring positions ("host:port",
 * "host:port#1", ...) to even out the share of keys each process holds. They are ordinary ring
 * members, each with its own membership view, but they share the process's store, so one
 * process holds one copy of a key however many of its positions replicate it. This service lets
 * them see each other: to route through what any of them knows, and to drop only the copies
 * that none of them needs.
 */
import type { Errors } from "@crustyring/protocol"
import { Ring } from "@crustyring/ring"
import { Clock, Context, Deferred, Effect, Layer } from "effect"
import * as Membership from "./Membership.ts"

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
}

/** The virtual nodes of this process. */
export class VirtualNodes extends Context.Service<VirtualNodes, Service>()("@crustyring/node/VirtualNodes") {}

/** An empty set for `count` virtual nodes; each registers its membership as it is built. */
export const make = (count: number): Service => {
  const members: Array<Membership.Service> = []
  let cache: { readonly at: number; readonly ring: Ring.Ring<Membership.Member> } | undefined
  return {
    count,
    members,
    probes: new Map(),
    known: Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (cache && now - cache.at < KNOWN_TTL_MS) return cache.ring
      const all: Array<Membership.Member> = []
      for (const m of members) {
        const view = yield* m.view
        if (view.phase === "ready") all.push(...Membership.known(view))
        else all.push(...Membership.known(view).filter((k) => k.id !== view.self.id))
      }
      // A member any of them has found down is skipped.
      const ring = Ring.make(all.filter((m) => !members.some((v) => Membership.isDown(v, m.id))))
      cache = { at: now, ring }
      return ring
    })
  }
}

/** A process of one position: the original layout. */
export const layerSingle: Layer.Layer<VirtualNodes> = Layer.sync(VirtualNodes, () => make(1))

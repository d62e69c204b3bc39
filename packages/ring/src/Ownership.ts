/**
 * Who owns a position. A node owns `[its id, next id)`, so the owner of `k` is the node with
 * the greatest ID `<= k`, or the greatest ID overall when none is `<= k`.
 */
import * as Interval from "./Interval.ts"
import type { Position } from "./Position.ts"

/** Anything that sits on the ring. */
export interface Member {
  readonly id: Position
}

/**
 * Of the given nodes, the one whose ID has the smallest clockwise distance to `key` without
 * passing it: the best known guess of the owner, and the next hop when forwarding.
 * Undefined when `nodes` is empty.
 */
export const closestPreceding = <N extends Member>(nodes: Iterable<N>, key: Position): N | undefined => {
  let best: N | undefined
  let bestDistance = 0n
  for (const node of nodes) {
    const d = Interval.distance(node.id, key)
    if (best === undefined || d < bestDistance) {
      best = node
      bestDistance = d
    }
  }
  return best
}

/** Whether a node with ID `id` and successor `next` owns `key`: `key` in `[id, next)`. */
export const owns = (id: Position, next: Position, key: Position): boolean => Interval.inHalfOpen(key, id, next)

/**
 * An immutable, sorted view of a whole ring: owner lookup, successors and owned ranges. Used
 * by the registry, by clients that route straight to the owner, and by tests as a reference.
 */
import type { Member } from "./Ownership.ts"
import type { Position } from "./Position.ts"

/** A sorted, de-duplicated set of members. */
export interface Ring<N extends Member> {
  /** Members in ascending ID order. */
  readonly members: ReadonlyArray<N>
}

/** Builds a ring from members in any order. A later member with an existing ID replaces it. */
export const make = <N extends Member>(members: Iterable<N>): Ring<N> => {
  const byId = new Map<Position, N>()
  for (const m of members) byId.set(m.id, m)
  const sorted = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { members: sorted }
}

/** Index of the member with the greatest ID `<= key`, or -1 when there is none. */
const floorIndex = <N extends Member>(ring: Ring<N>, key: Position): number => {
  let lo = 0
  let hi = ring.members.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (ring.members[mid]!.id <= key) {
      found = mid
      lo = mid + 1
    } else {
      hi = mid - 1
    }
  }
  return found
}

/** Index of the owner of `key`, or -1 for an empty ring. */
export const ownerIndex = <N extends Member>(ring: Ring<N>, key: Position): number => {
  if (ring.members.length === 0) return -1
  const i = floorIndex(ring, key)
  return i === -1 ? ring.members.length - 1 : i
}

/** The member that owns `key`: the greatest ID `<= key`, wrapping. Undefined for an empty ring. */
export const owner = <N extends Member>(ring: Ring<N>, key: Position): N | undefined => ring.members[ownerIndex(ring, key)]

/**
 * The owner of `key` followed by the next `count - 1` distinct members clockwise: the replica
 * set. Shorter when the ring has fewer members.
 */
export const replicas = <N extends Member>(ring: Ring<N>, key: Position, count: number): ReadonlyArray<N> => {
  const n = ring.members.length
  const start = ownerIndex(ring, key)
  const out: Array<N> = []
  for (let i = 0; i < Math.min(count, n); i++) out.push(ring.members[(start + i) % n]!)
  return out
}

/** The member clockwise after the one with ID `id` (itself in a ring of one). */
export const successor = <N extends Member>(ring: Ring<N>, id: Position): N | undefined => {
  const i = ownerIndex(ring, id)
  return i === -1 ? undefined : ring.members[(i + 1) % ring.members.length]
}

/** The member with the closest smaller ID than `id`, wrapping, excluding `id` itself. */
export const predecessor = <N extends Member>(ring: Ring<N>, id: Position): N | undefined => {
  const others = ring.members.filter((m) => m.id !== id)
  if (others.length === 0) return undefined
  return owner(make(others), id)
}

/** A member together with the range `[start, end)` it owns. */
export interface Range<N extends Member> {
  readonly member: N
  readonly start: Position
  readonly end: Position
}

/** Every member with its owned range, in ID order. With one member the range is the whole ring. */
export const ranges = <N extends Member>(ring: Ring<N>): ReadonlyArray<Range<N>> =>
  ring.members.map((member, i) => ({
    member,
    start: member.id,
    end: ring.members[(i + 1) % ring.members.length]!.id
  }))

/**
 * Shared fast-check arbitraries for the ring tests. Positions are biased toward the edges of
 * the ring (0, 1, 2^64-2, 2^64-1) and small neighbourhoods of them, where wrap-around bugs live.
 */
import * as fc from "fast-check"
import { Position } from "../src/index.ts"

export const MAX: bigint = Position.MAX
export const RING_SIZE: bigint = Position.RING_SIZE

/** The four edge positions. */
export const EDGES: ReadonlyArray<bigint> = [0n, 1n, MAX - 1n, MAX]

/** Any bigint in [0, 2^64), unbiased. */
export const anyBigPosition = fc.bigInt({ min: 0n, max: MAX })

/** Exactly one of the edge positions. */
export const edgePosition = fc.constantFrom(...EDGES)

/** Positions within 16 of either end of the ring. */
export const nearEdgePosition = fc.oneof(fc.bigInt({ min: 0n, max: 16n }), fc.bigInt({ min: MAX - 16n, max: MAX }))

/** A position, biased toward the edges. */
export const position: fc.Arbitrary<Position.Position> = fc
  .oneof(
    { arbitrary: anyBigPosition, weight: 6 },
    { arbitrary: edgePosition, weight: 2 },
    { arbitrary: nearEdgePosition, weight: 2 }
  )
  .map((n) => Position.make(n))

/** A non-empty set of 1..40 distinct positions, edge-biased. */
export const ids = fc.uniqueArray(position, { minLength: 1, maxLength: 40, comparator: "SameValue" })

/** A member of a test ring; `tag` lets tests check identity, not just ID equality. */
export interface TestMember {
  readonly id: Position.Position
  readonly tag: string
}

export const toMembers = (xs: ReadonlyArray<Position.Position>): Array<TestMember> =>
  xs.map((id, i) => ({ id, tag: `m${i}` }))

/** Adds `delta` modulo 2^64. */
export const add = (p: bigint, delta: bigint): Position.Position => Position.wrap(p + delta)

/**
 * Interesting keys for a set of IDs: every ID and its neighbours, the edges, and one more
 * arbitrary key.
 */
export const probeKeys = (xs: ReadonlyArray<bigint>, extra: bigint): Array<Position.Position> => {
  const out = new Set<bigint>([...EDGES, extra])
  for (const x of xs) {
    out.add(x)
    out.add(Position.wrap(x - 1n))
    out.add(Position.wrap(x + 1n))
  }
  return [...out].map((k) => Position.make(k))
}

export const maxOf = (xs: ReadonlyArray<bigint>): bigint => xs.reduce((a, b) => (b > a ? b : a))
export const minOf = (xs: ReadonlyArray<bigint>): bigint => xs.reduce((a, b) => (b < a ? b : a))

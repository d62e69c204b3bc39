import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Interval, Ownership, Position, Ring } from "../src/index.ts"
import {
  anyBigPosition,
  ids,
  MAX,
  maxOf,
  minOf,
  position,
  probeKeys,
  RING_SIZE,
  type TestMember,
  toMembers
} from "./arbitraries.ts"

const NUM_RUNS = 300
const p = (n: bigint): Position.Position => Position.make(n)

// ---------------------------------------------------------------------------------------------
// Brute-force references, written from the spec and independent of src.

/** Greatest id <= key, else the greatest id overall. */
const refOwnerId = (xs: ReadonlyArray<bigint>, key: bigint): bigint => {
  const le = xs.filter((x) => x <= key)
  return le.length > 0 ? maxOf(le) : maxOf(xs)
}

/** Smallest id > from, else the smallest id overall. */
const refSuccessorId = (xs: ReadonlyArray<bigint>, from: bigint): bigint => {
  const gt = xs.filter((x) => x > from)
  return gt.length > 0 ? minOf(gt) : minOf(xs)
}

/** Greatest id < from, else the greatest id overall other than `from`; undefined if none. */
const refPredecessorId = (xs: ReadonlyArray<bigint>, from: bigint): bigint | undefined => {
  const others = xs.filter((x) => x !== from)
  if (others.length === 0) return undefined
  const lt = others.filter((x) => x < from)
  return lt.length > 0 ? maxOf(lt) : maxOf(others)
}

/** The member minimising the clockwise distance from its id to key, by linear scan. */
const refClosestPreceding = (ms: ReadonlyArray<TestMember>, key: bigint): TestMember | undefined => {
  let best: TestMember | undefined
  for (const m of ms) {
    const d = (((key - m.id) % RING_SIZE) + RING_SIZE) % RING_SIZE
    const bd = best === undefined ? 0n : (((key - best.id) % RING_SIZE) + RING_SIZE) % RING_SIZE
    if (best === undefined || d < bd) best = m
  }
  return best
}

const ringOf = (xs: ReadonlyArray<Position.Position>) => {
  const members = toMembers(xs)
  return { members, ring: Ring.make(members) }
}

// ---------------------------------------------------------------------------------------------

describe("Ring.make", () => {
  it("sorts members by ascending id", () => {
    fc.assert(
      fc.property(ids, (xs) => {
        const { members, ring } = ringOf(xs)
        expect(ring.members.length).toBe(xs.length)
        for (let i = 1; i < ring.members.length; i++) {
          expect(ring.members[i - 1]!.id < ring.members[i]!.id).toBe(true)
        }
        expect(new Set(ring.members)).toEqual(new Set(members))
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("de-duplicates equal ids, keeping the later member", () => {
    const a = { id: p(5n), tag: "a" }
    const b = { id: p(5n), tag: "b" }
    const c = { id: p(1n), tag: "c" }
    const ring = Ring.make([a, c, b])
    expect(ring.members).toEqual([c, b])
    expect(ring.members[1]).toBe(b)
  })

  it("de-duplicates any multiset of ids into the sorted set of distinct ids", () => {
    fc.assert(
      fc.property(
        ids.chain((xs) =>
          fc.tuple(fc.constant(xs), fc.array(fc.constantFrom(...xs), { maxLength: 40 })).chain(([xs, dups]) =>
            fc.shuffledSubarray([...xs, ...dups], { minLength: xs.length + dups.length })
          )
        ),
        (withDups) => {
          const members = toMembers(withDups)
          const ring = Ring.make(members)
          const expected = [...new Set(withDups)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
          expect(ring.members.map((m) => m.id)).toEqual(expected)
          // The member kept for each id is the last one given with that id.
          for (const m of ring.members) {
            const last = members.filter((x) => x.id === m.id).at(-1)
            expect(m).toBe(last)
          }
        }
      ),
      { numRuns: NUM_RUNS }
    )
  })

  it("does not depend on input order", () => {
    fc.assert(
      fc.property(
        ids.chain((xs) => fc.tuple(fc.constant(xs), fc.shuffledSubarray(xs, { minLength: xs.length }))),
        ([xs, shuffled]) => {
          expect(Ring.make(toMembers(xs)).members.map((m) => m.id)).toEqual(
            Ring.make(toMembers(shuffled)).members.map((m) => m.id)
          )
        }
      ),
      { numRuns: NUM_RUNS }
    )
  })

  it("accepts any iterable and does not mutate the input", () => {
    const input = toMembers([p(3n), p(1n), p(2n)])
    const copy = [...input]
    const ring = Ring.make(new Set(input))
    expect(ring.members.map((m) => m.id)).toEqual([1n, 2n, 3n])
    expect(input).toEqual(copy)
  })
})

describe("empty ring", () => {
  const ring = Ring.make<TestMember>([])
  it("has no owner, successor, predecessor, replicas or ranges", () => {
    for (const k of [0n, 1n, MAX]) {
      expect(Ring.owner(ring, p(k))).toBeUndefined()
      expect(Ring.ownerIndex(ring, p(k))).toBe(-1)
      expect(Ring.successor(ring, p(k))).toBeUndefined()
      expect(Ring.predecessor(ring, p(k))).toBeUndefined()
      expect(Ring.replicas(ring, p(k), 3)).toEqual([])
    }
    expect(Ring.ranges(ring)).toEqual([])
    expect(Ownership.closestPreceding([], p(0n))).toBeUndefined()
  })
})

describe("ownership", () => {
  it("every position has exactly one owner (via Ring.ranges)", () => {
    fc.assert(
      fc.property(ids, anyBigPosition, (xs, extra) => {
        const { ring } = ringOf(xs)
        const ranges = Ring.ranges(ring)
        expect(ranges.length).toBe(xs.length)
        for (const k of probeKeys(xs, extra)) {
          const holders = ranges.filter((r) => Interval.inHalfOpen(k, r.start, r.end))
          expect(holders.length).toBe(1)
          expect(holders[0]!.member).toBe(Ring.owner(ring, k))
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("every position has exactly one owner (via Ownership.owns and Ring.successor)", () => {
    fc.assert(
      fc.property(ids, anyBigPosition, (xs, extra) => {
        const { members, ring } = ringOf(xs)
        for (const k of probeKeys(xs, extra)) {
          const owners = members.filter((m) => Ownership.owns(m.id, Ring.successor(ring, m.id)!.id, k))
          expect(owners.length).toBe(1)
          expect(owners[0]).toBe(Ring.owner(ring, k))
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("ranges run from each member to the next one, wrapping, and cover 2^64 positions", () => {
    fc.assert(
      fc.property(ids, (xs) => {
        const { ring } = ringOf(xs)
        const ranges = Ring.ranges(ring)
        let total = 0n
        ranges.forEach((r, i) => {
          expect(r.member).toBe(ring.members[i])
          expect(r.start).toBe(r.member.id)
          expect(r.end).toBe(refSuccessorId(xs, r.start))
          expect(r.end).toBe(Ring.successor(ring, r.start)!.id)
          total += Interval.size(r.start, r.end)
        })
        expect(total).toBe(RING_SIZE)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("Ring.owner agrees with the brute-force reference", () => {
    fc.assert(
      fc.property(ids, anyBigPosition, (xs, extra) => {
        const { ring } = ringOf(xs)
        for (const k of probeKeys(xs, extra)) {
          const o = Ring.owner(ring, k)
          expect(o?.id).toBe(refOwnerId(xs, k))
          expect(ring.members[Ring.ownerIndex(ring, k)]).toBe(o)
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("a member owns its own id, and the key just before the next member", () => {
    fc.assert(
      fc.property(ids, (xs) => {
        const { ring } = ringOf(xs)
        for (const m of ring.members) {
          expect(Ring.owner(ring, m.id)).toBe(m)
          const next = Ring.successor(ring, m.id)!
          expect(Ring.owner(ring, Position.wrap(next.id - 1n))).toBe(m)
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("keys 0 and 2^64-1 and keys below the smallest id are owned by the greatest id", () => {
    fc.assert(
      fc.property(
        ids,
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        (xs, frac) => {
          const { ring } = ringOf(xs)
          const top = maxOf(xs)
          const bottom = minOf(xs)
          expect(Ring.owner(ring, p(MAX))!.id).toBe(top)
          expect(Ring.owner(ring, p(0n))!.id).toBe(bottom === 0n ? 0n : top)
          if (bottom > 0n) {
            expect(Ring.owner(ring, p(bottom - 1n))!.id).toBe(top)
            // a key spread uniformly over [0, bottom)
            const k = p((bottom * BigInt(Math.floor(frac * 1_000_000))) / 1_000_000n)
            expect(k < bottom).toBe(true)
            expect(Ring.owner(ring, k)!.id).toBe(top)
          }
        }
      ),
      { numRuns: NUM_RUNS }
    )
  })

  it("wrap-around explicit examples", () => {
    const ring = Ring.make(toMembers([p(100n), p(MAX - 100n), p(1n << 63n)]))
    expect(Ring.owner(ring, p(0n))!.id).toBe(MAX - 100n)
    expect(Ring.owner(ring, p(99n))!.id).toBe(MAX - 100n)
    expect(Ring.owner(ring, p(100n))!.id).toBe(100n)
    expect(Ring.owner(ring, p(MAX))!.id).toBe(MAX - 100n)
    expect(Ring.owner(ring, p(MAX - 101n))!.id).toBe(1n << 63n)
    expect(Ring.owner(ring, p((1n << 63n) - 1n))!.id).toBe(100n)

    const edges = Ring.make(toMembers([p(0n), p(MAX)]))
    expect(Ring.owner(edges, p(0n))!.id).toBe(0n)
    expect(Ring.owner(edges, p(1n))!.id).toBe(0n)
    expect(Ring.owner(edges, p(MAX - 1n))!.id).toBe(0n)
    expect(Ring.owner(edges, p(MAX))!.id).toBe(MAX)
    expect(Ring.ranges(edges).map((r) => [r.start, r.end])).toEqual([
      [0n, MAX],
      [MAX, 0n]
    ])
  })

  it("a single node owns everything", () => {
    fc.assert(
      fc.property(position, position, (id, k) => {
        const only = { id, tag: "only" }
        const ring = Ring.make([only])
        expect(Ring.owner(ring, k)).toBe(only)
        expect(Ring.successor(ring, id)).toBe(only)
        expect(Ownership.owns(id, id, k)).toBe(true)
        const [r] = Ring.ranges(ring)
        expect(r).toEqual({ member: only, start: id, end: id })
        expect(Interval.size(r!.start, r!.end)).toBe(RING_SIZE)
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("Ring.successor", () => {
  it("matches a brute-force 'smallest id greater than, wrapping'", () => {
    fc.assert(
      fc.property(ids, anyBigPosition, (xs, extra) => {
        const { ring } = ringOf(xs)
        for (const k of probeKeys(xs, extra)) {
          expect(Ring.successor(ring, k)!.id).toBe(refSuccessorId(xs, k))
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("Ring.replicas", () => {
  it("returns min(count, n) distinct members, starting with the owner, going clockwise", () => {
    fc.assert(
      fc.property(ids, anyBigPosition, fc.integer({ min: 0, max: 50 }), (xs, extra, count) => {
        const { ring } = ringOf(xs)
        const n = xs.length
        for (const k of probeKeys(xs, extra)) {
          const rs = Ring.replicas(ring, k, count)
          expect(rs.length).toBe(Math.min(count, n))
          expect(new Set(rs).size).toBe(rs.length)
          if (count === 0) continue
          expect(rs[0]).toBe(Ring.owner(ring, k))
          expect(rs[0]!.id).toBe(refOwnerId(xs, k))
          for (let i = 1; i < rs.length; i++) {
            expect(rs[i]!.id).toBe(refSuccessorId(xs, rs[i - 1]!.id))
          }
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("with count >= n returns every member, rotated to start at the owner", () => {
    fc.assert(
      fc.property(ids, anyBigPosition, (xs, k) => {
        const { ring } = ringOf(xs)
        const rs = Ring.replicas(ring, p(k), xs.length + 3)
        expect(new Set(rs)).toEqual(new Set(ring.members))
        const start = ring.members.indexOf(rs[0]!)
        expect(rs).toEqual([...ring.members.slice(start), ...ring.members.slice(0, start)])
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("explicit example across the seam", () => {
    const ring = Ring.make(toMembers([p(10n), p(MAX - 10n), p(1n << 62n), p(1n << 63n)]))
    expect(Ring.replicas(ring, p(MAX), 3).map((m) => m.id)).toEqual([MAX - 10n, 10n, 1n << 62n])
    expect(Ring.replicas(ring, p(0n), 2).map((m) => m.id)).toEqual([MAX - 10n, 10n])
    expect(Ring.replicas(ring, p(1n << 63n), 9).map((m) => m.id)).toEqual([1n << 63n, MAX - 10n, 10n, 1n << 62n])
  })
})

describe("Ring.predecessor", () => {
  it("matches a brute-force 'closest smaller id, wrapping', excluding the id itself", () => {
    fc.assert(
      fc.property(ids, anyBigPosition, (xs, extra) => {
        const { ring } = ringOf(xs)
        for (const k of probeKeys(xs, extra)) {
          const pred = Ring.predecessor(ring, k)
          expect(pred?.id).toBe(refPredecessorId(xs, k))
          if (pred !== undefined) {
            expect(pred.id).not.toBe(k)
            expect(ring.members).toContain(pred)
          }
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("undoes successor on rings of two or more", () => {
    fc.assert(
      fc.property(ids, (xs) => {
        fc.pre(xs.length >= 2)
        const { ring } = ringOf(xs)
        for (const m of ring.members) {
          expect(Ring.predecessor(ring, Ring.successor(ring, m.id)!.id)).toBe(m)
          expect(Ring.successor(ring, Ring.predecessor(ring, m.id)!.id)).toBe(m)
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("of the only member's own id is undefined; of any other id is that member", () => {
    fc.assert(
      fc.property(position, position, (id, k) => {
        const only = { id, tag: "only" }
        const ring = Ring.make([only])
        expect(Ring.predecessor(ring, id)).toBeUndefined()
        if (k !== id) expect(Ring.predecessor(ring, k)).toBe(only)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("explicit examples across the seam", () => {
    const ring = Ring.make(toMembers([p(0n), p(5n), p(MAX)]))
    expect(Ring.predecessor(ring, p(0n))!.id).toBe(MAX)
    expect(Ring.predecessor(ring, p(5n))!.id).toBe(0n)
    expect(Ring.predecessor(ring, p(MAX))!.id).toBe(5n)
    expect(Ring.predecessor(ring, p(3n))!.id).toBe(0n)
    expect(Ring.predecessor(ring, p(MAX - 1n))!.id).toBe(5n)
  })
})

describe("Ownership.closestPreceding", () => {
  it("over all members returns the owner", () => {
    fc.assert(
      fc.property(ids, anyBigPosition, (xs, extra) => {
        const { members, ring } = ringOf(xs)
        for (const k of probeKeys(xs, extra)) {
          const c = Ownership.closestPreceding(members, k)
          expect(c).toBe(Ring.owner(ring, k))
          expect(c!.id).toBe(refOwnerId(xs, k))
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("over any subset returns the member minimising clockwise distance to the key", () => {
    fc.assert(
      fc.property(
        ids.chain((xs) => fc.tuple(fc.constant(xs), fc.shuffledSubarray(toMembers(xs)))),
        anyBigPosition,
        ([xs, subset], extra) => {
          for (const k of probeKeys(xs, extra)) {
            const c = Ownership.closestPreceding(subset, k)
            const ref = refClosestPreceding(subset, k)
            expect(c).toBe(ref)
            if (subset.length === 0) {
              expect(c).toBeUndefined()
              continue
            }
            // Equivalent to the owner of k in the ring formed by the subset alone.
            expect(c).toBe(Ring.owner(Ring.make(subset), k))
            for (const m of subset) expect(Interval.distance(c!.id, k) <= Interval.distance(m.id, k)).toBe(true)
          }
        }
      ),
      { numRuns: NUM_RUNS }
    )
  })

  it("accepts any iterable, including a one-shot generator", () => {
    const members = toMembers([p(10n), p(MAX - 1n), p(20n)])
    function* gen() {
      yield* members
    }
    expect(Ownership.closestPreceding(gen(), p(15n))!.id).toBe(10n)
    expect(Ownership.closestPreceding(gen(), p(5n))!.id).toBe(MAX - 1n)
    expect(Ownership.closestPreceding(new Set(members), p(MAX))!.id).toBe(MAX - 1n)
    expect(Ownership.closestPreceding(gen(), p(20n))!.id).toBe(20n)
  })

  it("a node exactly at the key wins (distance 0)", () => {
    fc.assert(
      fc.property(ids, (xs) => {
        const members = toMembers(xs)
        for (const m of members) expect(Ownership.closestPreceding(members, m.id)).toBe(m)
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("Ownership.owns", () => {
  it("is [id, next) with the whole ring when id === next", () => {
    expect(Ownership.owns(p(10n), p(20n), p(10n))).toBe(true)
    expect(Ownership.owns(p(10n), p(20n), p(19n))).toBe(true)
    expect(Ownership.owns(p(10n), p(20n), p(20n))).toBe(false)
    expect(Ownership.owns(p(10n), p(20n), p(9n))).toBe(false)
    expect(Ownership.owns(p(MAX), p(1n), p(0n))).toBe(true)
    expect(Ownership.owns(p(MAX), p(1n), p(1n))).toBe(false)
    expect(Ownership.owns(p(7n), p(7n), p(MAX))).toBe(true)
  })
})

import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Interval, Position } from "../src/index.ts"
import { MAX, RING_SIZE, position } from "./arbitraries.ts"

const NUM_RUNS = 300
const p = (n: bigint): Position.Position => Position.make(n)

/** Brute-force `[start, end)` on a ring of 2^64 positions, without modular arithmetic. */
const refHalfOpen = (x: bigint, start: bigint, end: bigint): boolean => {
  if (start === end) return true
  if (start < end) return start <= x && x < end
  return x >= start || x < end
}

/** Brute-force `(start, end)`. `start === end` is every position but `start`. */
const refOpen = (x: bigint, start: bigint, end: bigint): boolean => {
  if (start === end) return x !== start
  if (start < end) return start < x && x < end
  return x > start || x < end
}

/**
 * Triples of positions that often sit close together (so that x coincides with or neighbours
 * start and end), including across the 0 / 2^64-1 seam.
 */
const clusteredTriple = fc
  .tuple(position, fc.integer({ min: -3, max: 3 }), fc.integer({ min: -3, max: 3 }))
  .map(([base, a, b]) => [base, Position.wrap(base + BigInt(a)), Position.wrap(base + BigInt(b))] as const)
const triple = fc.oneof(fc.tuple(position, position, position), clusteredTriple)

describe("Interval.distance", () => {
  it("explicit values, including across the seam", () => {
    expect(Interval.distance(p(0n), p(0n))).toBe(0n)
    expect(Interval.distance(p(0n), p(1n))).toBe(1n)
    expect(Interval.distance(p(1n), p(0n))).toBe(MAX)
    expect(Interval.distance(p(MAX), p(0n))).toBe(1n)
    expect(Interval.distance(p(0n), p(MAX))).toBe(MAX)
    expect(Interval.distance(p(MAX - 1n), p(1n))).toBe(3n)
    expect(Interval.distance(p(MAX), p(MAX))).toBe(0n)
  })

  it("distance(a, a) is 0", () => {
    fc.assert(
      fc.property(position, (a) => {
        expect(Interval.distance(a, a)).toBe(0n)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("distance(a, b) + distance(b, a) is 0 when a === b and 2^64 otherwise", () => {
    fc.assert(
      fc.property(position, position, (a, b) => {
        const sum = Interval.distance(a, b) + Interval.distance(b, a)
        expect(sum).toBe(a === b ? 0n : RING_SIZE)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("lies in [0, 2^64) and is (b - a) mod 2^64", () => {
    fc.assert(
      fc.property(position, position, (a, b) => {
        const d = Interval.distance(a, b)
        expect(d >= 0n && d < RING_SIZE).toBe(true)
        expect((((b - a) % RING_SIZE) + RING_SIZE) % RING_SIZE).toBe(d)
        expect(Position.wrap(a + d)).toBe(b)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("is additive going clockwise: d(a,b) + d(b,c) ≡ d(a,c) mod 2^64", () => {
    fc.assert(
      fc.property(triple, ([a, b, c]) => {
        expect((Interval.distance(a, b) + Interval.distance(b, c)) % RING_SIZE).toBe(Interval.distance(a, c))
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("Interval.inHalfOpen", () => {
  it("agrees with a brute-force reference", () => {
    fc.assert(
      fc.property(triple, ([x, start, end]) => {
        expect(Interval.inHalfOpen(x, start, end)).toBe(refHalfOpen(x, start, end))
      }),
      { numRuns: 1000 }
    )
  })

  it("start === end is the whole ring", () => {
    fc.assert(
      fc.property(position, position, (x, s) => {
        expect(Interval.inHalfOpen(x, s, s)).toBe(true)
      }),
      { numRuns: NUM_RUNS }
    )
    for (const s of [0n, 1n, MAX - 1n, MAX]) {
      for (const x of [0n, 1n, MAX - 1n, MAX]) expect(Interval.inHalfOpen(p(x), p(s), p(s))).toBe(true)
    }
  })

  it("includes start and excludes end", () => {
    fc.assert(
      fc.property(position, position, (s, e) => {
        expect(Interval.inHalfOpen(s, s, e)).toBe(true)
        if (s !== e) expect(Interval.inHalfOpen(e, s, e)).toBe(false)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("[s, e) and [e, s) partition the ring when s !== e", () => {
    fc.assert(
      fc.property(triple, ([x, s, e]) => {
        fc.pre(s !== e)
        expect(Interval.inHalfOpen(x, s, e) !== Interval.inHalfOpen(x, e, s)).toBe(true)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("wraps around at 0 and 2^64-1", () => {
    // [MAX, 1) = {MAX, 0}
    expect(Interval.inHalfOpen(p(MAX), p(MAX), p(1n))).toBe(true)
    expect(Interval.inHalfOpen(p(0n), p(MAX), p(1n))).toBe(true)
    expect(Interval.inHalfOpen(p(1n), p(MAX), p(1n))).toBe(false)
    expect(Interval.inHalfOpen(p(MAX - 1n), p(MAX), p(1n))).toBe(false)
    // [MAX, 0) = {MAX}
    expect(Interval.inHalfOpen(p(MAX), p(MAX), p(0n))).toBe(true)
    expect(Interval.inHalfOpen(p(0n), p(MAX), p(0n))).toBe(false)
    expect(Interval.inHalfOpen(p(MAX - 1n), p(MAX), p(0n))).toBe(false)
    // [0, MAX) is everything but MAX
    expect(Interval.inHalfOpen(p(0n), p(0n), p(MAX))).toBe(true)
    expect(Interval.inHalfOpen(p(MAX - 1n), p(0n), p(MAX))).toBe(true)
    expect(Interval.inHalfOpen(p(MAX), p(0n), p(MAX))).toBe(false)
    // [1, 0) is everything but 0
    expect(Interval.inHalfOpen(p(MAX), p(1n), p(0n))).toBe(true)
    expect(Interval.inHalfOpen(p(1n), p(1n), p(0n))).toBe(true)
    expect(Interval.inHalfOpen(p(0n), p(1n), p(0n))).toBe(false)
    // [MAX - 1, 2) = {MAX - 1, MAX, 0, 1}
    for (const x of [MAX - 1n, MAX, 0n, 1n]) expect(Interval.inHalfOpen(p(x), p(MAX - 1n), p(2n))).toBe(true)
    for (const x of [MAX - 2n, 2n, 3n, 1n << 63n]) expect(Interval.inHalfOpen(p(x), p(MAX - 1n), p(2n))).toBe(false)
  })
})

describe("Interval.inOpen", () => {
  it("agrees with a brute-force reference", () => {
    fc.assert(
      fc.property(triple, ([x, start, end]) => {
        expect(Interval.inOpen(x, start, end)).toBe(refOpen(x, start, end))
      }),
      { numRuns: 1000 }
    )
  })

  it("never contains start, nor end", () => {
    fc.assert(
      fc.property(position, position, (s, e) => {
        expect(Interval.inOpen(s, s, e)).toBe(false)
        expect(Interval.inOpen(e, s, e)).toBe(false)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("start === end is every position but start", () => {
    fc.assert(
      fc.property(position, position, (x, s) => {
        expect(Interval.inOpen(x, s, s)).toBe(x !== s)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("is inHalfOpen without start", () => {
    fc.assert(
      fc.property(triple, ([x, s, e]) => {
        expect(Interval.inOpen(x, s, e)).toBe(x !== s && Interval.inHalfOpen(x, s, e))
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("wraps around at 0 and 2^64-1", () => {
    // (MAX, 1) = {0}
    expect(Interval.inOpen(p(0n), p(MAX), p(1n))).toBe(true)
    expect(Interval.inOpen(p(MAX), p(MAX), p(1n))).toBe(false)
    expect(Interval.inOpen(p(1n), p(MAX), p(1n))).toBe(false)
    // (MAX, 0) and (0, 1) are empty
    for (const x of [0n, 1n, MAX - 1n, MAX]) {
      expect(Interval.inOpen(p(x), p(MAX), p(0n))).toBe(false)
      expect(Interval.inOpen(p(x), p(0n), p(1n))).toBe(false)
    }
    // (MAX - 1, 1) = {MAX, 0}
    expect(Interval.inOpen(p(MAX), p(MAX - 1n), p(1n))).toBe(true)
    expect(Interval.inOpen(p(0n), p(MAX - 1n), p(1n))).toBe(true)
    expect(Interval.inOpen(p(MAX - 1n), p(MAX - 1n), p(1n))).toBe(false)
    // (0, 0) is everything but 0
    expect(Interval.inOpen(p(MAX), p(0n), p(0n))).toBe(true)
    expect(Interval.inOpen(p(1n), p(0n), p(0n))).toBe(true)
    expect(Interval.inOpen(p(0n), p(0n), p(0n))).toBe(false)
  })
})

describe("Interval.size", () => {
  it("explicit values", () => {
    expect(Interval.size(p(0n), p(0n))).toBe(RING_SIZE)
    expect(Interval.size(p(MAX), p(MAX))).toBe(RING_SIZE)
    expect(Interval.size(p(MAX), p(0n))).toBe(1n)
    expect(Interval.size(p(MAX - 1n), p(2n))).toBe(4n)
    expect(Interval.size(p(0n), p(MAX))).toBe(MAX)
  })

  it("[s, e) and [e, s) together cover 2^64 positions when s !== e", () => {
    fc.assert(
      fc.property(position, position, (s, e) => {
        fc.pre(s !== e)
        expect(Interval.size(s, e) + Interval.size(e, s)).toBe(RING_SIZE)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("counts the members of small intervals", () => {
    fc.assert(
      fc.property(position, fc.integer({ min: 1, max: 6 }), (s, len) => {
        const e = Position.wrap(s + BigInt(len))
        expect(Interval.size(s, e)).toBe(BigInt(len))
        let count = 0
        for (let i = -3n; i < BigInt(len) + 3n; i++) {
          if (Interval.inHalfOpen(Position.wrap(s + i), s, e)) count++
        }
        expect(count).toBe(len)
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

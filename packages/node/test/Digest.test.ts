/**
 * Range digests for anti-entropy: buckets tile a range exactly (wrapping, whole ring, ranges
 * narrower than the bucket count would want), equal contents digest equally whatever the order
 * they arrived in, and one changed entry shows up in exactly its own bucket.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Interval, Position } from "@crustyring/ring"
import { Effect, Stream } from "effect"
import * as fc from "fast-check"
import * as Digest from "../src/Digest.ts"
import { Storage } from "../src/index.ts"
import type * as Version from "../src/Version.ts"

const NUM_RUNS = 200
const MAX = Position.MAX
const RING_SIZE = Position.RING_SIZE
const p = (n: bigint) => Position.make(n)

/** Positions biased toward the seam at 0 / 2^64-1, where wrap-around bugs live. */
const position = fc
  .oneof(
    { arbitrary: fc.bigInt({ min: 0n, max: MAX }), weight: 6 },
    { arbitrary: fc.bigInt({ min: 0n, max: 16n }), weight: 2 },
    { arbitrary: fc.bigInt({ min: MAX - 16n, max: MAX }), weight: 2 }
  )
  .map(p)

/**
 * A range `[start, end)`: any two positions (often wrapping), the whole ring (`start === end`),
 * or a narrow one of 1 to 40 positions, so that it has fewer positions than buckets wanted.
 */
const range = fc.oneof(
  fc.tuple(position, position),
  position.map((s) => [s, s] as const),
  fc.tuple(position, fc.bigInt({ min: 1n, max: 40n })).map(([s, w]) => [s, Position.wrap(s + w)] as const)
)

/** An entry count to size the buckets by: from 0 up to past the 4096-bucket cap. */
const entryCount = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 100_000 }))

/** An offset into a range of width `w`: its ends, or anywhere (from a 64-bit seed). */
const offsetIn = (w: bigint, kind: number, seed: bigint): bigint =>
  kind === 0 ? 0n : kind === 1 ? w - 1n : seed % w

describe("Digest.bucketsFor", () => {
  it("is 1 to 4096, about 16 entries a bucket, and never more than the range has positions", () => {
    fc.assert(
      fc.property(range, entryCount, ([start, end], n) => {
        const b = Digest.bucketsFor(n, start, end)
        const w = Interval.size(start, end)
        expect(Number.isInteger(b) && b >= 1 && b <= 4096).toBe(true)
        expect(BigInt(b) <= w).toBe(true)
        if (w >= 4096n) expect(b).toBe(Math.min(4096, Math.max(1, Math.ceil(n / 16))))
      }),
      { numRuns: NUM_RUNS }
    )
    assert.strictEqual(Digest.bucketsFor(0, p(0n), p(0n)), 1)
    assert.strictEqual(Digest.bucketsFor(160, p(0n), p(0n)), 10)
    assert.strictEqual(Digest.bucketsFor(1_000_000, p(0n), p(0n)), 4096)
    assert.strictEqual(Digest.bucketsFor(1_000_000, p(MAX - 1n), p(2n)), 4, "a range of 4 positions: MAX-1, MAX, 0, 1")
  })
})

describe("Digest buckets", () => {
  it("every position of the range falls in exactly one bucket, and its bucket's range contains it", () => {
    fc.assert(
      fc.property(
        range,
        entryCount,
        fc.integer({ min: 0, max: 4 }),
        fc.bigInt({ min: 0n, max: MAX }),
        ([start, end], n, kind, seed) => {
          const b = Digest.bucketsFor(n, start, end)
          const w = Interval.size(start, end)
          const x = Position.wrap(start + offsetIn(w, kind, seed))
          assert.isTrue(Interval.inHalfOpen(x, start, end))
          const i = Digest.bucketOf(x, start, end, b)
          expect(Number.isInteger(i) && i >= 0 && i < b).toBe(true)
          const [from, to] = Digest.bucketRange(i, start, end, b)
          expect(Interval.inHalfOpen(x, from, to)).toBe(true)
          // No other bucket claims it: all of them when few, else the neighbours (the tiling
          // property below rules out the rest).
          const others = b <= 256 ? Array.from({ length: b }, (_, j) => j) : [i - 1, i + 1].filter((j) => j >= 0 && j < b)
          const holders = others.filter((j) => {
            const [f, t] = Digest.bucketRange(j, start, end, b)
            return Interval.inHalfOpen(x, f, t)
          })
          expect(holders).toEqual(b <= 256 ? [i] : [])
        }
      ),
      { numRuns: NUM_RUNS * 2 }
    )
  })

  it("bucket ranges tile the range in order, without gaps or overlaps, and map back to their index", () => {
    fc.assert(
      fc.property(range, entryCount, ([start, end], n) => {
        const b = Digest.bucketsFor(n, start, end)
        const w = Interval.size(start, end)
        let cursor: bigint = start
        let total = 0n
        for (let i = 0; i < b; i++) {
          const [from, to] = Digest.bucketRange(i, start, end, b)
          expect(from, `bucket ${i} starts where bucket ${i - 1} ended`).toBe(cursor)
          const size = Interval.size(from, to)
          // Only a single bucket over the whole ring may have equal ends.
          if (from === to) expect(b === 1 && w === RING_SIZE).toBe(true)
          total += size
          // Its first and last positions map back to it.
          expect(Digest.bucketOf(from, start, end, b)).toBe(i)
          expect(Digest.bucketOf(Position.wrap(from + size - 1n), start, end, b)).toBe(i)
          // Buckets are as equal as they can be.
          expect(size === w / BigInt(b) || size === w / BigInt(b) + 1n).toBe(true)
          cursor = to
        }
        expect(cursor).toBe(end)
        expect(total).toBe(w)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("hand-checked: [MAX-1, 2) in 2 buckets wraps at the seam", () => {
    // 4 positions: MAX-1, MAX | 0, 1.
    expect(Digest.bucketRange(0, p(MAX - 1n), p(2n), 2)).toEqual([MAX - 1n, 0n])
    expect(Digest.bucketRange(1, p(MAX - 1n), p(2n), 2)).toEqual([0n, 2n])
    assert.strictEqual(Digest.bucketOf(p(MAX), p(MAX - 1n), p(2n), 2), 0)
    assert.strictEqual(Digest.bucketOf(p(0n), p(MAX - 1n), p(2n), 2), 1)
    // The whole ring from 2^63 in 2: [2^63, 0) and [0, 2^63).
    expect(Digest.bucketRange(0, p(1n << 63n), p(1n << 63n), 2)).toEqual([1n << 63n, 0n])
    expect(Digest.bucketRange(1, p(1n << 63n), p(1n << 63n), 2)).toEqual([0n, 1n << 63n])
  })
})

interface Written {
  readonly key: Uint8Array
  readonly value: Uint8Array | undefined
  readonly version: Version.Version
}

/** Entries with distinct keys; about a third are tombstones. */
const entries = fc.uniqueArray(
  fc.record({
    key: fc.uint8Array({ minLength: 0, maxLength: 12 }),
    value: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined, freq: 3 }),
    version: fc.record({ hlc: fc.bigInt({ min: 1n, max: 1n << 50n }), writer: fc.bigInt({ min: 0n, max: MAX }) })
  }),
  { minLength: 1, maxLength: 60, selector: (e) => Buffer.from(e.key).toString("hex") }
)

const storeOf = (list: ReadonlyArray<Written>) =>
  Effect.gen(function*() {
    const store = yield* Storage.makeMemory
    for (const e of list) yield* store.merge(e)
    return store
  })

const digestOf = (store: Storage.Store, start: Position.Position, end: Position.Position, buckets: number) =>
  Digest.digest(store.scan(start, end), start, end, buckets)

/** The digest written from its definition, straight from the entries. */
const reference = (list: ReadonlyArray<Written>, start: Position.Position, end: Position.Position, buckets: number) => {
  const hashes = new Array<bigint>(buckets).fill(0n)
  const counts = new Array<number>(buckets).fill(0)
  for (const e of list) {
    const at = Position.position(e.key)
    if (!Interval.inHalfOpen(at, start, end)) continue
    const i = Digest.bucketOf(at, start, end, buckets)
    hashes[i] = hashes[i]! ^ Digest.entryHash(e)
    counts[i]!++
  }
  return { hashes, counts }
}

describe("Digest.digest", () => {
  it("agrees with its definition, and equal contents digest equally whatever the order of arrival", () => {
    fc.assert(
      fc.property(
        entries.chain((es) =>
          fc.tuple(
            fc.constant(es),
            fc.shuffledSubarray(es, { minLength: es.length, maxLength: es.length }),
            // Stale copies of some entries, older than what both stores end up with.
            fc.subarray(es)
          )
        ),
        range,
        entryCount,
        ([es, shuffled, stale], [start, end], n) => {
          const buckets = Digest.bucketsFor(n, start, end)
          const [a, b] = Effect.runSync(Effect.gen(function*() {
            const first = yield* storeOf(es)
            // The second sees stale versions first, then the real ones in another order.
            const older = stale.map((e) => ({ ...e, value: Uint8Array.of(1), version: { ...e.version, hlc: e.version.hlc - 1n } }))
            const second = yield* storeOf([...older, ...shuffled])
            return [yield* digestOf(first, start, end, buckets), yield* digestOf(second, start, end, buckets)] as const
          }))
          expect(a).toEqual(reference(es, start, end, buckets))
          expect(b).toEqual(a)
          expect(Digest.differing(a, b)).toEqual([])
        }
      ),
      { numRuns: NUM_RUNS }
    )
  })

  it("changing one entry's version changes exactly the bucket holding it", () => {
    fc.assert(
      fc.property(
        entries.chain((es) => fc.tuple(fc.constant(es), fc.nat({ max: es.length - 1 }))),
        fc.bigInt({ min: 0n, max: MAX }),
        fc.bigInt({ min: 0n, max: MAX }),
        entryCount,
        fc.boolean(),
        ([es, j], back, extra, n, bumpWriter) => {
          const changed = es[j]!
          // A range containing the changed key: it starts `back` before it and is longer than that.
          const at = Position.position(changed.key)
          const start = Position.wrap(at - back)
          const w = back + 1n + (extra % (RING_SIZE - back))
          const end = Position.wrap(start + w)
          const buckets = Digest.bucketsFor(n, start, end)
          const version = bumpWriter
            ? { ...changed.version, writer: changed.version.writer ^ 1n }
            : { ...changed.version, hlc: changed.version.hlc + 1n }
          const modified = es.map((e, i) => (i === j ? { ...e, version } : e))
          const [a, b] = Effect.runSync(Effect.gen(function*() {
            const first = yield* storeOf(es)
            const second = yield* storeOf(modified)
            return [yield* digestOf(first, start, end, buckets), yield* digestOf(second, start, end, buckets)] as const
          }))
          const i = Digest.bucketOf(at, start, end, buckets)
          expect(Digest.differing(a, b)).toEqual([i])
          // The counts do not change, and add up to the entries in range.
          expect(b.counts).toEqual(a.counts)
          const inRange = es.filter((e) => Interval.inHalfOpen(Position.position(e.key), start, end)).length
          expect(a.counts.reduce((x, y) => x + y, 0)).toBe(inRange)
          expect(a.counts[i]! >= 1).toBe(true)
        }
      ),
      { numRuns: NUM_RUNS }
    )
  })

  it("a tombstone and a live value of the same key and version hash differently", () => {
    const key = Buffer.from("k")
    const version = { hlc: 5n, writer: 7n }
    assert.notStrictEqual(Digest.entryHash({ key, value: Uint8Array.of(), version }), Digest.entryHash({ key, value: undefined, version }))
    assert.strictEqual(Digest.entryHash({ key, value: undefined, version }), Digest.entryHash({ key: Buffer.from("k"), value: undefined, version: { hlc: 5n, writer: 7n } }))
  })

  it.effect("an empty store digests to zeros; differing lists every index where the hashes differ", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      const d = yield* digestOf(store, p(0n), p(0n), 4)
      assert.deepStrictEqual(d, { hashes: [0n, 0n, 0n, 0n], counts: [0, 0, 0, 0] })
      expect(Digest.differing(d, { hashes: [0n, 1n, 0n, 2n], counts: [0, 1, 0, 1] })).toEqual([1, 3])
      expect(Digest.differing(d, { hashes: [0n, 0n], counts: [0, 0] }), "missing buckets differ").toEqual([2, 3])
      // Streams other than a store's scan work too.
      const one = { key: Buffer.from("x"), value: undefined, version: { hlc: 1n, writer: 1n } }
      const e = yield* Digest.digest(Stream.make(one), p(0n), p(0n), 1)
      assert.deepStrictEqual(e, { hashes: [Digest.entryHash(one)], counts: [1] })
    }))
})

/**
 * The hybrid logical clock and version order: timestamps never repeat or run backwards, whatever
 * the wall clock does, and versions order by timestamp, then by writer.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as Version from "../src/Version.ts"

const NUM_RUNS = 300

/** A wall clock that returns the given readings in turn, then repeats the last. */
const scripted = (readings: ReadonlyArray<number>) => {
  let i = 0
  return () => readings[Math.min(i++, readings.length - 1)]!
}

/** Wall-clock readings that stand still, step back or jump forward, in milliseconds. */
const readings = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 2_000_000_000_000 }),
    fc.integer({ min: 1_700_000_000_000, max: 1_700_000_000_010 }),
    fc.constant(1_700_000_000_000)
  ),
  { minLength: 1, maxLength: 60 }
)

const version = fc.record({ hlc: fc.bigInt({ min: 0n, max: 20n }), writer: fc.bigInt({ min: 0n, max: 5n }) })

describe("Version.makeWith", () => {
  it("issues strictly increasing timestamps when the wall clock stands still", () => {
    const clock = Version.makeWith(() => 1000)
    const issued = Array.from({ length: 5000 }, () => clock.next())
    for (let i = 1; i < issued.length; i++) assert.isTrue(issued[i]! > issued[i - 1]!)
    // The counter runs below the milliseconds: 5000 ticks fit in one millisecond.
    assert.strictEqual(Version.millis(issued[0]!), 1000)
    assert.strictEqual(Version.millis(issued.at(-1)!), 1000)
  })

  it("does not run backwards when the wall clock does", () => {
    const clock = Version.makeWith(scripted([5000, 4000, 100, 0]))
    const a = clock.next()
    const b = clock.next()
    const c = clock.next()
    const d = clock.next()
    assert.isTrue(a < b && b < c && c < d)
    assert.strictEqual(a, Version.fromMillis(5000))
  })

  it("strictly increases for any sequence of wall-clock readings, and never lags the wall clock", () => {
    fc.assert(
      fc.property(readings, (rs) => {
        const clock = Version.makeWith(scripted(rs))
        let last = -1n
        for (const r of rs) {
          const t = clock.next()
          expect(t > last).toBe(true)
          expect(t >= Version.fromMillis(r)).toBe(true)
          last = t
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("after observing a timestamp ahead of it, the next one exceeds it", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.bigInt({ min: 0n, max: 1n << 60n }),
        fc.integer({ min: 0, max: 5 }),
        (now, ahead, before) => {
          const clock = Version.makeWith(() => now)
          for (let i = 0; i < before; i++) clock.next()
          const seen = Version.fromMillis(now) + ahead
          clock.observe(seen)
          const t = clock.next()
          expect(t > seen).toBe(true)
          expect(clock.next() > t).toBe(true)
        }
      ),
      { numRuns: NUM_RUNS }
    )
  })

  it("observing an older timestamp does not move the clock back", () => {
    const clock = Version.makeWith(() => 1000)
    const a = clock.next()
    clock.observe(Version.fromMillis(10))
    clock.observe(0n)
    assert.isTrue(clock.next() > a)
  })
})

describe("Version.millis / fromMillis", () => {
  it("round-trip whole milliseconds; fractions floor and negatives clamp to 0", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.bigInt({ min: 0n, max: (1n << Version.COUNTER_BITS) - 1n }), (ms, counter) => {
        expect(Version.millis(Version.fromMillis(ms))).toBe(ms)
        expect(Version.millis(Version.fromMillis(ms) + counter)).toBe(ms)
      }),
      { numRuns: NUM_RUNS }
    )
    assert.strictEqual(Version.fromMillis(12.9), Version.fromMillis(12))
    assert.strictEqual(Version.fromMillis(-5), 0n)
  })
})

describe("Version.compare", () => {
  it("orders by hlc, then by writer", () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        const expected = a.hlc !== b.hlc ? (a.hlc < b.hlc ? -1 : 1) : a.writer !== b.writer ? (a.writer < b.writer ? -1 : 1) : 0
        expect(Version.compare(a, b)).toBe(expected)
        expect(Version.compare(b, a)).toBe(expected === 0 ? 0 : -expected)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("is a total order: transitive, and 0 only for equal versions", () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        if (Version.compare(a, b) <= 0 && Version.compare(b, c) <= 0) expect(Version.compare(a, c) <= 0).toBe(true)
        expect(Version.compare(a, b) === 0).toBe(a.hlc === b.hlc && a.writer === b.writer)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("a later timestamp wins over a greater writer", () => {
    assert.strictEqual(Version.compare({ hlc: 2n, writer: 0n }, { hlc: 1n, writer: (1n << 64n) - 1n }), 1)
    assert.strictEqual(Version.compare({ hlc: 1n, writer: 9n }, { hlc: 1n, writer: 10n }), -1)
  })
})

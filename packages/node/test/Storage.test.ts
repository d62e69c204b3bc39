import { assert, describe, expect, it } from "@effect/vitest"
import { Interval, Position } from "@crustyring/ring"
import { Effect, Option, Stream } from "effect"
import { Storage } from "../src/index.ts"

const bytes = (s: string): Uint8Array => Buffer.from(s, "utf8")
const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8")
const textOpt = (o: Option.Option<Uint8Array>): string | undefined => Option.getOrUndefined(Option.map(o, text))
const p = (n: bigint) => Position.make(n)
const MAX = Position.MAX

/**
 * A store whose keys say where they sit: "k<n>" and "k<n>/<suffix>" are at position n. Lets a
 * test put entries at exact positions, e.g. next to the wrap-around point.
 */
const placed = Storage.makeMemoryWith((key) => p(BigInt(text(key).slice(1).split("/")[0]!)))
const at = (n: bigint, suffix = ""): string => `k${n}${suffix === "" ? "" : `/${suffix}`}`

const scanKeys = (store: Storage.Store, start: bigint, end: bigint) =>
  Effect.map(Stream.runCollect(store.scan(p(start), p(end))), (entries) => entries.map((e) => text(e.key)))

describe("memory Storage: point operations", () => {
  it.effect("put returns the previous value, or none", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      assert.isUndefined(textOpt(yield* store.put(bytes("a"), bytes("1"))))
      assert.strictEqual(textOpt(yield* store.put(bytes("a"), bytes("2"))), "1")
      assert.strictEqual(textOpt(yield* store.put(bytes("a"), bytes("3"))), "2")
      assert.strictEqual(textOpt(yield* store.get(bytes("a"))), "3")
      assert.isUndefined(textOpt(yield* store.get(bytes("b"))))
    }))

  it.effect("remove returns the removed value; the key is then gone", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      yield* store.put(bytes("a"), bytes("1"))
      yield* store.put(bytes("b"), bytes("2"))
      assert.strictEqual(textOpt(yield* store.remove(bytes("a"))), "1")
      assert.isUndefined(textOpt(yield* store.get(bytes("a"))))
      assert.isUndefined(textOpt(yield* store.remove(bytes("a"))), "second remove finds nothing")
      assert.isUndefined(textOpt(yield* store.remove(bytes("never"))))
      assert.strictEqual(textOpt(yield* store.get(bytes("b"))), "2", "other keys untouched")
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 1)
      // A removed key can be stored again.
      assert.isUndefined(textOpt(yield* store.put(bytes("a"), bytes("again"))))
      assert.strictEqual(textOpt(yield* store.get(bytes("a"))), "again")
    }))

  it.effect("keys are compared by bytes, not by the caller's buffer", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      const key = Buffer.from("shared-key")
      yield* store.put(key, bytes("v"))
      // A different buffer with the same bytes, and a view into a larger buffer, find it.
      assert.strictEqual(textOpt(yield* store.get(Buffer.from("shared-key"))), "v")
      const big = Buffer.from("xxshared-keyyy")
      assert.strictEqual(textOpt(yield* store.get(big.subarray(2, 12))), "v")
      // Scribbling on the caller's buffer afterwards does not change the stored key.
      key.write("XXXXXX")
      assert.strictEqual(textOpt(yield* store.get(Buffer.from("shared-key"))), "v")
      const [entry] = yield* Stream.runCollect(store.scan(p(0n), p(0n)))
      assert.strictEqual(text(entry!.key), "shared-key")
    }))

  it.effect("binary keys and empty values round-trip", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      const key = Uint8Array.from([0, 255, 0x80, 0xc3])
      yield* store.put(key, new Uint8Array(0))
      const got = yield* store.get(Uint8Array.from([0, 255, 0x80, 0xc3]))
      assert.isTrue(Option.isSome(got))
      assert.strictEqual(Option.getOrThrow(got).length, 0)
      assert.isTrue(Option.isNone(yield* store.get(Uint8Array.from([0, 255, 0x80]))))
    }))
})

describe("memory Storage: ranges", () => {
  // Positions spread over the ring, including both ends and the points next to them.
  const positions = [0n, 1n, 5n, 100n, 1n << 32n, 1n << 63n, (1n << 63n) + 1n, MAX - 100n, MAX - 1n, MAX]

  const fill = Effect.gen(function*() {
    const store = yield* placed
    // Put in a scrambled order so ordering comes from the store, not from insertion.
    for (const n of [...positions].reverse()) yield* store.put(bytes(at(n)), bytes(`v${n}`))
    return store
  })

  /** Written from the spec: positions in [start, end), wrapping, in clockwise order from start. */
  const expected = (start: bigint, end: bigint): Array<string> =>
    positions
      .filter((n) => Interval.inHalfOpen(p(n), p(start), p(end)))
      .sort((a, b) => {
        const da = Interval.distance(p(start), p(a))
        const db = Interval.distance(p(start), p(b))
        return da < db ? -1 : da > db ? 1 : 0
      })
      .map((n) => at(n))

  it.effect("scan over a wrapping range returns exactly the entries in range, in ring order", () =>
    Effect.gen(function*() {
      const store = yield* fill
      const got = yield* scanKeys(store, MAX - 100n, 5n)
      // Hand-checked: from MAX-100 clockwise through the wrap, up to but excluding 5.
      expect(got).toEqual([at(MAX - 100n), at(MAX - 1n), at(MAX), at(0n), at(1n)])
      // Values come with their keys.
      const entries = yield* Stream.runCollect(store.scan(p(MAX - 1n), p(1n)))
      expect(entries.map((e) => [text(e.key), text(e.value)])).toEqual([
        [at(MAX - 1n), `v${MAX - 1n}`],
        [at(MAX), `v${MAX}`],
        [at(0n), "v0"]
      ])
    }))

  it.effect("scan agrees with the spec on many ranges, wrapping or not", () =>
    Effect.gen(function*() {
      const store = yield* fill
      const bounds = [0n, 1n, 2n, 100n, 101n, 1n << 63n, MAX - 1n, MAX]
      for (const start of bounds) {
        for (const end of bounds) {
          expect(yield* scanKeys(store, start, end), `[${start}, ${end})`).toEqual(expected(start, end))
          assert.strictEqual(yield* store.count(p(start), p(end)), expected(start, end).length, `count [${start}, ${end})`)
        }
      }
    }))

  it.effect("equal ends mean the whole ring, starting at that position", () =>
    Effect.gen(function*() {
      const store = yield* fill
      expect(yield* scanKeys(store, 0n, 0n)).toEqual(positions.map((n) => at(n)))
      expect(yield* scanKeys(store, 1n << 63n, 1n << 63n)).toEqual([
        ...positions.filter((n) => n >= 1n << 63n),
        ...positions.filter((n) => n < 1n << 63n)
      ].map((n) => at(n)))
      assert.strictEqual(yield* store.count(p(5n), p(5n)), positions.length)
    }))

  it.effect("an empty range or empty store scans nothing", () =>
    Effect.gen(function*() {
      const store = yield* fill
      expect(yield* scanKeys(store, 2n, 5n)).toEqual([])
      assert.strictEqual(yield* store.count(p(2n), p(5n)), 0)
      const empty = yield* Storage.makeMemory
      expect(yield* scanKeys(empty, 0n, 0n)).toEqual([])
      assert.strictEqual(yield* empty.count(p(0n), p(0n)), 0)
      assert.strictEqual(yield* empty.removeRange(p(0n), p(0n)), 0)
    }))

  it.effect("removeRange removes exactly the range, wrapping, and returns how many", () =>
    Effect.gen(function*() {
      const store = yield* fill
      assert.strictEqual(yield* store.removeRange(p(MAX - 1n), p(100n)), 5)
      expect(yield* scanKeys(store, 0n, 0n)).toEqual([at(100n), at(1n << 32n), at(1n << 63n), at((1n << 63n) + 1n), at(MAX - 100n)])
      for (const n of [MAX - 1n, MAX, 0n, 1n, 5n]) assert.isTrue(Option.isNone(yield* store.get(bytes(at(n)))))
      assert.strictEqual(textOpt(yield* store.get(bytes(at(100n)))), "v100")
      // Removing it again finds nothing; a scan snapshot taken before is unaffected by later removes.
      assert.strictEqual(yield* store.removeRange(p(MAX - 1n), p(100n)), 0)
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 5)
      assert.strictEqual(yield* store.removeRange(p(7n), p(7n)), 5, "equal ends remove everything")
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 0)
    }))

  it.effect("with real hashing, count and scan agree with Position.position", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`)
      for (const k of keys) yield* store.put(bytes(k), bytes(k.toUpperCase()))
      const start = p(1n << 62n)
      const end = p(3n << 62n)
      const inRange = keys.filter((k) => Interval.inHalfOpen(Position.position(k), start, end))
      assert.isAbove(inRange.length, 50)
      assert.isBelow(inRange.length, 250)
      const entries = yield* Stream.runCollect(store.scan(start, end))
      expect(entries.map((e) => text(e.key)).sort()).toEqual([...inRange].sort())
      const ps = entries.map((e) => Position.position(e.key))
      for (let i = 1; i < ps.length; i++) assert.isTrue(ps[i - 1]! <= ps[i]!, "ring order")
      for (const e of entries) assert.strictEqual(text(e.value), text(e.key).toUpperCase())
      // The other half wraps around 0.
      assert.strictEqual(yield* store.count(end, start), keys.length - inRange.length)
      assert.strictEqual(yield* store.removeRange(start, end), inRange.length)
      assert.strictEqual(yield* store.count(p(0n), p(0n)), keys.length - inRange.length)
    }))
})

describe("memory Storage: colliding positions", () => {
  const colliding = Storage.makeMemoryWith(() => Position.make(42n))

  it.effect("two different keys at the same position keep separate values", () =>
    Effect.gen(function*() {
      const store = yield* colliding
      assert.isUndefined(textOpt(yield* store.put(bytes("alpha"), bytes("A"))))
      assert.isUndefined(textOpt(yield* store.put(bytes("beta"), bytes("B"))), "beta does not see alpha's value")
      assert.strictEqual(textOpt(yield* store.get(bytes("alpha"))), "A")
      assert.strictEqual(textOpt(yield* store.get(bytes("beta"))), "B")
      assert.strictEqual(yield* store.count(p(42n), p(43n)), 2)
      // Overwriting one returns its own previous value only.
      assert.strictEqual(textOpt(yield* store.put(bytes("beta"), bytes("B2"))), "B")
      assert.strictEqual(textOpt(yield* store.get(bytes("alpha"))), "A")
      // Removing one leaves the other.
      assert.strictEqual(textOpt(yield* store.remove(bytes("alpha"))), "A")
      assert.strictEqual(textOpt(yield* store.get(bytes("beta"))), "B2")
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 1)
    }))

  it.effect("a scan returns every colliding key, ordered by key bytes", () =>
    Effect.gen(function*() {
      const store = yield* colliding
      for (const k of ["m", "b", "zz", "a", "ab"]) yield* store.put(bytes(k), bytes(k))
      expect(yield* scanKeys(store, 42n, 43n)).toEqual(["a", "ab", "b", "m", "zz"])
      expect(yield* scanKeys(store, 43n, 42n), "range ending at 42 excludes 42").toEqual([])
      assert.strictEqual(yield* store.removeRange(p(40n), p(43n)), 5)
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 0)
    }))
})

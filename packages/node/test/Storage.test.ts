/**
 * The memory store: versioned merges (last writer wins, in any order of arrival), tombstones
 * and their purge, keys compared by bytes, and ranges on the ring (wrapping, in ring order,
 * colliding positions).
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Interval, Position } from "@crustyring/ring"
import { Effect, Option, Stream } from "effect"
import * as fc from "fast-check"
import { Storage } from "../src/index.ts"
import * as Version from "../src/Version.ts"

const NUM_RUNS = 200
const bytes = (s: string): Uint8Array => Buffer.from(s, "utf8")
const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8")
/** A value as text; a tombstone reads as undefined. */
const valueText = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : text(b))
const textOpt = (o: Option.Option<Uint8Array>): string | undefined => Option.getOrUndefined(Option.map(o, text))
const p = (n: bigint) => Position.make(n)
const MAX = Position.MAX
const ver = (hlc: bigint, writer = 1n): Version.Version => ({ hlc, writer })

/** Offers a write (a string value) or a delete (undefined) of `key` at version (hlc, writer). */
const write = (
  store: Storage.Store,
  key: string | Uint8Array,
  value: string | Uint8Array | undefined,
  hlc: bigint,
  writer = 1n
) =>
  store.merge({
    key: typeof key === "string" ? bytes(key) : key,
    value: typeof value === "string" ? bytes(value) : value,
    version: ver(hlc, writer)
  })

/** The value text of the entry a merge found, undefined when none or a tombstone. */
const previousText = (m: Storage.Merged): string | undefined =>
  Option.getOrUndefined(Option.flatMap(m.previous, (e) => Option.fromUndefinedOr(valueText(e.value))))

/**
 * A store whose keys say where they sit: "k<n>" and "k<n>/<suffix>" are at position n. Lets a
 * test put entries at exact positions, e.g. next to the wrap-around point.
 */
const placedAt = (key: Uint8Array) => p(BigInt(text(key).slice(1).split("/")[0]!))
const placed = Storage.makeMemoryWith(placedAt)
const at = (n: bigint, suffix = ""): string => `k${n}${suffix === "" ? "" : `/${suffix}`}`

const scanKeys = (store: Storage.Store, start: bigint, end: bigint) =>
  Effect.map(Stream.runCollect(store.scan(p(start), p(end))), (entries) => entries.map((e) => text(e.key)))

describe("memory Storage: point operations", () => {
  it.effect("merge returns the entry held before and whether it applied", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      const first = yield* write(store, "a", "1", 10n)
      assert.isTrue(first.applied)
      assert.isTrue(Option.isNone(first.previous))
      const second = yield* write(store, "a", "2", 11n)
      assert.isTrue(second.applied)
      assert.strictEqual(previousText(second), "1")
      assert.deepStrictEqual(Option.getOrThrow(second.previous).version, ver(10n))
      assert.strictEqual(previousText(yield* write(store, "a", "3", 12n)), "2")
      assert.strictEqual(textOpt(yield* store.get(bytes("a"))), "3")
      assert.isTrue(Option.isNone(yield* store.get(bytes("b"))))
      assert.isTrue(Option.isNone(yield* store.lookup(bytes("b"))))
      const held = Option.getOrThrow(yield* store.lookup(bytes("a")))
      assert.strictEqual(valueText(held.value), "3")
      assert.deepStrictEqual(held.version, ver(12n))
    }))

  it.effect("an equal version is not applied again, even with another value", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      yield* write(store, "a", "first", 10n, 7n)
      const again = yield* write(store, "a", "other", 10n, 7n)
      assert.isFalse(again.applied)
      assert.strictEqual(previousText(again), "first", "previous is the held entry")
      assert.strictEqual(textOpt(yield* store.get(bytes("a"))), "first")
      // The same version as a tombstone does not delete either.
      assert.isFalse((yield* write(store, "a", undefined, 10n, 7n)).applied)
      assert.strictEqual(textOpt(yield* store.get(bytes("a"))), "first")
      assert.strictEqual(yield* store.tombstones, 0)
    }))

  it.effect("an older version loses; on equal timestamps the greater writer wins", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      yield* write(store, "a", "new", 20n, 1n)
      assert.isFalse((yield* write(store, "a", "old", 19n, 99n)).applied, "older hlc, greater writer")
      assert.strictEqual(textOpt(yield* store.get(bytes("a"))), "new")
      assert.isFalse((yield* write(store, "a", "low-writer", 20n, 0n)).applied)
      assert.isTrue((yield* write(store, "a", "high-writer", 20n, 2n)).applied)
      assert.strictEqual(textOpt(yield* store.get(bytes("a"))), "high-writer")
    }))

  it.effect("keys are compared by bytes, not by the caller's buffer", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      const key = Buffer.from("shared-key")
      yield* write(store, key, "v", 1n)
      // A different buffer with the same bytes, and a view into a larger buffer, find it.
      assert.strictEqual(textOpt(yield* store.get(Buffer.from("shared-key"))), "v")
      const big = Buffer.from("xxshared-keyyy")
      assert.strictEqual(textOpt(yield* store.get(big.subarray(2, 12))), "v")
      // A merge through a view replaces the same entry rather than adding one.
      assert.strictEqual(previousText(yield* write(store, big.subarray(2, 12), "w", 2n)), "v")
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 1)
      // Scribbling on the callers' buffers afterwards does not change the stored key.
      key.write("XXXXXX")
      big.write("YYYYYYYYYYYYYY")
      assert.strictEqual(textOpt(yield* store.get(Buffer.from("shared-key"))), "w")
      const [entry] = yield* Stream.runCollect(store.scan(p(0n), p(0n)))
      assert.strictEqual(text(entry!.key), "shared-key")
    }))

  it.effect("binary keys and empty values round-trip; an empty value is not a tombstone", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      const key = Uint8Array.from([0, 255, 0x80, 0xc3])
      yield* write(store, key, new Uint8Array(0), 1n)
      const got = yield* store.get(Uint8Array.from([0, 255, 0x80, 0xc3]))
      assert.isTrue(Option.isSome(got))
      assert.strictEqual(Option.getOrThrow(got).length, 0)
      assert.isTrue(Option.isNone(yield* store.get(Uint8Array.from([0, 255, 0x80]))))
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 1)
      assert.strictEqual(yield* store.tombstones, 0)
    }))
})

describe("memory Storage: last writer wins in any order", () => {
  /** A set of writes to one key with distinct versions; timestamps and writers collide often. */
  const writes = fc.uniqueArray(
    fc.record({
      hlc: fc.bigInt({ min: 0n, max: 6n }),
      writer: fc.bigInt({ min: 0n, max: 3n }),
      live: fc.boolean()
    }),
    { minLength: 1, maxLength: 12, selector: (w) => `${w.hlc}/${w.writer}` }
  )
  /** The writes, and the same writes in an arbitrary order of arrival. */
  const permuted = writes.chain((ws) =>
    fc.tuple(fc.constant(ws), fc.shuffledSubarray(ws, { minLength: ws.length, maxLength: ws.length }))
  )
  const valueOf = (w: { hlc: bigint; writer: bigint; live: boolean }) => (w.live ? `v${w.hlc}/${w.writer}` : undefined)

  it("any permutation ends with the greatest version, and a merge applies exactly when it beats all before it", () => {
    fc.assert(
      fc.property(permuted, ([ws, order]) => {
        const max = ws.reduce((a, b) => (Version.compare(ver(a.hlc, a.writer), ver(b.hlc, b.writer)) >= 0 ? a : b))
        Effect.runSync(Effect.gen(function*() {
          const store = yield* Storage.makeMemory
          let best: Version.Version | undefined
          for (const w of order) {
            const merged = yield* write(store, "key", valueOf(w), w.hlc, w.writer)
            const wins = best === undefined || Version.compare(ver(w.hlc, w.writer), best) > 0
            assert.strictEqual(merged.applied, wins)
            assert.deepStrictEqual(Option.getOrUndefined(merged.previous)?.version, best)
            if (wins) best = ver(w.hlc, w.writer)
          }
          const held = Option.getOrThrow(yield* store.lookup(bytes("key")))
          assert.deepStrictEqual(held.version, ver(max.hlc, max.writer))
          assert.strictEqual(valueText(held.value), valueOf(max))
          assert.strictEqual(textOpt(yield* store.get(bytes("key"))), valueOf(max))
          assert.strictEqual(yield* store.count(p(0n), p(0n)), max.live ? 1 : 0)
          assert.strictEqual(yield* store.tombstones, max.live ? 0 : 1)
        }))
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("replicas that receive the same writes in different orders hold the same entries", () => {
    const keyed = fc.array(
      fc.record({ key: fc.constantFrom("a", "b", "c", "d"), hlc: fc.bigInt({ min: 0n, max: 5n }), writer: fc.bigInt({ min: 0n, max: 2n }), live: fc.boolean() }),
      { maxLength: 30 }
    ).chain((ws) => fc.tuple(fc.constant(ws), fc.shuffledSubarray(ws, { minLength: ws.length, maxLength: ws.length })))
    fc.assert(
      fc.property(keyed, ([ws, order]) => {
        const contents = (list: typeof ws) =>
          Effect.runSync(Effect.gen(function*() {
            const store = yield* Storage.makeMemory
            // The value depends on the version only, as it does for real writes.
            for (const w of list) yield* write(store, w.key, w.live ? `v${w.hlc}/${w.writer}` : undefined, w.hlc, w.writer)
            const entries = yield* Stream.runCollect(store.scan(p(0n), p(0n)))
            return entries.map((e) => [text(e.key), valueText(e.value), e.version.hlc, e.version.writer] as const)
          }))
        // Equal versions of one key with different liveness are not real writes: drop such pairs.
        const seen = new Map<string, boolean>()
        for (const w of ws) {
          const id = `${w.key}/${w.hlc}/${w.writer}`
          if (seen.has(id) && seen.get(id) !== w.live) return
          seen.set(id, w.live)
        }
        expect(contents(order)).toEqual(contents(ws))
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("memory Storage: tombstones", () => {
  it.effect("a tombstone hides the value from get and count, but lookup and scan return it", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      yield* write(store, "a", "1", 10n)
      yield* write(store, "b", "2", 10n)
      const deleted = yield* write(store, "a", undefined, 11n)
      assert.isTrue(deleted.applied)
      assert.strictEqual(previousText(deleted), "1")
      assert.isTrue(Option.isNone(yield* store.get(bytes("a"))))
      assert.strictEqual(textOpt(yield* store.get(bytes("b"))), "2", "other keys untouched")
      const tomb = Option.getOrThrow(yield* store.lookup(bytes("a")))
      assert.isUndefined(tomb.value)
      assert.deepStrictEqual(tomb.version, ver(11n))
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 1)
      assert.strictEqual(yield* store.tombstones, 1)
      const scanned = yield* Stream.runCollect(store.scan(p(0n), p(0n)))
      expect(scanned.map((e) => [text(e.key), valueText(e.value)]).sort()).toEqual([["a", undefined], ["b", "2"]])
      // A second, newer delete replaces the tombstone: still one.
      assert.isTrue((yield* write(store, "a", undefined, 12n)).applied)
      assert.strictEqual(yield* store.tombstones, 1)
      // A delete of a key never written leaves a tombstone too, so a late older write cannot revive it.
      assert.isTrue((yield* write(store, "never", undefined, 5n)).applied)
      assert.strictEqual(yield* store.tombstones, 2)
      assert.isFalse((yield* write(store, "never", "late", 4n)).applied)
      assert.isTrue(Option.isNone(yield* store.get(bytes("never"))))
    }))

  it.effect("a later write replaces a tombstone; an earlier one does not", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      yield* write(store, "a", "1", 10n)
      yield* write(store, "a", undefined, 20n)
      const stale = yield* write(store, "a", "stale", 15n)
      assert.isFalse(stale.applied)
      assert.isUndefined(previousText(stale))
      assert.isTrue(Option.isNone(yield* store.get(bytes("a"))))
      const again = yield* write(store, "a", "again", 21n)
      assert.isTrue(again.applied)
      assert.isUndefined(Option.getOrThrow(again.previous).value, "previous was the tombstone")
      assert.strictEqual(textOpt(yield* store.get(bytes("a"))), "again")
      assert.strictEqual(yield* store.tombstones, 0)
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 1)
    }))

  it.effect("purge removes only tombstones older than `before`, and says how many", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      yield* write(store, "old-live", "x", 1n)
      yield* write(store, "t5", undefined, 5n)
      yield* write(store, "t9", undefined, 9n)
      yield* write(store, "t10", undefined, 10n)
      yield* write(store, "t30", undefined, 30n)
      assert.strictEqual(yield* store.tombstones, 4)
      assert.strictEqual(yield* store.purge(10n), 2, "5 and 9 are before 10; 10 is not")
      assert.strictEqual(yield* store.tombstones, 2)
      assert.isTrue(Option.isNone(yield* store.lookup(bytes("t5"))))
      assert.isTrue(Option.isNone(yield* store.lookup(bytes("t9"))))
      assert.isTrue(Option.isSome(yield* store.lookup(bytes("t10"))))
      assert.isTrue(Option.isSome(yield* store.lookup(bytes("t30"))))
      assert.strictEqual(textOpt(yield* store.get(bytes("old-live"))), "x", "live entries are never purged")
      assert.strictEqual(yield* store.purge(10n), 0)
      assert.strictEqual(yield* store.purge(1000n), 2)
      assert.strictEqual(yield* store.tombstones, 0)
      expect((yield* scanKeys(store, 0n, 0n))).toEqual(["old-live"])
      // A purged key is writable again at any version.
      assert.isTrue((yield* write(store, "t5", "back", 2n)).applied)
    }))

  it.effect("removeRange counts tombstones too and forgets them", () =>
    Effect.gen(function*() {
      const store = yield* placed
      yield* write(store, at(1n), "a", 1n)
      yield* write(store, at(2n), undefined, 1n)
      yield* write(store, at(3n), undefined, 1n)
      yield* write(store, at(9n), undefined, 1n)
      assert.strictEqual(yield* store.removeRange(p(0n), p(5n)), 3)
      assert.strictEqual(yield* store.tombstones, 1)
      expect(yield* scanKeys(store, 0n, 0n)).toEqual([at(9n)])
    }))

  it("the tombstone and live counts always agree with a scan, through merges, removeRange and purge", () => {
    const op = fc.oneof(
      { arbitrary: fc.record({ op: fc.constant("merge" as const), at: fc.bigInt({ min: 0n, max: 7n }), hlc: fc.bigInt({ min: 0n, max: 9n }), live: fc.boolean() }), weight: 6 },
      { arbitrary: fc.record({ op: fc.constant("removeRange" as const), start: fc.bigInt({ min: 0n, max: 7n }), end: fc.bigInt({ min: 0n, max: 7n }) }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant("purge" as const), before: fc.bigInt({ min: 0n, max: 10n }) }), weight: 1 }
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) =>
        Effect.runSync(Effect.gen(function*() {
          const store = yield* placed
          for (const o of ops) {
            if (o.op === "merge") yield* write(store, at(o.at), o.live ? "v" : undefined, o.hlc)
            else if (o.op === "removeRange") yield* store.removeRange(p(o.start), p(o.end))
            else yield* store.purge(o.before)
            const all = yield* Stream.runCollect(store.scan(p(0n), p(0n)))
            assert.strictEqual(yield* store.tombstones, all.filter((e) => e.value === undefined).length)
            assert.strictEqual(yield* store.count(p(0n), p(0n)), all.filter((e) => e.value !== undefined).length)
            const live = all.filter((e) => e.value !== undefined && Interval.inHalfOpen(placedAt(e.key), p(2n), p(6n)))
            assert.strictEqual(yield* store.count(p(2n), p(6n)), live.length)
          }
        }))),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("memory Storage: ranges", () => {
  // Positions spread over the ring, including both ends and the points next to them.
  const positions = [0n, 1n, 5n, 100n, 1n << 32n, 1n << 63n, (1n << 63n) + 1n, MAX - 100n, MAX - 1n, MAX]

  const fill = Effect.gen(function*() {
    const store = yield* placed
    // Written in a scrambled order so ordering comes from the store, not from insertion.
    for (const n of [...positions].reverse()) yield* write(store, at(n), `v${n}`, 1n)
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
      // Values and versions come with their keys.
      const entries = yield* Stream.runCollect(store.scan(p(MAX - 1n), p(1n)))
      expect(entries.map((e) => [text(e.key), valueText(e.value), e.version.hlc])).toEqual([
        [at(MAX - 1n), `v${MAX - 1n}`, 1n],
        [at(MAX), `v${MAX}`, 1n],
        [at(0n), "v0", 1n]
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

  it.effect("scan keeps tombstones in ring order among live entries; count skips them", () =>
    Effect.gen(function*() {
      const store = yield* fill
      for (const n of [MAX, 1n, 100n]) yield* write(store, at(n), undefined, 2n)
      expect(yield* scanKeys(store, MAX - 100n, 101n)).toEqual([at(MAX - 100n), at(MAX - 1n), at(MAX), at(0n), at(1n), at(5n), at(100n)])
      assert.strictEqual(yield* store.count(p(MAX - 100n), p(101n)), 4)
      assert.strictEqual(yield* store.count(p(0n), p(0n)), positions.length - 3)
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
      assert.strictEqual(yield* empty.tombstones, 0)
      assert.strictEqual(yield* empty.purge(1000n), 0)
    }))

  it.effect("removeRange removes exactly the range, wrapping, and returns how many", () =>
    Effect.gen(function*() {
      const store = yield* fill
      assert.strictEqual(yield* store.removeRange(p(MAX - 1n), p(100n)), 5)
      expect(yield* scanKeys(store, 0n, 0n)).toEqual([at(100n), at(1n << 32n), at(1n << 63n), at((1n << 63n) + 1n), at(MAX - 100n)])
      for (const n of [MAX - 1n, MAX, 0n, 1n, 5n]) assert.isTrue(Option.isNone(yield* store.lookup(bytes(at(n)))))
      assert.strictEqual(textOpt(yield* store.get(bytes(at(100n)))), "v100")
      // Removing it again finds nothing.
      assert.strictEqual(yield* store.removeRange(p(MAX - 1n), p(100n)), 0)
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 5)
      // A removed key takes any version again: nothing remembers it.
      assert.isTrue((yield* write(store, at(0n), "back", 0n)).applied)
      assert.strictEqual(yield* store.removeRange(p(7n), p(7n)), 6, "equal ends remove everything")
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 0)
    }))

  it.effect("with real hashing, count and scan agree with Position.position", () =>
    Effect.gen(function*() {
      const store = yield* Storage.makeMemory
      const keys = Array.from({ length: 300 }, (_, i) => `key-${i}`)
      for (const k of keys) yield* write(store, k, k.toUpperCase(), 1n)
      const start = p(1n << 62n)
      const end = p(3n << 62n)
      const inRange = keys.filter((k) => Interval.inHalfOpen(Position.position(k), start, end))
      assert.isAbove(inRange.length, 50)
      assert.isBelow(inRange.length, 250)
      const entries = yield* Stream.runCollect(store.scan(start, end))
      expect(entries.map((e) => text(e.key)).sort()).toEqual([...inRange].sort())
      const ps = entries.map((e) => Position.position(e.key))
      for (let i = 1; i < ps.length; i++) assert.isTrue(ps[i - 1]! <= ps[i]!, "ring order")
      for (const e of entries) assert.strictEqual(valueText(e.value), text(e.key).toUpperCase())
      // The other half wraps around 0.
      assert.strictEqual(yield* store.count(end, start), keys.length - inRange.length)
      assert.strictEqual(yield* store.removeRange(start, end), inRange.length)
      assert.strictEqual(yield* store.count(p(0n), p(0n)), keys.length - inRange.length)
    }))
})

describe("memory Storage: colliding positions", () => {
  const colliding = Storage.makeMemoryWith(() => Position.make(42n))

  it.effect("two different keys at the same position keep separate entries", () =>
    Effect.gen(function*() {
      const store = yield* colliding
      assert.isTrue(Option.isNone((yield* write(store, "alpha", "A", 1n)).previous))
      assert.isTrue(Option.isNone((yield* write(store, "beta", "B", 1n)).previous), "beta does not see alpha's entry")
      assert.strictEqual(textOpt(yield* store.get(bytes("alpha"))), "A")
      assert.strictEqual(textOpt(yield* store.get(bytes("beta"))), "B")
      assert.strictEqual(yield* store.count(p(42n), p(43n)), 2)
      // Overwriting one returns its own previous value only.
      assert.strictEqual(previousText(yield* write(store, "beta", "B2", 2n)), "B")
      assert.strictEqual(textOpt(yield* store.get(bytes("alpha"))), "A")
      // A version held by one key does not block the other.
      assert.isTrue((yield* write(store, "alpha", "A1", 2n)).applied)
      // Deleting one leaves the other.
      assert.strictEqual(previousText(yield* write(store, "alpha", undefined, 3n)), "A1")
      assert.strictEqual(textOpt(yield* store.get(bytes("beta"))), "B2")
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 1)
      assert.strictEqual(yield* store.tombstones, 1)
    }))

  it.effect("a scan returns every colliding key, ordered by key bytes", () =>
    Effect.gen(function*() {
      const store = yield* colliding
      for (const k of ["m", "b", "zz", "a", "ab"]) yield* write(store, k, k, 1n)
      yield* write(store, "b", undefined, 2n)
      expect(yield* scanKeys(store, 42n, 43n)).toEqual(["a", "ab", "b", "m", "zz"])
      expect(yield* scanKeys(store, 43n, 42n), "range ending at 42 excludes 42").toEqual([])
      assert.strictEqual(yield* store.removeRange(p(40n), p(43n)), 5)
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 0)
      assert.strictEqual(yield* store.tombstones, 0)
    }))
})

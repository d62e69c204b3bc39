/**
 * The `Store` contract, checked against both implementations: the memory store and the durable
 * (LMDB) store. Versioned merges (last writer wins, in any order of arrival), tombstones and
 * their purge, keys compared by bytes, and ranges on the ring (wrapping, in ring order).
 *
 * A few tests place keys at chosen positions (the ends of the ring, colliding positions) with
 * `makeMemoryWith`; the durable store always uses the real hash, so those stay memory-only.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Address } from "@crustyring/protocol"
import { Interval, Position } from "@crustyring/ring"
import { Effect, Option, type Scope, Stream } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DurableStorage, Storage } from "../src/index.ts"
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

const scanKeys = (store: Storage.Store, start: bigint, end: bigint) =>
  Effect.map(Stream.runCollect(store.scan(p(start), p(end))), (entries) => entries.map((e) => text(e.key)))

/** A fresh temporary directory, removed with everything in it when the scope closes. */
const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "crusty-storage-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Opens a fresh store; it (and its directory, if any) goes away with the scope. */
type MakeStore = Effect.Effect<Storage.Store, DurableStorage.DataDirError, Scope.Scope>

/** The durable store in a fresh directory. The directory is released last, after the store closes. */
const durable: MakeStore = Effect.flatMap(
  tempDir,
  (dir) => DurableStorage.make({ dir, address: Address.unsafeMake("127.0.0.1:7000") })
)

/** Each store, and how many runs its property tests get (every durable write is an fsync). */
const stores: ReadonlyArray<readonly [name: string, make: MakeStore, numRuns: number]> = [
  ["memory", Storage.makeMemory, NUM_RUNS],
  ["durable", durable, NUM_RUNS / 2]
]

/**
 * Runs a fast-check property whose body is an effect, for stores whose operations may be
 * asynchronous. Each run gets its own scope, so a store opened in it is closed after the run.
 */
const checkProperty = <T>(
  arb: fc.Arbitrary<T>,
  body: (value: T) => Effect.Effect<void, unknown, Scope.Scope>,
  numRuns: number
) =>
  Effect.promise(() =>
    fc.assert(fc.asyncProperty(arb, (value) => Effect.runPromise(Effect.scoped(body(value)))), { numRuns })
  )

/** `n` keys hashed by the real position function, sorted by position (no two collide). */
const ringKeys = (n: number, prefix = "key-"): ReadonlyArray<{ readonly key: string; readonly at: Position.Position }> =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`)
    .map((key) => ({ key, at: Position.position(key) }))
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))

/** Written from the spec: the keys whose position lies in [start, end), wrapping, in clockwise order from start. */
const expectedKeys = (keys: ReadonlyArray<string>, start: bigint, end: bigint): Array<string> =>
  keys
    .filter((k) => Interval.inHalfOpen(Position.position(k), p(start), p(end)))
    .sort((a, b) => {
      const da = Interval.distance(p(start), Position.position(a))
      const db = Interval.distance(p(start), Position.position(b))
      return da < db ? -1 : da > db ? 1 : Buffer.compare(bytes(a), bytes(b))
    })

for (const [name, makeStore, numRuns] of stores) {
  describe(`${name} Storage: point operations`, () => {
    it.effect("merge returns the entry held before and whether it applied", () =>
      Effect.gen(function*() {
        const store = yield* makeStore
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
        const store = yield* makeStore
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
        const store = yield* makeStore
        yield* write(store, "a", "new", 20n, 1n)
        assert.isFalse((yield* write(store, "a", "old", 19n, 99n)).applied, "older hlc, greater writer")
        assert.strictEqual(textOpt(yield* store.get(bytes("a"))), "new")
        assert.isFalse((yield* write(store, "a", "low-writer", 20n, 0n)).applied)
        assert.isTrue((yield* write(store, "a", "high-writer", 20n, 2n)).applied)
        assert.strictEqual(textOpt(yield* store.get(bytes("a"))), "high-writer")
      }))

    it.effect("versions use the full 64 bits of timestamp and writer", () =>
      Effect.gen(function*() {
        const store = yield* makeStore
        const top = (1n << 64n) - 1n
        yield* write(store, "a", "1", top - 1n, top)
        assert.isTrue((yield* write(store, "a", "2", top, 0n)).applied)
        assert.isTrue((yield* write(store, "a", "3", top, top)).applied)
        assert.deepStrictEqual(Option.getOrThrow(yield* store.lookup(bytes("a"))).version, ver(top, top))
        assert.isFalse((yield* write(store, "a", "4", top, top - 1n)).applied)
      }))

    it.effect("concurrent merges of one key are atomic: each compares with what it replaces", () =>
      Effect.gen(function*() {
        const store = yield* makeStore
        // Versions 0..59 in a scrambled order, all in flight at once.
        const hlcs = Array.from({ length: 60 }, (_, i) => BigInt((i * 37) % 60))
        const results = yield* Effect.forEach(hlcs, (hlc) => write(store, "a", `v${hlc}`, hlc), { concurrency: "unbounded" })
        for (const [i, m] of results.entries()) {
          const previous = Option.getOrUndefined(m.previous)?.version.hlc
          if (m.applied) assert.isTrue(previous === undefined || previous < hlcs[i]!, "applied over an older version")
          else assert.isTrue(previous !== undefined && previous >= hlcs[i]!, "refused by an equal or newer version")
        }
        // The applied merges form one chain: each replaced the one applied before it.
        const applied = results.filter((m) => m.applied)
        expect(applied.filter((m) => Option.isNone(m.previous)).length).toBe(1)
        const replaced = applied.flatMap((m) => Option.toArray(m.previous).map((e) => e.version.hlc))
        expect(new Set(replaced).size).toBe(replaced.length)
        assert.strictEqual(textOpt(yield* store.get(bytes("a"))), "v59")
        assert.strictEqual(yield* store.count(p(0n), p(0n)), 1)
      }))

    it.effect("keys are compared by bytes, not by the caller's buffer", () =>
      Effect.gen(function*() {
        const store = yield* makeStore
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
        const store = yield* makeStore
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

  describe(`${name} Storage: last writer wins in any order`, () => {
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

    it.effect("any permutation ends with the greatest version, and a merge applies exactly when it beats all before it", () =>
      checkProperty(permuted, ([ws, order]) =>
        Effect.gen(function*() {
          const max = ws.reduce((a, b) => (Version.compare(ver(a.hlc, a.writer), ver(b.hlc, b.writer)) >= 0 ? a : b))
          const store = yield* makeStore
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
        }), numRuns))

    it.effect("replicas that receive the same writes in different orders hold the same entries", () => {
      const keyed = fc.array(
        fc.record({
          key: fc.constantFrom("a", "b", "c", "d"),
          hlc: fc.bigInt({ min: 0n, max: 5n }),
          writer: fc.bigInt({ min: 0n, max: 2n }),
          live: fc.boolean()
        }),
        { maxLength: 30 }
      ).chain((ws) => fc.tuple(fc.constant(ws), fc.shuffledSubarray(ws, { minLength: ws.length, maxLength: ws.length })))
      type Writes = ReadonlyArray<{ key: string; hlc: bigint; writer: bigint; live: boolean }>
      const contents = (list: Writes) =>
        Effect.gen(function*() {
          const store = yield* makeStore
          // The value depends on the version only, as it does for real writes.
          for (const w of list) yield* write(store, w.key, w.live ? `v${w.hlc}/${w.writer}` : undefined, w.hlc, w.writer)
          const entries = yield* Stream.runCollect(store.scan(p(0n), p(0n)))
          return entries.map((e) => [text(e.key), valueText(e.value), e.version.hlc, e.version.writer] as const)
        })
      return checkProperty(keyed, ([ws, order]) =>
        Effect.gen(function*() {
          // Equal versions of one key with different liveness are not real writes: drop such pairs.
          const seen = new Map<string, boolean>()
          for (const w of ws) {
            const id = `${w.key}/${w.hlc}/${w.writer}`
            if (seen.has(id) && seen.get(id) !== w.live) return
            seen.set(id, w.live)
          }
          // Two replicas, each with its own store.
          expect(yield* contents(order)).toEqual(yield* contents(ws))
        }), numRuns)
    })
  })

  describe(`${name} Storage: the synchronous fast path`, () => {
    it.effect("lookupSync and mergeSync, where a store has them, agree with lookup and merge", () => {
      const ops = fc.array(
        fc.record({
          key: fc.constantFrom("a", "b", "c"),
          hlc: fc.bigInt({ min: 0n, max: 5n }),
          live: fc.boolean(),
          sync: fc.boolean()
        }),
        { maxLength: 25 }
      )
      return checkProperty(ops, (list) =>
        Effect.gen(function*() {
          const store = yield* makeStore
          // The memory store has both; the durable one reads synchronously but commits a write.
          assert.isDefined(store.lookupSync)
          assert.strictEqual(store.mergeSync !== undefined, !store.durable)
          const twin = yield* Storage.makeMemory
          for (const w of list) {
            const entry = { key: bytes(w.key), value: w.live ? bytes(`v${w.hlc}`) : undefined, version: ver(w.hlc) }
            const merged = w.sync && store.mergeSync ? store.mergeSync(entry) : yield* store.merge(entry)
            const expected = yield* twin.merge(entry)
            assert.strictEqual(merged.applied, expected.applied)
            assert.deepStrictEqual(Option.getOrUndefined(merged.previous)?.version, Option.getOrUndefined(expected.previous)?.version)
            for (const key of ["a", "b", "c"]) {
              const now = store.lookupSync!(bytes(key))
              const later = yield* store.lookup(bytes(key))
              assert.isDefined(now)
              assert.deepStrictEqual(Option.map(now!, (e) => [text(e.key), valueText(e.value), e.version]), Option.map(later, (e) => [text(e.key), valueText(e.value), e.version]))
            }
          }
          assert.strictEqual(yield* store.tombstones, yield* twin.tombstones)
          assert.strictEqual(yield* store.count(p(0n), p(0n)), yield* twin.count(p(0n), p(0n)))
        }), numRuns / 4)
    })
  })

  describe(`${name} Storage: tombstones`, () => {
    it.effect("a tombstone hides the value from get and count, but lookup and scan return it", () =>
      Effect.gen(function*() {
        const store = yield* makeStore
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
        const store = yield* makeStore
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
        const store = yield* makeStore
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

    it.effect("discard removes an entry only at the version given: one merged since stays", () =>
      Effect.gen(function*() {
        const store = yield* makeStore
        yield* write(store, "handed", "old", 1n)
        yield* write(store, "overtaken", "old", 1n)
        yield* write(store, "gone-tomb", undefined, 1n)
        const handed = yield* Stream.runCollect(store.scan(p(0n), p(0n)))
        // A newer write of one of them arrives after the scan, before the discard.
        yield* write(store, "overtaken", "new", 2n)
        assert.strictEqual(yield* store.discard([...handed]), 2)
        assert.isTrue(Option.isNone(yield* store.lookup(bytes("handed"))))
        assert.isTrue(Option.isNone(yield* store.lookup(bytes("gone-tomb"))))
        assert.strictEqual(textOpt(yield* store.get(bytes("overtaken"))), "new")
        assert.strictEqual(yield* store.tombstones, 0)
        assert.strictEqual(yield* store.discard([...handed]), 0, "nothing left at those versions")
      }))

    it.effect("purge keeps a tombstone overwritten after it was found", () =>
      Effect.gen(function*() {
        const store = yield* makeStore
        yield* write(store, "t", undefined, 1n)
        assert.strictEqual(yield* store.purge(5n), 1)
        yield* write(store, "u", undefined, 1n)
        yield* write(store, "u", "alive", 2n)
        assert.strictEqual(yield* store.purge(5n), 0)
        assert.strictEqual(textOpt(yield* store.get(bytes("u"))), "alive")
      }))

    it.effect("removeRange counts tombstones too and forgets them", () =>
      Effect.gen(function*() {
        const store = yield* makeStore
        const [k0, k1, k2, k3] = ringKeys(4)
        yield* write(store, k0!.key, "a", 1n)
        yield* write(store, k1!.key, undefined, 1n)
        yield* write(store, k2!.key, undefined, 1n)
        yield* write(store, k3!.key, undefined, 1n)
        assert.strictEqual(yield* store.removeRange(k0!.at, k3!.at), 3)
        assert.strictEqual(yield* store.tombstones, 1)
        expect(yield* scanKeys(store, 0n, 0n)).toEqual([k3!.key])
        // The removed tombstones are forgotten: an old write of their key applies again.
        assert.isTrue((yield* write(store, k1!.key, "back", 0n)).applied)
      }))

    it.effect("the tombstone and live counts always agree with a scan, through merges, removeRange and purge", () => {
      // Eight real keys in ring order; ranges run between their positions.
      const keys = ringKeys(8)
      const op = fc.oneof(
        { arbitrary: fc.record({ op: fc.constant("merge" as const), at: fc.nat(7), hlc: fc.bigInt({ min: 0n, max: 9n }), live: fc.boolean() }), weight: 6 },
        { arbitrary: fc.record({ op: fc.constant("removeRange" as const), start: fc.nat(7), end: fc.nat(7) }), weight: 1 },
        { arbitrary: fc.record({ op: fc.constant("purge" as const), before: fc.bigInt({ min: 0n, max: 10n }) }), weight: 1 }
      )
      return checkProperty(fc.array(op, { maxLength: 40 }), (ops) =>
        Effect.gen(function*() {
          const store = yield* makeStore
          for (const o of ops) {
            if (o.op === "merge") yield* write(store, keys[o.at]!.key, o.live ? "v" : undefined, o.hlc)
            else if (o.op === "removeRange") yield* store.removeRange(keys[o.start]!.at, keys[o.end]!.at)
            else yield* store.purge(o.before)
            const all = yield* Stream.runCollect(store.scan(p(0n), p(0n)))
            assert.strictEqual(yield* store.tombstones, all.filter((e) => e.value === undefined).length)
            assert.strictEqual(yield* store.count(p(0n), p(0n)), all.filter((e) => e.value !== undefined).length)
            const live = all.filter((e) =>
              e.value !== undefined && Interval.inHalfOpen(Position.position(e.key), keys[2]!.at, keys[6]!.at)
            )
            assert.strictEqual(yield* store.count(keys[2]!.at, keys[6]!.at), live.length)
          }
        }), numRuns)
    })
  })

  describe(`${name} Storage: ranges`, () => {
    const keys = ringKeys(40)
    const names = keys.map((k) => k.key)

    const fill = Effect.gen(function*() {
      const store = yield* makeStore
      // Written in a scrambled order so ordering comes from the store, not from insertion.
      for (const [i, k] of [...keys].entries()) if (i % 2 === 0) yield* write(store, k.key, `v-${k.key}`, 1n)
      for (const [i, k] of [...keys].reverse().entries()) if (i % 2 === 0) yield* write(store, k.key, `v-${k.key}`, 1n)
      return store
    })

    it.effect("scan agrees with the spec on many ranges, wrapping or not, bounded at, before and after keys", () =>
      Effect.gen(function*() {
        const store = yield* fill
        assert.strictEqual(yield* store.count(p(0n), p(0n)), keys.length)
        const near = [0, 1, 17, 38, 39].flatMap((i) => [keys[i]!.at, Position.wrap(keys[i]!.at - 1n), Position.wrap(keys[i]!.at + 1n)])
        const bounds = [0n, 1n, 1n << 63n, MAX - 1n, MAX, ...near]
        for (const start of bounds) {
          for (const end of bounds) {
            expect(yield* scanKeys(store, start, end), `[${start}, ${end})`).toEqual(expectedKeys(names, start, end))
            assert.strictEqual(yield* store.count(p(start), p(end)), expectedKeys(names, start, end).length, `count [${start}, ${end})`)
          }
        }
      }))

    it.effect("a wrapping scan returns values and versions with their keys, in ring order", () =>
      Effect.gen(function*() {
        const store = yield* fill
        yield* write(store, keys[0]!.key, undefined, 2n)
        const entries = yield* Stream.runCollect(store.scan(keys[38]!.at, keys[2]!.at))
        expect(entries.map((e) => [text(e.key), valueText(e.value), e.version.hlc])).toEqual([
          [keys[38]!.key, `v-${keys[38]!.key}`, 1n],
          [keys[39]!.key, `v-${keys[39]!.key}`, 1n],
          [keys[0]!.key, undefined, 2n],
          [keys[1]!.key, `v-${keys[1]!.key}`, 1n]
        ])
        assert.strictEqual(yield* store.count(keys[38]!.at, keys[2]!.at), 3, "count skips the tombstone")
      }))

    it.effect("an empty range or empty store scans nothing", () =>
      Effect.gen(function*() {
        const store = yield* fill
        const gap = Position.wrap(keys[3]!.at + 1n)
        expect(yield* scanKeys(store, gap, keys[4]!.at)).toEqual([])
        assert.strictEqual(yield* store.count(gap, keys[4]!.at), 0)
        assert.strictEqual(yield* store.removeRange(gap, keys[4]!.at), 0)
        const empty = yield* makeStore
        expect(yield* scanKeys(empty, 0n, 0n)).toEqual([])
        expect(yield* scanKeys(empty, MAX, 5n)).toEqual([])
        assert.strictEqual(yield* empty.count(p(0n), p(0n)), 0)
        assert.strictEqual(yield* empty.removeRange(p(0n), p(0n)), 0)
        assert.strictEqual(yield* empty.tombstones, 0)
        assert.strictEqual(yield* empty.purge(1000n), 0)
      }))

    it.effect("removeRange removes exactly the range, wrapping, and returns how many", () =>
      Effect.gen(function*() {
        const store = yield* fill
        assert.strictEqual(yield* store.removeRange(keys[30]!.at, keys[5]!.at), 15)
        expect(yield* scanKeys(store, 0n, 0n)).toEqual(names.slice(5, 30))
        for (const k of [...keys.slice(30), ...keys.slice(0, 5)]) assert.isTrue(Option.isNone(yield* store.lookup(bytes(k.key))))
        assert.strictEqual(textOpt(yield* store.get(bytes(keys[5]!.key))), `v-${keys[5]!.key}`)
        // Removing it again finds nothing.
        assert.strictEqual(yield* store.removeRange(keys[30]!.at, keys[5]!.at), 0)
        assert.strictEqual(yield* store.count(p(0n), p(0n)), 25)
        // A removed key takes any version again: nothing remembers it.
        assert.isTrue((yield* write(store, keys[0]!.key, "back", 0n)).applied)
        assert.strictEqual(yield* store.removeRange(p(7n), p(7n)), 26, "equal ends remove everything")
        assert.strictEqual(yield* store.count(p(0n), p(0n)), 0)
      }))

    it.effect("with real hashing, count and scan agree with Position.position", () =>
      Effect.gen(function*() {
        const store = yield* makeStore
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
        expect(yield* scanKeys(store, end, start)).toEqual(expectedKeys(keys, end, start))
        assert.strictEqual(yield* store.removeRange(start, end), inRange.length)
        assert.strictEqual(yield* store.count(p(0n), p(0n)), keys.length - inRange.length)
      }))
  })
}

/**
 * Memory only: these place keys at chosen positions with `makeMemoryWith` (at the very ends of
 * the ring, next to the wrap-around point), which real hashing cannot do. The durable store
 * always positions keys with the real hash; its wrapping scans are covered above and in
 * DurableStorage.test.ts.
 *
 * A store whose keys say where they sit: "k<n>" and "k<n>/<suffix>" are at position n.
 */
const placedAt = (key: Uint8Array) => p(BigInt(text(key).slice(1).split("/")[0]!))
const placed = Storage.makeMemoryWith(placedAt)
const at = (n: bigint, suffix = ""): string => `k${n}${suffix === "" ? "" : `/${suffix}`}`

describe("memory Storage: ranges at exact positions", () => {
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

  it.effect("an empty range scans nothing", () =>
    Effect.gen(function*() {
      const store = yield* fill
      expect(yield* scanKeys(store, 2n, 5n)).toEqual([])
      assert.strictEqual(yield* store.count(p(2n), p(5n)), 0)
    }))

  it.effect("a model agrees on scans, counts and removals with enough keys for a deep ordered index", () => {
    // Positions crowd a few points (many keys each) and both ends of the ring, so ranges start
    // and end inside runs of equal positions; hundreds of keys make the index several levels deep.
    const position = fc.oneof(fc.bigInt({ min: 0n, max: 40n }), fc.constantFrom(MAX, MAX - 1n, 1n << 63n))
    const op = fc.oneof(
      { arbitrary: fc.record({ op: fc.constant("merge" as const), at: position, suffix: fc.nat(30), hlc: fc.bigInt({ min: 0n, max: 9n }), live: fc.boolean() }), weight: 20 },
      { arbitrary: fc.record({ op: fc.constant("removeRange" as const), start: position, end: position }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant("discard" as const), pick: fc.nat() }), weight: 2 },
      { arbitrary: fc.record({ op: fc.constant("purge" as const), before: fc.bigInt({ min: 0n, max: 10n }) }), weight: 1 }
    )
    const ranges = fc.array(fc.tuple(position, position), { minLength: 1, maxLength: 8 })
    return checkProperty(fc.tuple(fc.array(op, { minLength: 100, maxLength: 600 }), ranges), ([ops, rs]) =>
      Effect.gen(function*() {
        const store = yield* placed
        const model = new Map<string, { readonly at: bigint; readonly live: boolean; readonly hlc: bigint }>()
        const inRange = (n: bigint, start: bigint, end: bigint) => Interval.inHalfOpen(p(n), p(start), p(end))
        for (const o of ops) {
          if (o.op === "merge") {
            const key = at(o.at, String(o.suffix))
            yield* write(store, key, o.live ? "v" : undefined, o.hlc)
            const held = model.get(key)
            if (held === undefined || o.hlc > held.hlc) model.set(key, { at: o.at, live: o.live, hlc: o.hlc })
          } else if (o.op === "removeRange") {
            const gone = [...model].filter(([, e]) => inRange(e.at, o.start, o.end))
            assert.strictEqual(yield* store.removeRange(p(o.start), p(o.end)), gone.length)
            for (const [k] of gone) model.delete(k)
          } else if (o.op === "discard") {
            const keys = [...model.keys()]
            if (keys.length === 0) continue
            const key = keys[o.pick % keys.length]!
            const entry = Option.getOrThrow(yield* store.lookup(bytes(key)))
            assert.strictEqual(yield* store.discard([entry]), 1)
            model.delete(key)
          } else {
            const old = [...model].filter(([, e]) => !e.live && e.hlc < o.before)
            assert.strictEqual(yield* store.purge(o.before), old.length)
            for (const [k] of old) model.delete(k)
          }
        }
        // Clockwise from start; keys at one position by their bytes.
        const expectedIn = (start: bigint, end: bigint) =>
          [...model]
            .filter(([, e]) => inRange(e.at, start, end))
            .sort(([ka, a], [kb, b]) => {
              const da = Interval.distance(p(start), p(a.at))
              const db = Interval.distance(p(start), p(b.at))
              return da < db ? -1 : da > db ? 1 : Buffer.compare(bytes(ka), bytes(kb))
            })
        for (const [start, end] of [...rs, [0n, 0n] as const]) {
          const want = expectedIn(start, end)
          expect(yield* scanKeys(store, start, end), `[${start}, ${end})`).toEqual(want.map(([k]) => k))
          assert.strictEqual(yield* store.count(p(start), p(end)), want.filter(([, e]) => e.live).length, `count [${start}, ${end})`)
        }
        assert.strictEqual(yield* store.tombstones, [...model.values()].filter((e) => !e.live).length)
      }), 100)
  })

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
})

/**
 * Memory only: two keys at one position need a colliding position function. Real 64-bit hashes
 * do not collide in practice, and the durable store always uses the real one (its stored key is
 * position + key bytes, so it would keep colliding keys apart the same way).
 */
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

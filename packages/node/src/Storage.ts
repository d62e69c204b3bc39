/**
 * The node's local key-value store. Every entry carries a version, and a delete is kept as a
 * tombstone until its grace period ends, so replicas can tell old from new. Entries are ordered
 * by ring position, then by key bytes, so a range hand-off or repair is one scan. Keys are stored
 * whole: two keys at the same position never overwrite each other.
 */
import { Position } from "@crustyring/ring"
import { Context, Effect, Layer, Option, Schema, Stream } from "effect"
import { createRequire } from "node:module"
import * as Version from "./Version.ts"

/** One stored entry. `value` is undefined for a tombstone (a delete). */
export interface Entry {
  readonly key: Uint8Array
  readonly value: Uint8Array | undefined
  readonly version: Version.Version
}

/** What a merge did: the entry held before, and whether the offered one replaced it. */
export interface Merged {
  readonly previous: Option.Option<Entry>
  readonly applied: boolean
}

/** The store failed, e.g. a full or unwritable disk. */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  message: Schema.String
}) {}

/** Operations on the local store. Ranges are `[start, end)` on the ring, wrapping; equal ends mean the whole ring. */
export interface Store {
  /** The live value of a key: none when absent or deleted. */
  readonly get: (key: Uint8Array) => Effect.Effect<Option.Option<Uint8Array>, StorageError>
  /** The entry held for a key, tombstones included. */
  readonly lookup: (key: Uint8Array) => Effect.Effect<Option.Option<Entry>, StorageError>
  /** Stores the entry unless one with a greater or equal version is held. Atomic per key. */
  readonly merge: (entry: Entry) => Effect.Effect<Merged, StorageError>
  /** Entries (tombstones included) whose key position lies in the range, in ring order from `start`. */
  readonly scan: (start: Position.Position, end: Position.Position) => Stream.Stream<Entry, StorageError>
  /** Removes every entry in the range and returns how many there were. */
  readonly removeRange: (start: Position.Position, end: Position.Position) => Effect.Effect<number, StorageError>
  /**
   * Removes each of these entries only if the store still holds that very version, atomically
   * per entry: a newer one that arrived since it was read stays. Returns how many it removed.
   * For dropping copies that were handed on: a scan followed by `removeRange` would lose a write
   * merged between the two.
   */
  readonly discard: (entries: ReadonlyArray<Entry>) => Effect.Effect<number, StorageError>
  /** Number of live entries (not tombstones) in the range. */
  readonly count: (start: Position.Position, end: Position.Position) => Effect.Effect<number, StorageError>
  /** Number of tombstones held. */
  readonly tombstones: Effect.Effect<number, StorageError>
  /** Removes the tombstones written before the timestamp `before`; returns how many. */
  readonly purge: (before: bigint) => Effect.Effect<number, StorageError>
  /** The store outlives the process (a data directory): its keys are still there after a stop. */
  readonly durable?: boolean
  /**
   * `lookup`, answered synchronously, for the request fast path (see `Grpc.unaryFast`): the
   * entry, or `undefined` when the store cannot answer now (a read that failed), and the caller
   * takes the Effect path, which reports the failure. Absent where a store has no such read.
   */
  readonly lookupSync?: (key: Uint8Array) => Option.Option<Entry> | undefined
  /**
   * `merge`, done synchronously, for the fast path; absent where a write must wait (a durable
   * store's commit).
   */
  readonly mergeSync?: (entry: Entry) => Merged
}

/** The node's store. */
export class Storage extends Context.Service<Storage, Store>()("@crustyring/node/Storage") {}

/** Whether `offered` should replace `held`. */
export const newer = (offered: Entry, held: Option.Option<Entry>): boolean =>
  Option.isNone(held) || Version.compare(offered.version, held.value.version) > 0

/** Where a stored key sits in the store's order: ring position, then key bytes. */
interface Slot {
  readonly position: bigint
  /** The key bytes, one byte per char (latin1 strings compare as the bytes do). */
  readonly id: string
}

/**
 * One stored key, flat: a single object per key rather than slot, entry and version objects
 * and a copy of the key (the map key already holds the key's bytes, and `id` shares that
 * string). Entries are built from it when read. The same object is the map's value and the
 * ordered index's key.
 */
interface Rec extends Slot {
  value: Uint8Array | undefined
  hlc: bigint
  writer: bigint
}

/** The key bytes as a map key: one byte per char. */
const idOf = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1")

const entryOf = (key: Uint8Array, r: Rec): Entry => ({ key, value: r.value, version: { hlc: r.hlc, writer: r.writer } })

/** The key bytes back from a map key. */
const keyOf = (k: string): Uint8Array => Buffer.from(k, "latin1")

/** The store's order. */
const bySlot = (a: Slot, b: Slot): number =>
  a.position < b.position ? -1 : a.position > b.position ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0

/** The first slot at a position: no key sorts before the empty string. */
const at = (position: bigint): Slot => ({ position, id: "" })

/** Past every position on the ring. */
const PAST_END: Slot = at(1n << 64n)

// sorted-btree is CommonJS with its class on `default`; Node's and Vitest's ESM interop
// disagree on what a default import of it is, and `require` means the same in both.
const BTree: typeof import("sorted-btree").default = createRequire(import.meta.url)("sorted-btree").default

/**
 * An in-memory store: a hash map for point operations, and a B+ tree of the same records in
 * ring order, so a range scan, count or removal reads only the range (a process with many
 * virtual nodes scans many small ranges in every repair round and every leave).
 */
export const makeMemory: Effect.Effect<Store> = Effect.suspend(() => makeMemoryWith(Position.position))

/**
 * An in-memory store with its own position function. Tests pass a colliding one to show that
 * keys at the same position are kept apart.
 */
export const makeMemoryWith = (positionOf: (key: Uint8Array) => Position.Position): Effect.Effect<Store> =>
  Effect.sync(() => {
    const recs = new Map<string, Rec>()
    // A sorted set: every value is undefined.
    const index = new BTree<Slot, undefined>(undefined, bySlot)
    let tombstones = 0
    /** Calls `f` on the records in the range, in ring order from `start`. */
    const forRange = (start: Position.Position, end: Position.Position, f: (r: Rec) => void): void => {
      // Returns nothing: a callback's result other than undefined stops the B+ tree's walk.
      const each = (slot: Slot): void => {
        f(slot as Rec)
      }
      if (start < end) {
        index.forRange(at(start), at(end), false, each)
      } else {
        // Wrapping (or the whole ring when the ends are equal): from `start` to the top, then from 0.
        index.forRange(at(start), PAST_END, false, each)
        if (end > 0n) index.forRange(at(0n), at(end), false, each)
      }
    }
    const matching = (start: Position.Position, end: Position.Position): Array<Entry> => {
      const out: Array<Entry> = []
      forRange(start, end, (r) => out.push(entryOf(keyOf(r.id), r)))
      return out
    }
    const remove = (r: Rec): void => {
      if (r.value === undefined) tombstones--
      recs.delete(r.id)
      index.delete(r)
    }
    const lookup = (key: Uint8Array): Option.Option<Entry> => {
      const r = recs.get(idOf(key))
      // The caller's key has the same bytes as the stored one: no copy back from the map key.
      return r === undefined ? Option.none() : Option.some(entryOf(key, r))
    }
    const merge = (offered: Entry): Merged => {
      const k = idOf(offered.key)
      const r = recs.get(k)
      // The previous entry has the offered key's bytes; it goes back to the same caller.
      const previous = r === undefined ? Option.none<Entry>() : Option.some(entryOf(offered.key, r))
      if (r !== undefined && Version.compare(offered.version, r) <= 0) return { previous, applied: false }
      const { hlc, writer } = offered.version
      if (r) {
        if (r.value === undefined) tombstones--
        r.value = offered.value
        r.hlc = hlc
        r.writer = writer
      } else {
        const rec: Rec = { position: positionOf(offered.key), id: k, value: offered.value, hlc, writer }
        recs.set(k, rec)
        index.set(rec, undefined)
      }
      if (offered.value === undefined) tombstones++
      return { previous, applied: true }
    }
    return {
      get: (key) =>
        Effect.sync(() => {
          const value = recs.get(idOf(key))?.value
          return value === undefined ? Option.none() : Option.some(value)
        }),
      lookup: (key) => Effect.sync(() => lookup(key)),
      merge: (offered) => Effect.sync(() => merge(offered)),
      lookupSync: lookup,
      mergeSync: merge,
      scan: (start, end) => Stream.suspend(() => Stream.fromIterable(matching(start, end))),
      removeRange: (start, end) =>
        Effect.sync(() => {
          const found: Array<Rec> = []
          forRange(start, end, (r) => found.push(r))
          for (const r of found) remove(r)
          return found.length
        }),
      discard: (entries) =>
        Effect.sync(() => {
          let n = 0
          for (const e of entries) {
            const r = recs.get(idOf(e.key))
            if (!r || Version.compare(r, e.version) !== 0) continue
            remove(r)
            n++
          }
          return n
        }),
      count: (start, end) =>
        Effect.sync(() => {
          if (start === end) return recs.size - tombstones
          let n = 0
          forRange(start, end, (r) => {
            if (r.value !== undefined) n++
          })
          return n
        }),
      tombstones: Effect.sync(() => tombstones),
      purge: (before) =>
        Effect.sync(() => {
          const old: Array<Rec> = []
          for (const r of recs.values()) if (r.value === undefined && r.hlc < before) old.push(r)
          for (const r of old) remove(r)
          return old.length
        })
    }
  })

/** The in-memory store; the default. Its contents die with the process. */
export const layerMemory: Layer.Layer<Storage> = Layer.effect(Storage, makeMemory)

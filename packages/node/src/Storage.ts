/**
 * The node's local key-value store. Every entry carries a version, and a delete is kept as a
 * tombstone until its grace period ends, so replicas can tell old from new. Entries are ordered
 * by ring position, then by key bytes, so a range hand-off or repair is one scan. Keys are stored
 * whole: two keys at the same position never overwrite each other.
 */
import { Interval, Position } from "@crustyring/ring"
import { Context, Effect, Layer, Option, Schema, Stream } from "effect"
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

/**
 * One stored key, flat: a single object per key rather than slot, entry and version objects
 * and a copy of the key (the map key already holds the key's bytes). Entries are built from it
 * when read.
 */
interface Rec {
  readonly position: Position.Position
  value: Uint8Array | undefined
  hlc: bigint
  writer: bigint
}

/** The key bytes as a map key: one byte per char. */
const idOf = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1")

const entryOf = (key: Uint8Array, r: Rec): Entry => ({ key, value: r.value, version: { hlc: r.hlc, writer: r.writer } })

/** The key bytes back from a map key. */
const keyOf = (k: string): Uint8Array => Buffer.from(k, "latin1")

/**
 * An in-memory store: a hash map for point operations. Scans sort the matching entries, which
 * is fine for hand-offs and tests; a durable store keeps a real ordered index.
 */
export const makeMemory: Effect.Effect<Store> = Effect.suspend(() => makeMemoryWith(Position.position))

/**
 * An in-memory store with its own position function. Tests pass a colliding one to show that
 * keys at the same position are kept apart.
 */
export const makeMemoryWith = (positionOf: (key: Uint8Array) => Position.Position): Effect.Effect<Store> =>
  Effect.sync(() => {
    const recs = new Map<string, Rec>()
    let tombstones = 0
    const matching = (start: Position.Position, end: Position.Position): Array<Entry> => {
      const out: Array<[string, Rec]> = []
      for (const kr of recs) if (Interval.inHalfOpen(kr[1].position, start, end)) out.push(kr)
      // Ring order from `start`: positions at or after `start` first, then the wrapped part;
      // keys at one position by their bytes (latin1 strings compare as the bytes do).
      out.sort(([ka, a], [kb, b]) => {
        const da = Interval.distance(start, a.position)
        const db = Interval.distance(start, b.position)
        return da < db ? -1 : da > db ? 1 : ka < kb ? -1 : ka > kb ? 1 : 0
      })
      return out.map(([k, r]) => entryOf(keyOf(k), r))
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
        recs.set(k, { position: positionOf(offered.key), value: offered.value, hlc, writer })
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
          let n = 0
          for (const [k, r] of recs) {
            if (Interval.inHalfOpen(r.position, start, end)) {
              if (r.value === undefined) tombstones--
              recs.delete(k)
              n++
            }
          }
          return n
        }),
      discard: (entries) =>
        Effect.sync(() => {
          let n = 0
          for (const e of entries) {
            const k = idOf(e.key)
            const r = recs.get(k)
            if (!r || Version.compare(r, e.version) !== 0) continue
            if (r.value === undefined) tombstones--
            recs.delete(k)
            n++
          }
          return n
        }),
      count: (start, end) =>
        Effect.sync(() => {
          let n = 0
          for (const r of recs.values()) {
            if (r.value !== undefined && Interval.inHalfOpen(r.position, start, end)) n++
          }
          return n
        }),
      tombstones: Effect.sync(() => tombstones),
      purge: (before) =>
        Effect.sync(() => {
          let n = 0
          for (const [k, r] of recs) {
            if (r.value === undefined && r.hlc < before) {
              recs.delete(k)
              n++
            }
          }
          tombstones -= n
          return n
        })
    }
  })

/** The in-memory store; the default. Its contents die with the process. */
export const layerMemory: Layer.Layer<Storage> = Layer.effect(Storage, makeMemory)

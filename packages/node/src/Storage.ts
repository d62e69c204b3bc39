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
}

/** The node's store. */
export class Storage extends Context.Service<Storage, Store>()("@crustyring/node/Storage") {}

/** Whether `offered` should replace `held`. */
export const newer = (offered: Entry, held: Option.Option<Entry>): boolean =>
  Option.isNone(held) || Version.compare(offered.version, held.value.version) > 0

interface Slot {
  readonly position: Position.Position
  entry: Entry
}

const compareSlots = (a: Slot, b: Slot): number =>
  a.position < b.position ? -1 : a.position > b.position ? 1 : Buffer.compare(a.entry.key, b.entry.key)

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
    const slots = new Map<string, Slot>()
    let tombstones = 0
    const id = (key: Uint8Array) => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1")
    const matching = (start: Position.Position, end: Position.Position) => {
      const out = [...slots.values()].filter((s) => Interval.inHalfOpen(s.position, start, end))
      // Ring order from `start`: positions at or after `start` first, then the wrapped part.
      return out.sort((a, b) => {
        const da = Interval.distance(start, a.position)
        const db = Interval.distance(start, b.position)
        return da < db ? -1 : da > db ? 1 : compareSlots(a, b)
      })
    }
    const lookup = (key: Uint8Array) => Option.fromNullishOr(slots.get(id(key))?.entry)
    return {
      get: (key) => Effect.sync(() => Option.flatMap(lookup(key), (e) => Option.fromUndefinedOr(e.value))),
      lookup: (key) => Effect.sync(() => lookup(key)),
      merge: (offered) =>
        Effect.sync(() => {
          const k = id(offered.key)
          const slot = slots.get(k)
          const previous = Option.fromNullishOr(slot?.entry)
          if (!newer(offered, previous)) return { previous, applied: false }
          // Copy the key: the caller's buffer may be reused.
          const entry: Entry = { key: Uint8Array.from(offered.key), value: offered.value, version: offered.version }
          if (slot) {
            if (slot.entry.value === undefined) tombstones--
            slot.entry = entry
          } else {
            slots.set(k, { position: positionOf(offered.key), entry })
          }
          if (entry.value === undefined) tombstones++
          return { previous, applied: true }
        }),
      scan: (start, end) => Stream.suspend(() => Stream.fromIterable(matching(start, end).map((s) => s.entry))),
      removeRange: (start, end) =>
        Effect.sync(() => {
          let n = 0
          for (const [k, s] of slots) {
            if (Interval.inHalfOpen(s.position, start, end)) {
              if (s.entry.value === undefined) tombstones--
              slots.delete(k)
              n++
            }
          }
          return n
        }),
      discard: (entries) =>
        Effect.sync(() => {
          let n = 0
          for (const e of entries) {
            const k = id(e.key)
            const slot = slots.get(k)
            if (!slot || Version.compare(slot.entry.version, e.version) !== 0) continue
            if (slot.entry.value === undefined) tombstones--
            slots.delete(k)
            n++
          }
          return n
        }),
      count: (start, end) =>
        Effect.sync(() => {
          let n = 0
          for (const s of slots.values()) {
            if (s.entry.value !== undefined && Interval.inHalfOpen(s.position, start, end)) n++
          }
          return n
        }),
      tombstones: Effect.sync(() => tombstones),
      purge: (before) =>
        Effect.sync(() => {
          let n = 0
          for (const [k, s] of slots) {
            if (s.entry.value === undefined && s.entry.version.hlc < before) {
              slots.delete(k)
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

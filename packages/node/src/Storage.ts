/**
 * The node's local key-value store. Entries are ordered by ring position, then by key bytes, so
 * a range hand-off is one scan. Keys are stored whole: two keys at the same position never
 * overwrite each other.
 */
import { Interval, Position } from "@crustyring/ring"
import { Context, Effect, Layer, Option, Schema, Stream } from "effect"

/** One stored entry. */
export interface Entry {
  readonly key: Uint8Array
  readonly value: Uint8Array
}

/** The store failed, e.g. a full or unwritable disk. */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  message: Schema.String
}) {}

/** Operations on the local store. Ranges are `[start, end)` on the ring, wrapping; equal ends mean the whole ring. */
export interface Store {
  readonly get: (key: Uint8Array) => Effect.Effect<Option.Option<Uint8Array>, StorageError>
  /** Stores a value and returns the previous one. */
  readonly put: (key: Uint8Array, value: Uint8Array) => Effect.Effect<Option.Option<Uint8Array>, StorageError>
  /** Removes a key and returns the removed value. */
  readonly remove: (key: Uint8Array) => Effect.Effect<Option.Option<Uint8Array>, StorageError>
  /** Entries whose key position lies in the range, in ring order from `start`. */
  readonly scan: (start: Position.Position, end: Position.Position) => Stream.Stream<Entry, StorageError>
  /** Removes every entry in the range and returns how many there were. */
  readonly removeRange: (start: Position.Position, end: Position.Position) => Effect.Effect<number, StorageError>
  /** Number of entries in the range. */
  readonly count: (start: Position.Position, end: Position.Position) => Effect.Effect<number, StorageError>
}

/** The node's store. */
export class Storage extends Context.Service<Storage, Store>()("@crustyring/node/Storage") {}

interface Slot {
  readonly position: Position.Position
  readonly key: Uint8Array
  value: Uint8Array
}

const compareSlots = (a: Slot, b: Slot): number =>
  a.position < b.position ? -1 : a.position > b.position ? 1 : Buffer.compare(a.key, b.key)

/**
 * An in-memory store: a hash map for point operations. Scans sort the matching entries, which
 * is fine for hand-offs and tests; the durable store keeps a real ordered index.
 */
export const makeMemory: Effect.Effect<Store> = Effect.suspend(() => makeMemoryWith(Position.position))

/**
 * An in-memory store with its own position function. Tests pass a colliding one to show that
 * keys at the same position are kept apart.
 */
export const makeMemoryWith = (positionOf: (key: Uint8Array) => Position.Position): Effect.Effect<Store> =>
  Effect.sync(() => {
  const slots = new Map<string, Slot>()
  const id = (key: Uint8Array) => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1")
  const inRange = (start: Position.Position, end: Position.Position) => (s: Slot) =>
    Interval.inHalfOpen(s.position, start, end)
  const matching = (start: Position.Position, end: Position.Position) => {
    const out = [...slots.values()].filter(inRange(start, end))
    // Ring order from `start`: positions at or after `start` first, then the wrapped part.
    return out.sort((a, b) => {
      const da = Interval.distance(start, a.position)
      const db = Interval.distance(start, b.position)
      return da < db ? -1 : da > db ? 1 : compareSlots(a, b)
    })
  }
  return {
    get: (key) => Effect.sync(() => Option.fromNullishOr(slots.get(id(key))?.value)),
    put: (key, value) =>
      Effect.sync(() => {
        const k = id(key)
        const prev = slots.get(k)
        if (prev) {
          const old = prev.value
          prev.value = value
          return Option.some(old)
        }
        slots.set(k, { position: positionOf(key), key: Uint8Array.from(key), value })
        return Option.none()
      }),
    remove: (key) =>
      Effect.sync(() => {
        const k = id(key)
        const prev = slots.get(k)
        if (!prev) return Option.none()
        slots.delete(k)
        return Option.some(prev.value)
      }),
    scan: (start, end) =>
      Stream.suspend(() => Stream.fromIterable(matching(start, end).map((s) => ({ key: s.key, value: s.value })))),
    removeRange: (start, end) =>
      Effect.sync(() => {
        let n = 0
        for (const [k, s] of slots) {
          if (Interval.inHalfOpen(s.position, start, end)) {
            slots.delete(k)
            n++
          }
        }
        return n
      }),
    count: (start, end) =>
      Effect.sync(() => {
        let n = 0
        for (const s of slots.values()) if (Interval.inHalfOpen(s.position, start, end)) n++
        return n
      })
  }
})

/** The in-memory store; the default. Its contents die with the process. */
export const layerMemory: Layer.Layer<Storage> = Layer.effect(Storage, makeMemory)

/**
 * KeyValue: the original's Get/Set/Delete semantics, through the real `dht.DhtNode/QueryDht`
 * handlers of real nodes on the in-memory network. Set returns the previous value, Delete the
 * removed one, and a Get or Delete of a missing key answers "Key not present in database.".
 */
import { describe, expect, it } from "@effect/vitest"
import type { NodeConfig } from "@crustyring/node"
import { MemoryNetwork, type Wire } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Clock, Duration, Effect, Exit, Fiber, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"
import { DROP, FAST, flush, harness, held, keysOwnedBy, ownerOf, replicaSet, ringOf, sortedOf, startRing, text, bytes, withTime, type Harness, type Node } from "./Harness.ts"


/** A version as stored: (hlc, writer), compared in that order. `hlc` is milliseconds << 16 plus a counter. */
interface Version {
  readonly hlc: bigint
  readonly writer: bigint
}
const newerThan = (a: Version, b: Version) => a.hlc > b.hlc || (a.hlc === b.hlc && a.writer > b.writer)
const NOT_PRESENT = "Key not present in database."

/** The three operations at `at`, each returning the whole wire result. */
const ops = (h: Harness) => {
  const run = (at: Node, q: Wire.Query) => h.query(at.address, q)
  return {
    set: (at: Node, key: string, value: string) => run(at, { ty: "Set", key: bytes(key), value: bytes(value) }),
    get: (at: Node, key: string) => run(at, { ty: "Get", key: bytes(key) }),
    del: (at: Node, key: string) => run(at, { ty: "Delete", key: bytes(key) })
  }
}

describe("KeyValue", () => {
  it.effect("Set returns the previous value, Delete the removed one, and a missing key is the original's error", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness()
      const [a, b, c] = yield* startRing(h, 3)
      const { del, get, set } = ops(h)

      // A missing key: Get and Delete answer the original's error, in the result, not a status.
      const missing = yield* get(a!, "k")
      expect(missing.error).toBe(NOT_PRESENT)
      expect(missing.value).toBeUndefined()
      const deleteMissing = yield* del(b!, "k")
      expect(deleteMissing.error).toBe(NOT_PRESENT)
      expect(deleteMissing.value).toBeUndefined()

      // First Set: no previous value, no error.
      const first = yield* set(a!, "k", "one")
      expect(first.error).toBeUndefined()
      expect(first.value).toBeUndefined()
      expect(text((yield* get(c!, "k")).value)).toBe("one")

      // Second Set, through another node: the previous value.
      const second = yield* set(b!, "k", "two")
      expect(second.error).toBeUndefined()
      expect(text(second.value)).toBe("one")
      const got = yield* get(a!, "k")
      expect(got.error).toBeUndefined()
      expect(text(got.value)).toBe("two")

      // Delete: the removed value; the key is then missing again.
      const removed = yield* del(c!, "k")
      expect(removed.error).toBeUndefined()
      expect(text(removed.value)).toBe("two")
      for (const n of [a!, b!, c!]) expect((yield* get(n, "k")).error).toBe(NOT_PRESENT)
      expect((yield* del(a!, "k")).error).toBe(NOT_PRESENT)

      // A Set after a delete has no previous value.
      const again = yield* set(b!, "k", "three")
      expect(again.error).toBeUndefined()
      expect(again.value).toBeUndefined()
      expect(text((yield* get(c!, "k")).value)).toBe("three")
    }))

  it.effect("an empty value is a value: stored, read back and returned as the previous value", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness()
      const [a, b] = yield* startRing(h, 2)
      const { del, get, set } = ops(h)
      expect((yield* set(a!, "empty", "")).error).toBeUndefined()
      const got = yield* get(b!, "empty")
      expect(got.error).toBeUndefined()
      expect(got.value).toBeDefined()
      expect(got.value!.length).toBe(0)
      const replaced = yield* set(b!, "empty", "full")
      expect(replaced.value).toBeDefined()
      expect(replaced.value!.length).toBe(0)
      expect((yield* set(a!, "empty", "")).error).toBeUndefined()
      const removed = yield* del(a!, "empty")
      expect(removed.error).toBeUndefined()
      expect(removed.value?.length).toBe(0)
      expect((yield* get(a!, "empty")).error).toBe(NOT_PRESENT)
    }))

  it.effect("the owner coordinates: each write gets a newer version written by it, and a delete leaves a tombstone", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness()
      const nodes = yield* startRing(h, 4)
      const { del, set } = ops(h)
      const key = "versioned"
      const owner = ownerOf(nodes, key)
      const entry = nodes.find((n) => n !== owner)!
      const versions: Array<Version> = []
      const record = Effect.gen(function*() {
        const held = yield* owner.node.storage.lookup(bytes(key))
        expect(Option.isSome(held)).toBe(true)
        if (Option.isSome(held)) versions.push(held.value.version)
        return held
      })
      const writtenAt = yield* Clock.currentTimeMillis
      yield* set(entry, key, "a")
      yield* record
      yield* TestClock.adjust("1 millis")
      yield* set(entry, key, "b")
      yield* record
      // Two writes in the same millisecond still get increasing versions.
      yield* set(entry, key, "c")
      yield* record
      yield* del(entry, key)
      const tombstone = yield* record
      // The tombstone: an entry with no value, not a missing entry.
      expect(Option.map(tombstone, (e) => e.value)).toEqual(Option.some(undefined))
      expect(yield* owner.node.storage.get(bytes(key))).toEqual(Option.none())

      for (let i = 1; i < versions.length; i++) expect(newerThan(versions[i]!, versions[i - 1]!)).toBe(true)
      for (const v of versions) expect(v.writer).toBe(owner.node.self.id)
      // The clock is Effect's (TestClock here): the versions carry simulated time.
      expect(Number(versions[0]!.hlc >> 16n)).toBe(writtenAt)
    }))
})

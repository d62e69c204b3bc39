import { assert, describe, expect, it } from "@effect/vitest"
import type { Wire } from "@crustyring/protocol"
import { Effect, Option } from "effect"
import { NodeConfig, Query } from "../src/index.ts"

const KIB = 1024
const MIB = 1024 * 1024
const limits = { maxKeyBytes: NodeConfig.defaults.maxKeyBytes, maxValueBytes: NodeConfig.defaults.maxValueBytes }

/** A query as grpc-js hands it to the server (`Query__Output`). `ty` may be any number off the wire. */
const wire = (ty: Wire.OperationType__Output | number, key: Buffer, value?: Buffer): Wire.Query__Output =>
  (value === undefined ? { ty, key } : { ty, key, value }) as Wire.Query__Output

const invalid = (q: Wire.Query__Output | null, l: typeof limits = limits) =>
  Effect.gen(function*() {
    const e = yield* Effect.flip(Query.decode(q, l))
    assert.strictEqual(e._tag, "InvalidArgument")
    return e.message
  })

describe("Query.decode", () => {
  it("keeps the defaults the architecture names: 1 KiB keys, 1 MiB values", () => {
    assert.strictEqual(NodeConfig.defaults.maxKeyBytes, KIB)
    assert.strictEqual(NodeConfig.defaults.maxValueBytes, MIB)
  })

  it.effect("decodes the three operations", () =>
    Effect.gen(function*() {
      const key = Buffer.from("k")
      expect(yield* Query.decode(wire("Get", key), limits)).toEqual({ _tag: "Get", key })
      expect(yield* Query.decode(wire("Delete", key), limits)).toEqual({ _tag: "Delete", key })
      expect(yield* Query.decode(wire("Set", key, Buffer.from("v")), limits)).toEqual({
        _tag: "Set",
        key,
        value: Buffer.from("v")
      })
    }))

  it.effect("refuses a missing query", () =>
    Effect.gen(function*() {
      expect(yield* invalid(null)).toContain("missing")
    }))

  it.effect("refuses an empty key for every operation", () =>
    Effect.gen(function*() {
      for (const ty of ["Get", "Delete", "Set"] as const) {
        expect(yield* invalid(wire(ty, Buffer.alloc(0), Buffer.from("v")))).toContain("empty")
      }
    }))

  it.effect("accepts a key of exactly 1 KiB and refuses 1025 bytes, naming the limit", () =>
    Effect.gen(function*() {
      const ok = yield* Query.decode(wire("Get", Buffer.alloc(KIB, 1)), limits)
      assert.strictEqual(ok.key.length, KIB)
      for (const ty of ["Get", "Delete", "Set"] as const) {
        const message = yield* invalid(wire(ty, Buffer.alloc(KIB + 1, 1), Buffer.from("v")))
        expect(message).toContain("1 KiB")
        expect(message).toContain("1025")
      }
    }))

  it.effect("accepts a value of exactly 1 MiB and refuses one byte more, naming the limit", () =>
    Effect.gen(function*() {
      const ok = yield* Query.decode(wire("Set", Buffer.from("k"), Buffer.alloc(MIB, 2)), limits)
      assert.strictEqual(ok._tag, "Set")
      if (ok._tag === "Set") assert.strictEqual(ok.value.length, MIB)
      const message = yield* invalid(wire("Set", Buffer.from("k"), Buffer.alloc(MIB + 1, 2)))
      expect(message).toContain("1 MiB")
      expect(message).toContain(String(MIB + 1))
    }))

  it.effect("accepts an empty value: an empty value is a value", () =>
    Effect.gen(function*() {
      const q = yield* Query.decode(wire("Set", Buffer.from("k"), Buffer.alloc(0)), limits)
      expect(q).toEqual({ _tag: "Set", key: Buffer.from("k"), value: Buffer.alloc(0) })
    }))

  it.effect("refuses Set without a value", () =>
    Effect.gen(function*() {
      expect(yield* invalid(wire("Set", Buffer.from("k")))).toContain("needs a value")
    }))

  it.effect("refuses an unknown operation, naming it and the valid ones", () =>
    Effect.gen(function*() {
      for (const ty of [3, 7, -1]) {
        const message = yield* invalid(wire(ty, Buffer.from("k")))
        expect(message).toContain("unknown operation")
        expect(message).toContain(String(ty))
        expect(message).toContain("Get (0), Delete (1) or Set (2)")
      }
    }))

  it.effect("applies configured limits and names them in the message", () =>
    Effect.gen(function*() {
      const small = { maxKeyBytes: 4, maxValueBytes: 10 }
      yield* Query.decode(wire("Set", Buffer.from("abcd"), Buffer.alloc(10)), small)
      expect(yield* invalid(wire("Set", Buffer.from("abcd"), Buffer.alloc(11)), small)).toContain("10 bytes")
      expect(yield* invalid(wire("Get", Buffer.from("abcde")), small)).toContain("4 bytes")
      const large = { maxKeyBytes: 2 * KIB, maxValueBytes: 8 * MIB }
      yield* Query.decode(wire("Set", Buffer.alloc(2 * KIB), Buffer.alloc(MIB + 1)), large)
      expect(yield* invalid(wire("Get", Buffer.alloc(2 * KIB + 1)), large)).toContain("2 KiB")
      expect(yield* invalid(wire("Set", Buffer.from("k"), Buffer.alloc(8 * MIB + 1)), large)).toContain("8 MiB")
    }))
})

describe("Query.encode", () => {
  it.effect("puts a decoded query back on the wire unchanged", () =>
    Effect.gen(function*() {
      for (const q of [wire("Get", Buffer.from("k")), wire("Delete", Buffer.from("k")), wire("Set", Buffer.from("k"), Buffer.from("v"))]) {
        const encoded = Query.encode(yield* Query.decode(q, limits))
        expect(encoded).toEqual(q.value === undefined ? { ty: q.ty, key: q.key } : { ty: q.ty, key: q.key, value: q.value })
      }
    }))
})

describe("Query.toResult", () => {
  const key = Buffer.from("k")
  const get: Query.Query = { _tag: "Get", key }
  const del: Query.Query = { _tag: "Delete", key }
  const set: Query.Query = { _tag: "Set", key, value: Buffer.from("new") }
  const none = { value: Option.none<Uint8Array>() }
  const some = (s: string) => ({ value: Option.some<Uint8Array>(Buffer.from(s)) })

  it("Get or Delete of a missing key answers the original's error string, and no value", () => {
    assert.strictEqual(Query.KEY_NOT_PRESENT, "Key not present in database.")
    expect(Query.toResult(get, none, 0)).toEqual({ error: "Key not present in database.", hops: 0 })
    expect(Query.toResult(del, none, 2)).toEqual({ error: "Key not present in database.", hops: 2 })
  })

  it("Set with no previous value answers neither error nor value", () => {
    const r = Query.toResult(set, none, 1)
    expect(r).toEqual({ hops: 1 })
    assert.isUndefined(r.error)
    assert.isUndefined(r.value)
  })

  it("Get answers the value, Set the previous value, Delete the removed value; never an error", () => {
    for (const q of [get, set, del]) {
      const r = Query.toResult(q, some("old"), 3)
      assert.isUndefined(r.error, q._tag)
      expect(Buffer.from(r.value as Uint8Array).toString(), q._tag).toBe("old")
      assert.strictEqual(r.hops, 3)
    }
  })
})

import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as fc from "fast-check"
import { Position } from "../src/index.ts"
import { MAX, RING_SIZE, position } from "./arbitraries.ts"

const NUM_RUNS = 300

describe("Position constants", () => {
  it("RING_SIZE is 2^64 and MAX is 2^64-1", () => {
    expect(Position.RING_SIZE).toBe(18446744073709551616n)
    expect(Position.MAX).toBe(18446744073709551615n)
  })
})

describe("Position.position", () => {
  it("matches the published test vectors", () => {
    expect(Position.position("key")).toBe(0x2c70e12b7a0646f9n)
    expect(Position.position("777")).toBe(0xeaf89db7108470dcn)
  })

  it("nodeId matches the published test vector", () => {
    expect(Position.nodeId("127.0.0.1:50001")).toBe(0xc7eb349fed1a6c5bn)
  })

  it("hashes a string as its UTF-8 bytes", () => {
    expect(Position.position(new TextEncoder().encode("key"))).toBe(0x2c70e12b7a0646f9n)
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        expect(Position.position(new TextEncoder().encode(s))).toBe(Position.position(s))
        expect(Position.nodeId(s)).toBe(Position.position(s))
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("different inputs give different positions for the vectors", () => {
    expect(Position.position("key")).not.toBe(Position.position("777"))
    expect(Position.position("")).not.toBe(Position.position("\0"))
  })

  it("always lands on the ring", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const p = Position.position(bytes)
        expect(typeof p).toBe("bigint")
        expect(Position.isPosition(p)).toBe(true)
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("Position.toHex", () => {
  it("pads to 16 lowercase digits", () => {
    expect(Position.toHex(Position.make(0n))).toBe("0000000000000000")
    expect(Position.toHex(Position.make(1n))).toBe("0000000000000001")
    expect(Position.toHex(Position.make(0xabcn))).toBe("0000000000000abc")
    expect(Position.toHex(Position.make(MAX))).toBe("ffffffffffffffff")
    expect(Position.toHex(Position.position("key"))).toBe("2c70e12b7a0646f9")
  })

  it("round-trips through BigInt for any position", () => {
    fc.assert(
      fc.property(position, (p) => {
        const hex = Position.toHex(p)
        expect(hex).toMatch(/^[0-9a-f]{16}$/)
        expect(BigInt(`0x${hex}`)).toBe(p)
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("Position.parse", () => {
  it("rejects invalid strings", () => {
    for (const s of ["-1", "18446744073709551616", "abc", "", " 1", "1 ", "+1", "1.0", "1e3", "0x10", "99999999999999999999"]) {
      expect(Position.parse(s), JSON.stringify(s)).toBeUndefined()
    }
  })

  it("accepts the edges", () => {
    expect(Position.parse("18446744073709551615")).toBe(MAX)
    expect(Position.parse("18446744073709551614")).toBe(MAX - 1n)
    expect(Position.parse("0")).toBe(0n)
    expect(Position.parse("1")).toBe(1n)
  })

  it("round-trips the decimal form of any position", () => {
    fc.assert(
      fc.property(position, (p) => {
        expect(Position.parse(p.toString())).toBe(p)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("accepts a non-negative decimal exactly when it is below 2^64", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: RING_SIZE * 4n }), (n) => {
        const parsed = Position.parse(n.toString())
        if (n <= MAX) expect(parsed).toBe(n)
        else expect(parsed).toBeUndefined()
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("rejects every negative number", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -RING_SIZE, max: -1n }), (n) => {
        expect(Position.parse(n.toString())).toBeUndefined()
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("Position.make / isPosition / wrap", () => {
  it("make returns in-range values unchanged", () => {
    expect(Position.make(0n)).toBe(0n)
    expect(Position.make(MAX)).toBe(MAX)
    fc.assert(
      fc.property(position, (p) => {
        expect(Position.make(p)).toBe(p)
        expect(Position.isPosition(p)).toBe(true)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("make throws RangeError out of range", () => {
    expect(() => Position.make(-1n)).toThrow(RangeError)
    expect(() => Position.make(RING_SIZE)).toThrow(RangeError)
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ min: -(RING_SIZE * 2n), max: -1n }), fc.bigInt({ min: RING_SIZE, max: RING_SIZE * 2n })),
        (n) => {
          expect(Position.isPosition(n)).toBe(false)
          expect(() => Position.make(n)).toThrow(RangeError)
        }
      ),
      { numRuns: NUM_RUNS }
    )
  })

  it("wrap reduces modulo 2^64 into range", () => {
    expect(Position.wrap(-1n)).toBe(MAX)
    expect(Position.wrap(RING_SIZE)).toBe(0n)
    expect(Position.wrap(RING_SIZE + 5n)).toBe(5n)
    expect(Position.wrap(-RING_SIZE)).toBe(0n)
    fc.assert(
      fc.property(fc.bigInt({ min: -(RING_SIZE * 3n), max: RING_SIZE * 3n }), (n) => {
        const w = Position.wrap(n)
        expect(Position.isPosition(w)).toBe(true)
        expect((n - w) % RING_SIZE).toBe(0n)
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("Position schemas", () => {
  const decodeFromString = Schema.decodeUnknownSync(Position.PositionFromString)
  const decode = Schema.decodeUnknownSync(Position.Position)

  it("PositionFromString decodes decimal strings", () => {
    expect(decodeFromString("123")).toBe(123n)
    expect(decodeFromString("0")).toBe(0n)
    expect(decodeFromString("18446744073709551615")).toBe(MAX)
  })

  it("PositionFromString rejects out-of-range and non-numeric strings", () => {
    expect(() => decodeFromString("18446744073709551616")).toThrow()
    expect(() => decodeFromString("-1")).toThrow()
    expect(() => decodeFromString("abc")).toThrow()
    expect(() => decodeFromString(123)).toThrow()
  })

  it("PositionFromString encodes back to the decimal string", () => {
    const encode = Schema.encodeSync(Position.PositionFromString)
    fc.assert(
      fc.property(position, (p) => {
        expect(encode(p)).toBe(p.toString())
        expect(decodeFromString(p.toString())).toBe(p)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("Position schema checks the range of a bigint", () => {
    expect(decode(0n)).toBe(0n)
    expect(decode(MAX)).toBe(MAX)
    expect(() => decode(-1n)).toThrow()
    expect(() => decode(RING_SIZE)).toThrow()
    expect(() => decode("5")).toThrow()
  })
})

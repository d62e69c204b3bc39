import { assert, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Address } from "../src/index.ts"

/** The normalised address, or a test failure naming the error. */
const ok = (input: string): string => {
  const r = Address.normalize(input)
  if ("error" in r) throw new Error(`expected ${JSON.stringify(input)} to be accepted, got: ${r.error}`)
  return r.address
}

/** The error message, or a test failure naming the accepted address. */
const bad = (input: string): string => {
  const r = Address.normalize(input)
  if ("address" in r) throw new Error(`expected ${JSON.stringify(input)} to be refused, got ${r.address}`)
  return r.error
}

describe("Address.normalize", () => {
  it("keeps a plain host:port as is", () => {
    expect(ok("127.0.0.1:50001")).toBe("127.0.0.1:50001")
    expect(ok("localhost:7000")).toBe("localhost:7000")
    expect(ok("node-1.dht.svc.cluster.local:443")).toBe("node-1.dht.svc.cluster.local:443")
  })

  it("strips an http:// or https:// prefix, in any case, as the original client sent", () => {
    expect(ok("http://127.0.0.1:50001")).toBe("127.0.0.1:50001")
    expect(ok("https://example.com:8443")).toBe("example.com:8443")
    expect(ok("HTTP://Example.com:80")).toBe("Example.com:80")
  })

  it("strips a trailing slash and surrounding whitespace", () => {
    expect(ok("127.0.0.1:50001/")).toBe("127.0.0.1:50001")
    expect(ok("http://127.0.0.1:50001/")).toBe("127.0.0.1:50001")
    expect(ok("  localhost:7000 \n")).toBe("localhost:7000")
  })

  it("normalises the port: leading zeros dropped, so one node has one ID", () => {
    expect(ok("localhost:07000")).toBe("localhost:7000")
  })

  it("accepts the bracketed IPv6 form", () => {
    expect(ok("[::1]:50001")).toBe("[::1]:50001")
    expect(ok("http://[fe80::1:2]:7000/")).toBe("[fe80::1:2]:7000")
    expect(ok("[::ffff:127.0.0.1]:1")).toBe("[::ffff:127.0.0.1]:1")
  })

  it("accepts the extreme ports 1 and 65535", () => {
    expect(ok("h:1")).toBe("h:1")
    expect(ok("h:65535")).toBe("h:65535")
  })

  it("refuses a missing port or host with a message asking for host:port", () => {
    for (const input of ["nonsense", "", ":5000", "http://", "   "]) {
      expect(bad(input), input).toContain("host:port")
      expect(bad(input), input).toContain(JSON.stringify(input))
    }
  })

  it("refuses an out-of-range port, naming the range and the input", () => {
    for (const input of ["host:0", "host:65536", "host:99999"]) {
      const message = bad(input)
      expect(message, input).toContain("1-65535")
      expect(message, input).toContain(input)
    }
  })

  it("refuses a port that is not a number", () => {
    for (const input of ["host:abc", "host:", "host:-1", "host:123456", "host:1.5", "host:80 80"]) {
      expect(bad(input), input).toContain("invalid port")
    }
  })

  it("refuses a malformed host", () => {
    for (const input of ["-host:80", "host-:80", "ho st:80", "host_name:80", "a/b:80", "::1:80", "[zz::1]:80"]) {
      expect(bad(input), input).toContain("invalid host")
    }
  })
})

describe("Address.parse / unsafeMake", () => {
  it.effect("parse succeeds with the normalised address", () =>
    Effect.gen(function*() {
      const a = yield* Address.parse("http://localhost:7000/")
      expect(a).toBe("localhost:7000")
    }))

  it.effect("parse fails with InvalidAddress carrying the input and the reason", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(Address.parse("host:99999"))
      assert.strictEqual(e._tag, "InvalidAddress")
      assert.strictEqual(e.input, "host:99999")
      expect(e.message).toContain("1-65535")
    }))

  it("unsafeMake throws InvalidAddress on a bad address", () => {
    expect(Address.unsafeMake("https://h:9/")).toBe("h:9")
    expect(() => Address.unsafeMake("nonsense")).toThrow(/host:port/)
  })
})

describe("virtual-node addresses", () => {
  it("accepts host:port#i for i in 1..1023, with leading zeros dropped", () => {
    expect(ok("127.0.0.1:50001#3")).toBe("127.0.0.1:50001#3")
    expect(ok("http://h:7000#007/")).toBe("h:7000#7")
    expect(ok("[::1]:1#1023")).toBe("[::1]:1#1023")
  })

  it("refuses index 0 (the plain address is the first virtual node), out-of-range and non-numeric ones", () => {
    for (const input of ["h:1#0", "h:1#1024", "h:1#", "h:1#x", "h:1#-1", "h:1#1#2"]) {
      expect(bad(input), input).toContain("virtual node")
    }
  })

  it("names the process to call and the virtual node", () => {
    const a = Address.unsafeMake("10.0.0.5:7000#12")
    expect(Address.target(a)).toBe("10.0.0.5:7000")
    expect(Address.vnode(a)).toBe(12)
    expect(Address.vnode(Address.unsafeMake("10.0.0.5:7000"))).toBe(0)
    expect(Address.withVnode(a, 0)).toBe("10.0.0.5:7000")
    expect(Address.withVnode(Address.unsafeMake("10.0.0.5:7000"), 5)).toBe("10.0.0.5:7000#5")
  })
})

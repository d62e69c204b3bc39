/**
 * Bad command lines to the three binaries: each exits with the documented code and a clear
 * message, and none prints a stack trace. Needs no cluster.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type BinName, runBin, type RunResult, STACK_TRACE } from "./processes.ts"

const run = (name: BinName, args: ReadonlyArray<string>) => runBin(name, args, { timeout: "15 seconds" })

/**
 * How long `dht-client` takes to start and exit doing nothing (`--version`), measured now: the
 * part of a run's time that is the machine's, not the client's deadline.
 */
const startUpMillis = Effect.map(run("dht-client", ["--version"]), (r) => r.millis)

/** Checks the exit code, that the output says `says`, and that there is no stack trace. */
const expectRejected = (r: RunResult, code: number, says: RegExp) => {
  const output = `${r.stdout}\n${r.stderr}`
  expect(r.code, output).toBe(code)
  expect(output).toMatch(says)
  expect(r.stderr).not.toMatch(STACK_TRACE)
  expect(r.stdout).not.toMatch(STACK_TRACE)
}

describe.concurrent("dht: bad input", () => {
  it.live("--port abc exits 1 and names --port", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht", ["--port", "abc"]), 1, /--port/)
    }))

  it.live("an unknown flag exits 1 and names it", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht", ["--bogus"]), 1, /--bogus/)
    }))

  it.live("--registry with --join exits 1: mutually exclusive", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht", ["--registry", "a:1", "--join", "b:2"]), 1, /mutually exclusive/)
    }))

  it.live("--registry nonsense exits 1 naming the address problem", () =>
    Effect.gen(function*() {
      const r = yield* run("dht", ["--registry", "nonsense"])
      expectRejected(r, 1, /--registry/)
      expect(r.stderr).toMatch(/nonsense/)
      expect(r.stderr).toMatch(/host:port/)
    }))

  it.live("a port out of range exits 1, as a flag or as the positional port", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht", ["--port", "70000"]), 1, /0-65535/)
      expectRejected(yield* run("dht", ["70000"]), 1, /0-65535/)
    }))

  it.live("--vnodes outside 1..256, or an --advertise naming a virtual node, exits 1 naming the flag", () =>
    Effect.gen(function*() {
      for (const n of ["0", "257"]) {
        expectRejected(yield* run("dht", ["--port", "0", "--vnodes", n]), 1, /--vnodes must be a whole number from 1 to 256/)
      }
      expectRejected(yield* run("dht", ["--port", "0", "--advertise", "h:1#2"]), 1, /--advertise must be a plain host:port/)
    }))

  it.live("--read-repair-chance outside 0..1, or not a number, exits 1 naming the flag", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht", ["--port", "0", "--read-repair-chance", "1.5"]), 1, /--read-repair-chance must be between 0 and 1, got 1.5/)
      expectRejected(yield* run("dht", ["--port", "0", "--read-repair-chance", "often"]), 1, /--read-repair-chance/)
    }))

  it.live("two different ports exit 1", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht", ["5000", "--port", "5001"]), 1, /port given twice/)
    }))

  it.live("--help exits 0 and shows the flags", () =>
    Effect.gen(function*() {
      const r = yield* run("dht", ["--help"])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/--registry/)
      expect(r.stdout).toMatch(/--join/)
    }))
})

describe.concurrent("dht-client: bad input", () => {
  it.live("an unreachable registry exits 2 within a few seconds, saying it cannot be reached", () =>
    Effect.gen(function*() {
      const startUp = yield* startUpMillis
      const r = yield* run("dht-client", ["--timeout", "3000", "--registry", "127.0.0.1:1", "get", "k"])
      expectRejected(r, 2, /cannot reach the registry at 127\.0\.0\.1:1: connection refused/)
      expect(r.stdout).toBe("")
      expect(r.millis - startUp, `${r.millis} ms in all, ${startUp} ms of it start-up`).toBeLessThan(5_000) // the 3 s deadline, and margin
    }))

  it.live("unreachable nodes exit 2 within a few seconds", () =>
    Effect.gen(function*() {
      const startUp = yield* startUpMillis
      const r = yield* run("dht-client", ["--timeout", "3000", "--node", "127.0.0.1:1", "--node", "127.0.0.1:2", "get", "k"])
      expectRejected(r, 2, /no node can answer: 127\.0\.0\.1:1 is not answering \(connection refused\); 127\.0\.0\.1:2 is not answering/)
      expect(r.millis - startUp, `${r.millis} ms in all, ${startUp} ms of it start-up`).toBeLessThan(5_000) // the 3 s deadline, and margin
    }))

  it.live("an unknown command exits 1", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht-client", ["bogus"]), 1, /bogus/)
    }))

  it.live("a command missing its key exits 1", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht-client", ["get"]), 1, /GET key/i)
      expectRejected(yield* run("dht-client", ["set", "k"]), 1, /SET key value/i)
      expectRejected(yield* run("dht-client", ["delete", "a", "b"]), 1, /DELETE key/i)
    }))

  it.live("--registry with --node exits 1: mutually exclusive", () =>
    Effect.gen(function*() {
      expectRejected(
        yield* run("dht-client", ["--registry", "127.0.0.1:1", "--node", "127.0.0.1:2", "get", "k"]),
        1,
        /mutually exclusive/
      )
    }))

  it.live("a malformed --node address exits 1 naming it", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht-client", ["--node", "nonsense", "get", "k"]), 1, /--node.*nonsense/)
    }))

  it.live("--timeout 0 exits 1", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht-client", ["--timeout", "0", "get", "k"]), 1, /--timeout/)
    }))
})

describe.concurrent("dht-registry: bad input", () => {
  it.live("--port 99999 exits 1 naming --port", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht-registry", ["--port", "99999"]), 1, /--port/)
    }))

  it.live("an unknown flag exits 1", () =>
    Effect.gen(function*() {
      expectRejected(yield* run("dht-registry", ["--bogus"]), 1, /--bogus/)
    }))
})

/**
 * Node and registry processes: a clean stop on SIGTERM/SIGINT (exit 0), and clear failures when
 * they cannot start (port taken, registry unreachable).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { awaitListed, JOINED, startNode, startRegistry, STARTED_RING } from "./cluster.ts"
import { type Proc, runBin, STACK_TRACE } from "./processes.ts"

const portOf = (address: string) => address.slice(address.lastIndexOf(":") + 1)

/** Sends `signal` and expects a clean exit 0 without a stack trace. */
const stopCleanly = (proc: Proc, signal: NodeJS.Signals) =>
  Effect.gen(function*() {
    yield* proc.kill(signal)
    const status = yield* proc.exitWithin("10 seconds")
    expect(status, `${proc.label} after ${signal}:\n${proc.stderr}`).toEqual({ code: 0, signal: null })
    expect(proc.stderr).not.toMatch(STACK_TRACE)
  })

describe.concurrent("stopping", () => {
  it.live("SIGTERM on a node exits 0 and the registry forgets it; SIGTERM on the registry exits 0", () =>
    Effect.gen(function*() {
      const registry = yield* startRegistry
      const node = yield* startNode(["--registry", registry.address], STARTED_RING, "dht node")
      yield* awaitListed(registry.address, 1)

      yield* stopCleanly(node.proc, "SIGTERM")
      yield* awaitListed(registry.address, 0)

      yield* stopCleanly(registry.proc, "SIGTERM")
    }), 30_000)

  it.live("SIGINT on a node that joined through --join exits 0, and so does SIGTERM on the first", () =>
    Effect.gen(function*() {
      const first = yield* startNode([], STARTED_RING, "dht first")
      const second = yield* startNode(["--join", first.address], JOINED, "dht second")
      expect(second.proc.stderr).toMatch(new RegExp(`(predecessor|successor) ${first.address.replaceAll(".", "\\.")}`))

      yield* stopCleanly(second.proc, "SIGINT")
      yield* stopCleanly(first.proc, "SIGTERM")
    }), 30_000)
})

describe.concurrent("failing to start", () => {
  it.live("a node on a port that is taken exits 1 with 'cannot listen'", () =>
    Effect.gen(function*() {
      const first = yield* startNode([], STARTED_RING, "dht first")
      const r = yield* runBin("dht", ["--host", "127.0.0.1", "--port", portOf(first.address)], { timeout: "15 seconds" })
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toMatch(/cannot listen/)
      expect(r.stderr).toContain(first.address)
      expect(r.stderr).not.toMatch(STACK_TRACE)
      // The first node is unaffected.
      expect(first.proc.status).toBeUndefined()
    }), 30_000)

  it.live("a registry on a port that is taken exits 1 with 'cannot listen'", () =>
    Effect.gen(function*() {
      const registry = yield* startRegistry
      const r = yield* runBin("dht-registry", ["--host", "127.0.0.1", "--port", portOf(registry.address)], {
        timeout: "15 seconds"
      })
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toMatch(/cannot listen/)
      expect(r.stderr).not.toMatch(STACK_TRACE)
    }), 30_000)

  // There is no flag for the registry retry count or backoff, so this takes the full ~8 s.
  it.live("an unreachable registry makes the node exit non-zero with a message naming it", () =>
    Effect.gen(function*() {
      const r = yield* runBin("dht", ["--registry", "127.0.0.1:1", "--port", "0", "--host", "127.0.0.1"], {
        timeout: "20 seconds"
      })
      expect(r.code, r.stderr).not.toBe(0)
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/error: cannot reach registry 127\.0\.0\.1:1/)
      expect(r.stderr).not.toMatch(STACK_TRACE)
    }), 30_000)
})

describe.concurrent("limits", () => {
  it.live("a value over --max-value-bytes is rejected: exit 1 one-shot, an error line in the prompt", () =>
    Effect.gen(function*() {
      const node = yield* startNode(["--max-value-bytes", "10"], STARTED_RING, "dht small")
      const client = (args: ReadonlyArray<string>, stdin?: string) =>
        runBin("dht-client", ["--node", node.address, ...args], stdin === undefined ? { timeout: "15 seconds" } : {
          stdin,
          timeout: "15 seconds"
        })

      const fits = yield* client(["set", "k", "0123456789"])
      expect({ code: fits.code, stdout: fits.stdout }, fits.stderr).toEqual({ code: 0, stdout: "" })

      const tooBig = yield* client(["set", "k", "0123456789x"])
      expect({ code: tooBig.code, stdout: tooBig.stdout }, tooBig.stderr).toEqual({ code: 1, stdout: "" })
      expect(tooBig.stderr).toMatch(/^error: rejected: .*11 bytes.*10 bytes/m)
      expect(tooBig.stderr).not.toMatch(STACK_TRACE)

      const prompt = yield* client([], "set k 0123456789xyz\nget k\n")
      // Piped input with a failed line exits 1.
      expect(prompt.code, prompt.stderr).toBe(1)
      expect(prompt.stdout.split("\n").slice(1, 3)).toEqual([
        expect.stringMatching(/^Error: .*13 bytes.*10 bytes/),
        "Value is: 0123456789"
      ])
    }), 30_000)
})

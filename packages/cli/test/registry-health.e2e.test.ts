/**
 * The registry drops crashed nodes, as real processes: a node killed with SIGKILL (no leave, no
 * unregister) leaves `GetConnectedNodes` once it stops answering pings, and a node that joins
 * afterwards gets into the ring. Also the validation of the health flags.
 *
 * Nothing here sleeps for a fixed time: every wait polls with a deadline.
 */
import { RegistryClient } from "@crustyring/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { awaitListed, JOINED, REGISTRY_LISTENING, startNode, STARTED_RING } from "./cluster.ts"
import { ProcessError, runBin, type RunResult, spawnBin, STACK_TRACE } from "./processes.ts"

const HEALTH_INTERVAL_MS = 200
const FAILURE_TIMEOUT_MS = 1000

/** `dht-registry` on a random port with a fast health check. */
const startFastRegistry = Effect.gen(function*() {
  const proc = yield* spawnBin("dht-registry", [
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--health-interval",
    `${HEALTH_INTERVAL_MS}ms`,
    "--failure-timeout",
    `${FAILURE_TIMEOUT_MS}ms`
  ], { label: "dht-registry" })
  const [, address] = yield* proc.waitForStderr(REGISTRY_LISTENING, "15 seconds")
  return { proc, address: address! }
})

/** Fails unless the registry lists exactly `expected`, saying what it lists. */
const expectListing = (client: RegistryClient.RegistryClient, expected: ReadonlyArray<string>) =>
  client.nodes.pipe(
    Effect.mapError((e) => new ProcessError({ message: `registry ${client.address}: ${e.message}` })),
    Effect.map((ns) => ns.map((n) => n.address as string).sort()),
    Effect.filterOrFail(
      (listed) => listed.join() === [...expected].sort().join(),
      (listed) => new ProcessError({ message: `registry lists ${JSON.stringify(listed)}, expected ${JSON.stringify(expected)}` })
    )
  )

/** Polls every 100 ms until the registry lists exactly `expected`; fails with the last listing after `timeout`. */
const awaitListing = (client: RegistryClient.RegistryClient, expected: ReadonlyArray<string>, timeout: Duration.Input) =>
  Effect.suspend(() => {
    let last = "no answer yet"
    return expectListing(client, expected).pipe(
      Effect.tapError((e) => Effect.sync(() => (last = e.message))),
      Effect.retry(Schedule.spaced("100 millis")),
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(new ProcessError({ message: `not within ${Duration.format(Duration.fromInputUnsafe(timeout))}: ${last}` }))
      })
    )
  })

describe("dht-registry drops crashed nodes", () => {
  it.live("a node killed with SIGKILL leaves GetConnectedNodes, and a later node still joins through the registry", () =>
    Effect.gen(function*() {
      const registry = yield* startFastRegistry
      const first = yield* startNode(["--registry", registry.address], STARTED_RING, "dht node 1")
      const second = yield* startNode(["--registry", registry.address], JOINED, "dht node 2")
      yield* awaitListed(registry.address, 2)
      const client = yield* RegistryClient.make(registry.address, "2 seconds")
      // Both answer pings, so both stay listed: checked every 100 ms over three failure timeouts.
      yield* Effect.repeat(expectListing(client, [first.address, second.address]), {
        schedule: Schedule.spaced("100 millis"),
        times: (3 * FAILURE_TIMEOUT_MS) / 100
      })

      const killed = Date.now()
      yield* second.proc.kill("SIGKILL")
      expect(yield* second.proc.exitWithin("5 seconds")).toEqual({ code: null, signal: "SIGKILL" })
      yield* awaitListing(client, [first.address], "10 seconds")
      const took = Date.now() - killed
      expect(took, "dropped after failureTimeout, not before").toBeGreaterThanOrEqual(FAILURE_TIMEOUT_MS - 2 * HEALTH_INTERVAL_MS)
      const [dropped] = yield* registry.proc.waitForStderr(new RegExp(`dropped ${second.address.replaceAll(".", "\\.")}\\b.*`), "2 seconds")
      expect(dropped).toMatch(/no sign of life/)

      // A new node joins through the registry, which now has only the live node to hand out.
      const third = yield* startNode(["--registry", registry.address], JOINED, "dht node 3")
      yield* awaitListing(client, [first.address, third.address], "10 seconds")
      expect(first.proc.status).toBeUndefined()
      expect(registry.proc.status).toBeUndefined()
      expect(registry.proc.stderr).not.toMatch(STACK_TRACE)
    }), 60_000)
})

/** Checks exit 1, that the output names the problem, and that there is no stack trace. */
const expectRejected = (r: RunResult, says: RegExp) => {
  const output = `${r.stdout}\n${r.stderr}`
  expect(r.code, output).toBe(1)
  expect(output).toMatch(says)
  expect(output).not.toMatch(STACK_TRACE)
}

const registryWith = (args: ReadonlyArray<string>) =>
  runBin("dht-registry", ["--host", "127.0.0.1", "--port", "0", ...args], { timeout: "15 seconds" })

describe.concurrent("dht-registry: bad health flags", () => {
  it.live("zero or negative intervals exit 1, naming the flag", () =>
    Effect.gen(function*() {
      expectRejected(yield* registryWith(["--health-interval", "0ms"]), /--health-interval must be a positive duration/)
      expectRejected(yield* registryWith(["--failure-timeout", "0s"]), /--failure-timeout must be a positive duration/)
    }))

  it.live("a value too large for a timer exits 1", () =>
    Effect.gen(function*() {
      expectRejected(yield* registryWith(["--failure-timeout", "99999999999ms"]), /--failure-timeout must be .*up to 24 days/)
    }))

  it.live("a value that is not a duration exits 1, naming the flag", () =>
    Effect.gen(function*() {
      expectRejected(yield* registryWith(["--health-interval", "1.5"]), /--health-interval/)
      expectRejected(yield* registryWith(["--failure-timeout", "soon"]), /--failure-timeout/)
    }))

  it.live("--help lists both flags", () =>
    Effect.gen(function*() {
      const r = yield* runBin("dht-registry", ["--help"], { timeout: "15 seconds" })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/--health-interval/)
      expect(r.stdout).toMatch(/--failure-timeout/)
    }))
})

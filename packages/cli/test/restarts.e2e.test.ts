/**
 * Restarts never split the ring (issue "Partitions and restarts"), as real processes: `dht
 * --data-dir` nodes on fixed ports, killed with SIGKILL and started again with the same command.
 * A restarted node joins through the members it remembers or its seeds (`--join a,b,c`), and
 * starts a new ring only when it has neither (or, in a whole-cluster start, as the one agreed
 * first among seeds that are all still joining).
 *
 * 1. The reported bug: the first node, started alone and joined by two others, is killed and
 *    restarted with no --join. It rejoins through the members it remembers.
 * 2. A whole StatefulSet: every node has the same seed list, itself included. All are killed
 *    at once and started again at once; they end as one ring.
 * 3. Every node in turn is killed and restarted with its seed list, the ring whole in between.
 * 4. A restarted node that remembers members but reaches none retries and says why, instead of
 *    forming a ring of one; once the other comes back, the two are one ring.
 *
 * Each scenario ends with the same two checks: the walk from every node visits every node and
 * each node's successor has it as predecessor (one ring), and every acknowledged key reads its
 * value through every node (a Get sent to that node, which forwards it to the owner).
 *
 * Nothing sleeps for a fixed time: every wait polls with a deadline. Data directories live under
 * one temporary directory per test, removed when the test's scope closes, failed or not.
 */
import { DhtClient } from "@crustyring/client"
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import { describe, expect, it } from "@effect/vitest"
import * as path from "node:path"
import { type Duration, Effect, Result } from "effect"
import { STARTED_RING } from "./cluster.ts"
import { awaitServing, freePorts, SERVING, seedList, spawnDurableNode, startDurableNode, tempDir } from "./durable.ts"
import { type Proc, ProcessError } from "./processes.ts"
import {
  awaitStable,
  CLIENT_OPTIONS,
  COPIES,
  eventually,
  printLogsOnFailure,
  type RingNode,
  ringProblem,
  stopwatch,
  walk
} from "./replicated.ts"

/** Three copies acknowledged at two, with quick failure detection and repair. */
const RING_ARGS = [
  "--replicas",
  "3",
  "--write-quorum",
  "2",
  "--ping-interval",
  "250ms",
  "--failure-timeout",
  "1s",
  "--repair-interval",
  "1s"
]
const KEYS = 300

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

/** The last characters of a process's stderr, for assertion messages. */
const stderrOf = (p: Proc, max = 3000) => `--- ${p.label} stderr ---\n${p.stderr.length > max ? `…${p.stderr.slice(-max)}` : p.stderr}`

/** SIGKILLs a node and waits until it is gone. */
const crash = (node: RingNode) =>
  Effect.gen(function*() {
    yield* node.proc.kill("SIGKILL")
    expect(yield* node.proc.exitWithin("5 seconds"), `${node.proc.label} ended by the SIGKILL\n${stderrOf(node.proc)}`)
      .toEqual({ code: null, signal: "SIGKILL" })
  })

/**
 * Writes `count` keys `<prefix>-<i>` through one DhtClient of `addresses`; returns the
 * acknowledged ones (key → value) and the failures.
 */
const writeKeys = (addresses: ReadonlyArray<string>, prefix: string, count: number) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* DhtClient.make({ nodes: addresses }, CLIENT_OPTIONS)
    const acked = new Map<string, string>()
    const failures: Array<string> = []
    yield* Effect.forEach(range(0, count), (i) => {
      const key = `${prefix}-${i}`
      const value = `${prefix} value ${i}`
      return Effect.map(Effect.result(client.set(key, value)), (r) => {
        if (Result.isSuccess(r)) acked.set(key, value)
        else failures.push(`set ${key}: ${r.failure._tag}: ${r.failure.message}`)
      })
    }, { concurrency: 32, discard: true })
    return { acked, failures }
  }))

/** The node's answer for a missing key (the original's wording). */
const KEY_NOT_PRESENT = "Key not present in database."

/**
 * The keys of `expected` that do not read their value with a Get sent to the node at
 * `address` itself (one attempt each, no client retries on other nodes). A node that does not
 * answer the first Get is reported at once rather than key by key.
 */
const readProblemsVia = (address: string, expected: ReadonlyMap<string, string>) =>
  Effect.scoped(Effect.gen(function*() {
    const c = yield* Grpc.client(Proto.proto.dht.DhtNode, address)
    const problems: Array<string> = []
    const check = ([key, value]: readonly [string, string]) =>
      Effect.map(
        Effect.result(Grpc.call<Wire.QueryResult__Output>(address, "2 seconds", (o, cb) => c.QueryDht({ ty: "Get", key: Buffer.from(key, "utf8") }, o, cb))),
        (r) => {
          if (Result.isFailure(r)) problems.push(`${key}: ${r.failure._tag}: ${r.failure.message}`)
          else if (r.success.error !== undefined) {
            problems.push(r.success.error === KEY_NOT_PRESENT ? `${key} not found` : `${key}: ${r.success.error}`)
          } else {
            const got = r.success.value === undefined ? undefined : Buffer.from(r.success.value).toString("utf8")
            if (got !== value) problems.push(`${key} = ${JSON.stringify(got)}, acknowledged ${JSON.stringify(value)}`)
          }
          return Result.isFailure(r)
        }
      )
    const entries = [...expected]
    if (entries.length === 0) return problems
    const unreachable = yield* check(entries[0]!)
    if (unreachable) return problems
    yield* Effect.forEach(entries.slice(1), check, { concurrency: 32, discard: true })
    return problems
  }))

/** Polls until every key of `expected` reads its acknowledged value through each node of `addresses`. */
const awaitEveryKeyEverywhere = (addresses: ReadonlyArray<string>, expected: ReadonlyMap<string, string>, timeout: Duration.Input) =>
  eventually(
    `every one of ${expected.size} acknowledged keys reads back through each of ${addresses.length} nodes`,
    Effect.flatMap(
      Effect.forEach(addresses, (a) => readProblemsVia(a, expected), { concurrency: "unbounded" }),
      (perNode) => {
        const wrong = perNode.reduce((n, ps) => n + ps.length, 0)
        if (wrong === 0) return Effect.void
        const counts = addresses.map((a, i) => `${a}: ${perNode[i]!.length}`).join(", ")
        const samples = perNode.flatMap((ps, i) => ps.slice(0, 3).map((p) => `via ${addresses[i]}: ${p}`))
        return Effect.fail(new ProcessError({ message: `${wrong} reads wrong (${counts}); e.g. ${samples.join("; ")}` }))
      }
    ),
    timeout,
    "500 millis"
  )

/**
 * Polls until `addresses` are one ring: the walk from every node lists exactly them, each
 * ready, each range ending where the next begins (`ringProblem`), and each node's successor
 * has it as predecessor. Returns the walk from the first, in ring order.
 */
const awaitOneRing = (addresses: ReadonlyArray<string>, timeout: Duration.Input) =>
  eventually(
    `one ring of ${addresses.length} nodes, seen from each`,
    Effect.gen(function*() {
      const walks = yield* Effect.forEach(addresses, (from) => walk(from), { concurrency: "unbounded" })
      for (const [w, ring] of walks.entries()) {
        const from = addresses[w]!
        const problem = ringProblem(ring, addresses)
        if (problem !== undefined) return yield* new ProcessError({ message: `walk from ${from}: ${problem}` })
        for (const [i, s] of ring.entries()) {
          const next = ring[(i + 1) % ring.length]!
          if (next.predecessor !== s.address) {
            return yield* new ProcessError({
              message: `walk from ${from}: ${s.address}'s successor ${next.address} has predecessor ${next.predecessor}`
            })
          }
        }
      }
      return walks[0]!
    }),
    timeout
  )

/** How many of `hows` started a new ring. */
const newRings = (hows: ReadonlyArray<"started" | "joined">) => hows.filter((h) => h === "started").length

describe("restarts never split the ring", () => {
  it.live("the first node, started alone, killed -9 and restarted with the same command rejoins through the members it remembers", () =>
    Effect.gen(function*() {
      const lap = stopwatch("restarts/first")
      const root = yield* tempDir("rs-first")
      const ports = yield* freePorts(3)
      const dirs = ports.map((_, i) => path.join(root, `node-${i + 1}`))
      const logged: Array<RingNode> = []
      yield* printLogsOnFailure(logged)

      const first = yield* startDurableNode({ port: ports[0]!, dataDir: dirs[0]!, args: RING_ARGS, label: "dht node 1 (alone)" })
      logged.push(first)
      for (let i = 1; i < ports.length; i++) {
        logged.push(
          yield* startDurableNode({ port: ports[i]!, dataDir: dirs[i]!, join: first.address, args: RING_ARGS, label: `dht node ${i + 1} (--join node 1)` })
        )
      }
      const all = logged.map((n) => n.address)
      yield* awaitStable(all, COPIES - 1, "20 seconds")
      lap("node 1 alone, nodes 2 and 3 joined through it; stabilized")

      const { acked, failures } = yield* writeKeys(all, "first", KEYS)
      expect(failures.slice(0, 5), `${failures.length} writes failed on a healthy ring`).toEqual([])
      lap(`wrote ${acked.size} keys`)

      yield* crash(first)
      const again = yield* spawnDurableNode({ port: ports[0]!, dataDir: dirs[0]!, args: RING_ARGS, label: "dht node 1 (restarted, no --join)" })
      logged.push(again)
      const how = yield* awaitServing(again, "20 seconds")
      expect(how, `the restarted node 1 remembers nodes 2 and 3: it must rejoin, not start a new ring\n${stderrOf(again.proc)}`).toBe("joined")
      lap("SIGKILLed node 1 and started it again with the same command: it joined")

      yield* awaitOneRing(all, "20 seconds")
      lap("one ring of 3")
      yield* awaitEveryKeyEverywhere(all, acked, "30 seconds")
      expect(again.proc.stderr, "the restarted node 1 never started a new ring").not.toMatch(STARTED_RING)
      lap(`every key reads back through each node, node 1 included`)
    }), 60_000)

  it.live("a whole StatefulSet with one seed list, itself included, killed -9 at once and started again at once is one ring with every key", () =>
    Effect.gen(function*() {
      const lap = stopwatch("restarts/statefulset")
      const root = yield* tempDir("rs-all")
      const ports = yield* freePorts(4)
      const dirs = ports.map((_, i) => path.join(root, `node-${i + 1}`))
      const seeds = seedList(ports)
      const logged: Array<RingNode> = []
      yield* printLogsOnFailure(logged)
      const startAll = (round: string) =>
        Effect.gen(function*() {
          // All spawned before any is waited for: a whole-cluster start.
          const nodes = yield* Effect.forEach(ports, (port, i) =>
            spawnDurableNode({ port, dataDir: dirs[i]!, join: seeds, args: RING_ARGS, label: `dht node ${i + 1} (${round})` }))
          logged.push(...nodes)
          const hows = yield* Effect.forEach(nodes, (n) => awaitServing(n, "30 seconds"), { concurrency: "unbounded" })
          return { nodes, hows }
        })

      const first = yield* startAll("1st start")
      const all = first.nodes.map((n) => n.address)
      expect(newRings(first.hows), `nodes that started a new ring at the first start: ${first.hows.join(", ")}`).toBeLessThanOrEqual(1)
      yield* awaitStable(all, COPIES - 1, "30 seconds")
      lap(`4 nodes started at once with --join ${seeds}: ${first.hows.join(", ")}; stabilized`)

      const { acked, failures } = yield* writeKeys(all, "sts", KEYS)
      expect(failures.slice(0, 5), `${failures.length} writes failed on a healthy ring`).toEqual([])
      lap(`wrote ${acked.size} keys`)

      yield* Effect.forEach(first.nodes, crash, { concurrency: "unbounded", discard: true })
      lap("SIGKILLed all 4")

      const second = yield* startAll("restarted")
      expect(newRings(second.hows), `nodes that started a new ring at the restart: ${second.hows.join(", ")}`).toBeLessThanOrEqual(1)
      lap(`started all 4 again at once with the same commands: ${second.hows.join(", ")}`)

      yield* awaitOneRing(all, "30 seconds")
      lap("one ring of 4")
      yield* awaitEveryKeyEverywhere(all, acked, "30 seconds")
      lap("every key reads back through each node")
    }), 90_000)

  it.live("every node in turn killed -9 and restarted with its seed list: one ring with every key at the end", () =>
    Effect.gen(function*() {
      const lap = stopwatch("restarts/rolling")
      const root = yield* tempDir("rs-rolling")
      const ports = yield* freePorts(3)
      const dirs = ports.map((_, i) => path.join(root, `node-${i + 1}`))
      const seeds = seedList(ports)
      const logged: Array<RingNode> = []
      yield* printLogsOnFailure(logged)
      const start = (i: number, round: string) =>
        Effect.tap(
          spawnDurableNode({ port: ports[i]!, dataDir: dirs[i]!, join: seeds, args: RING_ARGS, label: `dht node ${i + 1} (${round})` }),
          (n) => Effect.sync(() => logged.push(n))
        )

      const nodes = yield* Effect.forEach(ports, (_, i) => start(i, "1st start"))
      const all = nodes.map((n) => n.address)
      const hows = yield* Effect.forEach(nodes, (n) => awaitServing(n, "30 seconds"), { concurrency: "unbounded" })
      expect(newRings(hows), `nodes that started a new ring at the first start: ${hows.join(", ")}`).toBeLessThanOrEqual(1)
      yield* awaitStable(all, COPIES - 1, "30 seconds")
      lap(`3 nodes started at once with --join ${seeds}: ${hows.join(", ")}; stabilized`)

      const { acked, failures } = yield* writeKeys(all, "roll", KEYS)
      expect(failures.slice(0, 5), `${failures.length} writes failed on a healthy ring`).toEqual([])
      lap(`wrote ${acked.size} keys`)

      for (let i = 0; i < nodes.length; i++) {
        yield* crash(nodes[i]!)
        const again = yield* start(i, "restarted")
        nodes[i] = again
        const how = yield* awaitServing(again, "20 seconds")
        expect(how, `restarted node ${i + 1}: its seeds and members are up, so it must join, not start a new ring\n${stderrOf(again.proc)}`)
          .toBe("joined")
        yield* awaitStable(all, COPIES - 1, "30 seconds")
        lap(`node ${i + 1} SIGKILLed and restarted: it joined, and the ring of 3 is whole and stable again`)
      }

      yield* awaitOneRing(all, "20 seconds")
      yield* awaitEveryKeyEverywhere(all, acked, "30 seconds")
      lap("one ring of 3; every key reads back through each node")
    }), 90_000)

  it.live("a restarted node that remembers members but reaches none retries and says why, and is one ring with them once they are back", () =>
    Effect.gen(function*() {
      const lap = stopwatch("restarts/alone")
      const root = yield* tempDir("rs-alone")
      const ports = yield* freePorts(2)
      const dirs = ports.map((_, i) => path.join(root, `node-${i + 1}`))
      const logged: Array<RingNode> = []
      yield* printLogsOnFailure(logged)

      const a = yield* startDurableNode({ port: ports[0]!, dataDir: dirs[0]!, args: RING_ARGS, label: "dht A (alone)" })
      logged.push(a)
      const b = yield* startDurableNode({ port: ports[1]!, dataDir: dirs[1]!, join: a.address, args: RING_ARGS, label: "dht B (--join A)" })
      logged.push(b)
      const all = [a.address, b.address]
      yield* awaitStable(all, 1, "20 seconds")
      const { acked, failures } = yield* writeKeys(all, "alone", KEYS)
      expect(failures.slice(0, 5), `${failures.length} writes failed on a healthy ring`).toEqual([])
      lap(`A alone, B joined through it; wrote ${acked.size} keys`)

      yield* Effect.forEach([a, b], crash, { concurrency: "unbounded", discard: true })
      // B alone, with no --join: all it has is its memory of A, which is down.
      const b2 = yield* spawnDurableNode({ port: ports[1]!, dataDir: dirs[1]!, args: RING_ARGS, label: "dht B (restarted alone, no --join)" })
      logged.push(b2)
      const spawnedAt = Date.now()
      const firstWord = new RegExp(`(?<serving>${SERVING.source})|(?<retry>^.*\\bretr(?:y|ying|ies|ied)\\b.*$)`, "im")
      const m = yield* b2.proc.waitForStderr(firstWord, "15 seconds")
      expect(m.groups?.["serving"], `B remembers only A, which is down: it must retry, not serve alone\n${stderrOf(b2.proc)}`).toBeUndefined()
      const retryLine = m.groups?.["retry"] ?? ""
      const why = retryLine.includes(a.address) || /unreachable|cannot reach|can't reach|refused|unavailable|no (?:live )?member|none of/i.test(retryLine)
      expect(why, `B's retry line names A (${a.address}) or why it cannot get in: ${retryLine}\n${stderrOf(b2.proc)}`).toBe(true)
      // A few more seconds of the same: still not serving, still running.
      const served = yield* Effect.result(b2.proc.waitForStderr(SERVING, "4 seconds"))
      expect(Result.isFailure(served), `B served with A still down\n${stderrOf(b2.proc)}`).toBe(true)
      expect(b2.proc.status, `B keeps retrying rather than exiting\n${stderrOf(b2.proc)}`).toBeUndefined()
      lap(`SIGKILLed both, restarted B alone: after ${((Date.now() - spawnedAt) / 1000).toFixed(1)}s it still retries: ${retryLine.trim()}`)

      const a2 = yield* spawnDurableNode({ port: ports[0]!, dataDir: dirs[0]!, args: RING_ARGS, label: "dht A (restarted, no --join)" })
      logged.push(a2)
      const hows = yield* Effect.forEach([a2, b2], (n) => awaitServing(n, "30 seconds"), { concurrency: "unbounded" })
      expect(newRings(hows), `nodes that started a new ring once A was back: A ${hows[0]}, B ${hows[1]}`).toBeLessThanOrEqual(1)
      lap(`started A again: A ${hows[0]}, B ${hows[1]}`)

      yield* awaitOneRing(all, "20 seconds")
      yield* awaitEveryKeyEverywhere(all, acked, "30 seconds")
      lap("one ring of 2; every key reads back through each node")
    }), 60_000)
})

/**
 * Virtual nodes as real processes: four `dht --vnodes 8` processes with three copies of every
 * key. Each key must end up on three distinct processes (never twice on one machine), and two
 * processes killed at once with SIGKILL must lose no acknowledged write. A process with
 * `--vnodes` and `--data-dir` killed with SIGKILL comes back with its positions and its store.
 * Copies are read straight from each process's store over Peer FetchRange; temp dirs and
 * processes belong to the test's scope.
 */
import { DhtClient } from "@crustyring/client"
import { Address } from "@crustyring/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as path from "node:path"
import { freePorts, startDurableNode, tempDir } from "./durable.ts"
import { ProcessError, runBin, spawnBin } from "./processes.ts"
import {
  awaitRing,
  copiesProblems,
  dumpStore,
  eventually,
  printLogsOnFailure,
  type RingNode,
  startRing,
  stopwatch,
  CLIENT_OPTIONS,
  COPIES,
  REPLICATED_ARGS
} from "./replicated.ts"

const VNODES = 8
const KEYS = 1500
const keyOf = (i: number) => `vn-${i}`
const valueOf = (i: number) => `value-${i}`

/** Every virtual-node address of the processes. */
const positions = (nodes: ReadonlyArray<RingNode>, vnodes: number) =>
  nodes.flatMap((n) => Array.from({ length: vnodes }, (_, i) => Address.withVnode(Address.unsafeMake(n.address), i)))

/** Polls until the ring walk lists exactly the virtual nodes of `nodes`, each ready, ranges meeting. */
const awaitPositions = (nodes: ReadonlyArray<RingNode>, vnodes: number = VNODES) => awaitRing(positions(nodes, vnodes), "30 seconds")

/** Polls until every key is on at least `copies` of the processes, with its value. */
const awaitCopies = (nodes: ReadonlyArray<RingNode>, expected: ReadonlyMap<string, string>, copies: number) =>
  eventually(
    `every key on ${copies} processes`,
    Effect.flatMap(copiesProblems(nodes.map((n) => n.address), expected, copies), ({ count, problems }) =>
      count === 0 ? Effect.void : Effect.fail(new ProcessError({ message: `${count} keys short: ${problems.join("; ")}` }))),
    "40 seconds"
  )

describe("virtual nodes (processes)", () => {
  it.live("keys live on distinct processes, and two processes killed at once lose no acknowledged write", () =>
    Effect.gen(function*() {
      const lap = stopwatch("vnodes")
      const nodes = yield* startRing(4, [...REPLICATED_ARGS, "--vnodes", String(VNODES)])
      yield* printLogsOnFailure(nodes)
      yield* awaitPositions(nodes)
      lap(`4 processes x ${VNODES} virtual nodes up`)
      // One row per process by default; every position with --positions.
      const printed = yield* runBin("dht-client", ["--node", nodes[0]!.address, "ring"], { timeout: "15 seconds" })
      expect(printed.code, printed.stderr).toBe(0)
      const lines = printed.stdout.trimEnd().split("\n")
      expect(lines.at(-1)).toMatch(new RegExp(`^${4 * VNODES} virtual nodes on 4 nodes, `))
      expect(lines.slice(1, -1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual(
        [...nodes.map((n) => n.address)].sort().map((a) => [a, String(VNODES)])
      )
      const every = yield* runBin("dht-client", ["--node", nodes[0]!.address, "ring", "--positions"], { timeout: "15 seconds" })
      expect(every.code, every.stderr).toBe(0)
      expect(every.stdout.trimEnd().split("\n")).toHaveLength(1 + 4 * VNODES + 1)
      expect(every.stdout).toContain(`${nodes[1]!.address}#${VNODES - 1} `)

      const client = yield* DhtClient.make({ nodes: nodes.map((n) => n.address) }, CLIENT_OPTIONS)
      const expected = new Map(Array.from({ length: KEYS }, (_, i) => [keyOf(i), valueOf(i)] as const))
      yield* Effect.forEach(expected, ([k, v]) => client.set(k, v), { concurrency: 16, discard: true })
      lap(`${KEYS} keys written`)

      // Exactly three processes hold each key once repair has settled: never two copies in one.
      yield* awaitCopies(nodes, expected, COPIES)
      // A write sent on a view that was still settling may leave a fourth copy; repair drops it.
      yield* eventually(
        "no key on all four processes",
        Effect.flatMap(copiesProblems(nodes.map((n) => n.address), expected, COPIES + 1, 0), ({ count }) =>
          count === KEYS ? Effect.void : Effect.fail(new ProcessError({ message: `${KEYS - count} keys on 4 processes` }))),
        "30 seconds"
      )
      lap("every key on exactly 3 processes")

      const [a, b, ...rest] = nodes
      yield* Effect.forEach([a!, b!], (v) => v.proc.kill("SIGKILL"), { discard: true })
      for (const v of [a!, b!]) expect(yield* v.proc.exitWithin("5 seconds")).toEqual({ code: null, signal: "SIGKILL" })
      lap("2 processes killed")

      const after = yield* DhtClient.make({ nodes: rest.map((n) => n.address) }, CLIENT_OPTIONS)
      const wrong: Array<string> = []
      yield* Effect.forEach(expected, ([k, v]) =>
        after.get(k).pipe(
          Effect.match({
            onFailure: (e) => wrong.push(`${k}: ${e._tag} ${e.message}`),
            onSuccess: (got) => {
              if (Buffer.from(got).toString("utf8") !== v) wrong.push(`${k}: got ${Buffer.from(got).toString("utf8")}`)
            }
          })
        ), { concurrency: 16, discard: true })
      expect(wrong.slice(0, 10), `${wrong.length} keys lost or wrong`).toEqual([])
      lap("every key read back from the 2 survivors")
      yield* awaitPositions(rest)
      // Two processes left: each holds every key.
      yield* awaitCopies(rest, expected, 2)
      lap("every key on both survivors")
    }), { timeout: 180_000 })

  it.live("a process with --vnodes and --data-dir killed -9 restarts with the same positions and every key", () =>
    Effect.gen(function*() {
      const lap = stopwatch("vnodes durable")
      const V = 4
      const root = yield* tempDir("vnodes")
      const ports = yield* freePorts(3)
      const args = [...REPLICATED_ARGS, "--vnodes", String(V)]
      const start = (i: number, label: string) =>
        startDurableNode({ port: ports[i]!, dataDir: path.join(root, `node-${i + 1}`), args, label, ...(i === 0 ? {} : { join: `127.0.0.1:${ports[0]}` }) })
      const nodes = [yield* start(0, "dht node 1"), yield* start(1, "dht node 2"), yield* start(2, "dht node 3")]
      const logged = [...nodes]
      yield* printLogsOnFailure(logged)
      yield* awaitPositions(nodes, V)
      lap(`3 durable processes x ${V} virtual nodes up`)

      const client = yield* DhtClient.make({ nodes: nodes.map((n) => n.address) }, CLIENT_OPTIONS)
      const expected = new Map<string, string>(Array.from({ length: 600 }, (_, i) => [`dv-${i}`, `v0 of ${i}`] as const))
      yield* Effect.forEach(expected, ([k, v]) => client.set(k, v), { concurrency: 16, discard: true })
      yield* awaitCopies(nodes, expected, 3)
      lap("600 keys on all 3 processes")

      const victim = nodes[1]!
      yield* victim.proc.kill("SIGKILL")
      expect(yield* victim.proc.exitWithin("5 seconds")).toEqual({ code: null, signal: "SIGKILL" })
      const survivors = [nodes[0]!, nodes[2]!]
      yield* awaitPositions(survivors, V)
      const missed = Array.from({ length: 100 }, (_, i) => [`dv-${600 + i}`, `written while down ${i}`] as const)
      const after = yield* DhtClient.make({ nodes: survivors.map((n) => n.address) }, CLIENT_OPTIONS)
      yield* Effect.forEach(missed, ([k, v]) => after.set(k, v), { concurrency: 16, discard: true })
      for (const [k, v] of missed) expected.set(k, v)
      lap("killed one process; 100 keys written while it was down")

      const restarted = yield* start(1, "dht node 2 (restarted)")
      logged.push(restarted)
      // Its store is back from disk as soon as it serves: the 600 keys it held before the kill.
      const held = yield* dumpStore(restarted.address)
      expect(held.size, "keys in the restarted store").toBeGreaterThanOrEqual(600)
      const back = [nodes[0]!, restarted, nodes[2]!]
      yield* awaitPositions(back, V)
      // Repair brings it what it missed.
      yield* awaitCopies(back, expected, 3)
      lap("restarted with the same positions; every key on all 3 processes again")
    }), { timeout: 180_000 })

  it.live("a node takes 64 positions by default, and DHT_VNODES or --vnodes sets another number", () =>
    Effect.gen(function*() {
      const started = (env: Record<string, string>, args: ReadonlyArray<string> = []) =>
        Effect.gen(function*() {
          const proc = yield* spawnBin("dht", ["--host", "127.0.0.1", "--port", "0", ...args], { env, label: "dht" })
          const [, count, address] = yield* proc.waitForStderr(/all (\d+) virtual nodes of (\S+) joined/, "30 seconds")
          const printed = yield* runBin("dht-client", ["--node", address!, "ring", "--positions"], { timeout: "15 seconds" })
          expect(printed.code, printed.stderr).toBe(0)
          const listed = printed.stdout.split("\n").filter((line) => line.includes(`${address}`)).length
          yield* proc.kill("SIGKILL")
          return { count: Number(count), listed }
        })
      // Unset: the default.
      expect(yield* started({ DHT_VNODES: "" })).toEqual({ count: 64, listed: 64 })
      expect(yield* started({ DHT_VNODES: "3" })).toEqual({ count: 3, listed: 3 })
      // The flag wins over the environment.
      expect(yield* started({ DHT_VNODES: "3" }, ["--vnodes", "5"])).toEqual({ count: 5, listed: 5 })
    }), { timeout: 120_000 })
})

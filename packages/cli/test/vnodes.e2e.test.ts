/**
 * Virtual nodes as real processes: four `dht --vnodes 8` processes with three copies of every
 * key. Each key must end up on three distinct processes (never twice on one machine), and two
 * processes killed at once with SIGKILL must lose no acknowledged write. Copies are read
 * straight from each process's store over Peer FetchRange.
 */
import { DhtClient } from "@crustyring/client"
import { Address } from "@crustyring/protocol"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ProcessError, runBin } from "./processes.ts"
import {
  copiesProblems,
  eventually,
  printLogsOnFailure,
  ringProblem,
  type RingNode,
  startRing,
  stopwatch,
  walk,
  CLIENT_OPTIONS,
  COPIES,
  REPLICATED_ARGS
} from "./replicated.ts"

const VNODES = 8
const KEYS = 1500
const keyOf = (i: number) => `vn-${i}`
const valueOf = (i: number) => `value-${i}`

/** Every virtual-node address of the processes. */
const positions = (nodes: ReadonlyArray<RingNode>) =>
  nodes.flatMap((n) => Array.from({ length: VNODES }, (_, i) => Address.withVnode(Address.unsafeMake(n.address), i)))

/** Polls until the ring walk lists exactly the virtual nodes of `nodes`, each ready, ranges meeting. */
const awaitRing = (nodes: ReadonlyArray<RingNode>) =>
  eventually(
    `the ring of ${nodes.length} processes x ${VNODES} virtual nodes`,
    Effect.flatMap(walk(nodes[0]!.address), (ring) => {
      const problem = ringProblem(ring, positions(nodes))
      return problem === undefined ? Effect.succeed(ring) : Effect.fail(new ProcessError({ message: problem }))
    }),
    "30 seconds"
  )

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
      yield* awaitRing(nodes)
      lap(`4 processes x ${VNODES} virtual nodes up`)
      const printed = yield* runBin("dht-client", ["--node", nodes[0]!.address, "ring"], { timeout: "15 seconds" })
      expect(printed.code, printed.stderr).toBe(0)
      expect(printed.stdout).toContain(`${4 * VNODES} virtual nodes on 4 nodes`)
      expect(printed.stdout).toContain(`${nodes[1]!.address}#${VNODES - 1} `)

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
      yield* awaitRing(rest)
      // Two processes left: each holds every key.
      yield* awaitCopies(rest, expected, 2)
      lap("every key on both survivors")
    }), { timeout: 180_000 })
})

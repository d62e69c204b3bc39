import { DhtClient } from "@crustyring/client"
import { expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { ProcessError } from "./processes.ts"
import { JOINED, startNode } from "./cluster.ts"
import { awaitReplicated, awaitStable, eventually, printLogsOnFailure, startRing, walk, ringProblem } from "./replicated.ts"

const ARGS = ["--replicas", "3", "--repair-interval", "1s", "--tombstone-grace", "2s"]
/**
 * A join moves replica sets: the node pushed out of a key's set must drop its copy, or after a
 * delete (and the tombstone's collection) a later crash would bring the old value back.
 */
it.live("a node that leaves a replica set drops its copies, so deleted keys stay deleted after a join, tombstone collection and a crash", () =>
  Effect.gen(function*() {
    const nodes = yield* startRing(4, ARGS)
    yield* printLogsOnFailure(nodes)
    const all = nodes.map((n) => n.address)
    yield* awaitStable(all, 2, "20 seconds")
    const client = yield* DhtClient.make({ nodes: all })
    const keys = Array.from({ length: 300 }, (_, i) => `k-${i}`)
    yield* Effect.forEach(keys, (k) => client.set(k, `old ${k}`), { concurrency: 16, discard: true })
    yield* awaitReplicated(all, 300, 3, "20 seconds")
    const fifth = yield* startNode(["--join", all[0]!, ...ARGS], JOINED, "dht node 5")
    const all5 = [...all, fifth.address]
    yield* awaitStable(all5, 2, "20 seconds")
    yield* awaitReplicated(all5, 300, 3, "20 seconds")
    yield* Effect.forEach(keys, (k) => client.delete(k), { concurrency: 16, discard: true })
    // No node holds a live copy any more: former replicas dropped theirs after the join.
    yield* eventually("no live copy left", Effect.flatMap(walk(all5[0]!), (r) => {
      const live = r.filter((s) => s.keys > 0).map((s) => `${s.address} holds ${s.keys}`)
      return live.length === 0 ? Effect.succeed(r) : Effect.fail(new ProcessError({ message: live.join(", ") }))
    }), "20 seconds")
    // Tombstones collected everywhere.
    yield* eventually("tombstones collected", Effect.flatMap(walk(all5[0]!), (r) => {
      const t = r.reduce((n, s) => n + s.tombstones, 0)
      return t === 0 ? Effect.succeed(r) : Effect.fail(new ProcessError({ message: `${t} tombstones` }))
    }), "20 seconds")
    yield* fifth.proc.kill("SIGKILL")
    yield* fifth.proc.exitWithin("5 seconds")
    yield* awaitStable(all, 2, "20 seconds")
    // Let repair run: poll until the status is stable with no repair, then read.
    yield* eventually("repair idle", Effect.flatMap(walk(all[0]!), (r) => {
      const p = ringProblem(r, all)
      return p === undefined && r.every((s) => s.repair === null && s.replicatedKeys === s.ownedKeys) ? Effect.succeed(r) : Effect.fail(new ProcessError({ message: p ?? "repairing" }))
    }), "20 seconds")
    const back = yield* Effect.forEach(keys, (k) => Effect.map(Effect.result(client.get(k)), (x) => Result.isSuccess(x) ? `${k}=${Buffer.from(x.success).toString()}` : undefined), { concurrency: 16 })
    const resurrected = back.filter((x) => x !== undefined)
    expect(resurrected, "deleted keys readable again").toEqual([])
  }), 90_000)

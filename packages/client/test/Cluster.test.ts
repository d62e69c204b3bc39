/**
 * DhtClient against a real in-process cluster (`TestCluster`): requests running while a node
 * stops all succeed with the right values, whether they go to the owner or to random nodes,
 * including a client whose node list still names the stopped node.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { TestCluster } from "@crustyring/testing"
import { Effect, Fiber } from "effect"
import { DhtClient } from "../src/index.ts"

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8")

/** Polls `done` every 10 ms until it holds; dies naming `what` after `within` ms. */
const eventually = (what: string, done: () => boolean, within = 20_000) =>
  Effect.gen(function*() {
    const until = performance.now() + within
    while (!done()) {
      if (performance.now() > until) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep("10 millis")
    }
  })

/**
 * Reads and rewrites `keys` in rounds until `stop` is set, checking every answer against the
 * last acknowledged write. Errors and wrong answers are collected, never thrown, so that the
 * test reports all of them.
 */
const load = (client: DhtClient.Service, label: string, keys: ReadonlyArray<string>, expected: Map<string, string>) => {
  const state = { rounds: 0, stop: false, errors: [] as Array<string>, wrong: [] as Array<string> }
  const run = Effect.gen(function*() {
    while (!state.stop) {
      for (const key of keys) {
        const got = yield* Effect.result(client.get(key))
        if (got._tag === "Failure") state.errors.push(`${label} get ${key}: ${got.failure._tag}: ${got.failure.message}`)
        else if (text(got.success) !== expected.get(key)) {
          state.wrong.push(`${label} get ${key}: ${text(got.success)}, expected ${expected.get(key)}`)
        }
        const value = `${label}-${state.rounds}`
        const set = yield* Effect.result(client.set(key, value))
        if (set._tag === "Failure") state.errors.push(`${label} set ${key}: ${set.failure._tag}: ${set.failure.message}`)
        else expected.set(key, value)
      }
      state.rounds++
    }
  })
  return { state, run }
}

describe("DhtClient on a real cluster", () => {
  it.live("requests running while a node stops all succeed, owner-routed and random alike", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 4 })
      const all = cluster.nodes.map((n) => n.address)
      const owner = yield* cluster.client()
      const random = yield* cluster.client({ routing: "random" })

      const ownerKeys = Array.from({ length: 20 }, (_, i) => `owner-${i}`)
      const randomKeys = Array.from({ length: 20 }, (_, i) => `random-${i}`)
      const expected = new Map<string, string>()
      for (const key of [...ownerKeys, ...randomKeys]) {
        yield* owner.set(key, "initial")
        expected.set(key, "initial")
      }

      const loads = [load(owner, "owner", ownerKeys, expected), load(random, "random", randomKeys, expected)]
      const fibers = yield* Effect.forEach(loads, (l) => Effect.forkChild(l.run, { startImmediately: true }))
      yield* Effect.addFinalizer(() => Effect.forEach(fibers, Fiber.interrupt, { discard: true }))

      yield* eventually("a first round of load", () => loads.every((l) => l.state.rounds >= 1))
      const leaving = cluster.nodes[1]!
      yield* cluster.stopNode(leaving)
      const after = loads.map((l) => l.state.rounds)
      yield* eventually("two rounds of load after the stop", () => loads.every((l, i) => l.state.rounds >= after[i]! + 2))
      for (const l of loads) l.state.stop = true
      yield* Effect.forEach(fibers, Fiber.join, { discard: true })

      assert.deepStrictEqual(loads.flatMap((l) => l.state.errors), [])
      assert.deepStrictEqual(loads.flatMap((l) => l.state.wrong), [])

      // A client whose list still names the stopped node serves every key, and forgets that node.
      const listClient = yield* DhtClient.make({ nodes: all }, { routing: "random" })
      for (const key of [...ownerKeys, ...randomKeys]) {
        assert.strictEqual(text(yield* listClient.get(key)), expected.get(key))
      }
      expect(all).toContain(leaving.address)
      expect(yield* listClient.nodes).not.toContain(leaving.address)
    }))
})

/**
 * DhtClient retries against scripted DhtNode servers on loopback: a node that answers
 * UNAVAILABLE a few times and then serves (retried with growing pauses), one that never answers
 * (Timeout by the overall deadline, naming what failed), one that dies mid-request (the request
 * finishes on another node), and the failures that must not be retried.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect, Option } from "effect"
import { DhtClient } from "../src/index.ts"
import { crashingNode, QUORUM, scriptedNode } from "./ScriptedNode.ts"

/** Runs `effect` and returns its outcome with the milliseconds it took. */
const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = performance.now()
    const result = yield* Effect.result(effect)
    return { result, millis: performance.now() - start }
  })

describe("DhtClient retries", () => {
  it.live("a node answering UNAVAILABLE a few times is retried with growing pauses until it serves", () =>
    Effect.gen(function*() {
      const node = yield* scriptedNode((n) =>
        n < 4 ? { status: grpc.status.UNAVAILABLE, details: QUORUM } : { value: Buffer.from("v") }
      )
      const client = yield* DhtClient.make({ nodes: [node.address] })
      const { millis, result } = yield* timed(client.get("k"))
      assert.strictEqual(result._tag, "Success", JSON.stringify(result))
      if (result._tag === "Success") assert.strictEqual(Buffer.from(result.success).toString(), "v")
      assert.lengthOf(node.calls, 5)
      // The pauses follow 50, 100, 200, 400 ms, each jittered by at most 20% either way.
      const gaps = node.calls.slice(1).map((c, i) => c.at - node.calls[i]!.at)
      gaps.forEach((gap, i) => expect(gap, `pause ${i + 1} of ${gaps.map(Math.round).join(", ")} ms`).toBeGreaterThanOrEqual(0.8 * 50 * 2 ** i - 5))
      expect(gaps[3]!).toBeGreaterThan(gaps[0]!)
      expect(millis).toBeLessThan(5_000)
    }))

  it.live("Set and Delete are retried too, and so is a result carrying an error other than the missing key", () =>
    Effect.gen(function*() {
      const node = yield* scriptedNode((n, q) =>
        n % 3 === 0
          ? { status: grpc.status.UNAVAILABLE, details: QUORUM }
          : n % 3 === 1
          ? { error: "ring is rebalancing", hops: 0 }
          : q.ty === "Set"
          ? { hops: 0 }
          : { value: Buffer.from("old"), hops: 0 }
      )
      const client = yield* DhtClient.make({ nodes: [node.address] }, { routing: "random" })
      const previous = yield* client.set("k", "new")
      assert.isTrue(Option.isNone(previous))
      const removed = yield* client.delete("k")
      assert.strictEqual(Buffer.from(removed).toString(), "old")
      assert.lengthOf(node.calls, 6)
    }))

  it.live("a node that never answers ends in Timeout within the deadline, naming the request and node", () =>
    Effect.gen(function*() {
      const node = yield* scriptedNode(() => "hang")
      // One attempt may take longer than the whole deadline: it is cut to what is left.
      const patient = yield* DhtClient.make({ nodes: [node.address] }, { deadline: "1 second", timeout: "30 seconds" })
      const one = yield* timed(patient.get("slow"))
      assert.strictEqual(one.result._tag, "Failure")
      if (one.result._tag === "Failure") {
        assert.strictEqual(one.result.failure._tag, "Timeout")
        expect(one.result.failure.message).toContain(`get "slow": no node answered within 1s`)
      }
      expect(one.millis).toBeGreaterThanOrEqual(950)
      expect(one.millis).toBeLessThan(1_750)

      // Short attempts: several are made, and the error names the last one's node.
      const hurried = yield* DhtClient.make({ nodes: [node.address] }, { deadline: "1500 millis", timeout: "200 millis" })
      const before = node.calls.length
      const many = yield* timed(hurried.set("slow", "v"))
      assert.strictEqual(many.result._tag, "Failure")
      if (many.result._tag === "Failure") {
        assert.strictEqual(many.result.failure._tag, "Timeout")
        expect(many.result.failure.message).toMatch(/^set "slow": no node answered within 1s 500ms \(last error: 127\.0\.0\.1:\d+: Deadline exceeded/)
        expect(many.result.failure.message).toContain(node.address)
      }
      expect(node.calls.length - before).toBeGreaterThanOrEqual(3)
      expect(many.millis).toBeLessThan(1_500 + 750)
    }))

  it.live("a node that keeps failing its quorum ends in Timeout with the node's own message", () =>
    Effect.gen(function*() {
      const node = yield* scriptedNode(() => ({ status: grpc.status.UNAVAILABLE, details: QUORUM }))
      const client = yield* DhtClient.make({ nodes: [node.address] }, { deadline: "1 second" })
      const { millis, result } = yield* timed(client.set("k", "v"))
      assert.strictEqual(result._tag, "Failure")
      if (result._tag === "Failure") {
        assert.strictEqual(result.failure._tag, "Timeout")
        assert.strictEqual(
          result.failure.message,
          `set "k": no node answered within 1s (last error: ${node.address}: ${QUORUM})`
        )
      }
      expect(node.calls.length).toBeGreaterThanOrEqual(4)
      expect(millis).toBeLessThan(1_750)
    }))

  it.live("`attempts` bounds the retries before the deadline does", () =>
    Effect.gen(function*() {
      const node = yield* scriptedNode(() => ({ status: grpc.status.UNAVAILABLE, details: QUORUM }))
      const client = yield* DhtClient.make({ nodes: [node.address] }, { attempts: 3 })
      const e = yield* Effect.flip(client.get("k"))
      assert.strictEqual(e._tag, "Unavailable")
      assert.strictEqual(e.message, `get "k": no node answered in 3 attempts (last error: ${node.address}: ${QUORUM})`)
      assert.lengthOf(node.calls, 3)
    }))

  it.live("a rejected request and a missing key are answered at once, never retried", () =>
    Effect.gen(function*() {
      const refusing = yield* scriptedNode(() => ({ status: grpc.status.INVALID_ARGUMENT, details: "value is 11 bytes; the limit is 10 bytes" }))
      const missing = yield* scriptedNode(() => ({ error: "Key not present in database.", hops: 0 }))
      const rejected = yield* Effect.flip(Effect.flatMap(DhtClient.make({ nodes: [refusing.address] }), (c) => c.set("k", "01234567890")))
      assert.strictEqual(rejected._tag, "InvalidRequest")
      assert.strictEqual(rejected.message, `set "k": value is 11 bytes; the limit is 10 bytes`)
      assert.lengthOf(refusing.calls, 1)
      const client = yield* DhtClient.make({ nodes: [missing.address] })
      assert.strictEqual((yield* Effect.flip(client.get("k")))._tag, "KeyNotFound")
      assert.strictEqual((yield* Effect.flip(client.delete("k")))._tag, "KeyNotFound")
      assert.lengthOf(missing.calls, 2)
    }))

  it.live("a node that dies mid-request: the request finishes on another node, and the dead one is forgotten", () =>
    Effect.gen(function*() {
      const dying = yield* crashingNode
      const healthy = yield* scriptedNode((_, q) => ({ value: Buffer.from(`got ${q.key.toString()}`), hops: 0 }))
      const client = yield* DhtClient.make({ nodes: [dying.address, healthy.address] }, { routing: "random" })
      // Nodes are picked at random: keep asking until one request has hit the dying node.
      for (let i = 0; dying.calls.length === 0; i++) {
        assert.isBelow(i, 64, "no request reached the dying node")
        const v = yield* client.get(`k${i}`)
        assert.strictEqual(Buffer.from(v).toString(), `got k${i}`)
      }
      const lost = dying.calls[0]!.key
      expect(healthy.calls.map((c) => c.key)).toContain(lost)
      assert.deepStrictEqual(yield* client.nodes, [healthy.address])
      for (let i = 0; i < 5; i++) yield* client.get(`after${i}`)
      assert.lengthOf(dying.calls, 1)
    }))

  it.live("a request rides out the window between a node's crash and its replica taking over", () =>
    Effect.gen(function*() {
      const dying = yield* crashingNode
      // The replica refuses (no quorum) until 1.5 s after the crash, as while the ring detects it.
      const DETECTION = 1_500
      const crashedAt = () => dying.calls[0]?.at
      const replica = yield* scriptedNode(() => {
        const at = crashedAt()
        return at !== undefined && performance.now() - at >= DETECTION
          ? { value: Buffer.from("v"), hops: 0 }
          : { status: grpc.status.UNAVAILABLE, details: QUORUM }
      })
      const client = yield* DhtClient.make({ nodes: [dying.address, replica.address] }, { routing: "random" })
      const { millis, result } = yield* timed(client.get("k"))
      assert.strictEqual(result._tag, "Success", JSON.stringify(result))
      assert.lengthOf(dying.calls, 1)
      expect(millis).toBeGreaterThanOrEqual(DETECTION)
      expect(millis).toBeLessThan(DETECTION + 1_500)
      expect(replica.calls.filter((c) => c.at > crashedAt()!).length).toBeGreaterThanOrEqual(3)
    }))

  it.live("an unreachable address alone fails within the deadline, naming the address", () =>
    Effect.gen(function*() {
      const client = yield* DhtClient.make({ nodes: ["127.0.0.1:1"] }, { deadline: "800 millis" })
      const { millis, result } = yield* timed(client.delete("gone"))
      assert.strictEqual(result._tag, "Failure")
      if (result._tag === "Failure") {
        assert.strictEqual(result.failure._tag, "Timeout")
        expect(result.failure.message).toMatch(/^delete "gone": no node answered within 800ms \(last error: 127\.0\.0\.1:1 unavailable: /)
      }
      expect(millis).toBeLessThan(800 + 750)
    }))
})

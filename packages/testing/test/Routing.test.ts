import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { TestCluster } from "../src/index.ts"

const N = 32
const QUERIES = 10_000

/** Waits until every node's finger table is the same in two snapshots 1.5 refresh periods apart. */
const fingersSettled = (cluster: TestCluster.TestCluster) =>
  Effect.gen(function*() {
    const snapshot = Effect.map(cluster.views, (vs) => vs.map((v) => v.fingers.map((f) => f.id).join(",")).join("|"))
    const a = yield* snapshot
    yield* Effect.sleep("300 millis")
    const b = yield* snapshot
    return a === b && (yield* cluster.views).every((v) => v.fingers.length > 0)
  }).pipe(
    Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (ok) => ok }),
    Effect.timeout("20 seconds")
  )

describe("routing", () => {
  it.live(`with fingers, ${N} nodes answer ${QUERIES} random keys in O(log N) hops`, () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: N, config: { fixFingersInterval: Duration.millis(200) } })
      yield* fingersSettled(cluster)
      const client = yield* cluster.client()
      const hops = yield* Effect.forEach(
        Array.from({ length: QUERIES }, (_, i) => i),
        (i) => Effect.map(client.query({ ty: "Get", key: Buffer.from(`random-key-${i}-${Math.random()}`) }), (r) => r.hops),
        { concurrency: 64 }
      )
      const mean = hops.reduce((a, b) => a + b, 0) / hops.length
      const max = Math.max(...hops)
      const log2 = Math.log2(N)
      console.log(`N=${N}: mean hops ${mean.toFixed(3)}, max ${max}`)
      expect(mean).toBeLessThanOrEqual(0.5 * log2 + 0.5)
      expect(max).toBeLessThanOrEqual(log2 + 1)
    }), 120_000)
})

describe("owner-direct client", () => {
  it.live("sends each request straight to the owner, and stays correct when the ring changes", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 6 })
      const client = yield* cluster.client({ routing: "owner" })
      const keys = Array.from({ length: 300 }, (_, i) => `direct-${i}`)
      yield* Effect.forEach(keys, (k) => client.set(k, `v-${k}`), { concurrency: 16 })
      const hopsOf = Effect.forEach(keys, (k) => Effect.map(client.query({ ty: "Get", key: Buffer.from(k) }), (r) => r.hops), {
        concurrency: 16
      })
      expect((yield* hopsOf).every((h) => h === 0)).toBe(true)

      // The view is now stale: two nodes join, one leaves. Reads still return every value.
      yield* cluster.addNode()
      yield* cluster.addNode()
      yield* cluster.stopNode((yield* cluster.running)[1]!)
      for (const k of keys) expect(Buffer.from(yield* client.get(k)).toString()).toBe(`v-${k}`)

      // Forwarded replies trigger a refresh; soon every request takes 0 hops again.
      yield* hopsOf.pipe(
        Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (hops) => hops.every((h) => h === 0) }),
        Effect.timeout("10 seconds")
      )
    }), 60_000)

  it.live("random routing forwards most requests", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 6 })
      const client = yield* cluster.client({ routing: "random" })
      const hops = yield* Effect.forEach(Array.from({ length: 300 }, (_, i) => `r-${i}`), (k) =>
        Effect.map(client.query({ ty: "Get", key: Buffer.from(k) }), (r) => r.hops))
      expect(hops.filter((h) => h > 0).length).toBeGreaterThan(150)
    }), 60_000)
})

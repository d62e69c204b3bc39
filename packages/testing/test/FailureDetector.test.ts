/**
 * FailureDetector, on real nodes over the in-memory network under TestClock: a neighbour whose
 * messages are lost is marked down after `failureTimeout` and within `failureTimeout +
 * pingInterval`; delays below the timeout mark no one down; a down member is taken back once it
 * answers; one down for `deadAfter` leaves the membership; under write load, the answers to the
 * replica writes save most pings.
 */
import { describe, expect, it } from "@effect/vitest"
import { Membership, type NodeConfig } from "@crustyring/node"
import { MemoryNetwork } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Clock, Duration, Effect, Exit, Fiber, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"
import { DROP, FAST, flush, harness, keysOwnedBy, ownerOf, ringOf, startRing, text, bytes, withTime, type Harness, type Node } from "./Harness.ts"


/** Loses every message to or from `node` (clients included), and fails its calls in flight. */
const silence = (h: Harness, node: Node) => {
  h.faults.rule = (from, to) => from === node.address || to === node.address ? DROP : undefined
  h.cluster.network.sever(node.address)
}
/** Delays every message between nodes (not clients) by `ms`. */
const delayAll = (h: Harness, ms: number) => {
  h.faults.rule = (from, to) => from.startsWith("client") || to.startsWith("client") ? undefined : { drop: false, delayMs: ms }
}
const isDownAt = (observer: Node, member: Node) => observer.node.membership.down.has(member.node.self.id)

/** Counts the Ping calls the nodes make from now on, by wrapping each peer client the network hands out. */
const countPings = (h: Harness) => {
  const counter = { pings: 0 }
  const network = h.cluster.network as { client: MemoryNetwork.Network["client"] }
  const made = network.client
  network.client = <C>(service: Parameters<MemoryNetwork.Network["client"]>[0], from: string, address: string): C => {
    const client = made<C & object>(service, from, address)
    return new Proxy(client, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver)
        if (key !== "Ping" || typeof value !== "function") return value
        return (...args: Array<unknown>) => {
          counter.pings++
          return (value as (...a: Array<unknown>) => unknown).apply(target, args)
        }
      }
    })
  }
  return counter
}

describe("FailureDetector", () => {
  it.effect("a silent neighbour is marked down after failureTimeout, and within failureTimeout + pingInterval", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ pingInterval: Duration.millis(250), failureTimeout: Duration.seconds(1) })
      // Four nodes, three replicas: each watches its predecessor and three successors, all others.
      const nodes = yield* startRing(h, 4)
      const silent = nodes[1]!
      const others = nodes.filter((n) => n !== silent)
      const t0 = yield* Clock.currentTimeMillis
      silence(h, silent)
      const detectedAt = new Map<Node, number>()
      for (let step = 0; step < 80 && detectedAt.size < others.length; step++) {
        yield* TestClock.adjust("25 millis")
        const now = yield* Clock.currentTimeMillis
        for (const n of others) if (!detectedAt.has(n) && isDownAt(n, silent)) detectedAt.set(n, now - t0)
      }
      for (const n of others) {
        const at = detectedAt.get(n)
        expect(at, `${n.address} marked ${silent.address} down`).toBeDefined()
        expect(at!).toBeGreaterThanOrEqual(1000)
        expect(at!).toBeLessThanOrEqual(1250)
        // Out of the view (routing and placement skip it), but still a member.
        const view = yield* n.node.membership.view
        expect(Membership.known(view).map((m) => m.address)).not.toContain(silent.address)
        expect(Membership.memberCount(view, n.node.membership.down)).toBe(4)
      }
      // Nobody else was marked down.
      for (const n of others) expect(n.node.membership.down.size).toBe(1)
    }))

  it.effect("a crashed node whose port refuses connections is marked down failureTimeout after its last answer, not sooner", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ pingInterval: Duration.millis(250), failureTimeout: Duration.seconds(1) })
      const nodes = yield* startRing(h, 4, "n", (name) => name === "n1" ? { leaveTimeout: Duration.millis(1) } : {})
      const crashed = nodes[1]!
      const others = nodes.filter((n) => n !== crashed)
      // It stops at once without a hand-off; from then on every ping to it fails at once.
      const t0 = yield* Clock.currentTimeMillis
      const stopped = yield* h.crash(crashed)
      yield* TestClock.adjust("5 millis")
      expect(stopped.pollUnsafe()).toBeDefined()
      h.crashed.clear()
      expect(h.cluster.network.listening(crashed.address)).toBe(false)
      const detectedAt = new Map<Node, number>()
      for (let step = 0; step < 80 && detectedAt.size < others.length; step++) {
        yield* TestClock.adjust("25 millis")
        const now = yield* Clock.currentTimeMillis
        for (const n of others) if (!detectedAt.has(n) && isDownAt(n, crashed)) detectedAt.set(n, now)
      }
      for (const n of others) {
        const at = detectedAt.get(n)
        expect(at, `${n.address} marked ${crashed.address} down`).toBeDefined()
        // Its last answer came within a ping interval before the crash.
        const since = n.node.membership.down.get(crashed.node.self.id)!.since
        expect(since).toBeLessThanOrEqual(t0)
        expect(since).toBeGreaterThanOrEqual(t0 - 250)
        expect(at! - since).toBeGreaterThanOrEqual(1000)
        expect(at! - since).toBeLessThanOrEqual(1250 + 25)
        expect(at! - t0).toBeGreaterThan(750)
      }
    }))

  it.effect("no false positive: 300 ms delays each way, under a 1 s timeout, mark nobody down over a minute", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ pingInterval: Duration.millis(250), failureTimeout: Duration.seconds(1) })
      const nodes = yield* startRing(h, 4)
      delayAll(h, 300)
      for (let s = 0; s < 60; s++) {
        yield* TestClock.adjust("1 second")
        for (const n of nodes) expect(n.node.membership.down.size, `${n.address} at ${s + 1} s`).toBe(0)
      }
      for (const n of nodes) expect((yield* n.node.membership.view).successors.length).toBe(3)
      const set = yield* withTime(h.query(nodes[0]!.address, { ty: "Set", key: bytes("slow"), value: bytes("v") }), "100 millis")
      expect(set.error).toBeUndefined()
    }))

  it.effect("control: delays above the timeout (600 ms each way) do get members marked down", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ pingInterval: Duration.millis(250), failureTimeout: Duration.seconds(1) })
      const nodes = yield* startRing(h, 4)
      delayAll(h, 600)
      yield* TestClock.adjust("3 seconds")
      expect(nodes.some((n) => n.node.membership.down.size > 0)).toBe(true)
      h.faults.rule = () => undefined
    }))

  it.effect("a down member is taken back once it answers: back in the views, its range its own again", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ pingInterval: Duration.millis(250), failureTimeout: Duration.seconds(1) })
      const nodes = yield* startRing(h, 4)
      const silent = nodes[2]!
      const others = nodes.filter((n) => n !== silent)
      const ring = ringOf(nodes)
      silence(h, silent)
      yield* TestClock.adjust("5 seconds")
      for (const n of others) expect(isDownAt(n, silent)).toBe(true)

      const healedAt = yield* Clock.currentTimeMillis
      h.faults.rule = () => undefined
      let backAt: number | undefined
      for (let step = 0; step < 200 && backAt === undefined; step++) {
        yield* TestClock.adjust("25 millis")
        if (others.every((n) => n.node.membership.down.size === 0)) backAt = (yield* Clock.currentTimeMillis) - healedAt
      }
      expect(backAt).toBeDefined()
      // A probe sent just before the heal is lost and waits out its deadline (1 s); the next
      // comes after the backoff (at most 1 s): about 2 s in all, never more than 2.5 s.
      expect(backAt!).toBeLessThanOrEqual(2500)
      yield* TestClock.adjust("2 seconds")
      // Every node's range is the one the true ring gives it, the returned one's included.
      for (const n of nodes) {
        const view = yield* n.node.membership.view
        expect(Membership.next(view).id, n.address).toBe(Ring.successor(ring, n.node.self.id)!.id)
        expect(n.node.membership.down.size).toBe(0)
      }
      // It serves its own range again.
      const [key] = keysOwnedBy(nodes, silent, 1)
      const set = yield* h.query(others[0]!.address, { ty: "Set", key: bytes(key!), value: bytes("v") })
      expect(set.error).toBeUndefined()
      expect(text((yield* h.query(silent.address, { ty: "Get", key: bytes(key!) })).value)).toBe("v")
      expect((yield* h.query(silent.address, { ty: "Get", key: bytes(key!) })).hops).toBe(0)
    }))

  it.effect("under write load, the replicas' answers to the writes stand in for most pings, and no one is marked down", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // Four copies on four nodes: each node's writes reach every node it watches.
      const h = yield* harness({ pingInterval: Duration.millis(250), failureTimeout: Duration.seconds(1), replicas: 4, writeQuorum: 2 })
      const counter = countPings(h)
      const nodes = yield* startRing(h, 4)
      const owned = nodes.map((n) => keysOwnedBy(nodes, n, 1, `load-${n.address}`)[0]!)
      const window = Effect.gen(function*() {
        const before = counter.pings
        for (let step = 0; step < 200; step++) yield* TestClock.adjust("25 millis")
        return counter.pings - before
      })
      const idle = yield* window
      // A Set at each owner every 25 ms, while the clock moves the same 5 seconds.
      const writer = yield* Effect.forkChild(Effect.forever(Effect.gen(function*() {
        for (let i = 0; i < nodes.length; i++) {
          const set = yield* h.query(nodes[i]!.address, { ty: "Set", key: bytes(owned[i]!), value: bytes("v") })
          expect(set.error).toBeUndefined()
        }
        yield* Effect.sleep("25 millis")
      })))
      const busy = yield* window
      yield* Fiber.interrupt(writer)
      // Idle: about 4 pings a second to each of 3 neighbours, for each of 4 nodes, over 5 s.
      expect(idle).toBeGreaterThan(150)
      // Busy: a real ping at least every 4 periods, so about a quarter as many.
      expect(busy).toBeLessThan(idle / 2)
      expect(busy).toBeGreaterThan(0)
      for (const n of nodes) expect(n.node.membership.down.size, `${n.address} marked someone down`).toBe(0)
    }))

  it.effect("a member down for deadAfter leaves the membership, and not before", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ pingInterval: Duration.millis(250), failureTimeout: Duration.seconds(1), deadAfter: Duration.seconds(10) })
      const nodes = yield* startRing(h, 4)
      const silent = nodes[3]!
      const others = nodes.filter((n) => n !== silent)
      silence(h, silent)
      yield* TestClock.adjust("2 seconds")
      for (const n of others) {
        expect(isDownAt(n, silent)).toBe(true)
        expect(Membership.memberCount(yield* n.node.membership.view, n.node.membership.down)).toBe(4)
      }
      // Silent since about t0: still a member at 9 s.
      yield* TestClock.adjust("7 seconds")
      for (const n of others) expect(isDownAt(n, silent)).toBe(true)
      yield* TestClock.adjust("3 seconds")
      for (const n of others) {
        expect(isDownAt(n, silent)).toBe(false)
        expect(n.node.membership.gone.has(silent.node.self.id)).toBe(true)
        expect(Membership.memberCount(yield* n.node.membership.view, n.node.membership.down)).toBe(3)
      }
    }))
})

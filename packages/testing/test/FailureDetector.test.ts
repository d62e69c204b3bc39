/**
 * FailureDetector, on real nodes over the in-memory network under TestClock: a neighbour whose
 * messages are lost is marked down after `failureTimeout` and within `failureTimeout +
 * pingInterval`; delays below the timeout mark no one down; a down member is taken back once it
 * answers; one down for `deadAfter` leaves the membership.
 */
import { describe, expect, it } from "@effect/vitest"
import { Membership, type NodeConfig } from "@crustyring/node"
import { MemoryNetwork } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Clock, Duration, Effect, Exit, Fiber, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"

type Node = MemoryCluster.MemoryNode

const FAST: Partial<NodeConfig.Settings> = { pingInterval: Duration.millis(250), failureTimeout: Duration.seconds(1) }
const DROP: MemoryNetwork.Decision = { drop: true, delayMs: 0 }
const bytes = (s: string) => Buffer.from(s, "utf8")
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString("utf8"))

/** Lets the work in flight (messages, background sends) run, without moving the clock. */
const flush = Effect.gen(function*() {
  for (let i = 0; i < 200; i++) yield* Effect.yieldNow
})

/** Runs `effect` in the background and lets simulated time pass, `step` at a time, until it completes. */
const withTime = <A, E>(effect: Effect.Effect<A, E>, step: Duration.Input = "100 millis", limit = 600) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    yield* flush
    for (let i = 0; i < limit && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust(step)
    return yield* Fiber.join(fiber)
  })

/**
 * A memory cluster under TestClock whose nodes all stop when the test ends, passed or failed:
 * a leave needs simulated time, which moves only when the test adjusts it. Faults: `crash`
 * (every message to or from a node is lost, its calls in flight fail, and it stops in the
 * background, its leave failing) and `rule` (drop or delay the messages between two nodes).
 */
const harness = (config: Partial<NodeConfig.Settings> = {}) =>
  Effect.gen(function*() {
    // The nodes' scopes hang off a scope of the harness, closed only after every node has
    // stopped with time passing; the test's own scope closes without moving the clock.
    const scope = yield* Scope.make()
    const cluster = yield* MemoryCluster.make({ ...FAST, ...config }).pipe(Scope.provide(scope))
    const nodes: Array<Node> = []
    const crashed = new Set<string>()
    const stopping: Array<Fiber.Fiber<void>> = []
    const starting: Array<Fiber.Fiber<Node, unknown>> = []
    const faults: { rule: (from: string, to: string) => MemoryNetwork.Decision | undefined } = { rule: () => undefined }
    cluster.network.decide = (from, to) =>
      crashed.has(from) || crashed.has(to) ? DROP : faults.rule(from, to) ?? MemoryNetwork.deliver
    yield* Effect.addFinalizer(() =>
      withTime(
        Effect.gen(function*() {
          for (const f of starting) yield* Fiber.await(f)
          for (const n of [...nodes].reverse()) yield* n.close
          for (const f of stopping) yield* Fiber.await(f)
          yield* Scope.close(scope, Exit.void)
        }),
        "1 second",
        300
      ).pipe(Effect.ignore)
    )
    return {
      cluster,
      nodes,
      faults,
      crashed,
      /** Starts a node (in the background, with simulated time passing until it serves). */
      start: (options: MemoryCluster.StartOptions) =>
        Effect.tap(withTime(cluster.start(options)), (n) => Effect.sync(() => nodes.push(n))),
      /** Starts a node in the background; the test moves the clock. */
      spawn: (options: MemoryCluster.StartOptions) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkDetach(Effect.tap(cluster.start(options), (n) => Effect.sync(() => nodes.push(n))))
          starting.push(fiber)
          return fiber
        }),
      /** Crashes a node: nothing reaches it or leaves it, and it stops without handing anything over. */
      crash: (node: Node) =>
        Effect.gen(function*() {
          crashed.add(node.address)
          cluster.network.sever(node.address)
          const fiber = yield* Effect.forkDetach(node.close)
          stopping.push(fiber)
          return fiber
        }),
      query: cluster.query
    }
  })
type Harness = Effect.Success<ReturnType<typeof harness>>

/** Starts `count` nodes `${prefix}0`.., one a second, each joining through the first, and lets the ring settle. */
const startRing = (h: Harness, count: number, prefix = "n", config: (name: string) => Partial<NodeConfig.Settings> = () => ({})) =>
  Effect.gen(function*() {
    const out: Array<Node> = []
    for (let i = 0; i < count; i++) {
      const name = `${prefix}${i}`
      out.push(yield* h.start({ name, config: config(name), ...(i === 0 ? {} : { seeds: [MemoryCluster.addressOf(`${prefix}0`)] }) }))
      yield* TestClock.adjust("1 second")
    }
    yield* TestClock.adjust("5 seconds")
    return out
  })

/** The true ring of the nodes, from their IDs. */
const ringOf = (nodes: ReadonlyArray<Node>) => Ring.make(nodes.map((n) => ({ id: n.node.self.id, node: n })))
const ownerOf = (nodes: ReadonlyArray<Node>, key: string) => Ring.owner(ringOf(nodes), Position.position(bytes(key)))!.node
/** `count` keys `${prefix}-i` owned by `owner` on the ring of `nodes`. */
const keysOwnedBy = (nodes: ReadonlyArray<Node>, owner: Node, count: number, prefix = "key") => {
  const out: Array<string> = []
  for (let i = 0; out.length < count; i++) if (ownerOf(nodes, `${prefix}-${i}`) === owner) out.push(`${prefix}-${i}`)
  return out
}

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

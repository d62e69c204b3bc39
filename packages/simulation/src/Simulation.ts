/**
 * The deterministic simulator: a ring of real nodes (every service and handler) on the memory
 * network, in one process, under `TestClock`. For one seed it builds the ring, runs a client
 * workload through the real routing while a fault schedule drawn from the seed plays out, heals
 * everything, lets the ring settle, and checks the invariants. The same seed replays the same
 * run: the schedule, the workload and the network's decisions come from one seeded source, and
 * the nodes' own randomness from Effect's `Random` seeded alike.
 */
import { Membership, type NodeConfig } from "@crustyring/node"
import { Address, MemoryNetwork, Proto, type Wire } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { MemoryCluster } from "@crustyring/testing"
import { Duration, Effect, Fiber, type LogLevel, Option, Random, References, Result } from "effect"
import { TestClock } from "effect/testing"
import * as Faults from "./Faults.ts"

/** What to simulate. */
export interface Options {
  readonly nodes: number
  readonly seed: number
  readonly kinds: ReadonlyArray<Faults.Kind>
  /** Virtual nodes per process. @default 1 */
  readonly vnodes?: number
  /** Simulated minutes of faults and load. @default 1 */
  readonly minutes?: number
  /** Keys the workload writes. @default 50 + 2 per node */
  readonly keys?: number
  /** Replace the drawn schedule (shrinking replays a part of it). */
  readonly events?: ReadonlyArray<Faults.Event>
  /** Allow more than replicas - 1 nodes down at once. @default false */
  readonly moreDown?: boolean
  /** Workload operations per simulated second. @default 20 */
  readonly rate?: number
  /** Print every attempt on this key, with its owners and copies, to stderr. */
  readonly traceKey?: string
  /** The nodes' log level. @default "None" */
  readonly logLevel?: LogLevel.LogLevel
}

/** What one run found. */
export interface Outcome {
  readonly seed: number
  readonly nodes: number
  readonly failures: ReadonlyArray<string>
  readonly lostWrites: number
  readonly resurrected: number
  readonly meanHops: number
  readonly maxHops: number
  /** Simulated ms from the heal until every invariant held, or -1 if they never did. */
  readonly settleMs: number
  readonly wallMs: number
  readonly operations: { readonly acked: number; readonly failed: number }
  readonly events: ReadonlyArray<Faults.Event>
  /** Heap bytes per simulated node once the ring is up. */
  readonly bytesPerNode: number
}

const EPOCH = Date.UTC(2026, 0, 1)
const REPLICAS = 3
const KEY_NOT_PRESENT = "Key not present in database."

/**
 * Settings of every simulated node: the defaults (so failure detection takes their 2 s), with
 * repair rounds more often than the default 5 s, so a run of seconds sees many of them.
 */
const settings = (vnodes: number): Partial<NodeConfig.Settings> => ({
  replicas: REPLICAS,
  writeQuorum: 2,
  readQuorum: 1,
  vnodes,
  repairInterval: Duration.seconds(2),
  leaveTimeout: Duration.seconds(20)
})

/** One client operation on a key, as issued and as it ended. */
interface Op {
  readonly seq: number
  /** The value written, or undefined for a delete; reads are not recorded. */
  readonly value: string | undefined
  status: "pending" | "acked" | "failed"
}

const name = (i: number) => `n${i}`

/** Runs one seed. */
export const run = (options: Options): Effect.Effect<Outcome> =>
  Effect.scoped(Effect.gen(function*() {
    const wallStart = performance.now()
    const vnodes = options.vnodes ?? 1
    const minutes = options.minutes ?? 1
    const keyCount = options.keys ?? 50 + 2 * options.nodes
    const random = Faults.prng(options.seed ^ 0x5bd1e995)
    const int = (n: number) => Math.floor(random() * n)
    yield* TestClock.setTime(EPOCH)

    const cluster = yield* MemoryCluster.make(settings(vnodes))
    const network = cluster.network
    const live = new Map<number, MemoryCluster.MemoryNode>()
    const stores = new Map<number, MemoryCluster.MemoryNode["store"]>()
    const failures: Array<string> = []

    // --- faults, as the network's decisions
    const crashed = new Set<string>()
    let side: ReadonlySet<string> | undefined
    let dropChance = 0
    let maxDelay = 0
    network.decide = (from, to) => {
      const f = Address.target(from)
      const t = Address.target(to)
      if (crashed.has(f) || crashed.has(t)) return { drop: false, delayMs: 0, refuse: true }
      if (side && side.has(f) !== side.has(t) && !f.startsWith("client") && !t.startsWith("client")) {
        return { drop: true, delayMs: 0 }
      }
      if (dropChance > 0 && random() < dropChance) return { drop: true, delayMs: 0 }
      return { drop: false, delayMs: maxDelay > 0 ? int(maxDelay) : 0 }
    }

    /** Runs `effect` while moving simulated time along, until it ends (or a simulated hour). */
    const driven = <A, E>(effect: Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(effect, { startImmediately: true })
        for (let waited = 0; fiber.pollUnsafe() === undefined && waited < 3_600_000; waited += 50) {
          yield* TestClock.adjust("50 millis")
        }
        return yield* Fiber.join(fiber)
      })
    const boot = (i: number, seeds: ReadonlyArray<number>) =>
      Effect.gen(function*() {
        const store = stores.get(i)
        const node = yield* cluster.start({
          name: name(i),
          seeds: seeds.map((s) => MemoryCluster.addressOf(name(s))),
          ...(store ? { store } : {})
        })
        live.set(i, node)
        stores.set(i, node.store)
        return node
      })
    const start = (i: number, seeds: ReadonlyArray<number>) => driven(boot(i, seeds))
    /** A seed list, as an operator gives one: every node believed live. */
    const seedList = () => [...live.keys()].filter((i) => !crashed.has(MemoryCluster.addressOf(name(i))))
    const anyLive = () => {
      const ids = [...live.keys()].filter((i) => !crashed.has(MemoryCluster.addressOf(name(i))))
      return ids[int(ids.length)] ?? 0
    }

    // --- the ring
    const heapBefore = process.memoryUsage().heapUsed
    yield* start(0, []).pipe(Effect.orDie)
    // Joins run in waves, each as wide as half the ring so far: joins that meet are
    // serialised by the owner they meet at, and the rest go on at once, as in a real rollout.
    for (let next = 1; next < options.nodes;) {
      const wave = Array.from({ length: Math.min(options.nodes - next, Math.max(1, Math.floor(next / 2))) }, (_, k) => next + k)
      const seedsOf = wave.map(() => int(next))
      next += wave.length
      yield* driven(Effect.forEach(wave, (i, k) => boot(i, [seedsOf[k]!]), { concurrency: "unbounded", discard: true })).pipe(Effect.orDie)
    }
    const joinedAt = yield* Effect.clockWith((c) => Effect.succeed(c.currentTimeMillisUnsafe()))
    // Time to fill finger tables and settle pointers: a few stabilization rounds.
    yield* TestClock.adjust("2 seconds")
    const builtAt = performance.now()
    const bytesPerNode = Math.max(0, Math.round((process.memoryUsage().heapUsed - heapBefore) / options.nodes))
    if (process.env.SIM_PHASES) console.error(`built in ${Math.round(builtAt - wallStart)} ms, joins took ${joinedAt - EPOCH} simulated ms`)

    // --- the workload: one operation in flight per key, through a random live node
    const keys = Array.from({ length: keyCount }, (_, i) => `key-${i}`)
    const history = new Map<string, Array<Op>>(keys.map((k) => [k, []]))
    const busy = new Set<string>()
    let acked = 0
    let failed = 0
    let seq = 0
    const attempt = (key: string, query: Wire.Query) =>
      Effect.gen(function*() {
        // The client's own retries: other nodes, for up to ten seconds.
        const deadline = (yield* Effect.clockWith((c) => Effect.succeed(c.currentTimeMillisUnsafe()))) + 10_000
        for (;;) {
          const via = MemoryCluster.addressOf(name(anyLive()))
          const r = yield* Effect.result(cluster.query(via, query, "2 seconds"))
          if (options.traceKey === key) yield* trace(key, query, via, r)
          if (Result.isSuccess(r)) return Option.some(r.success)
          const at = yield* Effect.clockWith((c) => Effect.succeed(c.currentTimeMillisUnsafe()))
          if (at >= deadline || r.failure._tag === "InvalidArgument") return Option.none<Wire.QueryResult__Output>()
          yield* Effect.sleep("100 millis")
        }
      })
    /** One line per attempt on the traced key, with who claims to own it and what each copy holds. */
    const trace = (key: string, query: Wire.Query, via: string, r: Result.Result<Wire.QueryResult__Output, { readonly message: string }>) =>
      Effect.gen(function*() {
        const text = (b: Uint8Array | string | undefined | null) => b ? JSON.stringify(Buffer.from(b).toString()) : "-"
        const at = (yield* Effect.clockWith((c) => Effect.succeed(c.currentTimeMillisUnsafe()))) - EPOCH
        const answer = Result.isSuccess(r) ? (r.success.error ?? `ok ${text(r.success.value)}`) : r.failure.message
        const state: Array<string> = []
        for (const n of live.values()) {
          const views = yield* Effect.forEach(n.node.vnodes, (m) => m.view)
          if (views.some((v) => Membership.owns(v, Position.position(Buffer.from(key))))) state.push(`${n.address} owns it`)
          const e = yield* Effect.orElseSucceed(n.store.lookup(Buffer.from(key)), () => Option.none())
          if (Option.isSome(e)) state.push(`${n.address} holds ${text(e.value.value)} at ${e.value.version.hlc}/${e.value.version.writer.toString(16).padStart(16, "0").slice(0, 6)}`)
        }
        console.error(`[${at} ms] ${query.ty} ${key} ${text(query.value)} via ${via}: ${answer}\n  ${state.join("; ")}`)
      })
    const operate = Effect.gen(function*() {
      const key = keys[int(keys.length)]!
      if (busy.has(key)) return
      busy.add(key)
      const roll = random()
      const mine = ++seq
      const op: Op | undefined = roll < 0.6
        ? { seq: mine, value: `${mine}`, status: "pending" }
        : roll < 0.7
        ? { seq: mine, value: undefined, status: "pending" }
        : undefined
      if (op) history.get(key)!.push(op)
      const query: Wire.Query = op === undefined
        ? { ty: "Get", key: Buffer.from(key) }
        : op.value === undefined
        ? { ty: "Delete", key: Buffer.from(key) }
        : { ty: "Set", key: Buffer.from(key), value: Buffer.from(op.value) }
      yield* attempt(key, query).pipe(
        Effect.tap((r) =>
          Effect.sync(() => {
            // A delete of a missing key answers "not present": it did happen.
            const ok = Option.isSome(r) && (r.value.error === undefined || r.value.error === KEY_NOT_PRESENT)
            if (op) op.status = ok ? "acked" : "failed"
            if (ok) acked++
            else failed++
          })
        ),
        // The client takes its time before it uses the key again, as one over a network does: a
        // millisecond, the resolution of the clock and of versions. (Two writes through different
        // coordinators in the same millisecond are ordered by writer ID, not by time.)
        Effect.ensuring(Effect.andThen(Effect.sleep("1 millis"), Effect.sync(() => busy.delete(key)))),
        Effect.forkDetach
      )
    })
    const rate = options.rate ?? 20
    const tick = 1000 / rate
    let loadOn = true
    const load = yield* Effect.forkDetach(Effect.gen(function*() {
      while (loadOn) {
        yield* operate
        yield* Effect.sleep(Duration.millis(tick))
      }
    }))

    // --- the schedule
    const span = minutes * 60_000 * 0.7
    const events = options.events ?? Faults.draw(options.seed, {
      nodes: options.nodes,
      kinds: options.kinds,
      span,
      maxDown: options.moreDown ? options.nodes - 1 : REPLICAS - 1
    })
    const STEP = 100
    type Timed = { readonly at: number; readonly apply: Effect.Effect<void> }
    const timeline: Array<Timed> = []
    const closing: Array<Fiber.Fiber<void>> = []
    /** Waits for nodes being stopped, moving simulated time along meanwhile. */
    const awaitClosing = Effect.gen(function*() {
      for (let waited = 0; waited < 120_000; waited += STEP) {
        if (closing.every((f) => f.pollUnsafe() !== undefined)) return
        yield* TestClock.adjust(Duration.millis(STEP))
      }
    })
    const crash = (i: number) =>
      Effect.gen(function*() {
        const node = live.get(i)
        if (!node) return
        const address = node.address
        crashed.add(address)
        network.sever(address)
        live.delete(i)
        // Its scope closes in the background: its leave reaches no one.
        closing.push(yield* Effect.forkDetach(node.close))
      })
    for (const e of events) {
      switch (e.kind) {
        case "crash":
          timeline.push({ at: e.at, apply: Effect.suspend(() => { if (!e.keepsStore) stores.delete(e.node); return crash(e.node) }) })
          timeline.push({
            at: e.until,
            apply: Effect.gen(function*() {
              if (live.has(e.node) || e.node >= options.nodes) return
              yield* awaitClosing
              crashed.delete(MemoryCluster.addressOf(name(e.node)))
              yield* start(e.node, seedList()).pipe(Effect.catch((err) => Effect.sync(() => void failures.push(`restart of ${name(e.node)}: ${err.message}`))))
            })
          })
          break
        case "partition":
          timeline.push({ at: e.at, apply: Effect.sync(() => void (side = new Set(e.side.map((n) => MemoryCluster.addressOf(name(n)))))) })
          timeline.push({ at: e.until, apply: Effect.sync(() => void (side = undefined)) })
          break
        case "drop":
          timeline.push({ at: e.at, apply: Effect.sync(() => void (dropChance = e.chance)) })
          timeline.push({ at: e.until, apply: Effect.sync(() => void (dropChance = 0)) })
          break
        case "delay":
          timeline.push({ at: e.at, apply: Effect.sync(() => void (maxDelay = e.maxMs)) })
          timeline.push({ at: e.until, apply: Effect.sync(() => void (maxDelay = 0)) })
          break
        case "join":
          timeline.push({ at: e.at, apply: Effect.asVoid(Effect.forkDetach(start(e.node, seedList()).pipe(Effect.ignore))) })
          break
        case "leave":
          timeline.push({
            at: e.at,
            apply: Effect.gen(function*() {
              const node = live.get(e.node)
              if (!node) return
              live.delete(e.node)
              closing.push(yield* Effect.forkDetach(node.close))
            })
          })
          break
      }
    }
    timeline.sort((a, b) => a.at - b.at)
    let t = 0
    for (const item of timeline) {
      if (item.at > t) {
        yield* TestClock.adjust(Duration.millis(item.at - t))
        t = item.at
      }
      yield* item.apply
    }
    if (t < minutes * 60_000) yield* TestClock.adjust(Duration.millis(minutes * 60_000 - t))

    const phase = (what: string) => process.env.SIM_PHASES ? Effect.sync(() => console.error(`${what} at ${Math.round(performance.now() - wallStart)} ms`)) : Effect.void
    yield* phase("faults done")
    // --- heal, stop the load, settle
    side = undefined
    dropChance = 0
    maxDelay = 0
    for (const address of [...crashed]) crashed.delete(address)
    loadOn = false
    yield* Fiber.interrupt(load)
    // Operations in flight end within their deadline.
    for (let waited = 0; busy.size > 0 && waited < 15_000; waited += STEP) yield* TestClock.adjust(Duration.millis(STEP))
    yield* awaitClosing
    // Crashed nodes not restarted by the schedule come back now, with their stores.
    for (const e of events) {
      if (e.kind === "crash" && !live.has(e.node) && e.node < options.nodes) {
        yield* start(e.node, seedList()).pipe(Effect.ignore)
      }
    }

    yield* phase("healed")
    const problems = (): Effect.Effect<ReadonlyArray<string>> => checkRing([...live.values()], keys, history)
    let settleMs = -1
    let last: ReadonlyArray<string> = []
    for (let waited = 0; waited <= 120_000; waited += 1000) {
      last = yield* problems()
      if (last.length === 0) {
        settleMs = waited
        break
      }
      yield* TestClock.adjust("1 second")
    }
    if (settleMs < 0) failures.push(...last.slice(0, 5).map((p) => `not settled 120 s after the heal: ${p}`))

    yield* phase("settled")
    // --- every key reads back through the routing
    let lostWrites = 0
    let resurrected = 0
    const reads = yield* driven(Effect.forEach(keys, (key) => attempt(key, { ty: "Get", key: Buffer.from(key) }), { concurrency: 16 }))
    for (const [k, key] of keys.entries()) {
      const r = reads[k]!
      if (Option.isNone(r)) {
        failures.push(`${key}: no answer to a read after the heal`)
        continue
      }
      const found = r.value.error === undefined ? Buffer.from(r.value.value ?? []).toString() : undefined
      const ops = history.get(key)!
      const lastAcked = ops.findLastIndex((o) => o.status === "acked")
      if (lastAcked === -1) continue
      const allowed = new Set(ops.slice(lastAcked).map((o) => o.value))
      if (!allowed.has(found)) {
        const wanted = ops[lastAcked]!.value
        if (wanted === undefined) resurrected++
        else lostWrites++
        failures.push(`${key}: reads ${found === undefined ? "not found" : JSON.stringify(found)}, last acknowledged ${wanted === undefined ? "a delete" : JSON.stringify(wanted)}`)
      }
    }

    yield* phase("read back")
    // --- hops
    const hops = yield* measureHops(network, [...live.values()], random, 64)
    const mean = hops.reduce((a, b) => a + b, 0) / Math.max(1, hops.length)
    const positions = [...live.values()].reduce((n, node) => n + node.node.vnodes.length, 0)
    const bound = 0.5 * Math.log2(Math.max(2, positions)) + 1
    if (mean > bound) failures.push(`mean hops ${mean.toFixed(2)} over ½·log2 N + 1 = ${bound.toFixed(2)}`)

    // Stop every node while moving simulated time along. The scope's own close does not move
    // it, and a leave that has to wait (its predecessor is stopping too, and is asked again
    // after a backoff) would wait for ever.
    yield* driven(Effect.forEach([...live.values()], (node) => node.close, { concurrency: "unbounded", discard: true }))
    yield* awaitClosing

    return {
      seed: options.seed,
      nodes: options.nodes,
      failures,
      lostWrites,
      resurrected,
      meanHops: mean,
      maxHops: Math.max(0, ...hops),
      settleMs,
      wallMs: Math.round(performance.now() - wallStart),
      operations: { acked, failed },
      events,
      bytesPerNode
    } satisfies Outcome
  })).pipe(Random.withSeed(options.seed), Effect.provideService(References.MinimumLogLevel, options.logLevel ?? "None"), Effect.provideService(References.TracerEnabled, false))

/**
 * What keeps the ring from being settled: pointers that disagree with the ring of live
 * positions, keys short of copies, or copies at different versions.
 */
const checkRing = (
  nodes: ReadonlyArray<MemoryCluster.MemoryNode>,
  keys: ReadonlyArray<string>,
  history: ReadonlyMap<string, ReadonlyArray<Op>>
): Effect.Effect<ReadonlyArray<string>> =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const views = yield* Effect.forEach(nodes.flatMap((n) => n.node.vnodes), (m) => m.view)
    const ring = Ring.make(views.map((v) => v.self))
    const n = ring.members.length
    for (const v of views) {
      const i = ring.members.findIndex((m) => m.id === v.self.id)
      const next = ring.members[(i + 1) % n]!
      const prev = ring.members[(i - 1 + n) % n]!
      if (v.phase !== "ready") out.push(`${v.self.address} is ${v.phase}`)
      if (n > 1 && Membership.next(v).id !== next.id) out.push(`${v.self.address}'s successor is ${Membership.next(v).address}, not ${next.address}`)
      if (n > 1 && Option.getOrUndefined(Option.map(v.predecessor, (p) => p.id)) !== prev.id) {
        out.push(`${v.self.address}'s predecessor is ${Option.getOrUndefined(Option.map(v.predecessor, (p) => p.address))}, not ${prev.address}`)
      }
      if (Option.isSome(v.incoming)) out.push(`${v.self.address} still receives a range`)
      if (out.length > 5) return out
    }
    // Copies: the owner's process and the next distinct processes clockwise hold the newest version.
    const storeOf = new Map(nodes.map((node) => [Address.target(node.address), node.store]))
    const processes = storeOf.size
    const copies = Math.min(REPLICAS, processes)
    for (const key of keys) {
      if (!(history.get(key) ?? []).some((o) => o.status === "acked")) continue
      const at = Position.position(Buffer.from(key))
      const owner = Ring.ownerIndex(ring, at)
      const holders: Array<string> = []
      for (let k = 0; k < n && holders.length < copies; k++) {
        const p = Address.target(ring.members[(owner + k) % n]!.address)
        if (!holders.includes(p)) holders.push(p)
      }
      const versions = yield* Effect.forEach(holders, (p) =>
        Effect.map(Effect.orElseSucceed(storeOf.get(p)!.lookup(Buffer.from(key)), () => Option.none()), (e) =>
          Option.match(e, { onNone: () => "missing", onSome: (x) => `${x.version.hlc}/${x.version.writer}` })))
      if (new Set(versions).size > 1 || versions.includes("missing")) {
        out.push(`${key}: copies on ${holders.join(",")} are ${versions.join(" | ")}`)
        if (out.length > 5) return out
      }
    }
    return out
  })

/** Hops of FindOwner lookups from random nodes for random positions. */
const measureHops = (
  network: MemoryNetwork.Network,
  nodes: ReadonlyArray<MemoryCluster.MemoryNode>,
  random: () => number,
  samples: number
): Effect.Effect<ReadonlyArray<number>> =>
  Effect.gen(function*() {
    const out: Array<number> = []
    for (let i = 0; i < samples && nodes.length > 0; i++) {
      const from = nodes[Math.floor(random() * nodes.length)]!
      const client = network.client<Wire.PeerClient>(Proto.proto.peer.Peer.service, "client:1", from.address)
      const position = BigInt(Math.floor(random() * 2 ** 32)) << 32n | BigInt(Math.floor(random() * 2 ** 32))
      const r = yield* Effect.result(MemoryNetwork.call<Wire.FindOwnerReply__Output>(from.address, "5 seconds", (o, cb) =>
        client.FindOwner({ position: position.toString(), hops: 0 }, o, cb)))
      if (Result.isSuccess(r)) out.push(r.success.hops)
    }
    return out
  })

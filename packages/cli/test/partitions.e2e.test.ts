/**
 * Partitions and restarts: the ring heals into one. Real network partitions between real `dht`
 * processes, each in its own Linux network namespace (see netns.ts), while the test process, a
 * client in the root namespace, keeps writing and reading.
 *
 * Six nodes, `--replicas 3 --write-quorum 2 --read-quorum 1`, fast failure detection. In each
 * scenario a fault lasts about seven seconds (four for the leave), long enough for the failure
 * detector, and is then healed:
 *
 * 1. one node cut off;
 * 2. two ring-adjacent nodes cut off at once;
 * 3. a 3 | 3 split along the ring (three consecutive nodes on a bridge of their own);
 * 4. a node cut off while it leaves (cut, SIGTERM at once, healed after 4 s while its leave
 *    still retries);
 * 5. a 7th node cut off during its join's hand-off (healed while it still tries).
 *
 * Each checks, after the heal:
 * - no acknowledged write is lost: every key reads its last acknowledged value, or a later one,
 *   through every live node (polled: repair takes a few seconds after the heal);
 * - the ring is one ring again within 10 s of the heal: by every node's Status, each node's
 *   successor has it as predecessor, and walking successors from any node visits every live
 *   node once, in ID order;
 * - within the same 10 s, every node counts every live member and none down (Status `members`
 *   and `down`);
 * - fewer than 1% of the client's requests failed, over the whole run (fault included);
 * - no request took longer than the client's deadline plus a small margin.
 * All problems are gathered and reported together, so one failure does not hide the others; a
 * ring or membership check that misses its 10 s is watched 15 s longer, and the report says
 * whether (and when) it got there late.
 *
 * Nothing sleeps for a fixed time: every wait polls a condition with a deadline. Holding a
 * fault is one such wait: until the cut is detected and the fault has lasted its time.
 */
import { DhtClient } from "@crustyring/client"
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Fiber, Result, type Scope } from "effect"
import { JOINED } from "./cluster.ts"
import * as Netns from "./netns.ts"
import { ProcessError } from "./processes.ts"
import { awaitReplicated, awaitStable, eventually, printLogsOnFailure, stopwatch, timer } from "./replicated.ts"

const { available, reason } = Netns.availability
if (!available) console.log(`partitions.e2e: skipped: ${reason}`)

// ---------------------------------------------------------------------------------------------
// Settings

const BASE_ARGS = [
  "--replicas", "3", "--write-quorum", "2", "--read-quorum", "1",
  "--ping-interval", "250ms", "--failure-timeout", "1s", "--repair-interval", "1s"
]
/** With `--dead-after`, far longer than any fault here: a silent node stays a (down) member. */
const nodeArgs = (f: Netns.DhtFeatures) => (f.deadAfter ? [...BASE_ARGS, "--dead-after", "5m"] : BASE_ARGS)

const NODES = 6
const COPIES = 3
/** Keys the load keeps rewriting, with sequential values. */
const KEYS = 300
/** For the leave and the join: extra keys of 2 KB, so that their hand-offs move real data (the joiner's, throttled, takes seconds). */
const BULK = 300
const BULK_BYTES = 2048
/** Both ways, on the link of the joiner, whose hand-off must still be running when it is cut off. */
const THROTTLE = "200kbit"

const DEADLINE_MS = 10_000
const MARGIN_MS = 1_500
const CLIENT_OPTIONS = { timeout: "2 seconds", deadline: `${DEADLINE_MS} millis` } as const
/** How long a fault lasts. */
const FAULT_MS = 7_000
/**
 * How long a leaving node stays cut off: a leave retries an unreachable predecessor for a few
 * seconds only (3 s once it is found unreachable), and the heal must come while it still does.
 */
const LEAVE_FAULT_MS = 4_000
/** The ring must be one again within this of the heal. */
const HEAL_RING_MS = 10_000
/** After a missed HEAL_RING_MS, how much longer to watch, to report when (if) the ring gets there. */
const LATE_MS = 15_000
/** Every acknowledged write must read back through every node within this of the heal. */
const HEAL_DATA_MS = 20_000
const MAX_FAILED_FRACTION = 0.01

const loadKey = (i: number) => `pk-${i}`
const bulkKey = (i: number) => `pk-bulk-${i}`
const valueOf = (key: string, seq: number, bytes = 0) => {
  const v = `${seq} ${key}`
  return bytes > v.length ? `${v} ${"b".repeat(bytes - v.length - 1)}` : v
}
const seqOf = (value: string): number | undefined => {
  const m = value.match(/^(\d+) /)
  return m ? Number(m[1]) : undefined
}
const utf8 = (b: Uint8Array) => Buffer.from(b).toString("utf8")
const range = (n: number) => Array.from({ length: n }, (_, i) => i)
const fail = (message: string) => Effect.fail(new ProcessError({ message }))

// ---------------------------------------------------------------------------------------------
// Status, and what it says about the ring

/** A node's Status over Peer Status, with the `down` and `members` fields. */
/**
 * A node's Status, on a connection of its own: the test's view must not lag behind the ring's
 * because its own connection to a node that was cut off waits out TCP's retransmission backoff.
 */
const status = (address: string): Effect.Effect<Wire.NodeStatus__Output, ProcessError> =>
  Effect.scoped(
    Effect.flatMap(Grpc.channel(address), (channel) => {
      const c = Grpc.clientOn(Proto.proto.peer.Peer, channel, address)
      return Grpc.call<Wire.NodeStatus__Output>(address, "2 seconds", (o, cb) => c.Status({}, o, cb))
    })
  ).pipe(Effect.mapError((e) => new ProcessError({ message: `Status of ${address}: ${e.message}` })))

const statuses = (addresses: ReadonlyArray<string>) =>
  Effect.map(
    Effect.forEach(addresses, (a) => Effect.map(status(a), (s) => [a, s] as const), { concurrency: "unbounded" }),
    (pairs) => new Map(pairs)
  )

const successorOf = (s: Wire.NodeStatus__Output) => s.successors[0]?.addr
const describeDown = (s: Wire.NodeStatus__Output) => s.down.map((d) => `${d.node?.addr} (silent ${d.silent_ms} ms)`).join(", ")

/**
 * Why the statuses of `live` are not one ring of exactly those nodes, or undefined: each is
 * ready, its successor is live and names it as predecessor, and the walk of successors from
 * each node comes back to it after visiting every live node once, in ID order (one wrap).
 */
const ringProblem = (live: ReadonlyArray<string>, map: ReadonlyMap<string, Wire.NodeStatus__Output>): string | undefined => {
  for (const a of live) {
    const s = map.get(a)!
    if (s.phase !== "ready") return `${a} is ${s.phase}`
    const next = successorOf(s)
    if (next === undefined || !map.has(next)) return `${a}'s successor is ${next}, not a live node`
    const back = map.get(next)!.predecessor?.addr
    if (back !== a) return `${a}'s successor ${next} has predecessor ${back}`
  }
  for (const start of live) {
    const visited: Array<string> = [start]
    let at = successorOf(map.get(start)!)!
    while (at !== start && visited.length <= live.length) {
      visited.push(at)
      at = successorOf(map.get(at)!)!
    }
    if (at !== start || visited.length !== live.length) {
      return `walking successors from ${start} visits ${visited.join(" -> ")}${at === start ? "" : " ..."}; expected all ${live.length} live nodes`
    }
    const ids = visited.map((a) => Position.nodeId(a))
    const wraps = ids.filter((id, i) => ids[(i + 1) % ids.length]! <= id).length
    if (live.length > 1 && wraps !== 1) return `walking successors from ${start} visits ${visited.join(" -> ")}: not in ID order`
  }
  return undefined
}

/** Why the statuses of `live` do not count exactly the live members with none down, or undefined. */
const membershipProblem = (live: ReadonlyArray<string>, map: ReadonlyMap<string, Wire.NodeStatus__Output>): string | undefined => {
  for (const a of live) {
    const s = map.get(a)!
    if (s.down.length > 0) return `${a} reports members down: ${describeDown(s)}`
    if (s.members !== live.length) return `${a} counts ${s.members} members, expected ${live.length}`
  }
  return undefined
}

/**
 * Whether each of `observers` has noticed that `gone` went silent: none of them still has one
 * of `gone` as its predecessor or first successor, unless it lists it as down.
 */
const detected = (observers: ReadonlyArray<string>, gone: ReadonlyArray<string>) =>
  Effect.flatMap(statuses(observers), (map) => {
    for (const [a, s] of map) {
      for (const g of gone) {
        const neighbour = s.predecessor?.addr === g || successorOf(s) === g
        if (neighbour && !s.down.some((d) => d.node?.addr === g)) {
          return fail(`${a} still has ${g} as ${s.predecessor?.addr === g ? "predecessor" : "successor"}, not down (down: ${describeDown(s) || "none"})`)
        }
      }
    }
    return Effect.void
  })

/**
 * Holds a fault: polls until it has lasted `minimum` since `since` and `condition` holds (the
 * cut has been noticed), for at most `minimum + 8 s`.
 */
const hold = (what: string, since: number, condition: Effect.Effect<void, ProcessError> = Effect.void, minimum = FAULT_MS) =>
  eventually(
    what,
    Effect.andThen(
      Effect.suspend(() => {
        const held = Date.now() - since
        return held < minimum ? fail(`held for ${held} ms of ${minimum}`) : Effect.void
      }),
      condition
    ),
    minimum + 8_000,
    "250 millis"
  )

// ---------------------------------------------------------------------------------------------
// The load

/** A request outlived the client's deadline plus the margin: it hung. */

interface Failure {
  readonly op: string
  readonly key: string
  readonly tag: string
  readonly millis: number
  readonly message: string
  readonly at: number
}

/** The last acknowledged sequence number of each key. */
type Acked = Map<string, number>

/**
 * Runs `workers` loops against `client` until stopped: each rewrites its share of `keys` in turn
 * with the next sequence number, recording every acknowledged write, and reads a random key
 * after each write. Every request is timed and its failure recorded.
 */
const startLoad = (client: DhtClient.Service, keys: ReadonlyArray<string>, acked: Acked, workers = 3) =>
  Effect.gen(function*() {
    const failures: Array<Failure> = []
    const stats = { ops: 0, writes: 0, reads: 0, staleReads: 0, maxMillis: 0, slowest: "" }
    const sent = new Map<string, number>(keys.map((k) => [k, acked.get(k) ?? 0]))
    let stop = false

    const timed = timer(DEADLINE_MS + MARGIN_MS, stats)

    const worker = (w: number) =>
      Effect.gen(function*() {
        const mine = keys.filter((_, i) => i % workers === w)
        for (let n = 0; !stop; n++) {
          const key = mine[n % mine.length]!
          const seq = sent.get(key)! + 1
          sent.set(key, seq)
          const set = yield* timed("set", key, client.set(key, valueOf(key, seq)))
          stats.writes++
          if (Result.isSuccess(set.r)) {
            if (seq > (acked.get(key) ?? -1)) acked.set(key, seq)
          } else {
            failures.push({ op: "set", key, tag: set.r.failure._tag, millis: set.millis, message: set.r.failure.message, at: set.started })
          }
          // A read of any key: it must answer. With one copy consulted (--read-quorum 1) it may
          // be behind the last acknowledged write; that is counted, not failed.
          const other = keys[Math.floor(Math.random() * keys.length)]!
          const floor = acked.get(other) ?? 0
          const get = yield* timed("get", other, client.get(other))
          stats.reads++
          if (Result.isSuccess(get.r)) {
            if ((seqOf(utf8(get.r.success)) ?? -1) < floor) stats.staleReads++
          } else if (get.r.failure._tag === "KeyNotFound") {
            stats.staleReads++
          } else {
            failures.push({ op: "get", key: other, tag: get.r.failure._tag, millis: get.millis, message: get.r.failure.message, at: get.started })
          }
        }
      })

    const fiber = yield* Effect.forkChild(Effect.all(range(workers).map(worker), { concurrency: "unbounded", discard: true }), {
      startImmediately: true
    })
    return {
      stats,
      failures,
      /** Waits until `n` more requests have completed, for at most `timeout`. */
      more: (n: number, timeout: Duration.Input = "30 seconds") =>
        Effect.suspend(() => {
          const target = stats.ops + n
          return eventually(
            `${n} more requests`,
            Effect.suspend(() => (stats.ops >= target ? Effect.void : fail(`${stats.ops} of ${target} requests`))),
            timeout,
            "50 millis"
          )
        }),
      stop: Effect.suspend(() => {
        stop = true
        return Fiber.join(fiber)
      })
    }
  })

// ---------------------------------------------------------------------------------------------
// Reading every acknowledged write back through every node

/** A Get through one node (which forwards it to the owner), straight over DhtNode QueryDht. */
const getThrough = (address: string) =>
  Effect.map(Grpc.client(Proto.proto.dht.DhtNode, address), (c) => (key: string) =>
    Grpc.call<Wire.QueryResult__Output>(address, "5 seconds", (o, cb) => c.QueryDht({ ty: "Get", key: Buffer.from(key, "utf8") }, o, cb)))

/** `N reads wrong (through a: n, b: m), e.g. ...`. */
const describeWrong = (wrong: ReadonlyArray<{ readonly node: string; readonly p: string | undefined }>) => {
  const byNode = wrong.reduce<Record<string, number>>((m, w) => ({ ...m, [w.node]: (m[w.node] ?? 0) + 1 }), {})
  const through = Object.entries(byNode).map(([n, c]) => `${n}: ${c}`).join(", ")
  return `${wrong.length} reads wrong (through ${through}), e.g. ${wrong.slice(0, 4).map((w) => w.p).join("; ")}`
}

/**
 * Polls until every key of `acked` reads its acknowledged value or a later one through every
 * node of `live` (re-reading only what was wrong), within `timeout`; then reads everything once
 * more, which must all be right. Returns the number of polls.
 */
const awaitReadable = (live: ReadonlyArray<string>, acked: ReadonlyMap<string, number>, timeout: number) =>
  Effect.scoped(Effect.gen(function*() {
    const readers = new Map(yield* Effect.forEach(live, (a) => Effect.map(getThrough(a), (g) => [a, g] as const)))
    const check = (node: string, key: string) =>
      Effect.map(Effect.result(readers.get(node)!(key)), (r): string | undefined => {
        const want = acked.get(key)!
        if (Result.isFailure(r)) return `${key} through ${node}: ${r.failure._tag}: ${r.failure.message}`
        if (r.success.error !== undefined) return `${key} through ${node}: ${r.success.error}, acknowledged ${want}`
        const got = seqOf(utf8(r.success.value ?? Buffer.alloc(0)))
        return got !== undefined && got >= want ? undefined : `${key} through ${node}: ${got}, acknowledged ${want}`
      })
    const pass = (pairs: ReadonlyArray<readonly [string, string]>) =>
      Effect.map(
        Effect.forEach(pairs, ([node, key]) => Effect.map(check(node, key), (p) => ({ node, key, p })), { concurrency: 32 }),
        (rs) => rs.filter((x) => x.p !== undefined)
      )
    let pending: ReadonlyArray<readonly [string, string]> = live.flatMap((node) => [...acked.keys()].map((key) => [node, key] as const))
    let polls = 0
    yield* eventually(
      `every acknowledged write readable through each of ${live.length} nodes`,
      Effect.gen(function*() {
        polls++
        const wrong = yield* pass(pending)
        pending = wrong.map((w) => [w.node, w.key] as const)
        if (wrong.length > 0) return yield* fail(describeWrong(wrong))
      }),
      timeout,
      "500 millis"
    )
    const all = live.flatMap((node) => [...acked.keys()].map((key) => [node, key] as const))
    const last = yield* pass(all)
    if (last.length > 0) return yield* fail(`final read-back: ${describeWrong(last)}`)
    return polls
  }))

// ---------------------------------------------------------------------------------------------
// A scenario

interface Setup {
  readonly net: Netns.Network
  readonly features: Netns.DhtFeatures
  readonly args: ReadonlyArray<string>
  readonly nodes: ReadonlyArray<Netns.NetNode>
  /** The stable ring, in ring order from node 1. */
  readonly ring: ReadonlyArray<Netns.NetNode>
  readonly lap: (what: string) => void
  /** Problems found along the way, reported with the others at the end. */
  readonly problems: Array<string>
}

interface Fault {
  /** Ends the fault. */
  readonly heal: Effect.Effect<void, ProcessError>
  /** The nodes that must form the ring after the heal. */
  readonly live: ReadonlyArray<Netns.NetNode>
  /** More to wait for after the heal (a leaver's exit, a joiner's start), within HEAL_RING_MS; its failure is a problem. */
  readonly afterHeal?: Effect.Effect<void, ProcessError>
}

/**
 * Six nodes in namespaces, a stable ring, KEYS keys (and `bulk` more) written and fully
 * replicated, a client load running; then `fault` (which must hold its fault, see `hold`),
 * the heal, and the checks.
 */
const scenario = (tag: string, options: { readonly bulk: number }, fault: (s: Setup) => Effect.Effect<Fault, ProcessError, Scope.Scope>) =>
  Effect.gen(function*() {
    const lap = stopwatch(`partitions ${tag}`)
    const features = yield* Netns.dhtFeatures
    const args = nodeArgs(features)
    const net = yield* Netns.make
    const nodes = yield* Netns.startRing(net, NODES, args)
    yield* printLogsOnFailure(nodes)
    const all = nodes.map((n) => n.address)
    const walk = yield* awaitStable(all, COPIES - 1, "30 seconds")
    const ring = walk.map((s) => nodes.find((n) => n.address === s.address)!)
    lap(`${NODES} nodes up and stable on ${net.prefix}.0/24 (seed list: ${features.seedList}, --dead-after: ${features.deadAfter}); ring ${ring.map((n) => n.address).join(" -> ")}`)

    const client = yield* DhtClient.make({ nodes: all }, CLIENT_OPTIONS)
    const keys = range(KEYS).map(loadKey)
    const bulk = range(options.bulk).map(bulkKey)
    const acked: Acked = new Map()
    const preloadFailures: Array<string> = []
    yield* Effect.forEach([...keys.map((k) => [k, 0] as const), ...bulk.map((k) => [k, BULK_BYTES] as const)], ([key, bytes]) =>
      Effect.map(Effect.result(client.set(key, valueOf(key, 0, bytes))), (r) => {
        if (Result.isSuccess(r)) acked.set(key, 0)
        else preloadFailures.push(`${key}: ${r.failure._tag}: ${r.failure.message}`)
      }), { concurrency: 16, discard: true })
    expect(preloadFailures.slice(0, 5), `${preloadFailures.length} writes failed on the healthy ring`).toEqual([])
    yield* awaitReplicated(all, KEYS + options.bulk, COPIES, "30 seconds")
    lap(`${KEYS + options.bulk} keys written, each at ${COPIES} copies`)

    const load = yield* startLoad(client, keys, acked)
    yield* load.more(200)
    lap(`load running: ${load.stats.ops} requests`)

    const problems: Array<string> = []
    const opsAtFault = load.stats.ops
    const f = yield* fault({ net, features, args, nodes, ring, lap, problems })
    const opsAtHeal = load.stats.ops
    yield* f.heal
    const healedAt = Date.now()
    lap(`healed; ${opsAtHeal - opsAtFault} requests during the fault`)

    const live = f.live.map((n) => n.address)
    const since = () => `${((Date.now() - healedAt) / 1000).toFixed(1)} s after the heal`
    const poll = (what: string, check: (map: ReadonlyMap<string, Wire.NodeStatus__Output>) => string | undefined, until: number) =>
      Effect.suspend(() =>
        eventually(
          what,
          Effect.flatMap(statuses(live), (map) => {
            const p = check(map)
            return p === undefined ? Effect.void : fail(p)
          }),
          Math.max(1, until - Date.now())
        )
      )
    // Within HEAL_RING_MS of the heal; when not, how much later it is reached (if within
    // LATE_MS more), to tell slow from stuck.
    const within = (what: string, check: (map: ReadonlyMap<string, Wire.NodeStatus__Output>) => string | undefined) =>
      poll(what, check, healedAt + HEAL_RING_MS).pipe(
        Effect.tap(() => Effect.sync(() => lap(`${what}: ${since()}`))),
        Effect.catch((e) =>
          poll(what, check, healedAt + HEAL_RING_MS + LATE_MS).pipe(
            Effect.match({
              onSuccess: () => `${e.message} (reached late, ${since()})`,
              onFailure: () => `${e.message} (still not ${since()})`
            }),
            Effect.map((message) => void problems.push(message))
          )
        )
      )
    yield* Effect.all([
      within(`one ring of ${live.length} nodes`, (map) => ringProblem(live, map)),
      within(`every node counts ${live.length} members, none down`, (map) => membershipProblem(live, map)),
      (f.afterHeal ?? Effect.void).pipe(Effect.catch((e) => Effect.sync(() => void problems.push(e.message))))
    ], { concurrency: "unbounded", discard: true })

    // Keep the load on a while after the heal, then stop it and read everything back.
    yield* load.more(200).pipe(Effect.catch((e) => Effect.sync(() => void problems.push(`load after the heal: ${e.message}`))))
    yield* load.stop
    const { stats, failures } = load
    const polls = yield* awaitReadable(live, acked, Math.max(5_000, healedAt + HEAL_DATA_MS - Date.now())).pipe(
      Effect.catch((e) => Effect.sync(() => void problems.push(`acknowledged writes: ${e.message}`)))
    )
    lap(`read-back through ${live.length} nodes: ${polls === undefined ? "FAILED" : `ok in ${polls} poll(s)`}, ${((Date.now() - healedAt) / 1000).toFixed(1)} s after the heal`)

    const tags = failures.reduce<Record<string, number>>((m, x) => ({ ...m, [x.tag]: (m[x.tag] ?? 0) + 1 }), {})
    console.log(`[partitions ${tag}] load: ${JSON.stringify({
      requests: stats.ops,
      writes: stats.writes,
      reads: stats.reads,
      duringFault: opsAtHeal - opsAtFault,
      failed: failures.length,
      failureTags: tags,
      staleReads: stats.staleReads,
      maxMillis: stats.maxMillis,
      slowest: stats.slowest
    })}`)
    for (const x of failures.slice(0, 5)) console.log(`[partitions ${tag}] failed after ${x.millis} ms: ${x.op} ${x.key}: ${x.tag}: ${x.message}`)
    if (failures.length >= stats.ops * MAX_FAILED_FRACTION) {
      problems.push(`${failures.length} of ${stats.ops} requests failed (${JSON.stringify(tags)}), not under ${MAX_FAILED_FRACTION * 100}%`)
    }
    if (stats.maxMillis > DEADLINE_MS + MARGIN_MS) {
      problems.push(`a request took ${stats.maxMillis} ms, over the ${DEADLINE_MS} ms deadline plus ${MARGIN_MS} ms (${stats.slowest})`)
    }
    lap("done")
    expect(problems, `scenario "${tag}"`).toEqual([])
  })

/** Cuts the hosts off, holds the cut until the others have noticed, heals. */
const cutOff = (s: Setup, victims: ReadonlyArray<Netns.NetNode>): Effect.Effect<Fault, ProcessError> =>
  Effect.gen(function*() {
    const cutAt = Date.now()
    yield* Effect.forEach(victims, (v) => s.net.cut(v.host), { concurrency: "unbounded", discard: true })
    s.lap(`cut off ${victims.map((v) => v.address).join(" and ")}`)
    const others = s.nodes.filter((n) => !victims.includes(n)).map((n) => n.address)
    yield* hold("the cut noticed and held", cutAt, detected(others, victims.map((v) => v.address)))
    return {
      heal: Effect.forEach(victims, (v) => s.net.heal(v.host), { concurrency: "unbounded", discard: true }),
      live: s.nodes
    }
  })

// ---------------------------------------------------------------------------------------------

describe.skipIf(!available)("partitions and restarts: the ring heals into one", () => {
  it.live("one node cut off", () =>
    scenario("one cut off", { bulk: 0 }, (s) =>
      // Not node 1, the ring's first node and the client's first contact.
      cutOff(s, [s.nodes[3]!])), 90_000)

  it.live("two adjacent nodes cut off at once", () =>
    scenario("two cut off", { bulk: 0 }, (s) => {
      // Two ring neighbours, neither node 1: the keys they both hold keep one reachable copy.
      const i = s.ring.findIndex((n, j) => n !== s.nodes[0] && s.ring[(j + 1) % s.ring.length] !== s.nodes[0])
      return cutOff(s, [s.ring[i]!, s.ring[(i + 1) % s.ring.length]!])
    }), 90_000)

  it.live("a 3 | 3 split", () =>
    scenario("3|3 split", { bulk: 0 }, (s) =>
      Effect.gen(function*() {
        // The three nodes after node 1 on the ring, on a bridge of their own: the client and
        // node 1's side keep the other three. Keys owned by the first two of them have every
        // copy on the far side.
        const at = s.ring.indexOf(s.nodes[0]!)
        const far = [1, 2, 3].map((k) => s.ring[(at + k) % s.ring.length]!)
        const near = s.nodes.filter((n) => !far.includes(n))
        const cutAt = Date.now()
        yield* s.net.split(far.map((n) => n.host))
        s.lap(`split: ${near.map((n) => n.address).join(", ")} | ${far.map((n) => n.address).join(", ")}`)
        yield* hold("the split noticed and held", cutAt, detected(near.map((n) => n.address), far.map((n) => n.address)))
        return { heal: s.net.unsplit(far.map((n) => n.host)), live: s.nodes } satisfies Fault
      })), 90_000)

  it.live("a node cut off while it leaves", () =>
    scenario("cut while leaving", { bulk: BULK }, (s) =>
      Effect.gen(function*() {
        const leaver = s.nodes[2]!
        const others = s.nodes.filter((n) => n !== leaver)
        // Cut first, SIGTERM a few milliseconds later: the whole leave runs cut off. The other
        // way round, the leave's first request (the take-over by its predecessor) races the cut.
        const cutAt = Date.now()
        yield* s.net.cut(leaver.host)
        yield* leaver.proc.kill("SIGTERM")
        s.lap(`cut off ${leaver.address} and sent it SIGTERM`)
        // Long enough for the others to mark it down; short enough that its leave still retries.
        yield* hold("the leaver's cut noticed and held", cutAt, detected(others.map((n) => n.address), [leaver.address]), LEAVE_FAULT_MS)
        if (leaver.proc.status !== undefined) {
          s.problems.push(`the leaver stopped before the heal, ${Date.now() - cutAt} ms after SIGTERM (${JSON.stringify(leaver.proc.status)}): its leave did not retry through a ${LEAVE_FAULT_MS} ms cut`)
        }
        s.lap(`at the heal the leaver is ${leaver.proc.status === undefined ? "still leaving" : `gone: ${JSON.stringify(leaver.proc.status)}`}`)
        return {
          heal: s.net.heal(leaver.host),
          live: others,
          // Its leave completes once it reaches its predecessor again, and it exits 0.
          afterHeal: Effect.flatMap(leaver.proc.exitWithin(HEAL_RING_MS), (st) =>
            st.code === 0 ? Effect.void : fail(`the leaver exited with ${JSON.stringify(st)}, expected code 0`))
        } satisfies Fault
      })), 90_000)

  it.live("a node cut off while it joins", () =>
    scenario("cut while joining", { bulk: BULK }, (s) =>
      Effect.gen(function*() {
        const host = yield* s.net.host(NODES + 1)
        // Where it takes over the most keys; throttled, so its hand-off takes seconds.
        const port = Netns.portTakingWidestGap(host, s.nodes.map((n) => n.address))
        const address = Netns.addressOf(host, port)
        yield* s.net.throttle(host, THROTTLE)
        const seeds = s.features.seedList ? s.nodes.map((n) => n.address) : [s.nodes[0]!.address]
        const proc = yield* Netns.spawnDht(host, [...Netns.joinArgs(s.features, seeds), ...s.args], `dht node ${NODES + 1} (joiner)`, port)
        const joiner: Netns.NetNode = { address, proc, host }
        yield* printLogsOnFailure([joiner])
        // The node that takes it in as its successor logs it; the hand-off starts then.
        const accepted = new RegExp(`accepted ${address.replace(/\./g, "\\.")}\\b`)
        yield* Effect.raceAll(s.nodes.map((n) => n.proc.waitForStderr(accepted, "40 seconds")))
        const cutAt = Date.now()
        yield* s.net.cut(host)
        s.lap(`${address} accepted into the ring; cut off during its hand-off`)
        if (JOINED.test(proc.stderr)) s.problems.push(`the joiner finished its hand-off before the cut:\n${proc.stderr}`)
        yield* s.net.unthrottle(host)
        yield* hold("the joiner's cut held", cutAt)
        s.lap(`at the heal the joiner has ${JOINED.test(proc.stderr) ? "" : "not "}logged its join`)
        return {
          heal: s.net.heal(host),
          live: [...s.nodes, joiner],
          afterHeal: Effect.asVoid(proc.waitForStderr(JOINED, `${HEAL_RING_MS} millis`))
        } satisfies Fault
      })), 90_000)
})

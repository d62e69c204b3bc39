/**
 * Helpers for the fault-tolerance e2e tests: a replicated ring of real `dht` processes built
 * with `--join`, its status walked over Peer `Status`, and the copies of keys read straight from
 * each node's store over Peer `Fetch` and `FetchRange` (no routing, no read repair), so a test can
 * check the replicas themselves rather than what a client read happens to return.
 *
 * Every process belongs to the caller's Scope (see `spawnBin`): it is SIGKILLed when the scope
 * closes, failed test or not. The nodes keep their data in memory, so there is no directory to
 * clean up.
 */
import { RingStatus } from "@crustyring/client"
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Interval, Position } from "@crustyring/ring"
import { Data, Duration, Effect, Exit, Result, Schedule, type Scope, Stream } from "effect"
import { JOINED, startNode, STARTED_RING } from "./cluster.ts"
import { type Proc, ProcessError } from "./processes.ts"

/** A running node of the ring. */
export interface RingNode {
  readonly address: string
  readonly proc: Proc
}

/**
 * Starts `count` nodes with `args` (e.g. `--replicas 3`): the first starts the ring, the others
 * join through it one after the other, as an operator would start them.
 */
export const startRing = (
  count: number,
  args: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<RingNode>, ProcessError, Scope.Scope> =>
  Effect.gen(function*() {
    const first = yield* startNode(args, STARTED_RING, "dht node 1")
    const nodes: Array<RingNode> = [first]
    for (let i = 2; i <= count; i++) {
      nodes.push(yield* startNode(["--join", first.address, ...args], JOINED, `dht node ${i}`))
    }
    return nodes
  })

/**
 * On failure of the enclosing scope, prints the last `max` characters of each node's stderr:
 * what the nodes logged is the first thing to read when a fault-tolerance test fails.
 */
export const printLogsOnFailure = (nodes: ReadonlyArray<RingNode>, max = 6000) =>
  Effect.addFinalizer((exit) =>
    Effect.sync(() => {
      if (Exit.isSuccess(exit)) return
      for (const n of nodes) {
        const err = n.proc.stderr
        const status = n.proc.status === undefined ? "running" : `ended ${JSON.stringify(n.proc.status)}`
        console.log(`--- ${n.proc.label} ${n.address} (${status}) stderr ---\n${err.length > max ? `…${err.slice(-max)}` : err}`)
      }
    })
  )

/**
 * Runs `attempt` every `every` until it succeeds, for at most `timeout`; on the deadline, fails
 * with the last error's message.
 */
export const eventually = <A, E extends { readonly message: string }, R>(
  what: string,
  attempt: Effect.Effect<A, E, R>,
  timeout: Duration.Input,
  every: Duration.Input = "250 millis"
) =>
  Effect.suspend(() => {
    let last = "no attempt finished"
    return attempt.pipe(
      Effect.tapError((e) => Effect.sync(() => (last = e.message))),
      Effect.retry(Schedule.spaced(every)),
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () =>
          Effect.fail(
            new ProcessError({
              message: `${what}: not reached within ${Duration.format(Duration.fromInputUnsafe(timeout))}; last: ${last}`
            })
          )
      })
    )
  })

/** The ring as `from` sees it: its successors walked over Peer Status, in ring order from `from`. */
export const walk = (from: string): Effect.Effect<ReadonlyArray<RingStatus.NodeStatus>, ProcessError> =>
  Effect.scoped(RingStatus.walk(from, "2 seconds")).pipe(
    Effect.mapError((e) => new ProcessError({ message: `walk from ${from}: ${e.message}` }))
  )

/**
 * Why `ring` is not (yet) exactly the nodes `addresses`, each ready, each range ending where the
 * next one starts; undefined when it is.
 */
export const ringProblem = (ring: ReadonlyArray<RingStatus.NodeStatus>, addresses: ReadonlyArray<string>): string | undefined => {
  const listed = ring.map((s) => s.address)
  if (ring.length !== addresses.length || [...listed].sort().join() !== [...addresses].sort().join()) {
    return `the walk lists ${JSON.stringify(listed)}, expected ${JSON.stringify([...addresses].sort())}`
  }
  for (const [i, s] of ring.entries()) {
    const next = ring[(i + 1) % ring.length]!
    if (s.phase !== "ready") return `${s.address} is ${s.phase}`
    if (s.successor !== next.address) return `${s.address}'s successor is ${s.successor}, the next in the walk is ${next.address}`
    if (s.range.end !== next.idHex) return `${s.address} owns [${s.range.start}, ${s.range.end}), expected it to end at ${next.idHex}`
  }
  return undefined
}

/**
 * Polls until the ring walked from `addresses[0]` is exactly `addresses` (node or virtual-node
 * addresses), whole and ready; returns the walk in ring order.
 */
export const awaitRing = (addresses: ReadonlyArray<string>, timeout: Duration.Input = "20 seconds") =>
  eventually(
    `the ring of ${addresses.length} nodes`,
    Effect.flatMap(walk(addresses[0]!), (ring) => {
      const problem = ringProblem(ring, addresses)
      return problem === undefined ? Effect.succeed(ring) : Effect.fail(new ProcessError({ message: problem }))
    }),
    timeout
  )

/**
 * Why the ring does not (yet) hold `keys` keys each at `copies` copies as its status reports
 * them; undefined when it does: owned keys sum to `keys`, so do the replicated keys, every node
 * reports `copies` and no repair is under way.
 */
export const replicationProblem = (ring: ReadonlyArray<RingStatus.NodeStatus>, keys: number, copies: number): string | undefined => {
  const sum = (f: (s: RingStatus.NodeStatus) => number) => ring.reduce((n, s) => n + f(s), 0)
  const table = ring.map((s) => `${s.address} owned=${s.ownedKeys} replicated=${s.replicatedKeys} keys=${s.keys} copies=${s.copies}${s.repair ? ` repair=${s.repair.done}/${s.repair.total}` : ""}`).join("; ")
  if (sum((s) => s.ownedKeys) !== keys) return `owned keys sum to ${sum((s) => s.ownedKeys)}, expected ${keys} (${table})`
  if (sum((s) => s.replicatedKeys) !== keys) return `replicated keys sum to ${sum((s) => s.replicatedKeys)}, expected ${keys} (${table})`
  const wrongCopies = ring.find((s) => s.copies !== copies)
  if (wrongCopies) return `${wrongCopies.address} reports ${wrongCopies.copies} copies, expected ${copies} (${table})`
  const repairing = ring.find((s) => s.repair !== null)
  if (repairing) return `${repairing.address} is repairing (${table})`
  return undefined
}

/**
 * Polls the status of the ring of `addresses` until it is whole and holds `keys` keys each at
 * `copies` copies; returns the last walk, in ring order.
 */
export const awaitReplicated = (addresses: ReadonlyArray<string>, keys: number, copies: number, timeout: Duration.Input) =>
  eventually(
    `${keys} keys at ${copies} copies on the ring of ${addresses.length} nodes`,
    Effect.flatMap(walk(addresses[0]!), (ring) => {
      const problem = ringProblem(ring, addresses) ?? replicationProblem(ring, keys, copies)
      return problem === undefined ? Effect.succeed(ring) : Effect.fail(new ProcessError({ message: problem }))
    }),
    timeout
  )

/** The node's predecessor and successor list, over Peer GetNeighbors. */
export const neighbors = (address: string): Effect.Effect<Wire.Neighbors__Output, ProcessError> =>
  Effect.scoped(
    Effect.flatMap(Grpc.client(Proto.proto.peer.Peer, address), (c) =>
      Grpc.call<Wire.Neighbors__Output>(address, "2 seconds", (o, cb) => c.GetNeighbors({}, o, cb)))
  ).pipe(Effect.mapError((e) => new ProcessError({ message: `GetNeighbors of ${address}: ${e.message}` })))

/**
 * Polls until the ring of `addresses` is whole and fully stabilized: besides what `ringProblem`
 * checks, every node's predecessor is right and its successor list starts with the next
 * `depth` nodes. Until then a coordinator may send a write to a node that is no longer one of
 * the key's replicas, whose copy nothing removes later; so tests that count copies wait for this
 * before writing. Returns the walk in ring order.
 */
export const awaitStable = (addresses: ReadonlyArray<string>, depth: number, timeout: Duration.Input) =>
  eventually(
    `the ring of ${addresses.length} nodes stabilized`,
    Effect.gen(function*() {
      const ring = yield* walk(addresses[0]!)
      const problem = ringProblem(ring, addresses)
      if (problem !== undefined) return yield* new ProcessError({ message: problem })
      const views = yield* Effect.forEach(ring, (s) => neighbors(s.address), { concurrency: "unbounded" })
      for (const [i, view] of views.entries()) {
        const self = ring[i]!.address
        const predecessor = ring[(i + ring.length - 1) % ring.length]!.address
        const expected = Array.from({ length: Math.min(depth, ring.length - 1) }, (_, j) => ring[(i + j + 1) % ring.length]!.address)
        const successors = view.successors.slice(0, expected.length).map((n) => n.addr)
        if (view.predecessor?.addr !== predecessor) {
          return yield* new ProcessError({ message: `${self}'s predecessor is ${view.predecessor?.addr}, expected ${predecessor}` })
        }
        if (successors.join() !== expected.join()) {
          return yield* new ProcessError({ message: `${self}'s successors are ${successors.join(", ")}, expected ${expected.join(", ")}` })
        }
      }
      return ring
    }),
    timeout
  )

/** The addresses of the nodes holding copies of `key` by the ring `ring` (in ring order): its owner and the next `copies - 1`. */
export const replicasOf = (ring: ReadonlyArray<RingStatus.NodeStatus>, key: string, copies: number): ReadonlyArray<string> => {
  const p = Position.position(Buffer.from(key, "utf8"))
  const i = ring.findIndex((s, j) => Interval.inHalfOpen(p, Position.parse(s.id)!, Position.parse(ring[(j + 1) % ring.length]!.id)!))
  return Array.from({ length: Math.min(copies, ring.length) }, (_, j) => ring[(i + j) % ring.length]!.address)
}

/** A copy of a key as one node holds it. */
export interface Copy {
  /** Undefined for a tombstone. */
  readonly value: string | undefined
  /** `hlc/writer`, comparable for equality. */
  readonly version: string
}

const copyOf = (e: Wire.Entry__Output): Copy => ({
  value: e.tombstone ? undefined : Buffer.from(e.value).toString("utf8"),
  version: `${e.version?.hlc ?? "?"}/${e.version?.writer ?? "?"}`
})

/** The copy of `key` held by the node at `address`, read with Peer Fetch; undefined when it holds none. */
export const fetchCopy = (address: string, key: string): Effect.Effect<Copy | undefined, ProcessError> =>
  Effect.scoped(
    Effect.flatMap(Grpc.client(Proto.proto.peer.Peer, address), (c) =>
      Grpc.call<Wire.FetchReply__Output>(address, "2 seconds", (o, cb) => c.Fetch({ key: Buffer.from(key, "utf8") }, o, cb)))
  ).pipe(
    Effect.map((r) => (r.entry ? copyOf(r.entry) : undefined)),
    Effect.mapError((e) => new ProcessError({ message: `Fetch ${JSON.stringify(key)} from ${address}: ${e.message}` }))
  )

/** Every entry the node at `address` holds (tombstones included), by key, read with one Peer FetchRange over the whole ring. */
export const dumpStore = (address: string): Effect.Effect<ReadonlyMap<string, Copy>, ProcessError> =>
  Effect.scoped(
    Effect.flatMap(Grpc.client(Proto.proto.peer.Peer, address), (c) =>
      Grpc.callStream<Wire.Entry__Output>(address, "10 seconds", (o) => c.FetchRange({ start: "0", end: "0" }, o)).pipe(
        Stream.runFold(() => new Map<string, Copy>(), (m, e) => m.set(Buffer.from(e.key).toString("utf8"), copyOf(e)))
      ))
  ).pipe(Effect.mapError((e) => new ProcessError({ message: `FetchRange from ${address}: ${e.message}` })))

/**
 * What is wrong with the copies of `expected` (key → last acknowledged value) on the nodes
 * `addresses`, or an empty list: each key must be held by at least `copies` of them, and every
 * holder must hold the expected value. At most `max` problems are listed.
 */
export const copiesProblems = (addresses: ReadonlyArray<string>, expected: ReadonlyMap<string, string>, copies: number, max = 10) =>
  Effect.gen(function*() {
    const stores = yield* Effect.forEach(addresses, dumpStore, { concurrency: "unbounded" })
    const problems: Array<string> = []
    let count = 0
    for (const [key, value] of expected) {
      const held = stores.flatMap((s, i) => {
        const c = s.get(key)
        return c === undefined ? [] : [{ node: addresses[i]!, ...c }]
      })
      const wrong = held.filter((h) => h.value !== value)
      if (held.length < copies || wrong.length > 0) {
        count++
        if (problems.length < max) {
          problems.push(`${key}: ${held.length} copies (${held.map((h) => `${h.node}=${JSON.stringify(h.value)}@${h.version}`).join(", ")}), expected ${copies} of ${JSON.stringify(value)}`)
        }
      }
    }
    return { count, problems }
  })

/** Three copies, acknowledged at two, read from one; a repair round every second keeps the tests short. */
export const REPLICATED_ARGS = ["--replicas", "3", "--write-quorum", "2", "--read-quorum", "1", "--repair-interval", "1s"]
export const COPIES = 3

/** Per attempt 2 s; a request gives up after 10 s, long enough to ride out detection (~2.5 s) and take-over. */
export const CLIENT_OPTIONS = { timeout: "2 seconds", deadline: "10 seconds" } as const

/** Logs the seconds since it was made, with a tag, so a slow test shows where its time went. */
export const stopwatch = (tag: string) => {
  const start = Date.now()
  return (what: string) => console.log(`[${tag}] ${((Date.now() - start) / 1000).toFixed(1)}s ${what}`)
}

/** A client operation that outlived its deadline plus slack: it hung. */
export class Hung extends Data.TaggedError("Hung")<{ readonly message: string }> {}

/** The slowest of the operations timed so far, and how many there were. */
export interface Timings {
  ops: number
  maxMillis: number
  slowest: string
}

/**
 * Times client operations into `stats`, each bounded by `limitMs` (the client's deadline plus
 * slack): one still running then fails with `Hung`. Returns the outcome, its time, and its start.
 */
export const timer = (limitMs: number, stats: Timings) =>
<A, E extends { readonly _tag: string }>(op: string, key: string, effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const started = Date.now()
    const r = yield* Effect.result(effect.pipe(
      Effect.timeoutOrElse({
        duration: limitMs,
        orElse: () => Effect.fail(new Hung({ message: `${op} ${key} still running after ${limitMs} ms` }))
      })
    ))
    const millis = Date.now() - started
    stats.ops++
    if (millis > stats.maxMillis) {
      stats.maxMillis = millis
      stats.slowest = `${op} ${key}: ${Result.isSuccess(r) ? "ok" : r.failure._tag}`
    }
    return { r, millis, started }
  })

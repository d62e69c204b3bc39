/**
 * Membership changes under load, on a real in-process cluster (registry + nodes over loopback
 * gRPC): simultaneous joins, churn, a graceful leave and a join hand-off while clients read and
 * write, and joins that must be refused. Placement is checked against the architecture's
 * ownership and replication rules, computed with the reference `Ring` from @crustyring/ring (see
 * `Placement.ts`): each owner holds the last acknowledged value at once, and once repair has
 * settled every key is on exactly its owner and the owner's next `replicas - 1` successors.
 *
 * Random choices come from a seeded generator; each test prints its seed, and
 * `MEMBERSHIP_SEED=<seed>` replays the choices (node IDs still depend on the ports the OS hands
 * out, so a replay is not exact).
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { type ClientError, DhtClient } from "@crustyring/client"
import { Node } from "@crustyring/node"
import { Address } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Effect, Fiber, Option, Ref, Schedule, Stream } from "effect"
import { TestCluster } from "../src/index.ts"
import { eventually, noProblems, placementProblems, settledProblems } from "./Placement.ts"

type ClusterNode = TestCluster.ClusterNode
type Client = DhtClient.Service

const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8")
const bytes = (s: string): Uint8Array => Buffer.from(s, "utf8")
const range = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)

/** A client that talks to exactly one node. */
const clientOf = (address: string) => DhtClient.make({ nodes: [address] })

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The test's seed: $MEMBERSHIP_SEED, else a fresh one; printed so a failure can be replayed. */
const seedFor = (test: string): number => {
  const fromEnv = Number(process.env.MEMBERSHIP_SEED)
  const seed = Number.isInteger(fromEnv) && process.env.MEMBERSHIP_SEED !== "" ? fromEnv : Math.floor(Math.random() * 2 ** 31)
  console.log(`[${test}] seed ${seed}`)
  return seed
}

const pick = <A>(rand: () => number, items: ReadonlyArray<A>): A => items[Math.floor(rand() * items.length)]!

// ---------------------------------------------------------------------------------------------
// Reference checks

/** The owner of each key by the architecture's rule, over the given nodes. */
const ownerIn = (nodes: ReadonlyArray<ClusterNode>) => {
  const ring = Ring.make(nodes.map((n) => ({ id: n.node.self.id, node: n })))
  return (key: string): ClusterNode => Ring.owner(ring, Position.position(bytes(key)))!.node
}

/**
 * Where the running nodes' views differ from the true ring: each node must be ready, done
 * receiving, and point at its true successor and predecessor by ID order.
 */
const ringProblems = (cluster: TestCluster.TestCluster) =>
  Effect.gen(function*() {
    const views = yield* cluster.views
    const ring = Ring.make(views.map((v) => v.self))
    const problems: Array<string> = []
    for (const v of views) {
      const me = v.self.address
      const succ = Ring.successor(ring, v.self.id)!
      const pred = Ring.predecessor(ring, v.self.id)
      if (v.phase !== "ready") problems.push(`${me} is ${v.phase}`)
      if (Option.isSome(v.incoming)) problems.push(`${me} is still receiving a range from ${v.incoming.value.from.address}`)
      const s = (v.successors[0] ?? v.self).address
      if (s !== succ.address) problems.push(`${me}: successor ${s}, should be ${succ.address}`)
      const p = Option.getOrUndefined(v.predecessor)?.address
      if (p !== pred?.address) problems.push(`${me}: predecessor ${p ?? "none"}, should be ${pred?.address ?? "none"}`)
    }
    return problems
  })

/**
 * Reads every expected key (must return its value) and every absent key (must be KeyNotFound).
 * With `transient`, a read failing with Unavailable or Timeout is retried up to 5 times and each
 * failure is recorded there, so an availability problem is counted (and bounded by the caller)
 * apart from a lost or stale write, which is always a problem.
 */
const readProblems = (
  label: string,
  client: Client,
  expected: ReadonlyMap<string, string>,
  absent: ReadonlyArray<string> = [],
  transient?: Array<string>
) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    const get = (key: string) =>
      transient === undefined ? client.get(key) : client.get(key).pipe(
        Effect.tapError((e) =>
          Effect.sync(() => {
            if (e._tag === "Unavailable" || e._tag === "Timeout") transient.push(`${label}: get ${key}: ${e._tag}: ${e.message}`)
          })
        ),
        Effect.retry({ times: 5, schedule: Schedule.spaced("50 millis"), while: (e) => e._tag === "Unavailable" || e._tag === "Timeout" })
      )
    yield* Effect.forEach(expected, ([key, want]) =>
      get(key).pipe(
        Effect.match({
          onFailure: (e) => {
            problems.push(`${label}: ${key}: ${e._tag}: ${e.message}`)
          },
          onSuccess: (v) => {
            if (text(v) !== want) problems.push(`${label}: ${key} reads ${text(v)}, last acknowledged ${want}`)
          }
        })
      ), { concurrency: 64, discard: true })
    yield* Effect.forEach(absent, (key) =>
      get(key).pipe(
        Effect.match({
          onFailure: (e) => {
            if (e._tag !== "KeyNotFound") problems.push(`${label}: deleted ${key}: ${e._tag}: ${e.message}`)
          },
          onSuccess: (v) => {
            problems.push(`${label}: ${key} was deleted, but reads ${text(v)}`)
          }
        })
      ), { concurrency: 64, discard: true })
    return problems
  })

// ---------------------------------------------------------------------------------------------
// Load: worker fibers that read, write and delete while the ring changes, and judge every reply

/** The last acknowledged operation on a key: a value, or a delete (`value` undefined). */
interface Acked {
  readonly version: number
  readonly value: string | undefined
}

/** Values carry their version: `key@version`. */
const versionOf = (value: string): number => Number(value.slice(value.lastIndexOf("@") + 1))

interface LoadOptions {
  readonly workers: number
  /** Keys readers pick from. Worker `w` writes only `keys[i]` with `i % workers === w`. */
  readonly keys: ReadonlyArray<string>
  /** Share of operations that write (the rest read). @default 0.5 */
  readonly writes?: number
  /** Share of writes that are deletes. @default 0 */
  readonly deletes?: number
  readonly rand: () => number
}

/**
 * Traffic with a per-key single writer, so each key's acknowledged history is a sequence and
 * every reply can be judged exactly:
 * - a read is wrong if it returns a value older than the last acknowledged operation on the key
 *   when the read started, or KeyNotFound for an acknowledged value with no delete under way;
 * - a Set must return the last acknowledged value as its previous one, a Delete the removed one
 *   (only judged when the first attempt succeeds: a retry may see its own earlier attempt);
 * - a failed write is retried until acknowledged, so the final state is known exactly.
 * Failures (Unavailable, Timeout) are counted as errors, not as wrong answers.
 */
const makeLoad = (client: Client, options: LoadOptions) =>
  Effect.gen(function*() {
    const acked = new Map<string, Acked>()
    const pendingDelete = new Set<string>()
    const deletesStarted = new Map<string, number>()
    /** `attempts` counts write attempts, `checks` the test's own verification reads. */
    const stats = { reads: 0, writes: 0, deletes: 0, attempts: 0, checks: 0 }
    const errors: Array<string> = []
    const wrong: Array<string> = []
    const stop = yield* Ref.make(false)
    const gate = { paused: false, active: 0 }
    /** While `on`, the key of every operation started is recorded. */
    const recording = { on: false, keys: [] as Array<string> }
    let clock = 0
    const writeShare = options.writes ?? 0.5
    const deleteShare = options.deletes ?? 0
    const mine = range(options.workers).map((w) => options.keys.filter((_, i) => i % options.workers === w))

    /** Runs a write until it is acknowledged; `first` tells whether the first attempt was. */
    const untilAcked = <A>(what: string, op: Effect.Effect<A, ClientError.ClientError>) =>
      Effect.gen(function*() {
        for (let attempt = 0; attempt < 100; attempt++) {
          stats.attempts++
          const r = yield* Effect.result(op)
          if (r._tag === "Success") return { value: r.success, first: attempt === 0 }
          errors.push(`${what}: ${r.failure._tag}: ${r.failure.message}`)
          yield* Effect.sleep("50 millis")
        }
        return yield* Effect.die(new Error(`${what} was never acknowledged in 100 attempts`))
      })

    const write = (key: string) =>
      Effect.gen(function*() {
        const before = acked.get(key)
        const version = ++clock
        if (options.rand() < deleteShare) {
          pendingDelete.add(key)
          deletesStarted.set(key, (deletesStarted.get(key) ?? 0) + 1)
          // KeyNotFound is an answer (nothing to remove), not a failure.
          const r = yield* untilAcked(
            `delete ${key}`,
            client.delete(key).pipe(
              Effect.map((v): string | undefined => text(v)),
              Effect.catchTag("KeyNotFound", () => Effect.succeed(undefined))
            )
          )
          pendingDelete.delete(key)
          if (r.first) {
            const removed = r.value
            if (removed !== before?.value) {
              wrong.push(`delete ${key} removed ${removed ?? "nothing (KeyNotFound)"}, last acknowledged ${before?.value ?? "nothing"}`)
            }
          }
          acked.set(key, { version, value: undefined })
          stats.deletes++
        } else {
          const value = `${key}@${version}`
          const r = yield* untilAcked(`set ${key}`, Effect.map(client.set(key, value), Option.map(text)))
          if (r.first) {
            const previous = Option.getOrUndefined(r.value)
            if (previous !== before?.value) {
              wrong.push(`set ${key}=${value} returned previous ${previous ?? "none"}, last acknowledged ${before?.value ?? "none"}`)
            }
          }
          acked.set(key, { version, value })
          stats.writes++
        }
      })

    const read = (key: string) =>
      Effect.gen(function*() {
        const before = acked.get(key)
        const deleting = pendingDelete.has(key)
        const deletes = deletesStarted.get(key) ?? 0
        const r = yield* Effect.result(client.get(key))
        stats.reads++
        if (r._tag === "Success") {
          const got = text(r.success)
          if (!got.startsWith(`${key}@`)) wrong.push(`get ${key} returned ${got}, a value of another key`)
          else if (before !== undefined && versionOf(got) < before.version) {
            wrong.push(`get ${key} returned stale ${got}; ${before.value ?? "a delete"} (v${before.version}) was acknowledged before the read`)
          }
        } else if (r.failure._tag === "KeyNotFound") {
          const deleteRaced = deleting || (deletesStarted.get(key) ?? 0) !== deletes
          if (before?.value !== undefined && !deleteRaced) {
            wrong.push(`get ${key}: KeyNotFound, but ${before.value} was acknowledged before the read`)
          }
        } else {
          errors.push(`get ${key}: ${r.failure._tag}: ${r.failure.message}`)
        }
      })

    const worker = (w: number) =>
      Effect.gen(function*() {
        const own = mine[w]!
        while (!(yield* Ref.get(stop))) {
          if (gate.paused) {
            yield* Effect.sleep("5 millis")
            continue
          }
          // Counted synchronously with the pause check, so `quiesce` sees every operation.
          gate.active++
          const isWrite = own.length > 0 && options.rand() < writeShare
          const key = isWrite ? pick(options.rand, own) : pick(options.rand, options.keys)
          if (recording.on) recording.keys.push(key)
          const op = isWrite ? write(key) : read(key)
          yield* Effect.ensuring(op, Effect.sync(() => {
            gate.active--
          }))
        }
      })

    return {
      acked,
      stats,
      recording,
      errors,
      wrong,
      /** Records a value written before the load started. */
      seed: (key: string, value: string) => acked.set(key, { version: 0, value }),
      /** Starts the workers; join the fiber after `stop`. */
      start: Effect.forkChild(Effect.forEach(range(options.workers), worker, { concurrency: "unbounded", discard: true })),
      stop: Ref.set(stop, true),
      /** Runs `effect` with no operation in flight and none starting. */
      quiesce: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.acquireUseRelease(
          Effect.sync(() => {
            gate.paused = true
          }).pipe(
            Effect.andThen(Effect.sync(() => gate.active).pipe(Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (n) => n === 0 })))
          ),
          () => effect,
          () => Effect.sync(() => {
            gate.paused = false
          })
        ),
      /** Key -> value of every key whose last acknowledged operation stored a value. */
      present: () => new Map([...acked].flatMap(([k, a]) => (a.value === undefined ? [] : [[k, a.value] as const]))),
      /** Keys whose last acknowledged operation deleted them. */
      deleted: () => [...acked].flatMap(([k, a]) => (a.value === undefined ? [k] : [])),
      ops: () => stats.reads + stats.writes + stats.deletes,
      report: (label: string) =>
        console.log(
          `[${label}] ${stats.reads} reads, ${stats.writes} sets, ${stats.deletes} deletes; ` +
            `${stats.checks} check reads; ` +
            `${errors.length} client errors (${((100 * errors.length) / Math.max(1, stats.reads + stats.attempts + stats.checks)).toFixed(3)}% of requests), ` +
            `${wrong.length} wrong answers${errors.length > 0 ? `\n  errors: ${errors.slice(0, 10).join("\n          ")}` : ""}`
        )
    }
  })

/** Asserts no wrong answer and client errors under 1% of attempts. */
const assertLoadHealthy = (label: string, load: Effect.Success<ReturnType<typeof makeLoad>>) => {
  load.report(label)
  noProblems(`${label}: wrong answers`, load.wrong)
  const requests = load.stats.reads + load.stats.attempts + load.stats.checks
  assert.isBelow(load.errors.length, requests / 100, `${label}: client errors are under 1% of ${requests} requests:\n  ${load.errors.slice(0, 20).join("\n  ")}`)
}

/** Writes `key@0` for each key through the client, concurrently, and records them in the load. */
const populate = (client: Client, keys: ReadonlyArray<string>, record: (key: string, value: string) => void) =>
  Effect.forEach(keys, (key) =>
    client.set(key, `${key}@0`).pipe(
      Effect.retry({ times: 5, schedule: Schedule.spaced("100 millis") }),
      Effect.tap(() => Effect.sync(() => record(key, `${key}@0`)))
    ), { concurrency: 64, discard: true })

// ---------------------------------------------------------------------------------------------

/** One run of the join hand-off scenario; false when no operation touched the new node's keys during it. */
const joinHandoff = Effect.gen(function*() {
  const rand = prng(seedFor("join hand-off"))
  // One copy per key: with three nodes and three replicas every node would hold every key,
  // and this test is about the hand-off between owners. The churn and concurrent-join tests
  // cover hand-offs under replication.
  const cluster = yield* TestCluster.make({ nodes: 2, config: { replicas: 1, writeQuorum: 1 } })
  const client = yield* cluster.client()
  const keys = range(22_000).map((i) => `handoff-${i}`)
  const load = yield* makeLoad(client, { workers: 32, keys, writes: 0.8, deletes: 0.4, rand })
  const t0 = Date.now()
  yield* populate(client, keys.slice(0, 20_000), load.seed)
  const tPopulated = Date.now()

  // The owner has accepted the joiner once one of its successors is a node the test does not
  // know yet; from then until the join returns, the joiner's range is being handed off.
  const known = new Set(cluster.nodes.map((n) => n.address))
  const accepted = eventually(
    "the owner accepts the joiner",
    Effect.map(cluster.views, (vs) => (vs.some((v) => v.successors.some((s) => !known.has(s.address))) ? [] : ["not yet"])),
    "20 seconds"
  ).pipe(Effect.andThen(Effect.sync(() => {
    load.recording.on = true
    return Date.now()
  })))

  const fiber = yield* load.start
  yield* Effect.sleep("100 millis")
  const tJoin = Date.now()
  const joining = yield* Effect.forkChild(cluster.addNode({ via: "peer" }))
  const tAccepted = yield* accepted
  const opsAtAccept = load.ops()
  // Traffic runs until the join returns, or for at most 4 s of the hand-off (see the report).
  const early = yield* Effect.raceFirst(
    Effect.map(Fiber.await(joining), () => false),
    Effect.as(Effect.sleep("4 seconds"), true)
  )
  load.recording.on = false
  const opsDuring = load.ops() - opsAtAccept
  yield* load.stop
  yield* Fiber.join(fiber)
  const joined = yield* Fiber.join(joining)
  const tJoined = Date.now()

  const running = yield* cluster.running
  const owner = ownerIn(running)
  const inRange = load.recording.keys.filter((k) => owner(k) === joined).length
  console.log(
    `[join hand-off] 20000 keys written in ${tPopulated - t0} ms; join took ${tJoined - tJoin} ms ` +
      `(accepted after ${tAccepted - tJoin} ms); ${opsDuring} ops ran during the hand-off` +
      `${early ? " (traffic stopped after 4 s, before the join returned)" : ""}, ${inRange} of them on keys the new node owns`
  )
  if (inRange === 0) return false
  assertLoadHealthy("join hand-off", load)
  assert.isAbove(opsDuring, 0, "operations ran during the join")
  assert.isAbove(load.stats.deletes, 0, "some keys were deleted")

  const present = load.present()
  const deleted = load.deleted()
  // Each key, and each tombstone, on its owner alone.
  const expected = { present, deleted, replicas: 1 }
  noProblems("placement after the hand-off", yield* placementProblems(running, expected))
  noProblems("settled placement after the hand-off", yield* settledProblems(running, expected))
  noProblems("reads after the hand-off", yield* readProblems("after join", client, present, deleted))
  yield* eventually("ring converges after the join", ringProblems(cluster))
  return true
})

describe("membership", () => {
  it.live("eight nodes joining at once, under writes, converge with every key on its owner and replicas", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 1 })
      const first = cluster.nodes[0]!
      const client = yield* cluster.client()
      const expected = new Map<string, string>()
      const early = range(5000).map((i) => `early-${i}`)
      const t0 = Date.now()
      yield* Effect.forEach(early, (key) =>
        client.set(key, `${key}=1`).pipe(Effect.tap(() => Effect.sync(() => expected.set(key, `${key}=1`)))), { concurrency: 64, discard: true })
      const tWritten = Date.now()

      // The writer: 4 fibers take op numbers from a shared counter. Even ops write a new key,
      // odd ones overwrite an early key (each at most once), so no two writes race on a key. It
      // starts with the joins and keeps writing until they have all returned: 2,000 ops at least,
      // 10,000 at most (writes into a range being handed off slow the hand-off down, and with it
      // the joins queued behind it; see the join hand-off test).
      const MIN_OPS = 2000
      const MAX_OPS = 10_000
      const next = yield* Ref.make(0)
      const joinsDone = yield* Ref.make(false)
      let writerEnd = 0
      let writes = 0
      const errors: Array<string> = []
      const wrong: Array<string> = []
      const writeOne = (op: number) =>
        Effect.gen(function*() {
          const overwrite = op % 2 === 1 && (op - 1) / 2 < early.length
          const key = overwrite ? early[(op - 1) / 2]! : `late-${op}`
          const value = overwrite ? `${key}=2` : `${key}=1`
          for (let attempt = 0; ; attempt++) {
            const r = yield* Effect.result(client.set(key, value))
            if (r._tag === "Success") {
              const previous = Option.getOrUndefined(Option.map(r.success, text))
              const want = overwrite ? `${key}=1` : undefined
              if (attempt === 0 && previous !== want) wrong.push(`set ${key} returned previous ${previous}, expected ${want}`)
              expected.set(key, value)
              writes++
              return
            }
            errors.push(`set ${key}: ${r.failure._tag}: ${r.failure.message}`)
            if (attempt >= 100) return yield* Effect.die(new Error(`set ${key} never acknowledged`))
            yield* Effect.sleep("50 millis")
          }
        })
      const writerFiber = yield* Effect.forkChild(
        Effect.forEach(range(4), () =>
          Effect.gen(function*() {
            while (true) {
              const op = yield* Ref.getAndUpdate(next, (n) => n + 1)
              if (op >= MAX_OPS || (op >= MIN_OPS && (yield* Ref.get(joinsDone)))) return
              yield* writeOne(op)
            }
          }), { concurrency: "unbounded", discard: true }).pipe(Effect.ensuring(Effect.sync(() => {
            writerEnd = Date.now()
          })))
      )

      const tJoin = Date.now()
      const joined = yield* Effect.forEach(
        range(8),
        (i) => cluster.addNode(i % 2 ? { via: "peer", contact: first.address } : { via: "registry" }),
        { concurrency: "unbounded" }
      )
      const tJoined = Date.now()
      const writesDuringJoins = (yield* Ref.get(next)) - 4
      yield* Ref.set(joinsDone, true)
      yield* Fiber.join(writerFiber)

      assert.lengthOf(joined, 8)
      const running = yield* cluster.running
      assert.lengthOf(running, 9)
      const convergedMs = yield* eventually("ring converges after 8 simultaneous joins", ringProblems(cluster))

      console.log(
        `[concurrent joins] 5000 keys in ${tWritten - t0} ms; 8 joins took ${tJoined - tJoin} ms with ` +
          `${writesDuringJoins} writes meanwhile; the writer stopped after ${writes} writes, ${writerEnd - tJoin} ms after the joins began; ` +
          `${errors.length} errors; converged ${convergedMs} ms later; ${expected.size} distinct keys`
      )
      if (errors.length > 0) console.log(`  errors: ${errors.slice(0, 10).join("\n          ")}`)
      noProblems("Set replies during the joins", wrong)
      assert.isBelow(errors.length, writes / 100, `client errors under 1%: ${errors.slice(0, 10).join("; ")}`)

      // Every acknowledged key reads back, through the cluster client and through one node.
      noProblems("reads through the cluster client", yield* readProblems("cluster client", client, expected))
      const someNode = pick(prng(seedFor("concurrent joins")), running)
      const nodeClient = yield* clientOf(someNode.address)
      noProblems(`reads through ${someNode.address}`, yield* readProblems(someNode.address, nodeClient, expected))
      // Each key on its owner at once, and on exactly its replica set once repair has settled.
      noProblems("placement", yield* placementProblems(running, { present: expected }))
      const settledMs = yield* eventually("replicas settle", settledProblems(running, { present: expected }), "30 seconds")
      console.log(`[concurrent joins] replicas settled ${settledMs} ms after the placement check`)
      // The registry lists the nodes that joined through it (a node joined through a peer never
      // registers).
      const fresh = yield* cluster.client()
      const registered = [first, ...joined.filter((_, i) => i % 2 === 0)].map((n) => n.address)
      expect([...(yield* fresh.nodes)].sort()).toEqual(registered.sort())
    }), 120_000)

  it.live("churn: joins and leaves under continuous reads and writes lose no acknowledged write", () =>
    Effect.gen(function*() {
      const rand = prng(seedFor("churn"))
      const cluster = yield* TestCluster.make({ nodes: 4 })
      const first = cluster.nodes[0]!
      // More attempts than the client caches nodes, so that once its cached nodes have left it
      // falls back to the registry's current list (see the known client bug below; with the
      // default of 3, about 1 run in 10 fails with Unavailable from departed nodes).
      const client = yield* cluster.client({ attempts: 8 })
      const keys = range(600).map((i) => `churn-${i}`)
      const load = yield* makeLoad(client, { workers: 8, keys, writes: 0.5, rand })
      const fiber = yield* load.start
      yield* Effect.sleep("300 millis")

      const steps: Array<string> = []
      for (let step = 0; step < 6; step++) {
        const t = Date.now()
        let what: string
        if (step % 2 === 0) {
          const via = step % 4 === 0 ? "registry" as const : "peer" as const
          const n = yield* cluster.addNode({ via })
          what = `join ${n.address} via ${via}`
        } else {
          const candidates = (yield* cluster.running).filter((n) => n !== first)
          const leaving = pick(rand, candidates)
          yield* cluster.stopNode(leaving)
          what = `leave ${leaving.address}`
        }
        const took = Date.now() - t
        // With traffic paused, every acknowledged write reads back with exactly its latest value.
        const problems = yield* load.quiesce(Effect.suspend(() => {
          const present = load.present()
          load.stats.checks += present.size
          return readProblems(`after step ${step} (${what})`, client, present, [], load.errors)
        }))
        steps.push(`${what} (${took} ms, ${load.ops()} ops so far)`)
        noProblems(`after step ${step}: ${what}`, problems)
        yield* Effect.sleep("200 millis")
      }
      yield* load.stop
      yield* Fiber.join(fiber)
      console.log(`[churn] steps:\n  ${steps.join("\n  ")}`)
      assertLoadHealthy("churn", load)
      assert.isAbove(load.stats.writes, 100, "the load ran")

      yield* eventually("ring converges after churn", ringProblems(cluster))
      const running = yield* cluster.running
      assert.lengthOf(running, 4)
      noProblems("final reads", yield* readProblems("final", client, load.present()))
      noProblems("final placement", yield* placementProblems(running, { present: load.present() }))
      yield* eventually("replicas settle after churn", settledProblems(running, { present: load.present() }), "30 seconds")
    }), 60_000)

  it.live("a graceful leave under traffic hands every key to the predecessor", () =>
    Effect.gen(function*() {
      const rand = prng(seedFor("graceful leave"))
      const cluster = yield* TestCluster.make({ nodes: 5 })
      const client = yield* cluster.client()
      const keys = range(2400).map((i) => `leave-${i}`)
      const load = yield* makeLoad(client, { workers: 8, keys, writes: 0.5, rand })
      // 2,000 keys up front; the load also creates some of the other 400 while the node leaves.
      yield* populate(client, keys.slice(0, 2000), load.seed)

      const before = yield* cluster.running
      const leaving = pick(rand, before.slice(1))
      const ring = Ring.make(before.map((n) => ({ id: n.node.self.id, node: n })))
      const predecessor = Ring.predecessor(ring, leaving.node.self.id)!.node
      const successor = Ring.successor(ring, leaving.node.self.id)!.node
      // The keys the leaving node owns; it also holds copies of its predecessors' ranges.
      const onLeaving = (yield* Effect.orDie(Stream.runCollect(leaving.node.storage.scan(leaving.node.self.id, successor.node.self.id))))
        .map((e) => text(e.key))
      assert.isAbove(onLeaving.length, 0, "the leaving node owns keys")

      const fiber = yield* load.start
      yield* Effect.sleep("300 millis")
      const t = Date.now()
      yield* cluster.stopNode(leaving)
      const took = Date.now() - t
      yield* Effect.sleep("300 millis")
      yield* load.stop
      yield* Fiber.join(fiber)
      console.log(`[graceful leave] ${leaving.address} (${onLeaving.length} keys) left to ${predecessor.address} in ${took} ms`)
      assertLoadHealthy("graceful leave", load)

      const running = yield* cluster.running
      assert.lengthOf(running, 4)
      assert.notInclude(running, leaving)
      const present = load.present()
      // The departed node's keys are all on its predecessor now, with their latest values.
      const moved: Array<string> = []
      for (const key of onLeaving) {
        const here = yield* Effect.orDie(predecessor.node.storage.get(bytes(key)))
        const want = present.get(key)
        if (Option.getOrUndefined(Option.map(here, text)) !== want) {
          moved.push(`${key}: on predecessor ${Option.getOrUndefined(Option.map(here, text)) ?? "nothing"}, expected ${want}`)
        }
      }
      noProblems(`keys of ${leaving.address} on its predecessor ${predecessor.address}`, moved)
      noProblems("placement", yield* placementProblems(running, { present }))
      noProblems("reads", yield* readProblems("after leave", client, present))

      // Nobody points at the departed node, and the views converge.
      yield* eventually(
        "nobody points at the departed node",
        Effect.map(cluster.views, (views) =>
          views.flatMap((v) => [
            ...(Option.getOrUndefined(v.predecessor)?.address === leaving.address ? [`${v.self.address}: predecessor is the departed node`] : []),
            ...(v.successors[0]?.address === leaving.address ? [`${v.self.address}: successor is the departed node`] : [])
          ]))
      )
      yield* eventually("ring converges after the leave", ringProblems(cluster))
      // Repair restores three copies of every key on the four nodes left.
      yield* eventually("replicas settle after the leave", settledProblems(running, { present }), "30 seconds")

      // The status walk lists exactly the running nodes, in ring order, each key owned once and
      // held three times. It uses a client made now: a client made before the leave may start its
      // walk at the departed node (see the known client bug below).
      const statuses = yield* (yield* cluster.client()).ring()
      const sorted = [...running].sort((a, b) => (a.node.self.id < b.node.self.id ? -1 : 1))
      const start = sorted.findIndex((n) => n.address === statuses[0]?.address)
      assert.isAtLeast(start, 0, `the walk starts at a running node: ${statuses[0]?.address}`)
      const inRingOrder = [...sorted.slice(start), ...sorted.slice(0, start)]
      const owner = ownerIn(running)
      expect(statuses.map((s) => s.address)).toEqual(inRingOrder.map((n) => n.address))
      statuses.forEach((s, i) => {
        const next = inRingOrder[(i + 1) % inRingOrder.length]!
        assert.strictEqual(s.phase, "ready")
        assert.strictEqual(s.range.start, Position.toHex(inRingOrder[i]!.node.self.id), `range start of ${s.address}`)
        assert.strictEqual(s.range.end, Position.toHex(next.node.self.id), `range end of ${s.address}`)
        const owns = [...present.keys()].filter((k) => owner(k) === inRingOrder[i]).length
        assert.strictEqual(s.ownedKeys, owns, `keys owned by ${s.address}`)
      })
      assert.strictEqual(statuses.reduce((a, s) => a + s.ownedKeys, 0), present.size, "each key is owned once")
      assert.strictEqual(statuses.reduce((a, s) => a + s.keys, 0), present.size * 3, "each key is held three times")
    }), 60_000)

  it.live("writes and deletes during a join hand-off are neither lost nor left on the wrong node", () =>
    Effect.gen(function*() {
      // The new node's range follows from its random port, and a hand-off of a small range can
      // end before any operation touches it. Such a run proves nothing about the hand-off, so
      // the scenario runs again on a fresh cluster, up to three times.
      for (let round = 1;; round++) {
        if (yield* Effect.scoped(joinHandoff)) return
        console.log(`[join hand-off] round ${round}: no operation on the new node's keys ran during the hand-off`)
        assert.isBelow(round, 3, "operations on the new node's keys ran during the hand-off, in one of three rounds")
      }
    }), 150_000)

  it.live("a client made before a leave still walks the ring and lists the live nodes", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 3 })
      const client = yield* cluster.client()
      yield* client.set("before-the-leave", "1")
      const known = yield* client.nodes
      const gone = cluster.nodes.find((n) => n.address === known[0])!
      yield* cluster.stopNode(gone)
      const running = (yield* cluster.running).map((n) => n.address).sort()
      expect(text(yield* client.get("before-the-leave"))).toBe("1")
      expect((yield* client.ring()).map((s) => s.address).sort()).toEqual(running)
      expect([...(yield* client.nodes)].sort()).toEqual(running)
    }), 60_000)

  it.live("a client made before its nodes left keeps serving every request", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 4 })
      const client = yield* cluster.client()
      const keys = range(300).map((i) => `stale-${i}`)
      yield* Effect.forEach(keys, (k) => client.set(k, "v"), { concurrency: 16, discard: true })
      const original = [...cluster.nodes]
      for (let i = 0; i < 3; i++) yield* cluster.addNode()
      for (const n of original.slice(1)) yield* cluster.stopNode(n)
      const failures: Array<string> = []
      yield* Effect.forEach(keys, (k) =>
        client.get(k).pipe(
          Effect.catch((e) => Effect.sync(() => failures.push(`${k}: ${e._tag}: ${e.message}`)))
        ), { concurrency: 16, discard: true })
      noProblems("gets through a client made before three of its four nodes left", failures)
    }), 60_000)

  it.live("a join with a taken ID, or through an unreachable contact, fails with a StartError that says why", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 3 })
      const taken = cluster.nodes[1]!
      const advertise = Address.unsafeMake(taken.address)
      const attempts = [
        { label: "via the registry", options: { via: "registry" as const, config: { advertise } } },
        { label: "via a peer", options: { via: "peer" as const, config: { advertise } } },
        { label: "via the holder itself", options: { via: "peer" as const, contact: taken.address, config: { advertise } } }
      ]
      for (const { label, options } of attempts) {
        const error = yield* Effect.flip(cluster.addNode(options))
        assert.instanceOf(error, Node.StartError, label)
        assert.strictEqual(error._tag, "StartError")
        expect(error.message, label).toContain("already held")
        expect(error.message, label).toContain(taken.address)
      }

      const t = Date.now()
      const unreachable = yield* Effect.flip(cluster.addNode({ via: "peer", contact: "127.0.0.1:1" }))
      const took = Date.now() - t
      assert.instanceOf(unreachable, Node.StartError)
      expect(unreachable.message).toContain("127.0.0.1:1")
      assert.isBelow(took, 10_000, `failed within 10 s (took ${took} ms)`)
      console.log(`[refused joins] unreachable contact failed after ${took} ms: ${unreachable.message}`)

      // The cluster is untouched: the same three nodes, converged, serving, and listed.
      const running = yield* cluster.running
      assert.lengthOf(running, 3)
      noProblems("views", yield* ringProblems(cluster))
      const client = yield* cluster.client()
      yield* client.set("after-refusals", "ok")
      expect(text(yield* client.get("after-refusals"))).toBe("ok")
      expect([...(yield* client.nodes)].sort()).toEqual(running.map((n) => n.address).sort())
    }), 60_000)
})

/**
 * Fault tolerance as real processes (issue #4): six `dht` nodes with three copies of every key,
 * crashed with SIGKILL (no leave, no hand-off), checked through the client library and
 * straight at the replicas over Peer Fetch / FetchRange.
 *
 * 1. 5,000 acknowledged keys survive two adjacent nodes killed at once, and a third node killed
 *    once re-replication has brought every key back to three copies.
 * 2. A client that writes and reads without pause rides out a crash: every acknowledged write
 *    reads back, no operation outlives the client's deadline, and failures are few.
 * 3. Two clients writing the same keys concurrently leave every key's three replicas holding the
 *    same version and value, which a client read returns.
 *
 * Each test waits for the new ring to stabilize (every successor list right) before it writes:
 * a write coordinated from a stale successor list leaves a copy on a node outside the key's
 * replica set, and nothing removes or updates such a copy later, so copy counts would be off.
 *
 * Nothing sleeps for a fixed time: every wait polls with a deadline. The tests run one after the
 * other; six nodes at a time is as much as two cores take without starving the failure detector.
 */
import { type ClientError, DhtClient } from "@crustyring/client"
import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Fiber, Result } from "effect"
import { ProcessError } from "./processes.ts"
import {
  awaitReplicated,
  awaitRing,
  awaitStable,
  copiesProblems,
  eventually,
  fetchCopy,
  printLogsOnFailure,
  replicasOf,
  type RingNode,
  startRing,
  stopwatch,
  timer,
  CLIENT_OPTIONS,
  COPIES,
  REPLICATED_ARGS
} from "./replicated.ts"

const NODE_ARGS = REPLICATED_ARGS

const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8")
const range = (n: number) => Array.from({ length: n }, (_, i) => i)

/** Milliseconds since `start`, for the timing lines the tests print. */
/** Six nodes with three copies each, their successor lists settled; logs go to the output on failure. */
const startStableRing = (lap: (what: string) => void) =>
  Effect.gen(function*() {
    const nodes = yield* startRing(6, NODE_ARGS)
    yield* printLogsOnFailure(nodes)
    const all = nodes.map((n) => n.address)
    yield* awaitStable(all, COPIES - 1, "20 seconds")
    lap("6 nodes up and stabilized")
    return { nodes, all }
  })

/** SIGKILLs the nodes at once and waits until each is gone. */
const crash = (victims: ReadonlyArray<RingNode>) =>
  Effect.gen(function*() {
    yield* Effect.forEach(victims, (v) => v.proc.kill("SIGKILL"), { discard: true })
    for (const v of victims) expect(yield* v.proc.exitWithin("5 seconds")).toEqual({ code: null, signal: "SIGKILL" })
  })

/** The outcome of reading many acknowledged keys once each through the client. */
interface ReadPass {
  readonly ok: number
  /** A wrong value or a missing key: an acknowledged write lost or stale. */
  readonly wrong: ReadonlyArray<string>
  /** Keys whose read failed (unavailable, timed out), to read again. */
  readonly failed: ReadonlyArray<string>
  readonly failureTags: Readonly<Record<string, number>>
  readonly maxMillis: number
  readonly millis: number
}

/** Reads every key of `expected` once through `client`, 48 at a time. */
const readPass = (client: DhtClient.Service, expected: ReadonlyMap<string, string>, keys: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const started = Date.now()
    const wrong: Array<string> = []
    const failed: Array<string> = []
    const failureTags: Record<string, number> = {}
    let ok = 0
    let maxMillis = 0
    yield* Effect.forEach(keys, (key) =>
      Effect.gen(function*() {
        const t = Date.now()
        const r = yield* Effect.result(client.get(key))
        maxMillis = Math.max(maxMillis, Date.now() - t)
        if (Result.isSuccess(r)) {
          if (utf8(r.success) === expected.get(key)) ok++
          else wrong.push(`${key} = ${JSON.stringify(utf8(r.success))}, acknowledged ${JSON.stringify(expected.get(key))}`)
        } else if (r.failure._tag === "KeyNotFound") {
          wrong.push(`${key} not found, acknowledged ${JSON.stringify(expected.get(key))}`)
        } else {
          failed.push(key)
          failureTags[r.failure._tag] = (failureTags[r.failure._tag] ?? 0) + 1
          if (failed.length <= 3) console.log(`[fault-tolerance] read failed: ${r.failure._tag}: ${r.failure.message}`)
        }
      }), { concurrency: 48, discard: true })
    return { ok, wrong, failed, failureTags, maxMillis, millis: Date.now() - started } satisfies ReadPass
  })

/**
 * Reads every acknowledged key right after a crash, with the client's retries; the keys whose
 * read failed are read again once the ring of `survivors` has settled. Every key must read its
 * acknowledged value, and no read, early or late, may return a wrong value or miss a key.
 */
const expectAllReadable = (
  client: DhtClient.Service,
  acked: ReadonlyMap<string, string>,
  survivors: ReadonlyArray<string>,
  lap: (what: string) => void
) =>
  Effect.gen(function*() {
    const first = yield* readPass(client, acked, [...acked.keys()])
    lap(
      `read ${acked.size} keys right after the crash in ${first.millis} ms: ${first.ok} ok, ${first.wrong.length} wrong, ` +
        `${first.failed.length} failed ${JSON.stringify(first.failureTags)}, slowest ${first.maxMillis} ms`
    )
    expect(first.wrong.slice(0, 10), `${first.wrong.length} acknowledged keys read wrong right after the crash`).toEqual([])
    if (first.failed.length === 0) return
    yield* awaitRing(survivors)
    const again = yield* readPass(client, acked, first.failed)
    lap(`read the ${first.failed.length} failed keys again: ${again.ok} ok, ${again.failed.length} failed ${JSON.stringify(again.failureTags)}`)
    expect(again.wrong.slice(0, 10), `${again.wrong.length} acknowledged keys read wrong once the ring settled`).toEqual([])
    expect(again.failed.slice(0, 10), `${again.failed.length} acknowledged keys unreadable once the ring settled`).toEqual([])
  })

/** Polls until every acknowledged key has at least COPIES copies, all of its value, on `addresses`. */
const awaitCopies = (addresses: ReadonlyArray<string>, acked: ReadonlyMap<string, string>, timeout: Duration.Input = "20 seconds") =>
  Effect.suspend(() => {
    let polls = 0
    return eventually(
      `every key at ${COPIES} copies in the stores of ${addresses.length} nodes`,
      Effect.flatMap(copiesProblems(addresses, acked, COPIES), ({ count, problems }) => {
        polls++
        return count === 0
          ? Effect.succeed(polls)
          : Effect.fail(new ProcessError({ message: `${count} keys short or wrong: ${problems.join("; ")}` }))
      }),
      timeout
    )
  })

const KEYS = 5000
const keyOf = (i: number) => `ft-key-${i}`
const valueOf = (i: number) => `ft-value-${i}-${"y".repeat(i % 13)}`

/** A client operation outlived the client's own deadline plus slack: it hung. */

describe("fault tolerance", () => {
  it.live("5,000 acknowledged keys survive two adjacent nodes killed at once, then a third after re-replication", () =>
    Effect.gen(function*() {
      const lap = stopwatch("fault-tolerance")
      const { all, nodes } = yield* startStableRing(lap)

      const client = yield* DhtClient.make({ nodes: all }, CLIENT_OPTIONS)
      const acked = new Map<string, string>()
      const writeFailures: Array<string> = []
      yield* Effect.forEach(range(KEYS), (i) =>
        Effect.map(Effect.result(client.set(keyOf(i), valueOf(i))), (r) => {
          if (Result.isSuccess(r)) acked.set(keyOf(i), valueOf(i))
          else writeFailures.push(`${keyOf(i)}: ${r.failure._tag}: ${r.failure.message}`)
        }), { concurrency: 48, discard: true })
      lap(`wrote ${acked.size} keys, ${writeFailures.length} failed`)
      expect(writeFailures.slice(0, 5), `${writeFailures.length} writes failed on a healthy ring`).toEqual([])

      const ring = yield* awaitReplicated(all, KEYS, COPIES, "30 seconds")
      lap("status: every key at 3 copies")
      // The stores agree with the status: exactly three copies of each key on a ring without churn.
      expect(ring.reduce((n, s) => n + s.keys, 0)).toBe(KEYS * COPIES)
      expect((yield* copiesProblems(all, acked, COPIES)).problems).toEqual([])

      // The harshest pair: two neighbours, the two that own the most keys between them. Their
      // predecessor takes over both ranges, which then have a single copy left (on the successor).
      const pairs = ring.map((s, i) => ({ i, owned: s.ownedKeys + ring[(i + 1) % ring.length]!.ownedKeys }))
      const { i } = pairs.reduce((a, b) => (b.owned > a.owned ? b : a))
      const victims = [ring[i]!, ring[(i + 1) % ring.length]!].map((s) => nodes.find((n) => n.address === s.address)!)
      const taker = nodes.find((n) => n.address === ring[(i + ring.length - 1) % ring.length]!.address)!
      const survivors = all.filter((a) => !victims.some((v) => v.address === a))
      yield* crash(victims)
      lap(`SIGKILLed ${victims.map((v) => v.address).join(" and ")} (${pairs[i]!.owned} owned keys); ${taker.address} is their predecessor`)

      yield* expectAllReadable(client, acked, survivors, lap)

      const healed = yield* awaitReplicated(survivors, KEYS, COPIES, "40 seconds")
      lap(`status: re-replicated on 4 nodes (${healed.map((s) => `${s.address} owned=${s.ownedKeys} keys=${s.keys}`).join(", ")})`)
      // Before the next crash, make sure of it in the stores: the status counts come from the
      // last repair round, which may predate the latest change of replica sets.
      const polls = yield* awaitCopies(survivors, acked)
      lap(`stores: every key at >= 3 copies on the 4 survivors (${polls} poll${polls === 1 ? "" : "s"})`)

      // Then the node that took over both ranges.
      const survivors2 = survivors.filter((a) => a !== taker.address)
      yield* crash([taker])
      lap(`SIGKILLed ${taker.address}`)
      yield* expectAllReadable(client, acked, survivors2, lap)
      lap("done")
    }), 120_000)

  it.live("a client writing and reading without pause rides out a node's crash", () =>
    Effect.gen(function*() {
      const lap = stopwatch("fault-tolerance")
      const { all, nodes } = yield* startStableRing(lap)

      const DEADLINE_MS = 6000
      const SLACK_MS = 2000
      const client = yield* DhtClient.make({ nodes: all }, { timeout: "2 seconds", deadline: `${DEADLINE_MS} millis` })

      const acked = new Map<string, string>()
      const ackedKeys: Array<string> = []
      const wrong: Array<string> = []
      const failures: Array<{ readonly op: string; readonly key: string; readonly tag: string; readonly millis: number; readonly message: string }> = []
      const stats = { ops: 0, succeeded: 0, maxMillis: 0, slowest: "" }
      let stop = false

      /** Runs one operation, bounded by the client's deadline plus slack, and records its outcome. */
      const time = timer(DEADLINE_MS + SLACK_MS, stats)
      const timed = <A>(op: string, key: string, effect: Effect.Effect<A, ClientError.ClientError>) =>
        Effect.gen(function*() {
          const { millis, r } = yield* time(op, key, effect)
          if (Result.isSuccess(r)) stats.succeeded++
          else if (!(r.failure._tag === "KeyNotFound" && acked.has(key))) {
            failures.push({ op, key, tag: r.failure._tag, millis, message: r.failure.message })
          }
          return r
        })

      /** A read of an acknowledged key: anything but its value is a lost or stale write. */
      const check = (op: string, key: string) =>
        Effect.map(timed(op, key, client.get(key)), (r) => {
          if (Result.isSuccess(r)) {
            if (utf8(r.success) !== acked.get(key)) wrong.push(`${op} ${key} = ${JSON.stringify(utf8(r.success))}, acknowledged ${JSON.stringify(acked.get(key))}`)
          } else if (r.failure._tag === "KeyNotFound") wrong.push(`${op} ${key}: not found, acknowledged ${JSON.stringify(acked.get(key))}`)
        })

      const worker = (w: number) =>
        Effect.gen(function*() {
          for (let n = 0; !stop; n++) {
            const key = `live-${w}-${n}`
            const value = `value ${n} of worker ${w}`
            const set = yield* timed("set", key, client.set(key, value))
            if (Result.isSuccess(set)) {
              acked.set(key, value)
              ackedKeys.push(key)
              yield* check("get", key)
            }
            if (ackedKeys.length > 0) yield* check("re-read", ackedKeys[Math.floor(Math.random() * ackedKeys.length)]!)
          }
        })
      const workers = yield* Effect.forkChild(Effect.all(range(4).map(worker), { concurrency: "unbounded", discard: true }), {
        startImmediately: true
      })

      const opsReached = (n: number) =>
        eventually(
          `${n} operations`,
          Effect.suspend(() => (stats.ops >= n ? Effect.void : Effect.fail(new ProcessError({ message: `${stats.ops} operations` })))),
          "20 seconds",
          "50 millis"
        )
      yield* opsReached(300)
      lap(`${stats.ops} operations before the crash`)

      // Not the first node of the client's list, nor the one the others joined through.
      const victim = nodes[3]!
      const survivors = all.filter((a) => a !== victim.address)
      const opsAtKill = stats.ops
      const failuresAtKill = failures.length
      yield* crash([victim])
      lap(`SIGKILLed ${victim.address}`)
      yield* awaitRing(survivors)
      const opsDuringOutage = stats.ops - opsAtKill
      lap(`ring of 5 healed; ${opsDuringOutage} operations meanwhile`)
      // Keep going a while on the healed ring.
      yield* opsReached(stats.ops + 300)
      stop = true
      yield* Fiber.join(workers)
      lap(`${stats.ops} operations in all`)

      // Every acknowledged write reads back.
      const back = yield* readPass(client, acked, [...acked.keys()])
      const tags = failures.reduce<Record<string, number>>((m, f) => ({ ...m, [f.tag]: (m[f.tag] ?? 0) + 1 }), {})
      console.log(`[fault-tolerance] live client: ${JSON.stringify({
        operations: stats.ops,
        succeeded: stats.succeeded,
        acknowledgedWrites: acked.size,
        failed: failures.length,
        failedAfterKill: failures.length - failuresAtKill,
        failureTags: tags,
        wrongReads: wrong.length,
        operationsDuringOutage: opsDuringOutage,
        maxLatencyMs: stats.maxMillis,
        slowest: stats.slowest,
        readBack: { ok: back.ok, wrong: back.wrong.length, failed: back.failed.length }
      })}`)
      for (const f of failures.slice(0, 5)) console.log(`[fault-tolerance] failed after ${f.millis} ms: ${f.op} ${f.key}: ${f.tag}: ${f.message}`)

      expect(wrong.slice(0, 10), `${wrong.length} reads of acknowledged writes were wrong during the run`).toEqual([])
      expect({ wrong: back.wrong.slice(0, 10), failed: back.failed.slice(0, 10) }, "acknowledged writes read back afterwards").toEqual({
        wrong: [],
        failed: []
      })
      expect(failures.filter((f) => f.tag === "Hung"), "operations that outlived the deadline").toEqual([])
      expect(stats.maxMillis, `slowest operation: ${stats.slowest}`).toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS)
      expect(opsDuringOutage, "operations completed while the crash was being detected and repaired").toBeGreaterThan(0)
      expect(failures.length, `failures (${JSON.stringify(tags)}) against ${stats.succeeded} successes`).toBeLessThanOrEqual(
        Math.max(5, Math.floor(stats.succeeded * 0.02))
      )
    }), 90_000)

  it.live("two clients writing the same 200 keys leave the three replicas of each in agreement", () =>
    Effect.gen(function*() {
      const lap = stopwatch("fault-tolerance")
      const { all } = yield* startStableRing(lap)

      const SHARED = 200
      const ROUNDS = 5
      const keys = range(SHARED).map((i) => `shared-${i}`)
      // In each round, both clients write every key at once, each its own value and each in its
      // own random order, so either may be last on a key. A client's writes of a key follow one
      // another, so the newest version of a key is one of the two last-round values.
      const lastTried = { A: new Map<string, string>(), B: new Map<string, string>() }
      const writeFailures: Array<string> = []
      const writeAll = (name: "A" | "B", client: DhtClient.Service, round: number) =>
        Effect.forEach([...keys].sort(() => Math.random() - 0.5), (key) => {
          const value = `${name} round ${round} ${key}`
          lastTried[name].set(key, value)
          return Effect.map(Effect.result(client.set(key, value)), (r) => {
            if (Result.isFailure(r)) writeFailures.push(`${name} ${key}: ${r.failure._tag}: ${r.failure.message}`)
          })
        }, { concurrency: 16, discard: true })
      const a = yield* DhtClient.make({ nodes: all }, CLIENT_OPTIONS)
      const b = yield* DhtClient.make({ nodes: [...all].reverse() }, CLIENT_OPTIONS)
      for (const round of range(ROUNDS)) {
        yield* Effect.all([writeAll("A", a, round), writeAll("B", b, round)], { concurrency: 2, discard: true })
      }
      lap(`two clients wrote ${SHARED} keys ${ROUNDS} times each, ${writeFailures.length} writes failed`)
      expect(writeFailures.slice(0, 5), `${writeFailures.length} writes failed on a healthy ring`).toEqual([])

      const ring = yield* awaitReplicated(all, SHARED, COPIES, "20 seconds")
      lap("status: every key at 3 copies")

      // Each key's holders, asked directly: exactly its owner and the next two, all with one version and value.
      const agreed = yield* eventually(
        "every key's replicas in agreement",
        Effect.gen(function*() {
          const copies = yield* Effect.forEach(keys, (key) =>
            Effect.map(
              Effect.forEach(all, (node) => Effect.map(fetchCopy(node, key), (c) => ({ node, c })), { concurrency: "unbounded" }),
              (held) => ({ key, holders: held.flatMap(({ c, node }) => (c === undefined ? [] : [{ node, ...c }])) })
            ), { concurrency: 16 })
          const problems: Array<string> = []
          const values = new Map<string, string>()
          for (const { holders, key } of copies) {
            const listing = holders.map((h) => `${h.node}=${JSON.stringify(h.value)}@${h.version}`).join(", ")
            const expected = [...replicasOf(ring, key, COPIES)].sort()
            const value = holders[0]?.value
            if (holders.map((h) => h.node).sort().join() !== expected.join()) {
              problems.push(`${key} is held by ${holders.length} nodes (${listing}), expected ${expected.join(", ")}`)
            } else if (holders.some((h) => h.version !== holders[0]!.version || h.value !== value)) {
              problems.push(`${key}'s replicas disagree: ${listing}`)
            } else if (value !== lastTried.A.get(key) && value !== lastTried.B.get(key)) {
              problems.push(`${key} = ${JSON.stringify(value)} on every replica, expected one of the last writes ${JSON.stringify(lastTried.A.get(key))}, ${JSON.stringify(lastTried.B.get(key))}`)
            } else values.set(key, value!)
          }
          return problems.length === 0
            ? values
            : yield* new ProcessError({ message: `${problems.length} keys: ${problems.slice(0, 5).join("; ")}` })
        }),
        "20 seconds",
        "500 millis"
      )
      lap("replicas agree")
      const fromA = [...agreed.values()].filter((v) => v.startsWith("A ")).length
      lap(`${fromA} keys ended with A's value, ${SHARED - fromA} with B's`)

      // And both clients read that value.
      for (const client of [a, b]) {
        const pass = yield* readPass(client, agreed, keys)
        expect({ wrong: pass.wrong.slice(0, 10), failed: pass.failed.slice(0, 10) }).toEqual({ wrong: [], failed: [] })
      }
      lap("done")
    }), 60_000)
})

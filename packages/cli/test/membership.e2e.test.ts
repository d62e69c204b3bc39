/**
 * Membership as real processes: a ring built with `--join` alone (no registry), a graceful leave
 * on SIGTERM that loses no key and fails no read, the `dht-client ring` view of a ring, and the
 * ways a join is refused (an unreachable contact, a ring ID that is already held).
 *
 * Nothing here sleeps for a fixed time: every wait polls with a deadline.
 */
import { DhtClient, type RingStatus } from "@crustyring/client"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Schedule } from "effect"
import * as Cluster from "./cluster.ts"
import { JOINED, startNode, STARTED_RING } from "./cluster.ts"
import { type Proc, ProcessError, runBin, type RunResult, STACK_TRACE } from "./processes.ts"

/** Runs `dht-client` once with a hard deadline. */
const dhtClient = (args: ReadonlyArray<string>) => runBin("dht-client", args, { timeout: "15 seconds" })

/** The ring as `dht-client --node <node> ring --json` prints it. */
const ringJson = (node: string) =>
  Effect.gen(function*() {
    const r = yield* dhtClient(["--node", node, "ring", "--json"])
    if (r.code !== 0) {
      return yield* new ProcessError({ message: `ring --json via ${node} exited ${r.code}: ${r.stderr}` })
    }
    return yield* Effect.try({
      try: () => JSON.parse(r.stdout) as ReadonlyArray<RingStatus.NodeStatus>,
      catch: (e) => new ProcessError({ message: `ring --json via ${node} printed invalid JSON (${e}):\n${r.stdout}` })
    })
  })

const sumKeys = (ring: ReadonlyArray<{ readonly keys: number }>) => ring.reduce((n, s) => n + s.keys, 0)

/**
 * Why `ring` is not (yet) exactly the ring of `addresses` in ring order holding `keys` keys, or
 * undefined when it is. Ring order: each entry's successor is the next entry, wrapping, and its
 * range ends where the next one starts.
 */
const ringProblem = (
  ring: ReadonlyArray<RingStatus.NodeStatus>,
  addresses: ReadonlyArray<string>,
  keys: number
): string | undefined => {
  const listed = ring.map((s) => s.address)
  if (ring.length !== addresses.length || [...listed].sort().join() !== [...addresses].sort().join()) {
    return `lists ${JSON.stringify(listed)}, expected ${JSON.stringify(addresses)}`
  }
  for (const [i, s] of ring.entries()) {
    const next = ring[(i + 1) % ring.length]!
    if (s.successor !== next.address) return `${s.address}'s successor is ${s.successor}, the next entry is ${next.address}`
    if (s.range.start !== s.idHex || s.range.end !== next.idHex) {
      return `${s.address} owns [${s.range.start}, ${s.range.end}), expected [${s.idHex}, ${next.idHex})`
    }
    if (s.phase !== "ready") return `${s.address} is ${s.phase}`
  }
  if (sumKeys(ring) !== keys) return `key counts ${ring.map((s) => s.keys).join("+")} sum to ${sumKeys(ring)}, expected ${keys}`
  return undefined
}

/**
 * Runs `attempt` every 200 ms until it succeeds, for at most `timeout`; on the deadline, fails
 * with the last error's message.
 */
const eventually = <A, E extends { readonly message: string }, R>(
  what: string,
  attempt: Effect.Effect<A, E, R>,
  timeout: Duration.Input = "15 seconds"
) =>
  Effect.suspend(() => {
    let last = "no attempt finished"
    return attempt.pipe(
      Effect.tapError((e) => Effect.sync(() => (last = e.message))),
      Effect.retry(Schedule.spaced("200 millis")),
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

/** Polls `ring --json` through `node` until it is exactly `addresses` in ring order with `keys` keys. */
const awaitRing = (node: string, addresses: ReadonlyArray<string>, keys: number, timeout: Duration.Input = "15 seconds") =>
  eventually(
    `the ring of ${addresses.length} nodes with ${keys} keys, seen from ${node}`,
    Effect.flatMap(ringJson(node), (ring) => {
      const problem = ringProblem(ring, addresses, keys)
      return problem === undefined ? Effect.succeed(ring) : Effect.fail(new ProcessError({ message: problem }))
    }),
    timeout
  )

/** Sends SIGTERM and expects exit 0, a completed leave, and no stack trace. */
const leaveCleanly = (proc: Proc) =>
  Effect.gen(function*() {
    const started = Date.now()
    yield* proc.kill("SIGTERM")
    const status = yield* proc.exitWithin("15 seconds")
    expect(status, `${proc.label} after SIGTERM:\n${proc.stderr}`).toEqual({ code: 0, signal: null })
    expect(proc.stderr).toMatch(/left the ring: \S+ took over \[/)
    expect(proc.stderr).not.toMatch(/leave did not complete|graceful leave failed/)
    expect(proc.stderr).not.toMatch(STACK_TRACE)
    return Date.now() - started
  })

const expectCleanFailure = (r: RunResult, says: RegExp) => {
  expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(1)
  expect(r.stderr).toMatch(says)
  expect(r.stderr).not.toMatch(STACK_TRACE)
  expect(r.stdout).not.toMatch(STACK_TRACE)
}

const KEYS = 500
const keyOf = (i: number) => `member-key-${i}`
const valueOf = (i: number) => `value of ${i}: ${"x".repeat(i % 17)}`
const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8")

describe.concurrent("membership", () => {
  it.live("a ring built with --join alone keeps every key and every read through a graceful leave", () =>
    Effect.gen(function*() {
      // One node starts the ring; three join through it, one after the other.
      const a = yield* startNode([], STARTED_RING, "dht A")
      const joined: Array<{ readonly proc: Proc; readonly address: string }> = []
      for (const name of ["B", "C", "D"]) joined.push(yield* startNode(["--join", a.address], JOINED, `dht ${name}`))
      const all = [a.address, ...joined.map((n) => n.address)]
      expect(new Set(all).size).toBe(4)

      const writer = yield* DhtClient.make({ nodes: all })
      yield* Effect.forEach(
        Array.from({ length: KEYS }, (_, i) => i),
        (i) => writer.set(keyOf(i), valueOf(i)),
        { concurrency: 16, discard: true }
      )
      const before = yield* awaitRing(a.address, all, KEYS)
      // Every key is stored once, by the node whose range holds it.
      for (const s of before) expect(s.ownedKeys, `${s.address} holds keys outside its range`).toBe(s.keys)

      // Readers hammer the three nodes that stay while the fourth leaves.
      const leaving = joined[1]!
      const staying = all.filter((n) => n !== leaving.address)
      const reader = yield* DhtClient.make({ nodes: staying }, { timeout: "2 seconds" })
      const stats = { reads: 0, wrong: [] as Array<string>, notFound: [] as Array<string>, failed: [] as Array<string> }
      let stop = false
      const readLoop = Effect.gen(function*() {
        while (!stop) {
          const i = Math.floor(Math.random() * KEYS)
          const r = yield* Effect.result(reader.get(keyOf(i)))
          stats.reads++
          if (r._tag === "Success") {
            if (utf8(r.success) !== valueOf(i)) stats.wrong.push(`${keyOf(i)} = ${JSON.stringify(utf8(r.success))}`)
          } else if (r.failure._tag === "KeyNotFound") stats.notFound.push(keyOf(i))
          else stats.failed.push(`${keyOf(i)}: ${r.failure._tag}: ${r.failure.message}`)
        }
      })
      const readers = yield* Effect.forkChild(
        Effect.all([readLoop, readLoop, readLoop, readLoop], { concurrency: "unbounded", discard: true }),
        { startImmediately: true }
      )
      // Let the readers get going before the leave starts.
      yield* eventually("the readers started", Effect.suspend(() => stats.reads >= 50 ? Effect.void : Effect.fail({ message: `${stats.reads} reads` })), "5 seconds")

      const readsAtTerm = stats.reads
      const leaveMillis = yield* leaveCleanly(leaving.proc)
      const readsDuringLeave = stats.reads - readsAtTerm
      // Keep reading a little after the exit, so routing around the departed node is covered too.
      const readsAtExit = stats.reads
      yield* eventually(
        "200 reads after the leave",
        Effect.suspend(() => stats.reads >= readsAtExit + 200 ? Effect.void : Effect.fail({ message: `${stats.reads - readsAtExit} reads` })),
        "10 seconds"
      )
      stop = true
      yield* Fiber.join(readers)

      expect(readsDuringLeave, "reads while the node was leaving").toBeGreaterThan(0)
      expect(
        { wrong: stats.wrong.slice(0, 5), notFound: stats.notFound.slice(0, 5), failed: stats.failed.slice(0, 5) },
        `${stats.reads} reads: ${stats.wrong.length} wrong, ${stats.notFound.length} not found, ${stats.failed.length} failed`
      ).toEqual({ wrong: [], notFound: [], failed: [] })

      // Every key is still there: a sample through the CLI, all through the Effect client.
      const survivor = staying[1]!
      const sample = Array.from({ length: 20 }, (_, j) => j * Math.floor(KEYS / 20) + 3)
      yield* Effect.forEach(sample, (i) =>
        Effect.map(dhtClient(["--node", survivor, "get", keyOf(i)]), (r) => {
          expect({ key: keyOf(i), code: r.code, stdout: r.stdout }, r.stderr).toEqual({ key: keyOf(i), code: 0, stdout: `${valueOf(i)}\n` })
        }), { concurrency: 5, discard: true })
      const values = yield* Effect.forEach(
        Array.from({ length: KEYS }, (_, i) => i),
        (i) => Effect.map(reader.get(keyOf(i)), utf8),
        { concurrency: 16 }
      )
      expect(values).toEqual(Array.from({ length: KEYS }, (_, i) => valueOf(i)))

      const after = yield* awaitRing(survivor, staying, KEYS)
      expect(after).toHaveLength(3)
      for (const s of after) expect(s.ownedKeys, `${s.address} holds keys outside its range`).toBe(s.keys)
      yield* Effect.logInfo(`leave took ${leaveMillis} ms; ${stats.reads} reads, ${readsDuringLeave} during the leave`)
    }), 40_000)

  it.live("dht-client ring prints the ring through the registry as a table", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.make(3)
      const client = yield* DhtClient.make({ registry: c.registry })
      const written = 12
      yield* Effect.forEach(Array.from({ length: written }, (_, i) => i), (i) => client.set(`table-${i}`, `v${i}`), {
        discard: true
      })

      const ROW = /^([0-9a-f]{16})\s+(\d+\.\d+\.\d+\.\d+:\d+)\s+\[([0-9a-f]{16}), ([0-9a-f]{16})\)\s+(\d+)\s+(\S+)$/
      // The counts move while hand-offs settle, so poll until the total is what was written.
      const r = yield* eventually(
        `ring table with ${written} keys`,
        Effect.flatMap(dhtClient(["--registry", c.registry, "ring"]), (r) =>
          r.code === 0 && r.stdout.endsWith(`3 nodes, ${written} keys\n`)
            ? Effect.succeed(r)
            : Effect.fail(new ProcessError({ message: `exit ${r.code}:\n${r.stdout}\n${r.stderr}` })))
      )
      expect(r.stderr).not.toMatch(STACK_TRACE)
      const out = r.stdout.split("\n")
      expect(out.at(-1)).toBe("")
      expect(out).toHaveLength(6)
      expect(out[0]).toMatch(/^ID\s+ADDRESS\s+RANGE\s+KEYS\b/)
      const rows = out.slice(1, 4).map((line) => {
        const m = ROW.exec(line)
        expect(m, `row ${JSON.stringify(line)}`).not.toBeNull()
        const [, id, address, start, end, keys, phase] = m!
        return { id: id!, address: address!, start: start!, end: end!, keys: Number(keys), phase: phase! }
      })
      expect(rows.map((row) => row.address).sort()).toEqual([...c.nodes].sort())
      for (const [i, row] of rows.entries()) {
        const next = rows[(i + 1) % rows.length]!
        expect(row.start, `${row.address}'s range starts at its ID`).toBe(row.id)
        expect(row.end, `${row.address}'s range ends where the next one starts`).toBe(next.start)
        expect(row.phase).toBe("ready")
      }
      expect(rows.reduce((n, row) => n + row.keys, 0)).toBe(written)
      expect(out[4]).toBe(`3 nodes, ${written} keys`)
    }), 30_000)

  it.live("joining through an unreachable contact exits 1 quickly, naming the contact", () =>
    Effect.gen(function*() {
      const r = yield* runBin("dht", ["--join", "127.0.0.1:1", "--host", "127.0.0.1", "--port", "0"], { timeout: "15 seconds" })
      expectCleanFailure(r, /cannot reach contact 127\.0\.0\.1:1\b/)
      expect(r.stdout).toBe("")
      expect(r.millis).toBeLessThan(10_000)
    }), 30_000)

  it.live("a node advertising a live node's address is refused: its ring ID is already held", () =>
    Effect.gen(function*() {
      const a = yield* startNode([], STARTED_RING, "dht A")
      const b = yield* startNode(["--join", a.address], JOINED, "dht B")
      const idOf = (p: Proc) => /(?:started a new ring|joined) as ([0-9a-f]{16})/.exec(p.stderr)![1]!

      // Through the other node, as A's twin and as B's twin.
      for (const [contact, twin, proc] of [[b.address, a.address, a.proc], [a.address, b.address, b.proc]] as const) {
        const r = yield* runBin("dht", ["--host", "127.0.0.1", "--port", "0", "--join", contact, "--advertise", twin], {
          timeout: "15 seconds"
        })
        expectCleanFailure(r, /already held/)
        expect(r.stderr).toContain(idOf(proc))
        expect(r.stderr).toContain(twin)
      }
      // The ring is untouched.
      expect(a.proc.status).toBeUndefined()
      expect(b.proc.status).toBeUndefined()
      yield* awaitRing(a.address, [a.address, b.address], 0, "5 seconds")
    }), 30_000)
})

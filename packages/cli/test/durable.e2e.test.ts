/**
 * Durable storage as real processes (issue #5): `dht --data-dir` nodes on fixed ports, crashed
 * with SIGKILL or stopped with SIGTERM and started again on the same directories.
 *
 * 1. A node killed with -9 restarts from its data directory: same ring ID, back in the ring,
 *    and once repair settles it holds the writes it missed while down.
 * 2. A whole ring stopped at once and started again reads every key back.
 * 3. With --durability sync, a write acknowledged just before a kill -9 is there after restart.
 * 4. Unusable data directories (not writable, locked, another node's, unknown format, no fixed
 *    address) stop the node with exit 1 and one clear line, and leave the data as it was.
 * 5. A full disk (a file-size limit, `ulimit -f`) fails writes with an error while the node keeps
 *    serving reads.
 *
 * Nothing sleeps for a fixed time: every wait polls with a deadline. Data directories live under
 * one temporary directory per test, removed when the test's scope closes, failed or not.
 */
import { type ClientError, DhtClient } from "@crustyring/client"
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { Data, Deferred, type Duration, Effect, Fiber, Result } from "effect"
import { awaitServing, durableArgs, freePorts, readMeta, spawnDurableNode, startDurableNode, tempDir } from "./durable.ts"
import { type Proc, ProcessError, type RunResult, runBin, STACK_TRACE } from "./processes.ts"
import {
  awaitReplicated,
  awaitRing,
  awaitStable,
  type Copy,
  dumpStore,
  eventually,
  printLogsOnFailure,
  replicasOf,
  ringProblem,
  type RingNode,
  stopwatch,
  walk,
  CLIENT_OPTIONS,
  COPIES,
  REPLICATED_ARGS
} from "./replicated.ts"

const RING_ARGS = REPLICATED_ARGS

const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8")
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

/** The last characters of a process's stderr, for assertion messages. */
const stderrOf = (p: Proc, max = 3000) => `--- ${p.label} stderr ---\n${p.stderr.length > max ? `…${p.stderr.slice(-max)}` : p.stderr}`

/** Starts a ring of `count` durable nodes on `ports`: the first starts it, the others join through it. */
const startDurableRing = (ports: ReadonlyArray<number>, dirs: ReadonlyArray<string>, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const first = yield* startDurableNode({ port: ports[0]!, dataDir: dirs[0]!, args, label: "dht node 1" })
    const nodes: Array<RingNode> = [first]
    for (let i = 1; i < ports.length; i++) {
      nodes.push(yield* startDurableNode({ port: ports[i]!, dataDir: dirs[i]!, join: first.address, args, label: `dht node ${i + 1}` }))
    }
    return nodes
  })

/** The acknowledged state: a key's last acknowledged value, or undefined once it was deleted. */
type Expected = Map<string, string | undefined>

/** Writes (or deletes, for undefined) each entry through `client`, `concurrency` at a time; returns the failures. */
const apply = (client: DhtClient.Service, ops: ReadonlyArray<readonly [string, string | undefined]>, expected: Expected) =>
  Effect.gen(function*() {
    const failures: Array<string> = []
    yield* Effect.forEach(ops, ([key, value]) =>
      Effect.map(Effect.result<unknown, ClientError.ClientError, never>(value === undefined ? client.delete(key) : client.set(key, value)), (r) => {
        if (Result.isSuccess(r)) expected.set(key, value)
        else failures.push(`${value === undefined ? "delete" : "set"} ${key}: ${r.failure._tag}: ${r.failure.message}`)
      }), { concurrency: 32, discard: true })
    return failures
  })

/** Reads every key of `expected` through `client`; lists the keys that do not read their acknowledged state. */
const readProblems = (client: DhtClient.Service, expected: ReadonlyMap<string, string | undefined>) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    yield* Effect.forEach(expected, ([key, value]) =>
      Effect.map(Effect.result(client.get(key)), (r) => {
        if (Result.isSuccess(r)) {
          if (utf8(r.success) !== value) {
            problems.push(`${key} = ${JSON.stringify(utf8(r.success))}, acknowledged ${value === undefined ? "deleted" : JSON.stringify(value)}`)
          }
        } else if (r.failure._tag === "KeyNotFound") {
          if (value !== undefined) problems.push(`${key} not found, acknowledged ${JSON.stringify(value)}`)
        } else problems.push(`${key}: read failed: ${r.failure._tag}: ${r.failure.message}`)
      }), { concurrency: 32, discard: true })
    return problems
  })

/** Polls until every key of `expected` reads its acknowledged state through `client`. */
const awaitReadable = (client: DhtClient.Service, expected: ReadonlyMap<string, string | undefined>, timeout: Duration.Input) =>
  Effect.suspend(() => {
    let polls = 0
    return eventually(
      `every one of ${expected.size} keys reads its acknowledged state`,
      Effect.flatMap(readProblems(client, expected), (problems) => {
        polls++
        return problems.length === 0
          ? Effect.succeed(polls)
          : Effect.fail(new ProcessError({ message: `${problems.length} keys wrong: ${problems.slice(0, 8).join("; ")}` }))
      }),
      timeout,
      "500 millis"
    )
  })

/** `hlc/writer` as comparable numbers. */
const versionOf = (c: Copy) => {
  const [hlc, writer] = c.version.split("/")
  return { hlc: BigInt(hlc ?? "0"), writer: BigInt(writer ?? "0") }
}
const compareVersions = (a: Copy, b: Copy) => {
  const x = versionOf(a)
  const y = versionOf(b)
  return x.hlc !== y.hlc ? (x.hlc < y.hlc ? -1 : 1) : x.writer === y.writer ? 0 : x.writer < y.writer ? -1 : 1
}

/** SIGKILLs a node and waits until it is gone. */
const crash = (node: RingNode) =>
  Effect.gen(function*() {
    yield* node.proc.kill("SIGKILL")
    expect(yield* node.proc.exitWithin("5 seconds")).toEqual({ code: null, signal: "SIGKILL" })
  })

/** The outcome of a `dht` that must refuse to start: exit 1, one clear message, no stack trace. */
const expectRefused = (r: RunResult, message: RegExp) => {
  const output = `\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`
  expect(r.code, `exit code${output}`).toBe(1)
  expect(r.stderr, `the message on stderr${output}`).toMatch(message)
  expect(r.stderr, `no stack trace${output}`).not.toMatch(STACK_TRACE)
  expect(r.stderr, `not started${output}`).not.toMatch(/started a new ring|joined as/)
}

/** A client operation outlived the client's own deadline plus slack: it hung. */
class Hung extends Data.TaggedError("Hung")<{ readonly message: string }> {}

describe("durable storage", () => {
  it.live("a node killed with -9 restarts from its data dir: same ID, back in the ring, and it catches up on what it missed", () =>
    Effect.gen(function*() {
      const lap = stopwatch("durable")
      const root = yield* tempDir("restart")
      const ports = yield* freePorts(3)
      const dirs = ports.map((_, i) => path.join(root, `node-${i + 1}`))
      const nodes = yield* startDurableRing(ports, dirs, RING_ARGS)
      const logged = [...nodes]
      yield* printLogsOnFailure(logged)
      const all = nodes.map((n) => n.address)
      yield* awaitStable(all, COPIES - 1, "20 seconds")
      lap("3 durable nodes up and stabilized")

      // Node IDs come from the random ports, so the victim's range can be tiny. Keys it owns are
      // found from the ring (its ID is the same after the restart): ten written before the crash
      // and ten while it is down, so the test always checks keys it owns.
      const victim = nodes[1]!
      const ringOf3 = yield* awaitRing(all)
      const victimOwns: Array<string> = []
      for (let i = 0; victimOwns.length < 20; i++) {
        if (replicasOf(ringOf3, `dur-own-${i}`, COPIES)[0] === victim.address) victimOwns.push(`dur-own-${i}`)
      }

      const client = yield* DhtClient.make({ nodes: all }, CLIENT_OPTIONS)
      const expected: Expected = new Map()
      const initial = yield* apply(
        client,
        [...range(0, 500).map((i) => [`dur-${i}`, `v0 of ${i}`] as const), ...victimOwns.slice(0, 10).map((k) => [k, `v0 of ${k}`] as const)],
        expected
      )
      expect(initial.slice(0, 5), `${initial.length} writes failed on a healthy ring`).toEqual([])
      yield* awaitReplicated(all, 510, COPIES, "30 seconds")
      lap("wrote 510 keys, each at 3 copies")

      // The victim joined through node 1, so it restarts with the same --join.
      const idBefore = (yield* walk(victim.address))[0]!.id
      expect(readMeta(dirs[1]!)).toMatchObject({ format: 1, address: victim.address, id: idBefore })
      yield* crash(victim)
      const survivors = all.filter((a) => a !== victim.address)
      yield* awaitRing(survivors)
      lap(`SIGKILLed ${victim.address}; the ring of 2 has healed`)

      // While it is down: 200 new keys, 100 overwritten, 50 deleted, and 10 new keys it owns.
      const missed = [
        ...range(500, 700).map((i) => [`dur-${i}`, `v0 of ${i}`] as const),
        ...range(0, 100).map((i) => [`dur-${i}`, `v1 of ${i}, written while ${victim.address} was down`] as const),
        ...range(100, 150).map((i) => [`dur-${i}`, undefined] as const),
        ...victimOwns.slice(10).map((k) => [k, `v0 of ${k}, written while ${victim.address} was down`] as const)
      ]
      const whileDown = yield* apply(client, missed, expected)
      expect(whileDown.slice(0, 5), `${whileDown.length} writes failed on the healed ring of 2`).toEqual([])
      const missedKeys = new Set<string>(missed.map(([k]) => k))
      lap(`while it was down: ${missed.length} writes and deletes acknowledged`)

      const restarted = yield* startDurableNode({
        port: ports[1]!,
        dataDir: dirs[1]!,
        join: nodes[0]!.address,
        args: RING_ARGS,
        label: "dht node 2 (restarted)"
      })
      logged.push(restarted)
      lap(`restarted ${restarted.address} from ${dirs[1]}`)

      const ring = yield* awaitRing(all)
      const idAfter = ring.find((s) => s.address === victim.address)!.id
      expect(idAfter, "the restarted node's ring ID").toBe(idBefore)
      expect(readMeta(dirs[1]!)).toMatchObject({ format: 1, address: victim.address, id: idBefore })
      lap(`back in the ring of 3 (all ready) with its ID ${idAfter}`)

      const polls = yield* awaitReadable(client, expected, "30 seconds")
      lap(`every key reads its last acknowledged state (${polls} poll${polls === 1 ? "" : "s"})`)

      // The restarted node's own store: for every key it is a replica of (with three nodes and
      // three copies that is every key, and among them the keys it owns), the newest version
      // held anywhere and the acknowledged value (a tombstone for a delete).
      const storeChecks = yield* eventually(
        `${victim.address} holds the newest version of its keys`,
        Effect.gen(function*() {
          const stores = yield* Effect.forEach(all, dumpStore, { concurrency: "unbounded" })
          const mine = stores[1]!
          const problems: Array<string> = []
          let owned = 0
          let replicated = 0
          let missedChecked = 0
          for (const [key, value] of expected) {
            const replicas = replicasOf(ring, key, COPIES)
            if (!replicas.includes(victim.address)) continue
            replicated++
            if (replicas[0] === victim.address) owned++
            if (missedKeys.has(key)) missedChecked++
            const copy = mine.get(key)
            const copies = stores.flatMap((s) => {
              const c = s.get(key)
              return c === undefined ? [] : [c]
            })
            const newest = copies.reduce<Copy | undefined>((a, c) => (a === undefined || compareVersions(c, a) > 0 ? c : a), undefined)
            const role = `${replicas[0] === victim.address ? "owned" : "replicated"}${missedKeys.has(key) ? ", written while down" : ""}`
            if (copy === undefined) problems.push(`${key} (${role}): no copy, acknowledged ${JSON.stringify(value ?? "deleted")}`)
            else if (copy.value !== value || (newest !== undefined && compareVersions(copy, newest) < 0)) {
              problems.push(
                `${key} (${role}): holds ${JSON.stringify(copy.value ?? "tombstone")}@${copy.version}, ` +
                  `acknowledged ${JSON.stringify(value ?? "deleted")}, newest ${JSON.stringify(newest?.value ?? "tombstone")}@${newest?.version}`
              )
            }
          }
          return problems.length === 0
            ? { owned, replicated, missedChecked }
            : yield* new ProcessError({ message: `${problems.length} keys stale or missing on ${victim.address}: ${problems.slice(0, 8).join("; ")}` })
        }),
        "30 seconds",
        "500 millis"
      )
      expect(storeChecks.owned, "keys the restarted node owns").toBeGreaterThan(0)
      expect(storeChecks.missedChecked, "keys written while it was down").toBe(missed.length)
      lap(
        `its store holds the newest version of its ${storeChecks.replicated} keys (${storeChecks.owned} owned), ` +
          `${storeChecks.missedChecked} of them written while it was down`
      )
    }), 90_000)

  it.live("a whole ring stopped with SIGTERM and started again reads every key back", () =>
    Effect.gen(function*() {
      const lap = stopwatch("durable")
      const root = yield* tempDir("whole")
      const ports = yield* freePorts(3)
      const dirs = ports.map((_, i) => path.join(root, `node-${i + 1}`))
      const nodes = yield* startDurableRing(ports, dirs, RING_ARGS)
      const logged = [...nodes]
      yield* printLogsOnFailure(logged)
      const all = nodes.map((n) => n.address)
      yield* awaitStable(all, COPIES - 1, "20 seconds")
      lap("3 durable nodes up and stabilized")

      const expected: Expected = new Map()
      const failures = yield* Effect.scoped(Effect.flatMap(
        DhtClient.make({ nodes: all }, CLIENT_OPTIONS),
        (client) => apply(client, range(0, 300).map((i) => [`whole-${i}`, `value of ${i}`] as const), expected)
      ))
      expect(failures.slice(0, 5), `${failures.length} writes failed on a healthy ring`).toEqual([])
      lap("wrote 300 keys")

      // All three at once, right after the writes: no waiting for the third copies.
      yield* Effect.forEach(nodes, (n) => n.proc.kill("SIGTERM"), { discard: true })
      const exits = yield* Effect.forEach(nodes, (n) => n.proc.exitWithin("40 seconds"), { concurrency: "unbounded" })
      for (const [i, e] of exits.entries()) expect(e, `exit of ${nodes[i]!.proc.label}\n${stderrOf(nodes[i]!.proc)}`).toEqual({ code: 0, signal: null })
      for (const d of dirs) expect(fs.existsSync(path.join(d, "LOCK")), `${d}/LOCK after a clean stop`).toBe(false)
      lap("SIGTERMed all three at once; each exited 0")

      // Started again at once, with the same commands: they remember each other, so none
      // starts a ring alone; the one with the smallest ID re-forms it and the others join.
      const again = yield* Effect.forEach(ports, (port, i) =>
        spawnDurableNode({
          port,
          dataDir: dirs[i]!,
          ...(i === 0 ? {} : { join: `127.0.0.1:${ports[0]}` }),
          args: RING_ARGS,
          label: `dht node ${i + 1} again`
        }))
      logged.push(...again)
      const how = yield* Effect.forEach(again, (n) => awaitServing(n), { concurrency: "unbounded" })
      expect(how.filter((h) => h === "started"), `how each came back: ${how}`).toHaveLength(1)
      yield* awaitRing(all)
      lap("started all three again at once on the same data dirs; one started the ring, the ring of 3 is whole")

      const client = yield* DhtClient.make({ nodes: all }, CLIENT_OPTIONS)
      const first = yield* readProblems(client, expected)
      lap(`first read pass: ${expected.size - first.length} of ${expected.size} keys right${first.length > 0 ? `; e.g. ${first.slice(0, 3).join("; ")}` : ""}`)
      const polls = yield* awaitReadable(client, expected, "20 seconds")
      lap(`every key reads back (${polls} poll${polls === 1 ? "" : "s"})`)
    }), 90_000)

  it.live("with --durability sync, writes acknowledged right before a kill -9 are there after restart", () =>
    Effect.gen(function*() {
      const lap = stopwatch("durable")
      const root = yield* tempDir("sync")
      const [port] = yield* freePorts(1)
      const dir = path.join(root, "node")
      const logged: Array<RingNode> = []
      yield* printLogsOnFailure(logged)
      const start = (label: string) =>
        Effect.tap(
          startDurableNode({ port: port!, dataDir: dir, args: ["--durability", "sync"], label }),
          (n) => Effect.sync(() => logged.push(n))
        )
      /**
       * A client of its own for each incarnation of the node. Writers that race a kill give up
       * fast (3 attempts, 3 s); readers of a restarted node keep the default patience, since the
       * channel to its address may still be backing off from the killed incarnation.
       */
      const withClient = <A, E>(address: string, f: (c: DhtClient.Service) => Effect.Effect<A, E>, writer = false) =>
        Effect.scoped(Effect.flatMap(
          DhtClient.make({ nodes: [address] }, writer ? { timeout: "1 second", deadline: "3 seconds", attempts: 3 } : CLIENT_OPTIONS),
          f
        ))

      // One key: SIGKILL as soon as the client has the acknowledgement.
      const one = yield* start("dht (1st run)")
      yield* withClient(one.address, (c) => Effect.andThen(c.set("sync-one", "acknowledged then killed"), crash(one)), true)
      lap("one write acknowledged, then SIGKILL")
      const two = yield* start("dht (2nd run)")
      const read = yield* withClient(two.address, (c) => Effect.result(c.get("sync-one")))
      expect(Result.isSuccess(read) ? utf8(read.success) : `${read.failure._tag}: ${read.failure.message}`).toBe("acknowledged then killed")
      lap("restarted: the key is there")

      // 50 keys at once: SIGKILL as soon as the first acknowledgement arrives, the others still in
      // flight (the node may have committed them in the same batch). Every acknowledged one must
      // be there after the restart; an unacknowledged one may be, with the value written.
      const acked = new Map<string, string>()
      const tried = new Map<string, string>()
      const first = yield* Deferred.make<void>()
      const writes = yield* Effect.forkChild(
        withClient(two.address, (c) =>
          Effect.forEach(range(0, 50), (i) => {
            const key = `sync-${i}`
            const value = `value ${i} ${"z".repeat(i * 10)}`
            tried.set(key, value)
            return Effect.flatMap(Effect.result(c.set(key, value)), (r) => {
              if (Result.isFailure(r)) return Effect.void
              acked.set(key, value)
              return Deferred.succeed(first, undefined)
            })
          }, { concurrency: "unbounded", discard: true }), true),
        { startImmediately: true }
      )
      yield* Deferred.await(first)
      const ackedAtKill = acked.size
      yield* crash(two)
      yield* Fiber.join(writes)
      lap(`50 concurrent writes, SIGKILL sent after ${ackedAtKill} acknowledgement(s); ${acked.size} acknowledged in all`)
      expect(acked.size).toBeGreaterThanOrEqual(1)

      const three = yield* start("dht (3rd run)")
      const problems = yield* withClient(three.address, (c) =>
        Effect.gen(function*() {
          const out: Array<string> = []
          let unackedPresent = 0
          for (const [key, value] of tried) {
            const r = yield* Effect.result(c.get(key))
            const got = Result.isSuccess(r) ? utf8(r.success) : undefined
            if (acked.has(key) && got !== value) {
              out.push(`${key}: acknowledged, reads ${Result.isSuccess(r) ? JSON.stringify(got) : `${r.failure._tag}: ${r.failure.message}`}`)
            }
            if (!acked.has(key) && Result.isSuccess(r)) {
              unackedPresent++
              if (got !== value) out.push(`${key}: not acknowledged, reads ${JSON.stringify(got)}, which was never written`)
            }
          }
          lap(`after restart: ${acked.size} acknowledged keys checked${acked.size < tried.size ? `; ${unackedPresent} of the ${tried.size - acked.size} unacknowledged ones made it too` : ""}`)
          return out
        }))
      expect(problems).toEqual([])
    }), 60_000)

  it.live("an unusable data dir stops the node with exit 1 and a clear message, and leaves the data as it was", () =>
    Effect.gen(function*() {
      const lap = stopwatch("durable")
      const root = yield* tempDir("bad")
      const [p1, p2] = yield* freePorts(2)
      const logged: Array<RingNode> = []
      yield* printLogsOnFailure(logged)
      const run = (args: ReadonlyArray<string>) => runBin("dht", args, { timeout: "20 seconds" })
      const clientGet = (address: string, key: string) =>
        Effect.scoped(Effect.flatMap(
          DhtClient.make({ nodes: [address] }, { timeout: "2 seconds", deadline: "5 seconds" }),
          (c) => Effect.map(Effect.result(c.get(key)), (r) => (Result.isSuccess(r) ? utf8(r.success) : `${r.failure._tag}: ${r.failure.message}`))
        ))

      // Its parent is a regular file (as root, permissions would not stop a write).
      const file = path.join(root, "a-file")
      fs.writeFileSync(file, "not a directory\n")
      const underFile = path.join(file, "data")
      expectRefused(yield* run(durableArgs({ port: p1!, dataDir: underFile })), /^error: data directory .*a-file\/data cannot be written: .*ENOTDIR/m)
      expect(fs.readFileSync(file, "utf8")).toBe("not a directory\n")
      lap("a data dir under a regular file: refused")

      // No fixed address.
      const unplaced = path.join(root, "no-port")
      expectRefused(yield* run(["--host", "127.0.0.1", "--port", "0", "--data-dir", unplaced]), /^error: --data-dir needs a fixed address.*--port.*--advertise/m)
      expect(fs.existsSync(unplaced), "nothing created").toBe(false)
      lap("--data-dir with --port 0: refused")

      // Locked by a running node: B on the same dir is refused, A keeps serving.
      const dir = path.join(root, "shared")
      const a = yield* startDurableNode({ port: p1!, dataDir: dir, label: "dht A" })
      logged.push(a)
      yield* Effect.scoped(Effect.flatMap(DhtClient.make({ nodes: [a.address] }, CLIENT_OPTIONS), (c) => c.set("kept", "original data")))
      const lockBefore = fs.readFileSync(path.join(dir, "LOCK"), "utf8")
      expect(lockBefore.trim()).toBe(String(a.proc.pid))
      const b = yield* run(durableArgs({ port: p2!, dataDir: dir }))
      expectRefused(b, new RegExp(`^error: data directory .*shared is in use by another running node \\(pid ${a.proc.pid}\\)`, "m"))
      expect(a.proc.status, `A still running\n${stderrOf(a.proc)}`).toBeUndefined()
      expect(fs.readFileSync(path.join(dir, "LOCK"), "utf8"), "A's lock").toBe(lockBefore)
      expect(yield* clientGet(a.address, "kept")).toBe("original data")
      lap("a data dir in use: refused, and A still serves it")

      yield* a.proc.kill("SIGTERM")
      expect(yield* a.proc.exitWithin("20 seconds"), stderrOf(a.proc)).toEqual({ code: 0, signal: null })
      const meta = fs.readFileSync(path.join(dir, "crusty-ring.json"), "utf8")

      // Another node's directory: refused unless --force-id.
      const other = yield* run(durableArgs({ port: p2!, dataDir: dir }))
      expectRefused(other, new RegExp(`^error: data directory .* belongs to node 127\\.0\\.0\\.1:${p1}, not 127\\.0\\.0\\.1:${p2}.*--force-id`, "m"))
      expect(fs.readFileSync(path.join(dir, "crusty-ring.json"), "utf8"), "crusty-ring.json untouched").toBe(meta)
      lap("another node's data dir: refused, naming both addresses and --force-id")

      // An unknown format version.
      fs.writeFileSync(path.join(dir, "crusty-ring.json"), meta.replace(/"format": 1/, `"format": 99`))
      expect(readMeta(dir).format).toBe(99)
      expectRefused(yield* run(durableArgs({ port: p1!, dataDir: dir })), /^error: data directory .* has format version 99; this node reads version 1/m)
      expect(readMeta(dir).format, "crusty-ring.json untouched").toBe(99)
      fs.writeFileSync(path.join(dir, "crusty-ring.json"), meta)
      lap("format version 99: refused")

      // --force-id takes it over, with its data.
      const forced = yield* startDurableNode({ port: p2!, dataDir: dir, args: ["--force-id"], label: "dht --force-id" })
      logged.push(forced)
      expect(yield* clientGet(forced.address, "kept")).toBe("original data")
      expect(readMeta(dir)).toMatchObject({ format: 1, address: forced.address })
      lap("--force-id: started on the old data, which it serves")
    }), 60_000)

  it.live("a full disk fails writes with an error, and the node keeps serving reads", () =>
    Effect.gen(function*() {
      const lap = stopwatch("durable")
      const root = yield* tempDir("full")
      const [port] = yield* freePorts(1)
      // 400 KiB for any one file: LMDB writes its data file page by page, so it hits the limit
      // (EFBIG: Node ignores SIGXFSZ) after a few hundred KiB of values.
      const node = yield* startDurableNode({ port: port!, dataDir: path.join(root, "node"), label: "dht (ulimit -f 400)", fileSizeBlocks: 400 })
      yield* printLogsOnFailure([node])
      const DEADLINE_MS = 4000
      const SLACK_MS = 3000
      const client = yield* DhtClient.make({ nodes: [node.address] }, { timeout: "2 seconds", deadline: `${DEADLINE_MS} millis`, attempts: 3 })
      const bounded = <A>(what: string, effect: Effect.Effect<A, ClientError.ClientError>) =>
        Effect.result(effect.pipe(
          Effect.timeoutOrElse({
            duration: DEADLINE_MS + SLACK_MS,
            orElse: () => Effect.fail(new Hung({ message: `${what} still running after ${DEADLINE_MS + SLACK_MS} ms` }))
          })
        ))

      const acked = new Map<string, string>()
      for (const i of range(0, 20)) {
        const r = yield* bounded(`set small-${i}`, client.set(`small-${i}`, `small value ${i}`))
        expect(Result.isSuccess(r), `set small-${i}: ${Result.isFailure(r) ? r.failure.message : ""}`).toBe(true)
        acked.set(`small-${i}`, `small value ${i}`)
      }

      // 16 KiB values one after the other until writes fail; then three more, which must fail too.
      const errors: Array<{ readonly key: string; readonly tag: string; readonly message: string; readonly millis: number }> = []
      for (let i = 0; i < 200 && errors.length < 4; i++) {
        const key = `big-${i}`
        const value = `${i}:${"b".repeat(16 * 1024)}`
        const started = Date.now()
        const r = yield* bounded(`set ${key}`, client.set(key, value))
        if (Result.isSuccess(r)) acked.set(key, value)
        else errors.push({ key, tag: r.failure._tag, message: r.failure.message, millis: Date.now() - started })
      }
      lap(`${acked.size} writes acknowledged, then ${errors.length} failed: ${errors.map((e) => `${e.key} ${e.tag} after ${e.millis} ms: ${e.message}`).join(" | ")}`)

      expect(node.proc.status, `the node is still running after the failed writes\n${stderrOf(node.proc)}`).toBeUndefined()
      expect(errors.length, "writes failed once the file-size limit was reached").toBeGreaterThan(0)
      expect(errors.filter((e) => e.tag === "Hung"), "writes that hung").toEqual([])
      for (const e of errors) expect(e.message, `${e.key}: the error says storage failed`).toMatch(/storage failed/)

      const problems = yield* readProblems(client, acked)
      expect(problems.slice(0, 10), `acknowledged keys read back on the full disk\n${stderrOf(node.proc)}`).toEqual([])
      expect(ringProblem(yield* walk(node.address), [node.address])).toBeUndefined()
      expect(node.proc.status, `the node is still running after the reads\n${stderrOf(node.proc)}`).toBeUndefined()
      lap(`every one of ${acked.size} acknowledged keys reads back; the node still serves`)
    }), 60_000)
})

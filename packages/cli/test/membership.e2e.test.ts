/**
 * Membership as real processes: a ring built with `--join` alone (no registry), a graceful leave
 * on SIGTERM that loses no key and fails no read, the `dht-client ring` view of a ring, and the
 * ways a join is refused (an unreachable contact, a ring ID that is already held).
 *
 * Nothing here sleeps for a fixed time: every wait polls with a deadline.
 */
import { DhtClient, type RingStatus } from "@crustyring/client"
import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Fiber } from "effect"
import * as Cluster from "./cluster.ts"
import { JOINED, startNode, STARTED_RING } from "./cluster.ts"
import { type Proc, ProcessError, runBin, type RunResult, STACK_TRACE } from "./processes.ts"
import { eventually } from "./replicated.ts"

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
const sumOwned = (ring: ReadonlyArray<{ readonly ownedKeys: number }>) => ring.reduce((n, s) => n + s.ownedKeys, 0)

/** Copies of each key: the nodes' default replica count (`--replicas`), or fewer in a smaller ring. */
const REPLICAS = 3
const copies = (nodes: number) => Math.min(REPLICAS, nodes)

/**
 * Why `ring` is not (yet) exactly the ring of `addresses` in ring order holding `keys` keys, or
 * undefined when it is. Ring order: each entry's successor is the next entry, wrapping, and its
 * range ends where the next one starts. Keys: each is owned by exactly one node, and once repair
 * has settled it is held by `copies` nodes (its owner and the owner's successors).
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
  if (sumOwned(ring) !== keys) {
    return `owned key counts ${ring.map((s) => s.ownedKeys).join("+")} sum to ${sumOwned(ring)}, expected ${keys}`
  }
  for (const s of ring) {
    if (s.keys < s.ownedKeys) return `${s.address} holds ${s.keys} keys but owns ${s.ownedKeys}`
  }
  const held = keys * copies(ring.length)
  if (sumKeys(ring) !== held) {
    return `key counts ${ring.map((s) => s.keys).join("+")} sum to ${sumKeys(ring)}, expected ${held} (${keys} keys × ${copies(ring.length)} copies)`
  }
  return undefined
}

/**
 * Polls `ring --json` through `node` until it is exactly `addresses` in ring order with `keys`
 * keys, each owned once and fully replicated.
 */
const awaitRing = (node: string, addresses: ReadonlyArray<string>, keys: number, timeout: Duration.Input = "15 seconds") =>
  eventually(
    `the ring of ${addresses.length} nodes with ${keys} keys, seen from ${node}`,
    Effect.flatMap(ringJson(node), (ring) => {
      const problem = ringProblem(ring, addresses, keys)
      return problem === undefined ? Effect.succeed(ring) : Effect.fail(new ProcessError({ message: problem }))
    }),
    timeout,
    "200 millis"
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

/** One row of the `ring` table, by column name. */
interface RingRow {
  readonly id: string
  readonly address: string
  readonly start: string
  readonly end: string
  /** Keys stored on the node, replicas included (the STORED column, formerly KEYS). */
  readonly stored: number
  /** Keys in the node's own range (the OWNED column), when the table has one. */
  readonly owned: number | undefined
  readonly phase: string
}

interface RingTable {
  readonly rows: ReadonlyArray<RingRow>
  /** The first line after the rows: the summary. */
  readonly footer: string
}

/**
 * Parses the table `dht-client ring` prints: a header, one row per node, then a summary. Cells
 * are cut at the offsets of the column names in the header (the table is left-aligned), so
 * columns may be added or moved; only ID, ADDRESS, RANGE, STORED (or KEYS), OWNED (if present)
 * and PHASE are read. Returns why it does not parse.
 */
const parseRingTable = (stdout: string, nodes: number): RingTable | string => {
  const lines = stdout.split("\n")
  const header = lines[0] ?? ""
  const columns = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index }))
  const has = (name: string) => columns.some((c) => c.name === name)
  const cell = (line: string, name: string) => {
    const i = columns.findIndex((c) => c.name === name)
    return line.slice(columns[i]!.at, columns[i + 1]?.at ?? line.length).trim()
  }
  const storedColumn = has("STORED") ? "STORED" : "KEYS"
  for (const name of ["ID", "ADDRESS", "RANGE", storedColumn, "PHASE"]) {
    if (!has(name)) return `no ${name} column in the header ${JSON.stringify(header)}`
  }
  if (lines.length < nodes + 2) return `${lines.length} lines, expected a header, ${nodes} rows and a summary`
  const count = (s: string) => (/^\d+$/.test(s) ? Number(s) : undefined)
  const rows: Array<RingRow> = []
  for (const line of lines.slice(1, nodes + 1)) {
    const range = /^\[([0-9a-f]{16}), ([0-9a-f]{16})\)$/.exec(cell(line, "RANGE"))
    const stored = count(cell(line, storedColumn))
    const owned = has("OWNED") ? count(cell(line, "OWNED")) : undefined
    const address = cell(line, "ADDRESS")
    if (range === null || stored === undefined || (has("OWNED") && owned === undefined) || !/^\d+\.\d+\.\d+\.\d+:\d+$/.test(address)) {
      return `row ${JSON.stringify(line)} does not parse`
    }
    rows.push({ id: cell(line, "ID"), address, start: range[1]!, end: range[2]!, stored, owned, phase: cell(line, "PHASE") })
  }
  return { rows, footer: lines[nodes + 1]! }
}

const KEYS = 500
const keyOf = (i: number) => `member-key-${i}`
const valueOf = (i: number) => `value of ${i}: ${"x".repeat(i % 17)}`
const utf8 = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8")

// One test at a time: each starts several processes, and together they overloaded 2 cores.
describe("membership", () => {
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
      // Every key is owned once, and held by its owner and the owner's two successors.
      yield* awaitRing(a.address, all, KEYS)

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
      yield* eventually("the readers started", Effect.suspend(() => stats.reads >= 50 ? Effect.void : Effect.fail({ message: `${stats.reads} reads` })), "5 seconds", "200 millis")

      const readsAtTerm = stats.reads
      const leaveMillis = yield* leaveCleanly(leaving.proc)
      const readsDuringLeave = stats.reads - readsAtTerm
      // Keep reading a little after the exit, so routing around the departed node is covered too.
      const readsAtExit = stats.reads
      yield* eventually(
        "200 reads after the leave",
        Effect.suspend(() => stats.reads >= readsAtExit + 200 ? Effect.void : Effect.fail({ message: `${stats.reads - readsAtExit} reads` })),
        "10 seconds",
        "200 millis"
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

      // Three nodes and three copies: once repair has settled, every node holds every key.
      const after = yield* awaitRing(survivor, staying, KEYS)
      expect(after).toHaveLength(3)
      for (const s of after) expect(s.keys, `keys held by ${s.address}`).toBe(KEYS)
      yield* Effect.logInfo(`leave took ${leaveMillis} ms; ${stats.reads} reads, ${readsDuringLeave} during the leave`)
    }), 90_000)

  it.live("dht-client ring prints the ring through the registry as a table", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.make(3)
      const client = yield* DhtClient.make({ registry: c.registry })
      const written = 12
      yield* Effect.forEach(Array.from({ length: written }, (_, i) => i), (i) => client.set(`table-${i}`, `v${i}`), {
        discard: true
      })

      // Three nodes and three copies: once repair has settled, every node holds every key. The
      // counts move while hand-offs and repair settle, so poll until they are there.
      const r = yield* eventually(
        `ring table with ${written} keys on every node`,
        Effect.flatMap(dhtClient(["--registry", c.registry, "ring"]), (r) => {
          const fail = (problem: string) => Effect.fail(new ProcessError({ message: `${problem}:\n${r.stdout}\n${r.stderr}` }))
          const table = r.code === 0 ? parseRingTable(r.stdout, 3) : `exit ${r.code}`
          if (typeof table === "string") return fail(table)
          if (table.rows.some((row) => row.stored !== written || row.phase !== "ready")) {
            return fail(`not every node is ready with ${written} keys stored`)
          }
          return Effect.succeed({ ...r, table })
        }),
        "15 seconds",
        "200 millis"
      )
      expect(r.stderr).not.toMatch(STACK_TRACE)
      expect(r.stdout.endsWith("\n")).toBe(true)
      const { footer, rows } = r.table
      expect(rows.map((row) => row.address).sort()).toEqual([...c.nodes].sort())
      for (const [i, row] of rows.entries()) {
        const next = rows[(i + 1) % rows.length]!
        expect(row.id).toMatch(/^[0-9a-f]{16}$/)
        expect(row.start, `${row.address}'s range starts at its ID`).toBe(row.id)
        expect(row.end, `${row.address}'s range ends where the next one starts`).toBe(next.start)
        expect(row.phase).toBe("ready")
      }
      // Each key is owned by exactly one node, when the table shows ownership.
      if (rows.every((row) => row.owned !== undefined)) expect(rows.reduce((n, row) => n + row.owned!, 0)).toBe(written)
      expect(footer).toMatch(/^3 nodes\b/)
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

/**
 * Down members and `dht-client remove`, the operator's side of "down is not gone":
 *
 * 1. `ring` shows the members that stopped answering after the live nodes, once each with the
 *    longest silence, and counts them in the summary (unit tests of the formatting).
 * 2. `remove` refuses a bad address as a usage error: one line, exit 1, nothing sent.
 * 3. `dht-client` as a process against a scripted ring of `peer.Peer` servers (no real nodes):
 *    `ring` lists a down member, `remove` reports how many nodes forgot it, and a refusal or an
 *    address no node knows exits 1 with one line and no stack trace.
 */
import type { DhtClient, RingStatus } from "@crustyring/client"
import { Position } from "@crustyring/ring"
import { describe, expect, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import { scriptedRing } from "../../client/test/ScriptedPeer.ts"
import { formatProcesses, formatRemoved, formatRing, formatSilence, formatTable, parse } from "../src/ClientCommand.ts"
import { runBin, type RunResult, STACK_TRACE } from "./processes.ts"

const hex = (address: string) => Position.toHex(Position.nodeId(address))

/** A ready node's status as the walk reports it, with no keys. */
const status = (address: string, next: string, extra: Partial<RingStatus.NodeStatus> = {}): RingStatus.NodeStatus => ({
  id: Position.nodeId(address).toString(),
  idHex: hex(address),
  address,
  phase: "ready",
  range: { start: hex(address), end: hex(next) },
  predecessor: null,
  successor: next,
  keys: 10,
  ownedKeys: 4,
  copies: 3,
  replicatedKeys: 4,
  tombstones: 0,
  repair: null,
  down: [],
  members: 0,
  ...extra
})

const downMember = (address: string, silentMs: number): RingStatus.DownMember => ({
  id: Position.nodeId(address).toString(),
  idHex: hex(address),
  address,
  silentMs
})

/** A ring of live nodes in the order given (the formatting does not check ring order). */
const ringOf = (addresses: ReadonlyArray<string>, down: Record<string, ReadonlyArray<RingStatus.DownMember>> = {}) =>
  addresses.map((a, i) => status(a, addresses[(i + 1) % addresses.length]!, { down: down[a] ?? [], members: 5 }))

describe("ring with down members (formatting)", () => {
  it("silences read in their largest two units", () => {
    expect([0, 850, 1_000, 12_400, 60_000, 184_000, 3_600_000, 3_780_000, 86_400_000 + 4 * 3_600_000].map(formatSilence)).toEqual([
      "0ms",
      "850ms",
      "1s",
      "12s",
      "1m0s",
      "3m4s",
      "1h0m",
      "1h3m",
      "1d4h"
    ])
  })

  it("no down member: the table and summary are as before", () => {
    const lines = formatRing(ringOf(["10.0.0.1:50001", "10.0.0.2:50001", "10.0.0.3:50001"])).split("\n")
    expect(lines).toHaveLength(5)
    expect(lines.at(-1)).toBe("3 nodes, 12 keys, 12 at full copies")
    expect(lines.join("\n")).not.toMatch(/down/)
  })

  it("a down member gets one line after the live nodes, once, with the longest silence, and the summary counts it", () => {
    const live = ["10.0.0.1:50001", "10.0.0.2:50001", "10.0.0.3:50001", "10.0.0.4:50001", "10.0.0.5:50001"]
    const gone = "10.0.0.6:50001"
    const text = formatRing(ringOf(live, {
      [live[0]!]: [downMember(gone, 12_000)],
      [live[2]!]: [downMember(gone, 184_000)],
      // A node that still counts a live node down (it has not probed it since it came back).
      [live[3]!]: [downMember(live[1]!, 2_000)]
    }))
    const lines = text.split("\n")
    expect(lines).toHaveLength(1 + live.length + 1 + 1)
    const header = lines[0]!
    // In ring order: by ID.
    const byId = [...live].sort((a, b) => (hex(a) < hex(b) ? -1 : 1))
    byId.forEach((a, i) => expect(lines[1 + i]).toContain(a))
    const row = lines[1 + live.length]!
    // Aligned with the table's columns: ID, ADDRESS, then dashes, and the phase reads "down 3m4s".
    expect(row.slice(0, 16)).toBe(hex(gone))
    expect(row.slice(header.indexOf("ADDRESS")).startsWith(gone)).toBe(true)
    expect(row.slice(header.indexOf("RANGE"), header.indexOf("OWNED")).trim()).toBe("-")
    expect(row.slice(header.indexOf("PHASE"))).toBe("down 3m4s")
    expect(text.match(/down/g)).toHaveLength(2) // the row and the summary
    expect(lines.at(-1)).toBe("5 nodes up, 1 down, 20 keys, 20 at full copies")
  })

  it("several down members, in ring order; with virtual nodes the summary counts processes", () => {
    const a = "10.0.0.1:50001"
    const b = "10.0.0.2:50001"
    const gone = ["10.0.0.7:50001", "10.0.0.8:50001"]
    const byId = [...gone].sort((x, y) => (Position.nodeId(x) < Position.nodeId(y) ? -1 : 1))
    const two = formatRing(ringOf([a, b], { [a]: gone.map((g) => downMember(g, 5_000)) })).split("\n")
    expect(two.slice(3, 5).map((l) => l.split(/\s+/)[1])).toEqual(byId)
    expect(two.at(-1)).toBe("2 nodes up, 2 down, 8 keys, 8 at full copies")

    const vnodes = [a, `${a}#1`, b, `${b}#1`]
    const downVnodes = [`${gone[0]}`, `${gone[0]}#1`]
    const v = formatRing(ringOf(vnodes, { [b]: downVnodes.map((g) => downMember(g, 61_000)) })).split("\n")
    expect(v.filter((l) => l.endsWith("down 1m1s"))).toHaveLength(2)
    expect(v.at(-1)).toBe("4 virtual nodes on 2 nodes up, 2 virtual nodes on 1 node down, 16 keys, 16 at full copies")
  })
})

describe("ring of virtual nodes (formatting)", () => {
  const a = "10.0.0.1:50001"
  const b = "10.0.0.2:50001"
  const half = "8000000000000000"
  const quarter = "4000000000000000"
  // a holds [0, 1/4) and [1/2, 3/4); b holds [1/4, 1/2) and [3/4, 1).
  const ring = [
    status(a, b, { idHex: "0000000000000000", range: { start: "0000000000000000", end: quarter }, ownedKeys: 3, replicatedKeys: 3, keys: 20 }),
    status(`${b}#1`, a, { idHex: quarter, range: { start: quarter, end: half }, ownedKeys: 5, replicatedKeys: 4, keys: 22 }),
    status(`${a}#1`, b, {
      idHex: half,
      range: { start: half, end: "c000000000000000" },
      ownedKeys: 7,
      replicatedKeys: 2,
      keys: 20,
      phase: "joining",
      repair: { kind: "repair", done: 10, total: 40, percent: 25, keysPerSecond: 100 }
    }),
    status(b, a, { idHex: "c000000000000000", range: { start: "c000000000000000", end: "0000000000000000" }, ownedKeys: 1, replicatedKeys: 1, keys: 22 })
  ]

  it("one row per process: its positions, share, owned keys summed, its store's count once, copies, repair and phases", () => {
    const lines = formatProcesses(ring).split("\n")
    expect(lines).toHaveLength(4)
    expect(lines[0]!.split(/\s+/)).toEqual(["ADDRESS", "POSITIONS", "SHARE", "OWNED", "STORED", "COPIES", "REPAIR", "PHASE"])
    expect(lines[1]!.split(/\s{2,}/)).toEqual([a, "2", "50.0%", "10", "20", "5/10 x3", "25% 100 keys/s", "ready 1, joining 1"])
    expect(lines[2]!.split(/\s{2,}/)).toEqual([b, "2", "50.0%", "6", "22", "5/6 x3", "-", "ready"])
    expect(lines[3]).toBe("4 virtual nodes on 2 nodes, 16 keys, 10 at full copies")
  })

  it("a down process is one row with its positions and longest silence", () => {
    const gone = "10.0.0.9:50001"
    const withDown = ring.map((n, i) => (i === 0 ? { ...n, down: [downMember(gone, 5_000), downMember(`${gone}#1`, 61_000)] } : n))
    const lines = formatProcesses(withDown).split("\n")
    expect(lines[3]!.split(/\s{2,}/)).toEqual([gone, "2", "-", "-", "-", "-", "-", "down 1m1s"])
    expect(lines.at(-1)).toBe("4 virtual nodes on 2 nodes up, 2 virtual nodes on 1 node down, 16 keys, 10 at full copies")
  })

  it("dht-client ring picks the table: per process for virtual nodes, per position with --positions or without virtual nodes", () => {
    const perProcess = formatTable(ring, false)
    expect(perProcess[0]).toBe(formatProcesses(ring))
    // One progress bar per process, with the process's address.
    expect(perProcess.slice(1)).toHaveLength(1)
    expect(perProcess[1]).toMatch(new RegExp(`25% 10/40 keys, 100 keys/s  ${a.replaceAll(".", "\\.")} repairing$`))
    const perPosition = formatTable(ring, true)
    expect(perPosition[0]).toBe(formatRing(ring))
    expect(perPosition[0]!.split("\n")).toHaveLength(1 + ring.length + 1)
    const plain = ringOf(["10.0.0.1:50001", "10.0.0.2:50001"])
    expect(formatTable(plain, false)[0]).toBe(formatRing(plain))
  })
})

describe("remove (argument checks and output)", () => {
  it("parses remove ADDR, and refuses it without an address or with more words", () => {
    expect(parse(["remove", "h:1"])).toEqual({ _tag: "Remove", address: "h:1" })
    expect(parse(["REMOVE", "h:1"])).toEqual({ _tag: "Remove", address: "h:1" })
    expect(parse(["remove"])._tag).toBe("Invalid")
    expect(parse(["remove", "h:1", "h:2"])._tag).toBe("Invalid")
  })

  it("the summary counts processes, and warns about each node that did not answer", () => {
    const removed: DhtClient.Removed = {
      address: "10.0.0.6:50001",
      forgotten: [{ node: "10.0.0.1:50001", removed: 2 }, { node: "10.0.0.2:50001", removed: 2 }],
      unaware: ["10.0.0.1:50001#1", "10.0.0.3:50001"],
      unanswered: [
        { node: "10.0.0.4:50001", message: "10.0.0.4:50001: Deadline exceeded" },
        { node: "10.0.0.4:50001#1", message: "10.0.0.4:50001#1: Deadline exceeded" },
        // Its process forgot it through another virtual node: no warning.
        { node: "10.0.0.2:50001#1", message: "10.0.0.2:50001#1: Deadline exceeded" }
      ]
    }
    const { line, warnings } = formatRemoved(removed)
    expect(line).toBe("removed 10.0.0.6:50001: 2 nodes forgot it, 1 did not know it, 1 did not answer")
    expect(warnings).toEqual(["warning: 10.0.0.4:50001: Deadline exceeded; that node learns of the removal from its neighbours"])
    expect(formatRemoved({ ...removed, unaware: [], unanswered: [] }).line).toBe("removed 10.0.0.6:50001: 2 nodes forgot it")
  })
})

const dhtClient = (args: ReadonlyArray<string>) => runBin("dht-client", args, { timeout: "15 seconds" })

/** Exit `code`, and stderr is exactly one `error: ...` line matching `says`, with no stack trace. */
const expectOneLineError = (r: RunResult, code: number, says: RegExp) => {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(code)
  expect(r.stderr).not.toMatch(STACK_TRACE)
  const lines = r.stderr.split("\n").filter((l) => l !== "")
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^error: /)
  expect(lines[0]).toMatch(says)
  expect(r.stdout).toBe("")
}

describe.concurrent("dht-client remove: bad usage", () => {
  // Nothing listens at 127.0.0.1:1: a usage error must come before any request.
  const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
    [["remove"], /usage: REMOVE host:port/],
    [["remove", "127.0.0.1:9", "127.0.0.1:8"], /usage: REMOVE host:port/],
    [["remove", "nonsense"], /^error: remove: address must be host:port, got "nonsense"$/],
    [["remove", "127.0.0.1:70000"], /^error: remove: port must be 1-65535/],
    [["remove", "127.0.0.1:9#2"], /^error: remove: 127\.0\.0\.1:9#2 is a virtual node; give its process's address, 127\.0\.0\.1:9,/]
  ]
  for (const [words, says] of cases) {
    it.live(`${words.join(" ")} exits 1 with one line`, () =>
      Effect.gen(function*() {
        const r = yield* dhtClient(["--node", "127.0.0.1:1", ...words])
        expectOneLineError(r, 1, says)
        expect(r.millis).toBeLessThan(10_000)
      }))
  }
})

describe.concurrent("dht-client against a scripted ring", () => {
  const GONE = "127.0.0.1:9"

  it.live("ring shows the down member after the live nodes and counts it; --json carries it in each node's status", () =>
    Effect.gen(function*() {
      const ring = yield* scriptedRing([{ down: [{ address: GONE, silentMs: 12_345 }] }, { down: [{ address: GONE, silentMs: 3_000 }] }, {}])
      const r = yield* dhtClient(["--node", ring[0]!.address, "ring"])
      expect(r.code, r.stderr).toBe(0)
      const lines = r.stdout.trimEnd().split("\n")
      expect(lines).toHaveLength(6)
      expect(lines[4]).toMatch(new RegExp(`^${hex(GONE)}\\s+127\\.0\\.0\\.1:9\\s+-\\s+-\\s+-\\s+-\\s+-\\s+down 12s$`))
      expect(lines[5]).toBe("3 nodes up, 1 down, 0 keys, 0 at full copies")

      const json = yield* dhtClient(["--node", ring[0]!.address, "ring", "--json"])
      expect(json.code, json.stderr).toBe(0)
      const nodes = JSON.parse(json.stdout) as ReadonlyArray<RingStatus.NodeStatus>
      expect(nodes.map((n) => n.members).sort()).toEqual([3, 4, 4])
      expect(nodes.flatMap((n) => n.down).map((d) => [d.address, d.idHex, d.silentMs]).sort()).toEqual([
        [GONE, hex(GONE), 12_345],
        [GONE, hex(GONE), 3_000]
      ])
    }))

  it.live("remove asks every node and prints how many forgot it; --json prints the result", () =>
    Effect.gen(function*() {
      const ring = yield* scriptedRing([{ remove: () => ({ removed: 1 }) }, { remove: () => ({ removed: 1 }) }, {}])
      const r = yield* dhtClient(["--node", ring[2]!.address, "remove", GONE])
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        code: 0,
        stdout: `removed ${GONE}: 2 nodes forgot it, 1 did not know it\n`,
        stderr: ""
      })
      for (const n of ring) expect(n.removes).toEqual([GONE])

      const json = yield* dhtClient(["--node", ring[2]!.address, "--json", "remove", GONE])
      expect(json.code, json.stderr).toBe(0)
      const result = JSON.parse(json.stdout) as DhtClient.Removed
      expect(result.address).toBe(GONE)
      expect(result.forgotten).toHaveLength(2)
      expect(result.unaware).toEqual([ring[2]!.address])
    }))

  it.live("a member that still answers: exit 1 with the node's refusal in one line", () =>
    Effect.gen(function*() {
      const refusal = `${GONE} still answers; stop it or let it leave instead`
      const refuse = () => ({ status: grpc.status.FAILED_PRECONDITION, details: refusal })
      const ring = yield* scriptedRing([{ remove: refuse }, { remove: refuse }])
      const r = yield* dhtClient(["--node", ring[0]!.address, "remove", GONE])
      expectOneLineError(r, 1, new RegExp(`^error: ${ring[0]!.address.replace(/\./g, "\\.")} refused to remove 127\\.0\\.0\\.1:9: ${refusal.replace(/\./g, "\\.")}$`))
      // The first node refused; no other node was asked.
      expect(ring[1]!.removes).toEqual([])
    }))

  it.live("an address no node knows: exit 1 saying so", () =>
    Effect.gen(function*() {
      const ring = yield* scriptedRing([{}, {}])
      const r = yield* dhtClient(["--node", ring[0]!.address, "remove", GONE])
      expectOneLineError(r, 1, /^error: no node knows 127\.0\.0\.1:9 \(asked 2 nodes\)$/)
    }))
})

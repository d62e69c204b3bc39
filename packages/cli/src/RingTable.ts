/**
 * The ring as `dht-client ring` prints it: one row per position in ring order (by ID, whichever
 * node the walk started from), the down members, a summary, and a progress bar for each
 * repair under way. When the positions are virtual nodes of fewer processes, one row per
 * process instead (its share of the ring and its keys), unless `--positions` asks for every
 * position. `--watch` redraws it every second.
 */
import { type ClientError, type DhtClient, RingStatus } from "@crustyring/client"
import { Address } from "@crustyring/protocol"
import { Console, Effect } from "effect"

/** A silence in the largest two units: `850ms`, `12s`, `3m4s`, `2h5m`, `3d4h`. */
export const formatSilence = (ms: number): string => {
  if (ms < 1000) return `${Math.max(0, Math.floor(ms))}ms`
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`
}

export const nodesWord = (n: number) => `${n} node${n === 1 ? "" : "s"}`

/**
 * `5 nodes`, or `512 virtual nodes on 4 nodes` when they are virtual nodes of fewer processes;
 * `bare` leaves out the word "nodes" when they are not (`1`, for `5 nodes up, 1 down`).
 */
const countOf = (addresses: ReadonlyArray<string>, bare = false): string => {
  // Virtual nodes of one process share its "host:port".
  const processes = new Set(addresses.map(Address.target)).size
  if (processes !== addresses.length) return `${addresses.length} virtual nodes on ${nodesWord(processes)}`
  return bare ? String(processes) : nodesWord(processes)
}

/**
 * The ring as a table: one line per live node, in ring order (by ID), then one line per down member
 * (once, with the longest silence any node reports), and a summary line.
 */
export const formatRing = (nodes: ReadonlyArray<RingStatus.NodeStatus>): string => {
  const down = RingStatus.down(nodes)
  const rows = [
    ["ID", "ADDRESS", "RANGE", "OWNED", "STORED", "COPIES", "REPAIR", "PHASE"],
    ...sorted(nodes).map((n) => [
      n.idHex,
      n.address,
      `[${n.range.start}, ${n.range.end})`,
      String(n.ownedKeys),
      String(n.keys),
      // Owned keys confirmed at the target copy count, e.g. "833/833 x3".
      `${n.replicatedKeys}/${n.ownedKeys} x${n.copies}`,
      n.repair ? `${n.repair.percent}% ${n.repair.keysPerSecond} keys/s` : "-",
      n.phase
    ]),
    // A down member owns nothing while down: its range is served by the next live nodes.
    ...down.map((d) => [d.idHex, d.address, "-", "-", "-", "-", "-", `down ${formatSilence(d.silentMs)}`])
  ]
  return [...align(rows), summaryOf(nodes, down)].join("\n")
}

/** The share of the ring a range `[start, end)` of hex positions covers, 0 to 1; all of it when they meet. */
const shareOf = (range: RingStatus.NodeStatus["range"]): number => {
  const start = BigInt(`0x${range.start}`)
  const end = BigInt(`0x${range.end}`)
  const size = start === end ? 1n << 64n : (end - start + (1n << 64n)) % (1n << 64n)
  return Number(size) / 2 ** 64
}

/** `ready`, or how many positions are in each phase when they differ: `ready 60, joining 4`. */
const phasesOf = (rows: ReadonlyArray<RingStatus.NodeStatus>): string => {
  const counts = new Map<string, number>()
  for (const r of rows) counts.set(r.phase, (counts.get(r.phase) ?? 0) + 1)
  return counts.size === 1 ? rows[0]!.phase : [...counts].map(([phase, n]) => `${phase} ${n}`).join(", ")
}

/** The positions of a walk by process ("host:port"), processes by address. */
const byProcess = <A extends { readonly address: string }>(rows: ReadonlyArray<A>): ReadonlyArray<readonly [string, ReadonlyArray<A>]> => {
  const groups = new Map<string, Array<A>>()
  for (const r of rows) {
    const target = Address.target(r.address)
    const group = groups.get(target)
    if (group) group.push(r)
    else groups.set(target, [r])
  }
  return [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/** The keys moving to a process's positions, together: done of total and the rate, if any are. */
const repairOf = (rows: ReadonlyArray<RingStatus.NodeStatus>) => {
  const moving = rows.flatMap((r) => (r.repair === null ? [] : [r.repair]))
  if (moving.length === 0) return null
  const done = moving.reduce((sum, r) => sum + r.done, 0)
  const total = moving.reduce((sum, r) => sum + r.total, 0)
  return {
    done,
    total,
    percent: total === 0 ? 100 : Math.floor((100 * done) / total),
    keysPerSecond: moving.reduce((sum, r) => sum + r.keysPerSecond, 0),
    kind: moving.every((r) => r.kind === "handoff") ? ("handoff" as const) : ("repair" as const)
  }
}

/**
 * The ring as a table of processes: one line per live process (its positions, its share of the
 * ring, the keys it owns and stores, their copies, any repair, the phases of its positions), one
 * per down process, and the summary line of `formatRing`. For rings of virtual nodes, where one
 * row per position would be hundreds of lines.
 */
export const formatProcesses = (nodes: ReadonlyArray<RingStatus.NodeStatus>): string => {
  const down = RingStatus.down(nodes)
  const rows = [
    ["ADDRESS", "POSITIONS", "SHARE", "OWNED", "STORED", "COPIES", "REPAIR", "PHASE"],
    ...byProcess(nodes).map(([address, positions]) => {
      const owned = positions.reduce((sum, n) => sum + n.ownedKeys, 0)
      const replicated = positions.reduce((sum, n) => sum + n.replicatedKeys, 0)
      const repair = repairOf(positions)
      const share = positions.reduce((sum, n) => sum + shareOf(n.range), 0)
      return [
        address,
        String(positions.length),
        `${(100 * share).toFixed(1)}%`,
        String(owned),
        // The positions of a process share its store: each reports the same count.
        String(Math.max(...positions.map((n) => n.keys))),
        `${replicated}/${owned} x${Math.min(...positions.map((n) => n.copies))}`,
        repair ? `${repair.percent}% ${repair.keysPerSecond} keys/s` : "-",
        phasesOf(positions)
      ]
    }),
    ...byProcess(down).map(([address, members]) => [
      address,
      String(members.length),
      "-",
      "-",
      "-",
      "-",
      "-",
      `down ${formatSilence(Math.max(...members.map((d) => d.silentMs)))}`
    ])
  ]
  return [...align(rows), summaryOf(nodes, down)].join("\n")
}

/** Rows as columns padded to their widest cell. */
const align = (rows: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd())
}

/** `5 nodes, 1000 keys, 1000 at full copies`, counting down members when there are any. */
const summaryOf = (nodes: ReadonlyArray<RingStatus.NodeStatus>, down: ReadonlyArray<RingStatus.DownMember>): string => {
  const owned = nodes.reduce((sum, n) => sum + n.ownedKeys, 0)
  const replicated = nodes.reduce((sum, n) => sum + n.replicatedKeys, 0)
  const live = countOf(nodes.map((n) => n.address))
  // `5 nodes up, 1 down`; `512 virtual nodes on 4 nodes up, 128 virtual nodes on 1 node down`.
  const count = down.length === 0 ? live : `${live} up, ${countOf(down.map((d) => d.address), true)} down`
  return `${count}, ${owned} keys, ${replicated} at full copies`
}

/** Whether a walk's positions are virtual nodes of fewer processes. */
const virtual = (nodes: ReadonlyArray<RingStatus.NodeStatus>) => new Set(nodes.map((n) => Address.target(n.address))).size < nodes.length

/**
 * The table `dht-client ring` prints: one row per process for a ring of virtual nodes, one per
 * position otherwise or with `positions`; then the progress bars, per process or per position.
 */
export const formatTable = (nodes: ReadonlyArray<RingStatus.NodeStatus>, positions: boolean): ReadonlyArray<string> =>
  positions || !virtual(nodes)
    ? [formatRing(nodes), ...formatProgress(nodes)]
    : [
      formatProcesses(nodes),
      ...formatProgress(byProcess(nodes).map(([address, rows]) => ({ ...rows[0]!, address, repair: repairOf(rows) })))
    ]

/** The nodes of a walk in ring order: by ID, from the lowest. */
export const sorted = (nodes: ReadonlyArray<RingStatus.NodeStatus>): ReadonlyArray<RingStatus.NodeStatus> =>
  [...nodes].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0))

const BAR = 30

/** A bar for each position moving keys: done of total, and the rate. Empty when none is. */
export const formatProgress = (nodes: ReadonlyArray<RingStatus.NodeStatus>): ReadonlyArray<string> =>
  nodes.flatMap((n) => {
    if (n.repair === null) return []
    const { done, total, keysPerSecond } = n.repair
    const filled = total === 0 ? BAR : Math.min(BAR, Math.round((BAR * done) / total))
    const what = n.repair.kind === "handoff" ? "receiving a hand-off" : "repairing"
    return [`[${"#".repeat(filled)}${"-".repeat(BAR - filled)}] ${n.repair.percent}% ${done}/${total} keys, ${keysPerSecond} keys/s  ${n.address} ${what}`]
  })

/** The ring once: as JSON (every position, in ring order), or the table with its progress bars. */
export const show = (client: DhtClient.Service, json: boolean, positions = false): Effect.Effect<void, ClientError.ClientError> =>
  Effect.flatMap(client.ring(), (walked) => {
    const nodes = sorted(walked)
    return Console.log(json ? JSON.stringify(nodes, null, 2) : formatTable(nodes, positions).join("\n"))
  })

/** Clears a terminal and moves to its top-left corner. */
const CLEAR = "\u001b[2J\u001b[H"

/**
 * Redraws the ring every second until interrupted (Ctrl-C). A walk that fails is shown as its
 * error line, and the next second tries again. With JSON, one line of JSON per second.
 */
export const watch = (client: DhtClient.Service, json: boolean, positions = false): Effect.Effect<never> =>
  Effect.gen(function*() {
    const tty = process.stdout.isTTY === true
    const frame = Effect.gen(function*() {
      const result = yield* Effect.result(client.ring())
      const text = result._tag === "Failure"
        ? `error: ${result.failure.message}`
        : json
        ? JSON.stringify(sorted(result.success))
        : [...formatTable(sorted(result.success), positions), `(every second; Ctrl-C to stop) ${new Date().toISOString()}`].join("\n")
      yield* Effect.sync(() => process.stdout.write(`${tty && !json ? CLEAR : ""}${text}\n`))
    })
    return yield* Effect.forever(Effect.andThen(frame, Effect.sleep("1 second")))
  })

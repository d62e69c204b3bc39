/**
 * The ring as `dht-client ring` prints it: one row per position in ring order (by ID, whichever
 * node the walk started from), the down members, a summary, and a progress bar for each
 * repair under way. `--watch` redraws it every second.
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
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  const owned = nodes.reduce((sum, n) => sum + n.ownedKeys, 0)
  const replicated = nodes.reduce((sum, n) => sum + n.replicatedKeys, 0)
  const live = countOf(nodes.map((n) => n.address))
  // `5 nodes up, 1 down`; `512 virtual nodes on 4 nodes up, 128 virtual nodes on 1 node down`.
  const count = down.length === 0 ? live : `${live} up, ${countOf(down.map((d) => d.address), true)} down`
  return [
    ...rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()),
    `${count}, ${owned} keys, ${replicated} at full copies`
  ].join("\n")
}


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

/** The ring once: as JSON (in ring order), or the table with its progress bars. */
export const show = (client: DhtClient.Service, json: boolean): Effect.Effect<void, ClientError.ClientError> =>
  Effect.flatMap(client.ring(), (walked) => {
    const nodes = sorted(walked)
    return Console.log(json ? JSON.stringify(nodes, null, 2) : [formatRing(nodes), ...formatProgress(nodes)].join("\n"))
  })

/** Clears a terminal and moves to its top-left corner. */
const CLEAR = "\u001b[2J\u001b[H"

/**
 * Redraws the ring every second until interrupted (Ctrl-C). A walk that fails is shown as its
 * error line, and the next second tries again. With JSON, one line of JSON per second.
 */
export const watch = (client: DhtClient.Service, json: boolean): Effect.Effect<never> =>
  Effect.gen(function*() {
    const tty = process.stdout.isTTY === true
    const frame = Effect.gen(function*() {
      const result = yield* Effect.result(client.ring())
      const text = result._tag === "Failure"
        ? `error: ${result.failure.message}`
        : json
        ? JSON.stringify(sorted(result.success))
        : [formatRing(sorted(result.success)), ...formatProgress(sorted(result.success)), `(every second; Ctrl-C to stop) ${new Date().toISOString()}`].join("\n")
      yield* Effect.sync(() => process.stdout.write(`${tty && !json ? CLEAR : ""}${text}\n`))
    })
    return yield* Effect.forever(Effect.andThen(frame, Effect.sleep("1 second")))
  })

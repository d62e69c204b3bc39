/**
 * The ring as one node sees it: start at a node and follow each node's successor, with each
 * one's status, until the walk comes back round. Used by `dht-client ring`. The walk reaches
 * only the members that answer; the ones that stopped answering (down, but still members) are
 * in each node's `down` list, and `down(nodes)` merges those lists.
 */
import { Address, Errors, Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { type Duration, Effect, Scope } from "effect"

/**
 * A member that a node counts as down: it stopped answering, but it is still a member, counted
 * in quorums and probed until it answers again, leaves, is removed or passes `--dead-after`.
 */
export interface DownMember {
  readonly id: string
  readonly idHex: string
  /** "host:port", or "host:port#i" for a virtual node. */
  readonly address: string
  /** How long it has been silent, as the reporting node saw it, in milliseconds. */
  readonly silentMs: number
}

/** One node's status, as the ring walk found it. */
export interface NodeStatus {
  readonly id: string
  readonly idHex: string
  readonly address: string
  readonly phase: string
  /** The range this node owns, `[start, end)` in hex. */
  readonly range: { readonly start: string; readonly end: string }
  readonly predecessor: string | null
  readonly successor: string
  /** Keys stored on the node. */
  readonly keys: number
  /** Keys stored whose position is in the node's own range. */
  readonly ownedKeys: number
  /** Copies each key should have: the replica count, or the ring size when smaller. */
  readonly copies: number
  /** Owned keys the last repair round confirmed at that many copies. */
  readonly replicatedKeys: number
  /** Deletes remembered until their grace period ends. */
  readonly tombstones: number
  /** Keys moving to this node, if any: a repair (re-replication) or a hand-off (a range arriving). */
  readonly repair: {
    readonly kind: "repair" | "handoff"
    readonly done: number
    readonly total: number
    readonly percent: number
    readonly keysPerSecond: number
  } | null
  /** The members this node counts as down. */
  readonly down: ReadonlyArray<DownMember>
  /**
   * Members (processes) this node counts for quorums, down ones included. 0 from a node that
   * predates the field.
   */
  readonly members: number
}

const hex = (id: string) => {
  const p = Position.parse(id)
  return p === undefined ? id : Position.toHex(p)
}

const toStatus = (s: Wire.NodeStatus__Output): NodeStatus => {
  const self = s.self ?? { id: "0", addr: "?" }
  const successor = s.successors[0] ?? self
  return {
    id: self.id,
    idHex: hex(self.id),
    address: self.addr,
    phase: s.phase,
    range: { start: hex(self.id), end: hex(successor.id) },
    predecessor: s.predecessor?.addr ?? null,
    successor: successor.addr,
    keys: Number(s.key_count),
    ownedKeys: Number(s.owned_key_count),
    copies: s.replicas,
    replicatedKeys: Number(s.replicated_key_count),
    tombstones: Number(s.tombstone_count),
    repair: s.repair
      ? {
        kind: s.repair.kind === "handoff" ? "handoff" : "repair",
        done: Number(s.repair.done),
        total: Number(s.repair.total),
        percent: Number(s.repair.total) === 0 ? 100 : Math.floor((100 * Number(s.repair.done)) / Number(s.repair.total)),
        keysPerSecond: Math.round(s.repair.keys_per_second)
      }
      : null,
    down: s.down.flatMap((d) =>
      d.node === null ? [] : [{ id: d.node.id, idHex: hex(d.node.id), address: d.node.addr, silentMs: Number(d.silent_ms) }]
    ),
    members: s.members
  }
}

/**
 * The down members that the nodes of a walk report, once each (by address), with the longest
 * silence any node saw, in ring order. A member the walk itself reached is left out: it
 * answered just now, so the nodes that still count it down take it back at their next probe.
 */
export const down = (nodes: ReadonlyArray<NodeStatus>): ReadonlyArray<DownMember> => {
  const live = new Set(nodes.map((n) => n.address))
  const merged = new Map<string, DownMember>()
  for (const d of nodes.flatMap((n) => n.down)) {
    if (live.has(d.address)) continue
    const seen = merged.get(d.address)
    if (seen === undefined || d.silentMs > seen.silentMs) merged.set(d.address, d)
  }
  const position = (d: DownMember): bigint => Position.parse(d.id) ?? 0n
  return [...merged.values()].sort((a, b) => (position(a) < position(b) ? -1 : position(a) > position(b) ? 1 : 0))
}

/** How many nodes a walk visits at most, against a ring whose pointers loop without closing. */
const MAX_NODES = 4096

/**
 * Walks the ring from `start`, in ring order from it. Each process is asked once for the
 * statuses of all its members (`StatusAll`), so a ring of processes with many virtual nodes
 * costs one call per process; a node that predates that call is asked member by member.
 */
export const walk = (start: string, timeout: Duration.Input): Effect.Effect<ReadonlyArray<NodeStatus>, Errors.RpcError, Scope.Scope> =>
  Effect.gen(function*() {
    const clientOf = (address: string) => Grpc.client(Proto.proto.cluster.Cluster, address)
    const status = (address: string) =>
      Effect.flatMap(clientOf(address), (c) => Grpc.call<Wire.NodeStatus__Output>(address, timeout, (o, cb) => c.Status({}, o, cb)))
    // Statuses that came with a process's StatusAll, and the processes already asked.
    const known = new Map<string, Wire.NodeStatus__Output>()
    const asked = new Set<string>()
    const statusOf = (address: string) =>
      Effect.gen(function*() {
        const target = Address.target(address as Address.Address)
        if (!known.has(address) && !asked.has(target)) {
          asked.add(target)
          const all = yield* Effect.flatMap(clientOf(target), (c) =>
            Grpc.call<Wire.StatusAllReply__Output>(target, timeout, (o, cb) => c.StatusAll({}, o, cb))).pipe(
              Effect.map((r) => r.statuses),
              Effect.catchIf(Errors.isUnimplemented, () => Effect.succeed([]))
            )
          for (const s of all) if (s.self?.addr) known.set(s.self.addr, s)
        }
        const hit = known.get(address)
        return hit ?? (yield* status(address))
      })
    const out: Array<NodeStatus> = []
    const seen = new Set<string>()
    let address = Address.unsafeMake(start) as string
    while (!seen.has(address) && out.length < MAX_NODES) {
      seen.add(address)
      const s = toStatus(yield* statusOf(address))
      out.push(s)
      address = s.successor
    }
    return out
  })

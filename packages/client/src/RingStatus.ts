/**
 * The ring as one node sees it: start at a node and follow each node's successor, asking each
 * for its status, until the walk comes back round. Used by `dht-client ring`.
 */
import { Address, Errors, Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { type Duration, Effect, Scope } from "effect"

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
  /** Re-replication under way, if any. */
  readonly repair: { readonly done: number; readonly total: number; readonly percent: number; readonly keysPerSecond: number } | null
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
        done: Number(s.repair.done),
        total: Number(s.repair.total),
        percent: Number(s.repair.total) === 0 ? 100 : Math.floor((100 * Number(s.repair.done)) / Number(s.repair.total)),
        keysPerSecond: Math.round(s.repair.keys_per_second)
      }
      : null
  }
}

/** How many nodes a walk visits at most, against a ring whose pointers loop without closing. */
const MAX_NODES = 4096

/** Walks the ring from `start`, in ring order from it. */
export const walk = (start: string, timeout: Duration.Input): Effect.Effect<ReadonlyArray<NodeStatus>, Errors.RpcError, Scope.Scope> =>
  Effect.gen(function*() {
    const status = (address: string) =>
      Effect.flatMap(Grpc.client(Proto.proto.peer.Peer, address), (c) =>
        Grpc.call<Wire.NodeStatus__Output>(address, timeout, (o, cb) => c.Status({}, o, cb)))
    const out: Array<NodeStatus> = []
    const seen = new Set<string>()
    let address = Address.unsafeMake(start) as string
    while (!seen.has(address) && out.length < MAX_NODES) {
      seen.add(address)
      const s = toStatus(yield* status(address))
      out.push(s)
      address = s.successor
    }
    return out
  })

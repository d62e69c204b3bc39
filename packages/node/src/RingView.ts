/**
 * The whole ring as one node sees it, for the dashboard: each member's status, reached with
 * the StatusAll call that `dht-client ring` makes (one per process), spreading from this node
 * along every answer's predecessor and successors, with the members that do not answer marked
 * as such. Positions
 * come with their fraction of the ring, so a page can draw the ring to scale.
 */
import { Address, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Clock, Effect, Option } from "effect"
import { Peers } from "./Peers.ts"

/** Whether a member answered the walk: `up`, counted `down` by a node that watches it, or `unreachable` (no answer yet, not yet counted down). */
export type State = "up" | "down" | "unreachable"

/** One position on the ring (a node, or one virtual node of a process). */
export interface Member {
  /** "host:port", or "host:port#i" for a virtual node. */
  readonly address: string
  /** The process it belongs to: "host:port". */
  readonly process: string
  /** Its ID in hex, and as a fraction of the ring in [0, 1). */
  readonly id: string
  readonly at: number
  /** Where its range `[id, next)` ends: the next member's ID, hex and fraction. */
  readonly next: string
  readonly nextAt: number
  readonly state: State
  /** "joining", "ready" or "leaving"; "" when it did not answer. */
  readonly phase: string
  readonly keys: number
  readonly ownedKeys: number
  /** Copies each key should have, and the owned keys the last repair round found at that many. */
  readonly copies: number
  readonly replicatedKeys: number
  /** Keys moving here: a repair (re-replication) or a hand-off, with keys done of total. */
  readonly repair: { readonly kind: "repair" | "handoff"; readonly done: number; readonly total: number; readonly keysPerSecond: number } | null
  /** How long it has been silent, for a member counted down. */
  readonly silentMs: number | null
  /** The port of its process's admin server; 0 when it runs none or did not answer. */
  readonly httpPort: number
}

/** The ring at one moment. */
export interface Snapshot {
  /** When it was taken, ms since the epoch. */
  readonly at: number
  /** The node that walked it. */
  readonly from: string
  /** Every member, in ring order (by ID). */
  readonly members: ReadonlyArray<Member>
}

/** The most members a walk visits: 4096 positions, 16 processes of 256 virtual nodes. */
const MAX_MEMBERS = 4096

/** The fraction of the ring at `id`, for drawing. */
export const fraction = (id: bigint): number => Number(id >> 11n) / 2 ** 53

const num = (v: unknown): number => (v === undefined || v === null ? 0 : Number(v))

interface Found {
  readonly address: string
  readonly id: bigint
  readonly status: Wire.NodeStatus__Output | undefined
  readonly silentMs: number | null
}

/**
 * Walks the ring from `self`, asking each process it reaches, 16 at a time, for the statuses
 * of all its members at once (`StatusAll`), or member by member if it predates that call.
 */
export const walk = (self: string): Effect.Effect<Snapshot, never, Peers> =>
  Effect.gen(function*() {
    const peers = yield* Peers
    const found = new Map<string, Found>()
    const ids = new Map<string, bigint>([[self, Position.nodeId(self)]])
    const down = new Map<string, number>()
    // What each process asked answered: its members' statuses by address, or undefined.
    const asked = new Map<string, Map<string, Wire.NodeStatus__Output> | undefined>()
    const one = (address: string) =>
      Effect.map(Effect.result(peers.status(Address.unsafeMake(address))), (r) => [[address, r._tag === "Success" ? r.success : undefined]] as const)
    // Processes that predate StatusAll: asked member by member from then on.
    const older = new Set<string>()
    const ask = (target: string, addresses: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const all = older.has(target) ? undefined : yield* Effect.result(peers.statusAll(target))
        if (all === undefined || (all._tag === "Success" && Option.isNone(all.success))) {
          older.add(target)
          return (yield* Effect.forEach(addresses, one)).flat()
        }
        const byAddress = new Map<string, Wire.NodeStatus__Output>()
        if (all._tag === "Success") for (const s of Option.getOrElse(all.success, () => [])) if (s.self?.addr) byAddress.set(s.self.addr, s)
        asked.set(target, all._tag === "Success" ? byAddress : undefined)
        return [...byAddress.entries(), ...addresses.filter((a) => !byAddress.has(a)).map((a) => [a, undefined] as const)]
      })
    let frontier = [self]
    while (frontier.length > 0 && found.size < MAX_MEMBERS) {
      const byProcess = new Map<string, Array<string>>()
      for (const address of frontier) {
        const target = Address.target(address)
        const statuses = asked.get(target)
        if (asked.has(target)) found.set(address, { address, id: ids.get(address) ?? Position.nodeId(address), status: statuses?.get(address), silentMs: null })
        else byProcess.set(target, [...(byProcess.get(target) ?? []), address])
      }
      const answers = (yield* Effect.forEach(byProcess, ([target, addresses]) => ask(target, addresses), { concurrency: 16 })).flat()
      const next = new Set<string>()
      for (const [address, status] of answers) {
        if (found.has(address)) continue
        found.set(address, { address, id: ids.get(address) ?? Position.nodeId(address), status, silentMs: null })
        if (status === undefined) continue
        for (const ref of [status.predecessor, ...status.successors]) {
          if (!ref?.addr) continue
          const id = Position.parse(ref.id)
          if (id !== undefined) ids.set(ref.addr, id)
          if (!found.has(ref.addr)) next.add(ref.addr)
        }
        for (const d of status.down) {
          if (!d.node?.addr) continue
          const id = Position.parse(d.node.id)
          if (id !== undefined) ids.set(d.node.addr, id)
          down.set(d.node.addr, Math.max(down.get(d.node.addr) ?? 0, num(d.silent_ms)))
        }
      }
      frontier = [...next].filter((a) => !found.has(a))
    }
    // Members counted down that the walk did not reach through any successor list.
    for (const [address, silentMs] of down) {
      const seen = found.get(address)
      if (seen === undefined) found.set(address, { address, id: ids.get(address) ?? Position.nodeId(address), status: undefined, silentMs })
      else if (seen.status === undefined) found.set(address, { ...seen, silentMs })
    }
    const sorted = [...found.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const members = sorted.map((f, i): Member => {
      const nextId = (sorted[i + 1] ?? sorted[0]!).id
      const s = f.status
      return {
        address: f.address,
        process: Address.target(f.address),
        id: Position.toHex(f.id as Position.Position),
        at: fraction(f.id),
        next: Position.toHex(nextId as Position.Position),
        nextAt: fraction(nextId),
        state: s !== undefined ? "up" : f.silentMs !== null ? "down" : "unreachable",
        phase: s?.phase ?? "",
        keys: num(s?.key_count),
        ownedKeys: num(s?.owned_key_count),
        copies: num(s?.replicas),
        replicatedKeys: num(s?.replicated_key_count),
        repair: s?.repair ? { kind: s.repair.kind === "handoff" ? "handoff" : "repair", done: num(s.repair.done), total: num(s.repair.total), keysPerSecond: num(s.repair.keys_per_second) } : null,
        silentMs: f.silentMs,
        httpPort: num(s?.http_port)
      }
    })
    return { at: yield* Clock.currentTimeMillis, from: self, members }
  })

/** Where a key lives on a snapshot's ring. */
export interface Location {
  /** The key's position, hex and fraction of the ring. */
  readonly position: string
  readonly at: number
  /** The member whose range holds it. */
  readonly owner: string
  /** The owner and the members that hold the other copies: the first successors in other processes. */
  readonly replicas: ReadonlyArray<string>
}

/**
 * The owner of `key` on the ring of `snapshot` and its replica set: the owner and its first
 * successors in `copies - 1` other processes, members counted down included (they keep their
 * place). Undefined for an empty ring.
 */
export const locate = (snapshot: Snapshot, key: Uint8Array, copies: number): Location | undefined => {
  const members = snapshot.members
  if (members.length === 0) return undefined
  const position = Position.position(key)
  const hex = Position.toHex(position)
  // Members are sorted by ID; the owner is the last whose ID is at or before the key, else the last (wrap).
  let index = members.length - 1
  for (let i = 0; i < members.length; i++) {
    if (members[i]!.id <= hex) index = i
    else break
  }
  const owner = members[index]!
  const replicas = [owner.address]
  const used = new Set([owner.process])
  for (let k = 1; k < members.length && replicas.length < copies; k++) {
    const m = members[(index + k) % members.length]!
    if (used.has(m.process)) continue
    used.add(m.process)
    replicas.push(m.address)
  }
  return { position: hex, at: fraction(position), owner: owner.address, replicas }
}

/**
 * What a node's admin server reports: readiness from its health status, its metrics with the
 * gauges read from every virtual node's status at scrape time, and that status as JSON, with
 * IDs in hex and counts as numbers.
 */
import type { Admin, Health, Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Context, Effect, SubscriptionRef } from "effect"
import type * as Metrics from "./Metrics.ts"

const num = (v: unknown): number => (v === undefined || v === null ? 0 : Number(v))

const ref = (r: Wire.NodeRef | null | undefined) => {
  if (!r) return null
  const id = Position.parse(String(r.id ?? ""))
  return { address: r.addr ?? "", id: id === undefined ? String(r.id) : Position.toHex(id) }
}

/** One virtual node's status in readable form. */
const readable = (s: Wire.NodeStatus) => ({
  ...ref(s.self),
  phase: s.phase ?? "",
  predecessor: ref(s.predecessor),
  successors: (s.successors ?? []).map(ref),
  keysOwned: num(s.owned_key_count),
  keysReplicated: num(s.replicated_key_count),
  copies: num(s.replicas),
  members: num(s.members),
  down: (s.down ?? []).map((d) => ({ ...ref(d.node), silentMs: num(d.silent_ms) })),
  repair: s.repair ? { kind: s.repair.kind === "handoff" ? "handoff" : "repair", done: num(s.repair.done), total: num(s.repair.total), keysPerSecond: num(s.repair.keys_per_second) } : null
})

/**
 * The port the process's admin server listens on, once it does (0 before, or without one);
 * each virtual node's status reports it, so a dashboard finds every process's page.
 */
export class AdminPort extends Context.Service<AdminPort, { port: number }>()("@crustyring/node/AdminPort") {}

/** The admin source of a node at `address`. */
export const make = <E>(
  address: string,
  health: Health.Health,
  metrics: Metrics.Service,
  statuses: ReadonlyArray<Effect.Effect<Wire.NodeStatus, E>>
): Admin.Source => {
  const ready = Effect.map(SubscriptionRef.get(health.status), (s) =>
    s === "SERVING" ? { ready: true } : { ready: false, reason: `${address} is joining or leaving` })
  const all = Effect.forEach(statuses, (s) => Effect.orDie(s))
  const status = Effect.gen(function*() {
    const [serving, vnodes] = yield* Effect.all([ready, all])
    const first = vnodes[0]!
    const owned = vnodes.reduce((a, v) => a + num(v.owned_key_count), 0)
    return {
      address,
      serving: serving.ready,
      keysStored: num(first.key_count),
      keysOwned: owned,
      keysUnderReplicated: vnodes.reduce((a, v) => a + Math.max(0, num(v.owned_key_count) - num(v.replicated_key_count)), 0),
      tombstones: num(first.tombstone_count),
      vnodes: vnodes.map(readable)
    }
  })
  return {
    ready,
    status,
    metrics: Effect.gen(function*() {
      const [serving, vnodes] = yield* Effect.all([ready, all])
      const first = vnodes[0]!
      return metrics.render({
        keysOwned: vnodes.reduce((a, v) => a + num(v.owned_key_count), 0),
        keysStored: num(first.key_count),
        tombstones: num(first.tombstone_count),
        underReplicated: vnodes.reduce((a, v) => a + Math.max(0, num(v.owned_key_count) - num(v.replicated_key_count)), 0),
        ringSize: num(first.members),
        membersDown: (first.down ?? []).length,
        transferKeysPerSecond: vnodes.reduce((a, v) => a + num(v.repair?.keys_per_second), 0),
        serving: serving.ready
      })
    })
  }
}

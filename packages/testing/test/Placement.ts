/**
 * Placement checks for the replicated model, shared by the cluster and membership tests. Each
 * key's owner is the node with the greatest ID at or before the key's position on the true ring
 * (computed here with the reference `Ring`), and its replica set is the owner followed by the
 * next `replicas - 1` nodes clockwise, fewer when the ring is smaller.
 *
 * Two strengths of check:
 * - `placementProblems`, right after the traffic stops: each owner holds the last acknowledged
 *   value, and each key is owned exactly once (the owned counts sum to the live keys). Other
 *   replicas may still lag behind the owner, and a write sent while a successor list was stale
 *   may have left a copy on a node outside the replica set, for repair to move.
 * - `settledProblems`, once repair has caught up: every key and tombstone is held by exactly
 *   its replica set, every copy with the last acknowledged value. Poll it with `eventually`.
 */
import { assert } from "@effect/vitest"
import { Position, Ring } from "@crustyring/ring"
import { Duration, Effect, Option, Schedule, Stream } from "effect"
import type { TestCluster } from "../src/index.ts"

type ClusterNode = TestCluster.ClusterNode

const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8")
const bytes = (s: string): Uint8Array => Buffer.from(s, "utf8")
const ALL = Position.make(0n)

/** The replica count of the nodes' default config (`NodeConfig.defaults.replicas`). */
export const DEFAULT_REPLICAS = 3

/** What the cluster should hold. */
export interface Expected {
  /** Key -> last acknowledged value, for every key whose last acknowledged operation stored one. */
  readonly present: ReadonlyMap<string, string>
  /** Keys whose last acknowledged operation deleted them. */
  readonly deleted?: ReadonlyArray<string>
  /** The cluster's replica count. @default 3 */
  readonly replicas?: number
}

/** The true ring over `nodes`: owner and replica set of a key. */
export const trueRing = (nodes: ReadonlyArray<ClusterNode>, replicas: number = DEFAULT_REPLICAS) => {
  const ring = Ring.make(nodes.map((n) => ({ id: n.node.self.id, node: n })))
  return {
    owner: (key: string): ClusterNode => Ring.owner(ring, Position.position(bytes(key)))!.node,
    /** The owner first, then its successors. */
    replicaSet: (key: string): ReadonlyArray<ClusterNode> =>
      Ring.replicas(ring, Position.position(bytes(key)), replicas).map((m) => m.node),
    /** Each node with the range `[start, end)` it owns. */
    ranges: Ring.ranges(ring).map((r) => ({ node: r.member.node, start: r.start, end: r.end }))
  }
}

/** One copy of a key: where, and its value (undefined for a tombstone). */
interface Copy {
  readonly node: ClusterNode
  readonly value: string | undefined
}

/** Every entry on every node, tombstones included: key -> copies. */
export const copiesOf = (nodes: ReadonlyArray<ClusterNode>) =>
  Effect.gen(function*() {
    const copies = new Map<string, Array<Copy>>()
    for (const node of nodes) {
      const entries = yield* Effect.orDie(Stream.runCollect(node.node.storage.scan(ALL, ALL)))
      for (const e of entries) {
        const key = text(e.key)
        const at = copies.get(key) ?? []
        at.push({ node, value: e.value === undefined ? undefined : text(e.value) })
        copies.set(key, at)
      }
    }
    return copies as ReadonlyMap<string, ReadonlyArray<Copy>>
  })

const show = (value: string | undefined) => (value === undefined ? "a tombstone" : JSON.stringify(value))
const addresses = (nodes: ReadonlyArray<ClusterNode>) => `[${nodes.map((n) => n.address).join(", ")}]`

/**
 * Placement right after the traffic stopped, before repair has necessarily caught up:
 * - each present key's owner holds its last acknowledged value, and each deleted key's owner
 *   holds no live value;
 * - a key that was never acknowledged has no live copy anywhere;
 * - the live keys each node holds in its own range sum to the number of present keys, and each
 *   node's scan agrees with its count.
 */
export const placementProblems = (nodes: ReadonlyArray<ClusterNode>, expected: Expected) =>
  Effect.gen(function*() {
    const ring = trueRing(nodes, expected.replicas)
    const deleted = new Set(expected.deleted ?? [])
    const copies = yield* copiesOf(nodes)
    const problems: Array<string> = []

    for (const [key, want] of expected.present) {
      const owner = ring.owner(key)
      const atOwner = copies.get(key)?.find((c) => c.node === owner)
      if (atOwner === undefined) problems.push(`${key} is not on its owner ${owner.address}`)
      else if (atOwner.value !== want) {
        problems.push(`${key} on its owner ${owner.address} is ${show(atOwner.value)}, last acknowledged ${JSON.stringify(want)}`)
      }
    }
    for (const key of deleted) {
      const owner = ring.owner(key)
      const atOwner = copies.get(key)?.find((c) => c.node === owner)
      if (atOwner?.value !== undefined) {
        problems.push(`${key} was deleted, but its owner ${owner.address} holds ${show(atOwner.value)}`)
      }
    }
    for (const [key, at] of copies) {
      if (!expected.present.has(key) && !deleted.has(key)) {
        const live = at.filter((c) => c.value !== undefined)
        if (live.length > 0) problems.push(`${key} was never acknowledged, but ${addresses(live.map((c) => c.node))} hold it`)
      }
    }

    let owned = 0
    for (const { end, node, start } of ring.ranges) {
      owned += yield* Effect.orDie(node.node.storage.count(start, end))
      const count = yield* Effect.orDie(node.node.storage.count(ALL, ALL))
      const live = [...copies.values()].filter((at) => at.some((c) => c.node === node && c.value !== undefined)).length
      if (count !== live) problems.push(`${node.address}: count says ${count} live keys, scan found ${live}`)
    }
    if (owned !== expected.present.size) {
      problems.push(`the nodes own ${owned} live keys in all, expected ${expected.present.size}`)
    }
    return problems
  })

/**
 * Placement once repair has settled: `placementProblems`, and every present key is held live,
 * with its last acknowledged value, by exactly its replica set (`min(replicas, ring size)`
 * nodes), and every deleted key by tombstones there (or by nothing at all) and nowhere else.
 */
export const settledProblems = (nodes: ReadonlyArray<ClusterNode>, expected: Expected) =>
  Effect.gen(function*() {
    const problems = [...(yield* placementProblems(nodes, expected))]
    const ring = trueRing(nodes, expected.replicas)
    const copies = yield* copiesOf(nodes)
    const exactly = (key: string, want: string | undefined) => {
      const set = ring.replicaSet(key)
      const at = copies.get(key) ?? []
      const missing = set.filter((n) => !at.some((c) => c.node === n))
      const wrong = at.filter((c) => set.includes(c.node) && c.value !== want)
      const outside = at.filter((c) => !set.includes(c.node))
      if (missing.length > 0 || wrong.length > 0 || outside.length > 0) {
        problems.push(
          `${key} should be ${show(want)} on exactly ${addresses(set)}; held as ` +
            (at.length === 0 ? "nothing" : at.map((c) => `${show(c.value)} on ${c.node.address}`).join(", "))
        )
      }
    }
    for (const [key, want] of expected.present) exactly(key, want)
    // A tombstone may be missing everywhere (never written, or collected), but not on some copies only.
    for (const key of expected.deleted ?? []) if (copies.has(key)) exactly(key, undefined)
    return problems
  })

/** Fails the test with the first few problems when there are any. */
export const noProblems = (what: string, problems: ReadonlyArray<string>) =>
  assert.strictEqual(
    problems.length,
    0,
    `${what}: ${problems.length} problem(s):\n  ${problems.slice(0, 25).join("\n  ")}`
  )

/**
 * Polls `check` every 50 ms until it reports no problem; fails with the last problems after
 * `timeout`. Returns how long it took.
 */
export const eventually = <E, R>(
  what: string,
  check: Effect.Effect<ReadonlyArray<string>, E, R>,
  timeout: Duration.Input = "15 seconds"
) =>
  Effect.gen(function*() {
    const started = Date.now()
    let last: ReadonlyArray<string> = []
    const done = yield* check.pipe(
      Effect.map((problems) => {
        last = problems
        return problems.length === 0
      }),
      Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (ok) => ok }),
      Effect.timeoutOption(timeout)
    )
    if (Option.isNone(done)) noProblems(`${what} (not reached within ${Duration.format(Duration.fromInputUnsafe(timeout))})`, last)
    return Date.now() - started
  })

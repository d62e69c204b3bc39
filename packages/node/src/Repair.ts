/**
 * Re-replication and anti-entropy. A ready node runs rounds, every `repairInterval` and at once
 * when its replica set changes or a replica missed a write:
 *
 * 1. A range this node took over after a crash (`incoming` of kind `repair`) is pulled from the
 *    replicas of the range, which hold copies of it.
 * 2. Its own range is compared with each replica by bucket digests; the buckets that differ
 *    are pulled and pushed, so both sides end with the newest version of every key.
 * 3. Copies of ranges this node is no longer a replica of go to their owners and are dropped.
 * 4. Tombstones older than `tombstoneGrace` are collected.
 *
 * Moves are rate-limited to `repairRate` keys per second, so repair does not starve clients.
 * The round's progress and the count of keys confirmed at full copies feed the status RPC.
 */
import { Address } from "@crustyring/protocol"
import { Interval, Position } from "@crustyring/ring"
import { Clock, Context, Duration, Effect, Layer, Option, Queue, Stream, SubscriptionRef } from "effect"
import * as Digest from "./Digest.ts"
import * as Membership from "./Membership.ts"
import * as Metrics from "./Metrics.ts"
import { NodeConfig, perVnode } from "./NodeConfig.ts"
import { Peers } from "./Peers.ts"
import { Replication, storageError } from "./Replication.ts"
import { Router } from "./Router.ts"
import { type Entry, Storage } from "./Storage.ts"
import * as Version from "./Version.ts"
import { VirtualNodes } from "./VirtualNodes.ts"
import * as Events from "./Events.ts"

/** Keys moved so far out of those to move, and the rate. */
export interface Progress {
  readonly done: number
  readonly total: number
  readonly keysPerSecond: number
}

/** What the repair loop reports. */
export interface Service {
  /** The move under way, if any. */
  readonly progress: Effect.Effect<Option.Option<Progress>>
  /** Owned keys that the last round confirmed on every replica. */
  readonly replicated: Effect.Effect<number>
  /** Runs the loop for as long as the scope lives. */
  readonly run: Effect.Effect<void>
}

/** The repair loop. */
export class Repair extends Context.Service<Repair, Service>()("@crustyring/node/Repair") {}

/** Entries per push. Values are at most a few MiB in all, under gRPC's message limit. */
const PUSH_BATCH = 64
const PUSH_BATCH_BYTES = 2 * 1024 * 1024

/** The replica set and incoming range, as a string: a change starts a round at once. */
const signature = (view: Membership.View, replicas: number) =>
  [
    view.phase,
    ...Membership.replicaSet(view, replicas).map((m) => m.id),
    Option.match(view.incoming, { onNone: () => "", onSome: (i) => `${i.kind}:${i.start}:${i.end}` })
  ].join(",")

/** The repair loop over the node's services. */
export const make = Effect.gen(function*() {
  const config = yield* NodeConfig
  const membership = yield* Membership.Membership
  const storage = yield* Storage
  const peers = yield* Peers
  const replication = yield* Replication
  const router = yield* Router
  const vnodes = yield* VirtualNodes
  const clock = yield* Clock.Clock
  const now = () => clock.currentTimeMillisUnsafe()

  let current: { done: number; total: number; readonly started: number } | undefined
  let replicated = 0

  const throttled = <A, E, R>(stream: Stream.Stream<A, E, R>) =>
    stream.pipe(
      Stream.rechunk(16),
      Stream.throttle({ cost: (chunk) => chunk.length, units: config.repairRate, duration: "1 second", burst: 0 })
    )

  const metrics = yield* Metrics.current
  const moved = (n: number) =>
    Effect.sync(() => {
      if (current) current.done += n
      metrics.moved("repair", n)
    })

  /** Pulls `[start, end)` from `from` and merges it here. */
  const pull = (from: Membership.Member, start: Position.Position, end: Position.Position) =>
    peers.fetchRange(from.address, start, end).pipe(
      throttled,
      Stream.mapEffect((entry) => Effect.andThen(replication.accept(entry), moved(1))),
      Stream.runCount
    )

  /** Pushes this node's entries in `[start, end)` to `to`. */
  const push = (to: Membership.Member, start: Position.Position, end: Position.Position) =>
    storage.scan(start, end).pipe(
      Stream.mapError(storageError),
      throttled,
      batches,
      Stream.runForEach((batch) => Effect.andThen(peers.push(to.address, batch), moved(batch.length)))
    )

  /** Groups entries into pushes of at most PUSH_BATCH entries and about PUSH_BATCH_BYTES. */
  interface Batch {
    readonly batch: Array<Entry>
    readonly bytes: number
  }
  const batches = <E, R>(stream: Stream.Stream<Entry, E, R>): Stream.Stream<ReadonlyArray<Entry>, E, R> =>
    Stream.mapAccum(
      stream,
      (): Batch => ({ batch: [], bytes: 0 }),
      (acc: Batch, entry: Entry): readonly [Batch, ReadonlyArray<ReadonlyArray<Entry>>] => {
        const size = entry.key.length + (entry.value?.length ?? 0) + 32
        if (acc.batch.length > 0 && (acc.batch.length >= PUSH_BATCH || acc.bytes + size > PUSH_BATCH_BYTES)) {
          return [{ batch: [entry], bytes: size }, [acc.batch]]
        }
        acc.batch.push(entry)
        return [{ batch: acc.batch, bytes: acc.bytes + size }, []]
      },
      { onHalt: (acc: Batch) => (acc.batch.length > 0 ? [acc.batch] : []) }
    )

  const localDigest = (start: Position.Position, end: Position.Position, buckets: number) =>
    Digest.digest(storage.scan(start, end).pipe(Stream.mapError(storageError)), start, end, buckets)

  /** Pulls a range taken over after a crash from its replicas; clears it once one succeeded. */
  const catchUp = Effect.gen(function*() {
    const view = yield* membership.view
    if (Option.isNone(view.incoming) || view.incoming.value.kind !== "repair") return
    busy = true
    const incoming = view.incoming.value
    const holders = Membership.replicaSet(view, config.replicas)
    let pulled = 0
    let succeeded = holders.length === 0
    for (const holder of holders) {
      const result = yield* Effect.result(pull(holder, incoming.start, incoming.end))
      if (result._tag === "Success") {
        pulled += result.success
        succeeded = true
      } else {
        yield* Membership.warnAbout(
          vnodes.members,
          holder,
          `could not pull [${Position.toHex(incoming.start)}, ${Position.toHex(incoming.end)}) from ${holder.address}: ${result.failure.message}`
        )
      }
    }
    if (!succeeded) return
    yield* membership.update((v) =>
      Option.isSome(v.incoming) && v.incoming.value === incoming ? { ...v, incoming: Option.none() } : v
    )
    yield* Events.emit({
      kind: "repair-finished",
      node: membership.self.address,
      range: `${Position.toHex(incoming.start)}-${Position.toHex(incoming.end)}`,
      keys: pulled,
      message: `took over [${Position.toHex(incoming.start)}, ${Position.toHex(incoming.end)}) after a crash: ${pulled} entries from ${holders.length} replicas`
    })
  })

  /** Makes one replica agree with this node on the owned range; returns the keys still differing. */
  const syncReplica = (
    replica: Membership.Member,
    start: Position.Position,
    end: Position.Position,
    buckets: number,
    pushing = true
  ) =>
    Effect.gen(function*() {
      const mine = yield* localDigest(start, end, buckets)
      const theirs = yield* peers.digest(replica.address, start, end, buckets)
      const differing = Digest.differing(mine, theirs)
      if (differing.length === 0) return 0
      busy = true
      const work = differing.reduce((n, i) => n + (mine.counts[i] ?? 0) + (theirs.counts[i] ?? 0), 0)
      current ??= { done: 0, total: 0, started: now() }
      current.total += work
      yield* Effect.logDebug(`${differing.length} of ${buckets} buckets differ on ${replica.address}; moving up to ${work} keys`)
      for (const i of differing) {
        const [from, to] = Digest.bucketRange(i, start, end, buckets)
        yield* pull(replica, from, to)
        if (pushing) yield* push(replica, from, to)
      }
      if (!pushing) return 0
      const after = Digest.differing(yield* localDigest(start, end, buckets), yield* peers.digest(replica.address, start, end, buckets))
      return after.reduce((n, i) => n + (mine.counts[i] ?? 0), 0)
    })

  const antiEntropy = Effect.gen(function*() {
    const view = yield* membership.view
    if (Option.isSome(view.incoming)) return
    const start = view.self.id
    const end = Membership.next(view).id
    const owned = yield* Effect.mapError(storage.count(start, end), storageError)
    const replicas = Membership.replicaSet(view, config.replicas)
    const buckets = Digest.bucketsFor(owned, start, end)
    let missing = 0
    for (const replica of replicas) {
      const result = yield* Effect.result(syncReplica(replica, start, end, buckets))
      if (result._tag === "Success") missing = Math.max(missing, result.success)
      else {
        missing = owned
        yield* Membership.warnAbout(vnodes.members, replica, `repair with ${replica.address} failed: ${result.failure.message}`)
      }
    }
    // Only if the range did not change meanwhile.
    const now = yield* membership.view
    replicated = now.self.id === start && Membership.next(now).id === end ? Math.max(0, owned - missing) : 0
  })

  /**
   * The furthest predecessor whose range this node replicates: walking back, a predecessor's
   * replica set reaches this node as long as the nodes passed span fewer than `replicas`
   * processes, none of them this node's own. Undefined when this node replicates every range,
   * or when the walk cannot tell (then nothing is dropped).
   */
  const furthestReplicated = (view: Membership.View) =>
    Effect.gen(function*() {
      if (Option.isNone(view.predecessor)) return undefined
      const me = Membership.processOf(view.self)
      const passed = new Set<string>()
      let first = view.self
      let candidate = view.predecessor.value
      for (let steps = 0; steps <= membership.successorListLength; steps++) {
        // Round the ring already: this node is a replica of every range.
        if (candidate.id === view.self.id) return undefined
        const process = Membership.processOf(candidate)
        if (process === me || (!passed.has(process) && passed.size >= config.replicas - 1)) return first
        passed.add(process)
        first = candidate
        // Without virtual nodes each predecessor is a process of its own: no need to look further.
        if (config.vnodes === 1 && passed.size >= config.replicas - 1) return first
        const info = yield* peers.neighbors(candidate.address)
        if (Option.isNone(info.predecessor)) return undefined
        candidate = info.predecessor.value
      }
      return undefined
    })

  /**
   * Where the copies kept by the virtual node of this process before this one end: the end of
   * its own range. This node itself without virtual nodes.
   */
  const previousEnd = (view: Membership.View) =>
    Effect.gen(function*() {
      let previous = view
      for (const sibling of vnodes.members) {
        if (sibling.self.id === view.self.id) continue
        const v = yield* sibling.view
        if (v.phase !== "ready" || Option.isSome(v.incoming)) return undefined
        const better = previous.self.id === view.self.id ||
          Interval.distance(v.self.id, view.self.id) < Interval.distance(previous.self.id, view.self.id)
        if (better) previous = v
      }
      return { from: previous.self.id, end: Membership.next(previous).id }
    })

  /**
   * Copies this process holds of ranges none of its virtual nodes replicates: a join moved a
   * replica set, a range was handed on, or a write went out on an older view. This node keeps
   * `[p, next)`, where `p` is the furthest predecessor it replicates; the copies between the
   * end of what the process's previous virtual node keeps and `p` are handed to their owners
   * (merged there by version) and then dropped, each only at the version handed on, so a stale
   * copy can never come back after a delete and a write merged meanwhile stays. The span must be the same in two rounds in a row, so a ring in motion drops
   * nothing.
   */
  let lastForeign: string | undefined
  const dropForeign = Effect.gen(function*() {
    const view = yield* membership.view
    if (view.phase !== "ready" || Option.isSome(view.incoming) || Option.isNone(view.predecessor)) return
    if (Membership.holdsEverything(view, config.replicas, membership.successorListLength)) return
    const first = yield* furthestReplicated(view)
    const previous = yield* previousEnd(view)
    if (first === undefined || previous === undefined) return
    const start = previous.end
    const end = first.id
    // Both ends lie after the previous virtual node (itself without them); nothing lies between
    // unless the kept span starts after the previous one ends.
    const kept = Interval.distance(previous.from, end) || Position.RING_SIZE
    if (start === end || Interval.distance(previous.from, start) >= kept) return
    const span = `${start}:${end}`
    const held = (yield* localDigest(start, end, 1)).counts[0] ?? 0
    if (held === 0) return
    if (span !== lastForeign) {
      // Seen once: the next round, soon, drops the copies if the span holds.
      lastForeign = span
      busy = true
      return
    }
    // Hand the entries over in ring order, one owner's range at a time.
    let owner: { readonly member: Membership.Member; readonly end: Position.Position; readonly start: Position.Position } | undefined
    let batch: Array<Entry> = []
    let batchBytes = 0
    // Everything handed on: only these versions are dropped, so a write merged meanwhile stays.
    const handed: Array<Entry> = []
    let local = false
    const flush = Effect.suspend(() => {
      if (!owner || batch.length === 0) return Effect.void
      const out = batch
      batch = []
      batchBytes = 0
      return Effect.andThen(peers.push(owner.member.address, out), Effect.andThen(moved(out.length), Effect.sync(() => void handed.push(...out))))
    })
    yield* storage.scan(start, end).pipe(
      Stream.mapError(storageError),
      throttled,
      Stream.runForEach((entry) =>
        Effect.gen(function*() {
          const position = Position.position(entry.key)
          if (!owner || !Interval.inHalfOpen(position, owner.start, owner.end)) {
            yield* flush
            const found = yield* router.findOwner(position, 0)
            owner = { member: found.owner, start: found.owner.id, end: found.successor.id }
          }
          // An owner in this process shares the store: the views moved, so leave it for a later round.
          if (Membership.processOf(owner.member) === Membership.processOf(view.self)) {
            local = true
            return
          }
          const size = entry.key.length + (entry.value?.length ?? 0)
          if (batch.length > 0 && batchBytes + size > PUSH_BATCH_BYTES) yield* flush
          batch.push(entry)
          batchBytes += size
          if (batch.length >= PUSH_BATCH) yield* flush
        })
      )
    )
    yield* flush
    if (local) return
    const dropped = yield* Effect.mapError(storage.discard(handed), storageError)
    yield* Effect.logInfo(
      `handed ${dropped} entries of [${Position.toHex(start)}, ${Position.toHex(end)}) to their owners and dropped them: this node is no longer their replica`
    ).pipe(Effect.annotateLogs({ range: `${Position.toHex(start)}-${Position.toHex(end)}`, keys: dropped }))
  })

  // The store is shared: the first virtual node collects for all.
  const collect = Address.vnode(membership.self.address) !== 0 ? Effect.void : Effect.gen(function*() {
    const before = Version.fromMillis(now() - Duration.toMillis(config.tombstoneGrace))
    const purged = yield* Effect.mapError(storage.purge(before), storageError)
    if (purged > 0) yield* Effect.logInfo(`collected ${purged} tombstones past their grace period`)
  })

  // Whether the last round found work: copies differed, a range arrived, or copies to drop.
  let busy = false
  const round = Effect.gen(function*() {
    busy = false
    const view = yield* membership.view
    if (view.phase !== "ready") return
    yield* catchUp
    yield* antiEntropy
    yield* dropForeign
    yield* collect
  }).pipe(Effect.ensuring(Effect.sync(() => {
    current = undefined
  })))

  /**
   * Waits for the next reason to run a round: a missed write, a view change, or the period:
   * `repairInterval` after a round that found work, and that stretched for the number of
   * virtual nodes (`perVnode`) after a quiet one.
   */
  const quiet = perVnode(config, config.repairInterval)
  const wait = (seen: string) =>
    Effect.raceAll([
      Effect.sleep(busy ? config.repairInterval : quiet),
      Queue.take(replication.missed),
      SubscriptionRef.changes(membership.ref).pipe(
        Stream.filter((v) => signature(v, config.replicas) !== seen),
        Stream.runHead
      )
    ])

  const run = Effect.gen(function*() {
    for (;;) {
      const seen = signature(yield* membership.view, config.replicas)
      yield* round.pipe(Effect.catchCause((cause) => Effect.logWarning("repair round failed", cause)))
      yield* wait(seen)
    }
  })

  return {
    progress: Effect.sync(() => {
      if (!current || current.total === 0) return Option.none()
      const seconds = Math.max(0.001, (now() - current.started) / 1000)
      return Option.some({ done: Math.min(current.done, current.total), total: current.total, keysPerSecond: current.done / seconds })
    }),
    replicated: Effect.sync(() => replicated),
    run
  } satisfies Service
})

/** The repair loop over the node's services. */
export const layer = Layer.effect(Repair, make)


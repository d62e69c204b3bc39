/**
 * Moving a range between nodes. The giving side streams a snapshot and deletes nothing until
 * the receiver says it holds the range; the receiving side absorbs the stream, retrying on
 * failure, and only then releases the giver. A dropped stream loses nothing.
 */
import { Errors } from "@crustyring/protocol"
import { Interval, Position } from "@crustyring/ring"
import { Clock, Deferred, Effect, Option, Schedule, Stream } from "effect"
import * as Membership from "./Membership.ts"
import * as Metrics from "./Metrics.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { Peers } from "./Peers.ts"
import { Replication, storageError } from "./Replication.ts"
import { type Entry, Storage } from "./Storage.ts"
import { VirtualNodes } from "./VirtualNodes.ts"
import * as Events from "./Events.ts"
import * as Transfers from "./Transfers.ts"

/** Whether `[a, b)` and `[c, d)` share a position. */
const overlaps = (a: Position.Position, b: Position.Position, c: Position.Position, d: Position.Position) =>
  Interval.inHalfOpen(a, c, d) || Interval.inHalfOpen(c, a, b)

/** The giving side: a snapshot of the local entries in `[start, end)`. */
export const serve = (start: Position.Position, end: Position.Position): Stream.Stream<Entry, Errors.RpcError, Storage> =>
  Stream.unwrap(Effect.gen(function*() {
    const storage = yield* Storage
    return storage.scan(start, end).pipe(Stream.mapError(storageError))
  }))

/**
 * The giving side: drops `[start, end)` once the receiver holds it. Refused for a range this
 * node owns; a node that holds a copy of every range (the ring is no larger than the replica
 * count) keeps its copy as a replica, and so does a virtual node, whose store is shared.
 */
export const release = Effect.fn("Handoff.release")(function*(start: Position.Position, end: Position.Position) {
  const membership = yield* Membership.Membership
  const storage = yield* Storage
  const config = yield* NodeConfig
  const view = yield* membership.view
  const next = Membership.next(view)
  if (view.phase === "ready" && overlaps(start, end, view.self.id, next.id)) {
    return yield* new Errors.FailedPrecondition({
      message: `refusing to release [${Position.toHex(start)}, ${Position.toHex(end)}): it overlaps this node's range`
    })
  }
  const leaving = view.phase === "leaving" && start === view.self.id
  if (!leaving && Membership.holdsEverything(view, config.replicas, membership.successorListLength)) {
    yield* Effect.logInfo(`keeping [${Position.toHex(start)}, ${Position.toHex(end)}) as a replica`)
    return
  }
  if (config.vnodes > 1) {
    // The store is shared with this process's other virtual nodes, which may own or replicate
    // the range; repair drops what none of them needs.
    if (leaving) yield* Deferred.succeed(membership.released, undefined)
    return
  }
  const removed = yield* Effect.mapError(storage.removeRange(start, end), storageError)
  yield* Effect.logInfo(`released ${removed} keys of [${Position.toHex(start)}, ${Position.toHex(end)})`)
  if (leaving) yield* Deferred.succeed(membership.released, undefined)
})

/** Backoff from 100 ms, capped at 2 s, about half a minute in all. */
const retry = Schedule.min([Schedule.exponential("100 millis", 2), Schedule.spaced("2 seconds")]).pipe(
  Schedule.jittered,
  Schedule.upTo({ times: 20 })
)

/**
 * The receiving side: absorbs the incoming range of the view from its giver, then clears the
 * hand-off state and releases the giver. Retries on failure; the giver keeps its copy until then.
 * Entries merge by version, so writes made here meanwhile are never overwritten by older copies.
 */
export const receive = Effect.fn("Handoff.receive")(function*() {
  const membership = yield* Membership.Membership
  const replication = yield* Replication
  const peers = yield* Peers
  const view = yield* membership.view
  if (Option.isNone(view.incoming) || view.incoming.value.kind !== "handoff") return
  const incoming = view.incoming.value
  const { from, start, end } = incoming
  const processMembers = Option.match(yield* Effect.serviceOption(VirtualNodes), { onNone: () => [membership], onSome: (v) => v.members })
  // A virtual node of this process shares the store: the range is here already.
  const local = Membership.processOf(from) === Membership.processOf(view.self)
  // Progress for the status: keys received of the giver's count (one digest bucket holds it).
  const transfers = yield* Effect.serviceOption(Transfers.Transfers)
  if (!local && Option.isSome(transfers)) {
    const total = yield* peers.digest(from.address, start, end, 1).pipe(
      Effect.map((d) => d.counts.reduce((a, n) => a + n, 0)),
      Effect.orElseSucceed(() => 0)
    )
    transfers.value.current = { done: 0, total, started: yield* Clock.currentTimeMillis }
  }
  const received = Effect.sync(() => {
    if (Option.isSome(transfers) && transfers.value.current) transfers.value.current.done++
  })
  const fetched = local ? Option.some(0) : yield* peers.fetchRange(from.address, start, end).pipe(
    Stream.mapEffect((entry) => Effect.tap(replication.accept(entry), () => received)),
    Stream.runCount,
    Effect.tapError((e) => Membership.warnAbout(processMembers, from, `hand-off from ${from.address} failed, retrying: ${e.message}`)),
    Effect.retry(retry),
    Effect.option,
    Effect.ensuring(Effect.sync(() => {
      if (Option.isSome(transfers)) transfers.value.current = undefined
    }))
  )
  if (Option.isNone(fetched)) {
    // The giver is gone (it crashed, or was cut off, while it handed the range over). The
    // replicas of the range hold copies of it: repair it from them instead, and read through
    // to them meanwhile.
    yield* membership.update((v) =>
      Option.isSome(v.incoming) && v.incoming.value === incoming
        ? { ...v, incoming: Option.some({ kind: "repair" as const, from: Membership.next(v), start, end }) }
        : v
    )
    yield* Effect.logWarning(
      `could not fetch [${Position.toHex(start)}, ${Position.toHex(end)}) from ${from.address}; repairing it from the replicas instead`
    ).pipe(Effect.annotateLogs({ peer: from.address, range: `${Position.toHex(start)}-${Position.toHex(end)}` }))
    return
  }
  const count = fetched.value
  const metrics = yield* Metrics.current
  metrics.moved("handoff", count)
  yield* membership.update((v) =>
    Option.isSome(v.incoming) && v.incoming.value === incoming ? { ...v, incoming: Option.none() } : v
  )
  yield* peers.releaseRange(from.address, start, end).pipe(Effect.retry(retry))
  yield* Events.emit({
    kind: "handoff-finished",
    node: view.self.address,
    peer: from.address,
    range: `${Position.toHex(start)}-${Position.toHex(end)}`,
    keys: count,
    message: `received ${count} keys of [${Position.toHex(start)}, ${Position.toHex(end)}) from ${from.address}`
  })
})

/**
 * Periodic stabilization, Chord's stabilize/notify mirrored for `[id, next)` ownership. Each
 * period a ready node asks its successor for its neighbours, adopts a closer successor if one
 * appeared, refreshes its successor list, and notifies the successor that it may be its
 * predecessor. Joins and leaves set these
 * pointers directly; stabilization converges what they could not, e.g. after concurrent joins
 * or a crash.
 */
import { Address } from "@crustyring/protocol"
import { Interval } from "@crustyring/ring"
import { Clock, Effect, Option, SubscriptionRef } from "effect"
import * as Membership from "./Membership.ts"
import { NodeConfig, perVnode } from "./NodeConfig.ts"
import { type NeighborInfo, Peers } from "./Peers.ts"
import { VirtualNodes } from "./VirtualNodes.ts"

/** The list up to where it wraps round to `self`, without repeats. */
const untilSelf = (self: Membership.Member, members: ReadonlyArray<Membership.Member>) => {
  const seen = new Set<bigint>()
  const out: Array<Membership.Member> = []
  for (const m of members) {
    if (m.id === self.id) break
    if (!seen.has(m.id)) {
      seen.add(m.id)
      out.push(m)
    }
  }
  return out
}

/**
 * Forgets members a neighbour says left or were removed: they are no longer probed, and the
 * news travels on to this node's own predecessor.
 */
const forget = (membership: Membership.Service, gone: ReadonlyArray<Membership.Member>) =>
  Effect.flatMap(Clock.currentTimeMillis, (at) =>
    Effect.sync(() => {
      for (const m of gone) Membership.forget(membership, m, at)
    }))

/** A virtual node's question for this round: the neighbours of its successor. */
interface Ask {
  readonly membership: Membership.Service
  readonly self: Membership.Member
  readonly successor: Membership.Member
}

/**
 * What a virtual node does with its successor's answer: adopt a closer successor if one
 * appeared, refresh the successor list, and notify the successor unless it already knows us.
 * Returns whether anything changed or needed telling.
 */
const adopt = Effect.fnUntraced(function*(peers: Peers["Service"], { membership, self, successor }: Ask, info: NeighborInfo) {
  const { gone, predecessor, successors } = info
  yield* forget(membership, gone)
  // A node between us and our successor: it should be our successor.
  const closer = Option.filter(
    predecessor,
    (p) => p.id !== self.id && !Membership.isDown(membership, p.id) && Interval.inOpen(p.id, self.id, successor.id)
  )
  // Adopt it only if it serves: a node that is leaving still answers, but owns nothing.
  const serving = Option.isSome(closer)
    ? yield* peers.status(closer.value.address).pipe(
      Effect.map((s) => s.phase === "ready"),
      Effect.orElseSucceed(() => false)
    )
    : false
  const next = Option.isSome(closer) && serving ? closer.value : successor
  // Routine ring maintenance (a node joined in between, or a pointer skipped a member while
  // neighbours left), not a failure: logged at info.
  if (next.id !== successor.id) yield* Effect.logInfo(`${self.address}: adopting ${next.address} as successor (was ${successor.address})`)
  // Down members stay out, even while the successor still lists them, until our own probe
  // finds them serving again.
  const theirs = successors.filter((m) => !Membership.isDown(membership, m.id))
  const list = untilSelf(self, next.id === successor.id ? [successor, ...theirs] : [next, successor, ...theirs])
    .slice(0, membership.successorListLength)
  let changed = false
  yield* membership.update((v) => {
    // Only if no join or leave changed the successor meanwhile, and only if the list changed:
    // an unchanged view stays the same object, so nothing watching the view wakes for nothing.
    if (Membership.next(v).id !== successor.id || v.phase !== "ready" || sameMembers(v.successors, list)) return v
    changed = true
    return { ...v, successors: list }
  })
  // A successor that already has this node as its predecessor needs no notice.
  const known = next.id === successor.id && Option.exists(predecessor, (p) => p.id === self.id)
  if (!known) yield* peers.notify(next.address, self).pipe(Effect.ignore)
  return changed || !known || gone.length > 0
})

/** Whether two member lists name the same members in the same order. */
const sameMembers = (a: ReadonlyArray<Membership.Member>, b: ReadonlyArray<Membership.Member>) =>
  a.length === b.length && a.every((m, k) => m.id === b[k]!.id && m.address === b[k]!.address)

/**
 * One round of stabilization for every ready virtual node of this process. The questions are
 * grouped by the process that runs each successor, and each process is asked once
 * (`GetNeighborsBatch`), so a round costs one call per peer process, not one per position.
 * Never fails: a peer that does not answer is logged and skipped; dropping dead neighbours is
 * the failure detector's job. Returns whether the round changed anything or found a peer silent.
 * `only` limits the round to some virtual nodes: one that has just joined is stabilized at once.
 */
export const stabilize = Effect.fn("Stabilizer.stabilize")(function*(only?: ReadonlyArray<Membership.Service>) {
  const vnodes = yield* VirtualNodes
  const peers = yield* Peers
  const asks = new Map<string, Array<Ask>>()
  let changed = false
  for (const membership of only ?? vnodes.members) {
    const view = yield* membership.view
    if (view.phase !== "ready") continue
    const self = view.self
    const successor = Membership.next(view)
    // Alone, but a node has notified us as its successor: a ring is merging into this one (a
    // healed partition, or a ring that formed apart). Take it as successor (Chord's rule); it
    // may have served our range meanwhile, so the range is repaired from the replicas.
    if (successor.id === self.id && Option.isSome(view.predecessor) && view.predecessor.value.id !== self.id) {
      const other = view.predecessor.value
      yield* membership.update((v) => Membership.withReturned(v, other, membership.successorListLength))
      yield* Effect.logWarning(`${self.address}: alone with ${other.address} as predecessor: taking it as successor`)
      changed = true
      continue
    }
    if (successor.id === self.id) continue
    const target = Address.target(successor.address)
    const group = asks.get(target)
    if (group) group.push({ membership, self, successor })
    else asks.set(target, [{ membership, self, successor }])
  }
  yield* Effect.forEach(asks, ([target, group]) =>
    Effect.flatMap(Effect.result(peers.neighborsBatch(target, group.map((a) => Address.vnode(a.successor.address)))), (answer) =>
      Effect.forEach(group, (ask, k) => {
        if (answer._tag === "Failure") {
          changed = true
          return Effect.logDebug(`${ask.self.address}: successor ${ask.successor.address} did not answer: ${answer.failure.message}`)
        }
        const info = answer.success[k]!
        if (Option.isNone(info)) {
          changed = true
          return Effect.logDebug(`${ask.self.address}: ${target} no longer runs successor ${ask.successor.address}`)
        }
        return Effect.map(adopt(peers, ask, info.value), (c) => void (changed ||= c))
      }, { discard: true })), { concurrency: "unbounded", discard: true })
  return changed
})

/**
 * Runs stabilization for all of the process's virtual nodes while the scope lives, one loop per
 * process. A round that changed something is followed by another after `stabilizeInterval`, so
 * a ring in motion converges at the configured pace; a quiet ring's rounds come at the period
 * stretched for the number of virtual nodes (`perVnode`).
 */
export const run = Effect.gen(function*() {
  const config = yield* NodeConfig
  const vnodes = yield* VirtualNodes
  const quiet = perVnode(config, config.stabilizeInterval)
  for (;;) {
    const changed = yield* Effect.suspend(() => stabilize()).pipe(
      Effect.catchCause((cause) => Effect.as(Effect.logError("stabilization failed", cause), true))
    )
    // While positions still join, the ring around them is in motion too.
    const joining = vnodes.members.some((m) => SubscriptionRef.getUnsafe(m.ref).phase === "joining")
    yield* Effect.sleep(changed || joining ? config.stabilizeInterval : quiet)
  }
})

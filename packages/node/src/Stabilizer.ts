/**
 * Periodic stabilization, Chord's stabilize/notify mirrored for `[id, next)` ownership. Each
 * period a ready node asks its successor for its neighbours, adopts a closer successor if one
 * appeared, refreshes its successor list, and notifies the successor that it may be its
 * predecessor. Joins and leaves set these
 * pointers directly; stabilization converges what they could not, e.g. after concurrent joins
 * or a crash.
 */
import { Interval } from "@crustyring/ring"
import { Clock, Effect, Option, Schedule } from "effect"
import * as Membership from "./Membership.ts"
import { NodeConfig, perVnode } from "./NodeConfig.ts"
import { Peers } from "./Peers.ts"

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

/**
 * One round of stabilization. Never fails: a peer that does not answer is logged and skipped;
 * dropping dead neighbours is the failure detector's job.
 */
export const stabilize = Effect.fn("Stabilizer.stabilize")(function*() {
  const membership = yield* Membership.Membership
  const peers = yield* Peers
  const view = yield* membership.view
  if (view.phase !== "ready") return
  const self = view.self
  const successor = Membership.next(view)

  // Alone, but a node has notified us as its successor: a ring is merging into this one (a
  // healed partition, or a ring that formed apart). Take it as successor (Chord's rule); it may
  // have served our range meanwhile, so the range is repaired from the replicas.
  if (successor.id === self.id && Option.isSome(view.predecessor) && view.predecessor.value.id !== self.id) {
    const other = view.predecessor.value
    yield* membership.update((v) => Membership.withReturned(v, other, membership.successorListLength))
    yield* Effect.logWarning(`alone with ${other.address} as predecessor: taking it as successor`)
    return
  }

  if (successor.id !== self.id) {
    const info = yield* Effect.result(peers.neighbors(successor.address))
    if (info._tag === "Failure") {
      yield* Effect.logDebug(`successor ${successor.address} did not answer: ${info.failure.message}`)
    } else {
      const { gone, predecessor, successors } = info.success
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
      if (next.id !== successor.id) yield* Effect.logInfo(`adopting ${next.address} as successor (was ${successor.address})`)
      // Down members stay out, even while the successor still lists them, until our own probe
      // finds them serving again.
      const theirs = successors.filter((m) => !Membership.isDown(membership, m.id))
      const list = untilSelf(self, next.id === successor.id ? [successor, ...theirs] : [next, successor, ...theirs])
      yield* membership.update((v) =>
        // Only if no join or leave changed the successor meanwhile.
        Membership.next(v).id === successor.id && v.phase === "ready"
          ? { ...v, successors: list.slice(0, membership.successorListLength) }
          : v
      )
      // A successor that already has this node as its predecessor needs no notice.
      const known = next.id === successor.id && Option.exists(predecessor, (p) => p.id === self.id)
      if (!known) yield* peers.notify(next.address, self).pipe(Effect.ignore)
    }
  }
})

/** Runs stabilization every `stabilizeInterval` (stretched for many virtual nodes) while the scope lives. */
export const run = Effect.gen(function*() {
  const config = yield* NodeConfig
  yield* Effect.suspend(() => stabilize()).pipe(
    Effect.catchCause((cause) => Effect.logError("stabilization failed", cause)),
    Effect.repeat(Schedule.spaced(perVnode(config, config.stabilizeInterval)))
  )
})

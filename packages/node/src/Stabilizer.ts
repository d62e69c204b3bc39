/**
 * Periodic stabilization, Chord's stabilize/notify mirrored for `[id, next)` ownership. Each
 * period a ready node asks its successor for its neighbours, adopts a closer successor if one
 * appeared, refreshes its successor list, notifies the successor that it may be its
 * predecessor, and drops a predecessor that no longer answers. Joins and leaves set these
 * pointers directly; stabilization converges what they could not, e.g. after concurrent joins
 * or a crash.
 */
import { Interval } from "@crustyring/ring"
import { Effect, Option, Schedule } from "effect"
import * as Membership from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
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

/** Consecutive unanswered rounds after which a successor is dropped for the next in the list. */
export const SUCCESSOR_FAILURES = 3

/**
 * One round of stabilization. Never fails: a peer that does not answer is logged and skipped.
 * `failures` counts the rounds the current successor has not answered.
 */
export const stabilize = Effect.fn("Stabilizer.stabilize")(function*(failures: { count: number } = { count: 0 }) {
  const membership = yield* Membership.Membership
  const peers = yield* Peers
  const view = yield* membership.view
  if (view.phase !== "ready") return
  const self = view.self
  const successor = Membership.next(view)

  if (successor.id !== self.id) {
    const info = yield* Effect.result(peers.neighbors(successor.address))
    if (info._tag === "Failure") {
      failures.count++
      yield* Effect.logWarning(`successor ${successor.address} did not answer: ${info.failure.message}`)
      if (failures.count >= SUCCESSOR_FAILURES) {
        // Its range falls to us; without replicas its keys are gone, but the ring stays whole.
        yield* Effect.logWarning(`dropping unresponsive successor ${successor.address}`)
        yield* membership.update((v) => {
          if (Membership.next(v).id !== successor.id) return v
          const successors = v.successors.slice(1)
          // Alone now: the dead node was the only other member.
          return successors.length > 0 ? { ...v, successors } : { ...v, successors, predecessor: Option.none() }
        })
        failures.count = 0
      }
    } else {
      failures.count = 0
      const { predecessor, successors } = info.success
      // A node between us and our successor: it should be our successor.
      const closer = Option.filter(
        predecessor,
        (p) => p.id !== self.id && Interval.inOpen(p.id, self.id, successor.id)
      )
      // Adopt it only if it serves: a node that is leaving still answers, but owns nothing.
      const serving = Option.isSome(closer)
        ? yield* peers.status(closer.value.address).pipe(
          Effect.map((s) => s.phase === "ready"),
          Effect.orElseSucceed(() => false)
        )
        : false
      const next = Option.isSome(closer) && serving ? closer.value : successor
      if (next.id !== successor.id) yield* Effect.logWarning(`adopting ${next.address} as successor (was ${successor.address})`)
      const list = untilSelf(self, next.id === successor.id ? [successor, ...successors] : [next, successor, ...successors])
      yield* membership.update((v) =>
        // Only if no join or leave changed the successor meanwhile.
        Membership.next(v).id === successor.id && v.phase === "ready"
          ? { ...v, successors: list.slice(0, Membership.SUCCESSOR_LIST_LENGTH) }
          : v
      )
      yield* peers.notify(next.address, self).pipe(Effect.ignore)
    }
  }

  if (Option.isSome(view.predecessor) && view.predecessor.value.id !== self.id) {
    const p = view.predecessor.value
    const alive = yield* Effect.result(peers.ping(p.address))
    if (alive._tag === "Failure") {
      yield* Effect.logWarning(`predecessor ${p.address} did not answer; dropping it`)
      yield* membership.update((v) =>
        Option.isSome(v.predecessor) && v.predecessor.value.id === p.id ? { ...v, predecessor: Option.none() } : v
      )
    }
  }
})

/** Runs stabilization every `stabilizeInterval` for as long as the scope lives. */
export const run = Effect.gen(function*() {
  const config = yield* NodeConfig
  const failures = { count: 0 }
  yield* Effect.suspend(() => stabilize(failures)).pipe(
    Effect.catchCause((cause) => Effect.logError("stabilization failed", cause)),
    Effect.repeat(Schedule.spaced(config.stabilizeInterval))
  )
})

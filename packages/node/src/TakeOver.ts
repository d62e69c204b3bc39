/**
 * The predecessor's side of a graceful leave: it takes over the leaving node's range
 * `[leaving, its successor)`, reading through to the leaving node until it has fetched the
 * range, and then releases it so the leaving node can exit.
 */
import { Errors } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Clock, Effect, Option } from "effect"
import * as Membership from "./Membership.ts"
import * as Events from "./Events.ts"

/** Prefix of the refusal from a node that is itself stopping. */
export const STOPPING = "taker stopping"

/** Accepts a take-over if `leaving` is this node's successor and no other range is arriving. */
export const makeAccept = Effect.gen(function*() {
  const membership = yield* Membership.Membership
  return Effect.fn("TakeOver.accept")(function*(leaving: Membership.Member, successors: ReadonlyArray<Membership.Member>) {
    const view = yield* membership.view
    const self = view.self
    if (view.phase !== "ready" || membership.stopping.value) {
      return yield* new Errors.FailedPrecondition({ message: `${STOPPING}: ${self.address} is stopping too` })
    }
    if (Option.isSome(view.incoming)) {
      return yield* new Errors.Unavailable({ message: `${self.address} is still receiving a range; retry` })
    }
    const next = Membership.next(view)
    if (next.id !== leaving.id) {
      return yield* new Errors.FailedPrecondition({
        message: `${leaving.address} is not the successor of ${self.address} (${next.address} is)`
      })
    }
    // The list goes clockwise from the leaving node; past this node it has wrapped round the ring.
    const stop = successors.findIndex((m) => m.id === self.id || m.id === leaving.id)
    const rest = stop === -1 ? successors : successors.slice(0, stop)
    const end = (rest[0] ?? self).id
    yield* membership.update((v) => ({
      ...v,
      successors: rest.slice(0, membership.successorListLength),
      predecessor: Option.filter(v.predecessor, (p) => p.id !== leaving.id && rest.length > 0),
      incoming: Option.some({ kind: "handoff" as const, from: leaving, start: leaving.id, end })
    }))
    // A graceful leave ends its membership; neighbours learn of it through stabilization.
    Membership.forget(membership, leaving, yield* Clock.currentTimeMillis)
    yield* Events.emit({
      kind: "handoff-started",
      node: membership.self.address,
      peer: leaving.address,
      range: `${Position.toHex(leaving.id)}-${Position.toHex(end)}`,
      message: `taking over [${Position.toHex(leaving.id)}, ${Position.toHex(end)}) from leaving ${leaving.address}`
    })
  }, (effect) =>
    // Refuse before queueing for the lock: two neighbours leaving at once each hold their own
    // lock while asking the other.
    membership.stopping.value
      ? Effect.fail(new Errors.FailedPrecondition({ message: `${STOPPING}: ${membership.self.address} is stopping too` }))
      : membership.withLock(effect))
})

/** The successor's side: its predecessor left, and `replacement` precedes it now. */
export const predecessorLeft = Effect.fn("TakeOver.predecessorLeft")(function*(
  leaving: Membership.Member,
  replacement: Membership.Member
) {
  const membership = yield* Membership.Membership
  Membership.forget(membership, leaving, yield* Clock.currentTimeMillis)
  yield* membership.update((v) =>
    Option.isSome(v.predecessor) && v.predecessor.value.id === leaving.id
      ? { ...v, predecessor: replacement.id === v.self.id ? Option.none() : Option.some(replacement) }
      : v
  )
})

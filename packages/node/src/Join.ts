/**
 * Joining a ring, from both ends. The joiner finds the owner of its own ID through its contact
 * and asks it to split its range; the owner accepts one join at a time, only while it owns that
 * ID, so simultaneous joins are serialised where they meet. The joiner serves at once, reading
 * through to the old owner until the hand-off completes.
 */
import { type Address, Errors } from "@crustyring/protocol"
import { Interval, Position } from "@crustyring/ring"
import { Effect, Option, Schedule } from "effect"
import { Bootstrap, JoinError } from "./Bootstrap.ts"
import * as Handoff from "./Handoff.ts"
import { InFlight } from "./InFlight.ts"
import * as Membership from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { Peers } from "./Peers.ts"

const busyRetry = (attempts: number) =>
  Schedule.min([Schedule.exponential("50 millis", 2), Schedule.spaced("1 second")]).pipe(
    Schedule.jittered,
    Schedule.upTo({ times: attempts })
  )

/** Whether a join error is worth retrying: the ring was busy or moved under us. */
const isTransient = (e: Errors.RpcError) =>
  e._tag === "Unavailable" || e._tag === "FailedPrecondition" || e._tag === "DeadlineExceeded"

/** Splits the owner's range through `contact` and records the result in the membership view. */
const enter = Effect.fn("Join.enter")(function*(contact: Address.Address) {
  const config = yield* NodeConfig
  const membership = yield* Membership.Membership
  const peers = yield* Peers
  const self = membership.self
  yield* peers.ping(contact).pipe(
    Effect.retry(Schedule.exponential("200 millis", 2).pipe(Schedule.upTo({ times: 4 }))),
    Effect.mapError((e) => new JoinError({ message: `cannot reach contact ${contact}: ${e.message}` }))
  )
  const attempt = Effect.gen(function*() {
    // The owner of the position just before our ID: the node that will precede us. Asking for
    // our own ID instead would route to us if the ring still remembers us from before a crash.
    const found = yield* peers.findOwner(contact, Position.wrap(self.id - 1n), 0)
    if (found.owner.id === self.id) {
      return yield* new Errors.AlreadyExists({
        message: `ring ID ${Position.toHex(self.id)} of ${self.address} is already held by live node ${found.owner.address}`
      })
    }
    return yield* peers.join(found.owner.address, self)
  })
  const reply = yield* attempt.pipe(
    Effect.tapError((e) => isTransient(e) ? Effect.logDebug(`join attempt failed, retrying: ${e.message}`) : Effect.void),
    Effect.retry({ schedule: busyRetry(config.joinAttempts), while: isTransient }),
    Effect.mapError((e) =>
      new JoinError({
        message: e._tag === "AlreadyExists" ? e.message : `cannot join through ${contact}: ${e.message}`
      })
    )
  )
  yield* membership.update((v) => ({
    ...v,
    predecessor: Option.some(reply.predecessor),
    successors: [reply.successor],
    incoming: Option.some({ kind: "handoff" as const, from: reply.predecessor, start: self.id, end: reply.successor.id })
  }))
  return reply
})

/**
 * Brings this node into the ring its bootstrap names, or starts a new ring, and marks it ready.
 * Returns once the node serves; the range hand-off completes before this returns.
 */
export { JoinError }

export const run = Effect.fn("Join.run")(function*() {
  const bootstrap = yield* Bootstrap
  const membership = yield* Membership.Membership
  const peers = yield* Peers
  const self = membership.self
  const plan = yield* bootstrap.plan(self)
  if (Option.isSome(plan.contact) && plan.contact.value === self.address) {
    // Every node may be given the same seed, itself included. If a ready node answers at our
    // own address, though, it is another process advertising it: our ID is taken.
    const other = yield* peers.status(self.address).pipe(Effect.map((s) => s.phase === "ready"), Effect.orElseSucceed(() => false))
    if (other) {
      return yield* new JoinError({
        message: `ring ID ${Position.toHex(self.id)} of ${self.address} is already held by a live node at that address`
      })
    }
  }
  if (Option.isNone(plan.contact) || plan.contact.value === self.address) {
    yield* membership.markReady
    yield* Effect.logInfo(`started a new ring as ${Position.toHex(self.id)} at ${self.address}`)
    yield* bootstrap.joined(self)
    return
  }
  const reply = yield* enter(plan.contact.value)
  yield* membership.markReady
  yield* peers.notify(reply.successor.address, self).pipe(
    Effect.catch((e) => Effect.logWarning(`could not notify successor ${reply.successor.address}: ${e.message}`))
  )
  yield* Handoff.receive()
  yield* Effect.logInfo(
    `joined as ${Position.toHex(self.id)} at ${self.address}: predecessor ${reply.predecessor.address}, successor ${reply.successor.address}`
  )
  yield* bootstrap.joined(self)
})

/**
 * The owner's side of a join: accepts `joiner` as its new successor if this node is ready, owns
 * the joiner's ID, and is not itself receiving a range. One join at a time; returns after the
 * local operations on the given-away range have finished.
 */
export const makeAccept = Effect.gen(function*() {
  const membership = yield* Membership.Membership
  const inFlight = yield* InFlight
  const peers = yield* Peers
  return Effect.fn("Join.accept")(function*(joiner: Membership.Member) {
    const view = yield* membership.view
    const self = view.self
    const next = Membership.next(view)
    if (view.phase !== "ready" || membership.stopping.value) {
      return yield* new Errors.Unavailable({ message: `${self.address} is ${membership.stopping.value ? "stopping" : view.phase}; retry` })
    }
    if (Option.isSome(view.incoming)) {
      return yield* new Errors.Unavailable({ message: `${self.address} is still receiving its range; retry` })
    }
    const held = (holder: Membership.Member) =>
      new Errors.AlreadyExists({
        message: `ring ID ${Position.toHex(joiner.id)} of ${joiner.address} is already held by live node ${holder.address}`
      })
    if (joiner.id === self.id) return yield* held(self)
    // A node found dead that comes back is a member again.
    membership.suspects.delete(joiner.id)
    if (joiner.id === next.id && next.id !== self.id) {
      // Our successor has the joiner's ID. If it serves, the ID is taken. If it does not (it is
      // the joiner itself, restarted after a crash, or dead), the joiner takes its place back.
      const serving = yield* peers.status(next.address).pipe(
        Effect.map((s) => s.phase === "ready"),
        Effect.orElseSucceed(() => false)
      )
      if (serving) return yield* held(next)
      const after = view.successors.slice(1).find((m) => m.id !== joiner.id) ?? self
      yield* membership.update((v) => ({ ...v, successors: [joiner, ...v.successors.slice(1)] }))
      yield* inFlight.drain
      yield* Effect.logInfo(`accepted ${joiner.address} back as successor after a restart`)
      return { predecessor: self, successor: after }
    }
    if (!Interval.inOpen(joiner.id, self.id, next.id)) {
      return yield* new Errors.FailedPrecondition({
        message: `${self.address} does not own ${Position.toHex(joiner.id)}; its range is [${Position.toHex(self.id)}, ${Position.toHex(next.id)})`
      })
    }
    yield* membership.update((v) => ({
      ...v,
      successors: [joiner, ...v.successors].slice(0, membership.successorListLength),
      predecessor: Option.isNone(v.predecessor) ? Option.some(joiner) : v.predecessor
    }))
    yield* inFlight.drain
    yield* Effect.logInfo(`accepted ${joiner.address} as successor; it takes [${Position.toHex(joiner.id)}, ${Position.toHex(next.id)})`)
    return { predecessor: self, successor: next }
  }, membership.withLock)
})

/**
 * A graceful leave, run when the node's scope closes (SIGTERM or SIGINT). The node hands its
 * range to its predecessor, which takes it over under `[id, next)` ownership, and tells its
 * successor and its bootstrap. It keeps serving reads of the range until the predecessor has
 * fetched and released it, so no acknowledged write is lost and clients see no gap.
 */
import { Position } from "@crustyring/ring"
import { Clock, Deferred, Duration, Effect, Option, Schedule } from "effect"
import { Bootstrap } from "./Bootstrap.ts"
import { InFlight } from "./InFlight.ts"
import * as Membership from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { Peers } from "./Peers.ts"
import { Storage } from "./Storage.ts"
import * as TakeOver from "./TakeOver.ts"
import * as Events from "./Events.ts"
import * as VirtualNodes from "./VirtualNodes.ts"

/** How long a leaving node keeps asking a predecessor that is stopping too. */
const STOPPING_GRACE_MS = 3000

const retry = Schedule.min([Schedule.exponential("50 millis", 2), Schedule.spaced("500 millis")]).pipe(Schedule.jittered)

/** Hands this node's range over and waits until it has been taken; bounded by `leaveTimeout`. */
export const run = Effect.fn("Leave.run")(function*() {
  const membership = yield* Membership.Membership
  const inFlight = yield* InFlight
  const peers = yield* Peers
  const bootstrap = yield* Bootstrap
  const storage = yield* Storage
  const vnodes = yield* Effect.serviceOption(VirtualNodes.VirtualNodes)
  const self = membership.self

  const start = yield* membership.view
  membership.stopping.value = true
  if (start.phase !== "ready") return
  yield* bootstrap.left(self)
  // Finish receiving our own range first: a range arriving here is not ours to give yet.
  yield* membership.view.pipe(
    Effect.flatMap((v) => (Option.isSome(v.incoming) ? Effect.fail("receiving" as const) : Effect.void)),
    Effect.retry(retry)
  )
  if (Membership.next(yield* membership.view).id === self.id) {
    const keys = yield* storage.count(self.id, self.id).pipe(Effect.orElseSucceed(() => 0))
    if (membership.down.size > 0) {
      yield* Effect.logWarning(
        `no other member answers (${membership.down.size} down): leaving without a hand-off; the replicas keep their copies of its ${keys} keys`
      )
    } else if (keys > 0) {
      yield* Effect.logWarning(
        storage.durable === true
          ? `last node of the ring leaving: its ${keys} keys stay in its data directory until it starts again`
          : `last node of the ring leaving: its ${keys} keys go with it`
      )
    }
    return
  }


  const handOver = Effect.gen(function*() {
    const view = yield* membership.view
    // Past any position of this process that has left already, to the member that took it over.
    const predecessor = VirtualNodes.takerOf(vnodes, self, yield* Option.match(view.predecessor, {
      onNone: () => peers.findOwner(Membership.next(view).address, Position.wrap(self.id - 1n), 0).pipe(Effect.map((o) => o.owner)),
      onSome: Effect.succeed
    }))
    yield* inFlight.freeze
    yield* peers.takeOver(predecessor.address, self, view.successors).pipe(Effect.onError(() => inFlight.thaw))
    return { predecessor, successor: Membership.next(view) }
  })

  // One attempt at a time under the range lock, so no join is accepted while the range moves.
  // A predecessor that is stopping too, or unreachable, is retried for a while: when it has
  // left, its own predecessor becomes ours. If that does not happen, the ring is stopping as a
  // whole or the predecessor crashed (stabilization repairs that); give up.
  let stoppingSince: number | undefined
  const clock = yield* Clock.Clock
  const now = () => clock.currentTimeMillisUnsafe()
  const handed = yield* membership.withLock(
    Effect.tap(handOver, () => membership.update((v) => ({ ...v, phase: "leaving" as const })))
  ).pipe(
    Effect.tapError((e) => {
      const hopeless = e.message.startsWith(TakeOver.STOPPING) || (e._tag === "Unavailable" && e.unreachable === true)
      if (!hopeless) stoppingSince = undefined
      else stoppingSince ??= now()
      return Effect.logDebug(`take-over not accepted yet: ${e.message}`)
    }),
    Effect.retry({
      schedule: retry,
      while: () => stoppingSince === undefined || now() - stoppingSince < STOPPING_GRACE_MS
    }),
    Effect.ensuring(inFlight.thaw),
    Effect.option
  )
  if (Option.isNone(handed)) {
    const keys = yield* storage.count(self.id, Membership.next(yield* membership.view).id).pipe(Effect.orElseSucceed(() => 0))
    yield* Effect.logWarning(
      storage.durable === true
        ? `no live node could take over this node's range; its ${keys} keys stay in its data directory, and the replicas keep their copies`
        : `no live node could take over this node's range; its ${keys} keys go with it`
    )
    return
  }

  yield* peers.predecessorLeft(handed.value.successor.address, self, handed.value.predecessor).pipe(
    Effect.catch((e) => Effect.logWarning(`could not tell successor ${handed.value.successor.address} of the leave: ${e.message}`))
  )
  if (Option.isSome(vnodes)) {
    vnodes.value.left.set(self.id, handed.value.predecessor)
    // Positions of this process that still see this one as their predecessor learn at once.
    for (const member of vnodes.value.members) {
      const view = member.viewSync()
      if (member !== membership && Option.isSome(view.predecessor) && view.predecessor.value.id === self.id) {
        yield* TakeOver.predecessorLeft(self, handed.value.predecessor).pipe(Effect.provideService(Membership.Membership, member))
      }
    }
  }
  // Wait for the release, unless the taker dies first: then there is no one left to wait for.
  const takerGone = peers.ping(handed.value.predecessor.address).pipe(
    Effect.repeat(Schedule.spaced("500 millis")),
    Effect.flip,
    Effect.tap((e) => Effect.logWarning(`${handed.value.predecessor.address} stopped before taking the range: ${e.message}`))
  )
  yield* Effect.raceFirst(Deferred.await(membership.released), Effect.asVoid(takerGone))
  yield* Events.emit({
    kind: "left",
    node: self.address,
    peer: handed.value.predecessor.address,
    range: `${Position.toHex(self.id)}-${Position.toHex(handed.value.successor.id)}`,
    message: `left the ring: ${handed.value.predecessor.address} took over [${Position.toHex(self.id)}, ${Position.toHex(handed.value.successor.id)})`
  })
}, (effect) =>
  Effect.flatMap(Effect.service(NodeConfig), (config) =>
    effect.pipe(
      Effect.timeoutOrElse({
        duration: config.leaveTimeout,
        orElse: () => Effect.logError(`leave did not complete within ${Duration.format(config.leaveTimeout)}; stopping anyway`)
      })
    )))

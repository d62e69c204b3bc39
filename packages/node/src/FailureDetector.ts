/**
 * Failure detection. Every `pingInterval` a ready node pings its predecessor, its first
 * successors (as many as the replica count) and its replicas. A neighbour that has not answered for
 * `failureTimeout` is declared dead: it leaves the view (`Membership.withoutDead`), which hands
 * its range to this node when it was the successor, and stabilization repairs the rest.
 */
import { Duration, Effect, Option, Schedule } from "effect"
import * as Membership from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { Peers } from "./Peers.ts"

/** Runs the detector for as long as the scope lives. */
export const run = Effect.gen(function*() {
  const config = yield* NodeConfig
  const membership = yield* Membership.Membership
  const peers = yield* Peers
  const timeoutMs = Duration.toMillis(config.failureTimeout)
  const deadline = Duration.min(config.rpcTimeout, config.failureTimeout)
  // When each neighbour last answered, or was first watched.
  const lastHeard = new Map<bigint, number>()

  const declareDead = (member: Membership.Member, silentMs: number) =>
    Effect.gen(function*() {
      // Long enough for every neighbour to have dropped it too, so no list brings it back.
      membership.suspects.set(member.id, Date.now() + 5 * timeoutMs)
      yield* Effect.logWarning(`${member.address} has not answered for ${silentMs} ms; dropping it as dead`)
      yield* membership.update((v) => Membership.withoutDead(v, member))
    })

  const round = Effect.gen(function*() {
    const view = yield* membership.view
    if (view.phase !== "ready") return
    const watched = new Map<bigint, Membership.Member>()
    for (
      const m of [
        ...Option.toArray(view.predecessor),
        ...view.successors.slice(0, Math.max(1, config.replicas)),
        ...Membership.replicaSet(view, config.replicas)
      ]
    ) {
      if (m.id !== view.self.id) watched.set(m.id, m)
    }
    const now = Date.now()
    for (const id of watched.keys()) if (!lastHeard.has(id)) lastHeard.set(id, now)
    for (const id of lastHeard.keys()) if (!watched.has(id)) lastHeard.delete(id)
    yield* Effect.forEach(watched.values(), (m) =>
      peers.ping(m.address, deadline).pipe(
        Effect.matchEffect({
          onSuccess: () =>
            Effect.sync(() => {
              lastHeard.set(m.id, Date.now())
              membership.suspects.delete(m.id)
            }),
          onFailure: () => {
            const silent = Date.now() - (lastHeard.get(m.id) ?? now)
            return silent >= timeoutMs ? declareDead(m, silent) : Effect.void
          }
        })
      ), { concurrency: "unbounded", discard: true })
  })

  yield* round.pipe(
    Effect.catchCause((cause) => Effect.logError("failure detection round failed", cause)),
    Effect.repeat(Schedule.spaced(config.pingInterval))
  )
})

/**
 * Failure detection. Every `pingInterval` a ready node pings its predecessor, its first
 * successors (as many as the replica count) and its replicas. A neighbour that has not answered for
 * `failureTimeout` is declared dead: it leaves the view (`Membership.withoutDead`), which hands
 * its range to this node when it was the successor, and stabilization repairs the rest.
 */
import { Address, Errors } from "@crustyring/protocol"
import { Deferred, Duration, Effect, Option, Schedule } from "effect"
import * as Membership from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { Peers } from "./Peers.ts"
import { VirtualNodes } from "./VirtualNodes.ts"

/** Runs the detector for as long as the scope lives. */
export const run = Effect.gen(function*() {
  const config = yield* NodeConfig
  const membership = yield* Membership.Membership
  const peers = yield* Peers
  const vnodes = yield* VirtualNodes
  const timeoutMs = Duration.toMillis(config.failureTimeout)
  const deadline = Duration.min(config.rpcTimeout, config.failureTimeout)
  const fresh = Duration.toMillis(config.pingInterval) / 2

  /**
   * Whether `member` answers: its process answers a ping (one shared by every virtual node of
   * this process that watches the same process within half a period) and still runs it.
   */
  const alive = (member: Membership.Member) =>
    Effect.gen(function*() {
      const target = Address.target(member.address)
      const now = Date.now()
      let probe = vnodes.probes.get(target)
      if (!probe || now - probe.at >= fresh) {
        const result = yield* Deferred.make<number, Errors.RpcError>()
        probe = { at: now, result }
        vnodes.probes.set(target, probe)
        yield* Effect.forkDetach(Effect.exit(peers.probe(target, deadline)).pipe(Effect.flatMap((exit) => Deferred.done(result, exit))))
      }
      const count = yield* Deferred.await(probe.result)
      if (Address.vnode(member.address) >= count) {
        return yield* new Errors.Unavailable({ message: `${target} no longer runs ${member.address}` })
      }
    })
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
      alive(m).pipe(
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

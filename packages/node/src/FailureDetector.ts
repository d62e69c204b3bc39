/**
 * Failure detection: down is not gone. Every `pingInterval` a ready node pings its predecessor,
 * its first successors (as many as the replica count) and its replicas. A neighbour that has
 * not answered for `failureTimeout` is marked down: it leaves the view (`Membership.withoutDead`),
 * which hands its range to this node when it was the successor, but it stays a member. Down
 * members are probed with backoff and taken back (`Membership.withReturned`) as soon as they
 * answer and serve, so a partition heals into one ring. A member silent for `deadAfter` leaves
 * the membership.
 */
import { Address, Errors } from "@crustyring/protocol"
import { Clock, Deferred, Duration, Effect, Option, Schedule } from "effect"
import * as Membership from "./Membership.ts"
import * as Metrics from "./Metrics.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { Peers } from "./Peers.ts"
import { VirtualNodes } from "./VirtualNodes.ts"
import * as Events from "./Events.ts"

/** The longest wait between two probes of a down member: a healed partition is seen within it. */
export const MAX_PROBE_BACKOFF_MS = 1000

/** Runs the detector for as long as the scope lives. */
export const run = Effect.gen(function*() {
  const config = yield* NodeConfig
  const metrics = yield* Metrics.current
  const membership = yield* Membership.Membership
  const peers = yield* Peers
  const vnodes = yield* VirtualNodes
  const timeoutMs = Duration.toMillis(config.failureTimeout)
  const deadAfterMs = Duration.toMillis(config.deadAfter)
  const deadline = Duration.min(config.rpcTimeout, config.failureTimeout)
  const pingMs = Duration.toMillis(config.pingInterval)
  const fresh = pingMs / 2
  const now = Clock.currentTimeMillis

  /**
   * Whether `member` answers: its process answers a ping (one shared by every virtual node of
   * this process that watches the same process within half a period) and still runs it.
   */
  const alive = (member: Membership.Member) =>
    Effect.gen(function*() {
      const target = Address.target(member.address)
      const at = yield* now
      let probe = vnodes.probes.get(target)
      if (!probe || at - probe.at >= fresh) {
        const result = yield* Deferred.make<number, Errors.RpcError>()
        probe = { at, result }
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

  const markDown = (member: Membership.Member, silentMs: number) =>
    Effect.gen(function*() {
      const at = yield* now
      if (membership.gone.has(member.id)) {
        // It left gracefully (or was removed), and the news came first: it is not a member.
        yield* Events.emit({ kind: "member-left", node: membership.self.address, peer: member.address, message: `${member.address} no longer answers; it has left the ring` })
      } else {
        membership.down.set(member.id, { member, since: at - silentMs, nextProbe: at + pingMs, backoff: pingMs })
        metrics.detected()
        yield* peers.reset(member.address)
        const message = `${member.address} has not answered for ${silentMs} ms; marking it down (it stays a member)`
        yield* Membership.warnAbout(vnodes.members, member, message)
        if (!Membership.departed(vnodes.members, member)) {
          yield* Events.publish({ kind: "down", node: membership.self.address, peer: member.address, message })
        }
      }
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
        ...Membership.replicaSet(view, config.replicas),
        // The giver of a hand-off under way: if it goes silent, the range is repaired instead.
        ...Option.toArray(Option.flatMap(view.incoming, (i) => i.kind === "handoff" ? Option.some(i.from) : Option.none()))
      ]
    ) {
      if (m.id !== view.self.id) watched.set(m.id, m)
    }
    const start = yield* now
    for (const id of watched.keys()) if (!lastHeard.has(id)) lastHeard.set(id, start)
    for (const id of lastHeard.keys()) if (!watched.has(id)) lastHeard.delete(id)
    yield* Effect.forEach(watched.values(), (m) =>
      alive(m).pipe(
        Effect.matchEffect({
          onSuccess: () => Effect.map(now, (at) => void lastHeard.set(m.id, at)),
          onFailure: () =>
            Effect.flatMap(now, (at) => {
              const silent = at - (lastHeard.get(m.id) ?? start)
              return silent >= timeoutMs && !membership.down.has(m.id) ? markDown(m, silent) : Effect.void
            })
        })
      ), { concurrency: "unbounded", discard: true })
  })

  /**
   * Probes the down members that are due. One that serves again is taken back; one that
   * answers but still joins or leaves is asked again soon; a silent one waits longer, up to
   * `MAX_PROBE_BACKOFF_MS`. One silent for `deadAfter` is gone.
   */
  const probeDown = Effect.gen(function*() {
    const view = yield* membership.view
    if (view.phase !== "ready") return
    const at = yield* now
    const due = [...membership.down.values()].filter((d) => d.nextProbe <= at)
    yield* Effect.forEach(due, (d) =>
      Effect.gen(function*() {
        // Each probe on a new connection: one made while the member was cut off waits out TCP's
        // backoff after the heal, a new one connects at once.
        yield* peers.reset(d.member.address)
        const answer = yield* Effect.result(Effect.andThen(alive(d.member), peers.neighbors(d.member.address, deadline)))
        const after = yield* now
        if (membership.down.get(d.member.id) !== d) return
        if (answer._tag === "Success" && answer.success.phase === "ready") {
          membership.down.delete(d.member.id)
          yield* membership.update((v) => Membership.withReturned(v, d.member, membership.successorListLength))
          yield* Events.emit({
            kind: "up",
            node: membership.self.address,
            peer: d.member.address,
            message: `${d.member.address} answers again after ${after - d.since} ms; taking it back`
          })
          // Tell it at once that this node may precede it, rather than wait for its own probe.
          yield* peers.notify(d.member.address, membership.self).pipe(Effect.ignore)
          return
        }
        if (deadAfterMs > 0 && after - d.since >= deadAfterMs) {
          Membership.forget(membership, d.member, after)
          yield* Events.emit({
            kind: "member-left",
            node: membership.self.address,
            peer: d.member.address,
            message: `${d.member.address} has been down for longer than ${Duration.format(config.deadAfter)}; it is no longer a member`
          }, "Warning")
          return
        }
        d.backoff = answer._tag === "Success" ? pingMs : Math.min(d.backoff * 2, Math.max(pingMs, MAX_PROBE_BACKOFF_MS))
        d.nextProbe = after + d.backoff
      }), { concurrency: "unbounded", discard: true })
    for (const [id, g] of membership.gone) if (at - g.at > 3 * Membership.GONE_TTL_MS) membership.gone.delete(id)
  })

  yield* Effect.all([round, probeDown], { concurrency: 2, discard: true }).pipe(
    Effect.catchCause((cause) => Effect.logError("failure detection round failed", cause)),
    Effect.repeat(Schedule.spaced(config.pingInterval))
  )
})

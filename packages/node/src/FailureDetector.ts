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
import { Clock, Deferred, Duration, Effect, Option, Schedule, SubscriptionRef } from "effect"
import * as Membership from "./Membership.ts"
import * as Metrics from "./Metrics.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { Peers } from "./Peers.ts"
import { VirtualNodes } from "./VirtualNodes.ts"
import * as Events from "./Events.ts"

/** The longest wait between two probes of a down member: a healed partition is seen within it. */
export const MAX_PROBE_BACKOFF_MS = 1000

/**
 * A process that keeps answering other calls is still pinged once in this many ping periods,
 * so a change in how many virtual nodes it runs (a restart with other `--vnodes`) is seen.
 */
export const REPING_PERIODS = 4

/** The neighbours a ready view watches: predecessor, first successors, replicas and a hand-off's giver. */
const watchedOf = (view: Membership.View, replicas: number): ReadonlyArray<Membership.Member> => {
  const cached = watchedCache.get(view)
  if (cached) return cached
  const watched = new Map<bigint, Membership.Member>()
  for (
    const m of [
      ...Option.toArray(view.predecessor),
      ...view.successors.slice(0, Math.max(1, replicas)),
      ...Membership.replicaSet(view, replicas),
      // The giver of a hand-off under way: if it goes silent, the range is repaired instead.
      ...Option.toArray(Option.flatMap(view.incoming, (i) => i.kind === "handoff" ? Option.some(i.from) : Option.none()))
    ]
  ) {
    if (m.id !== view.self.id) watched.set(m.id, m)
  }
  const out = [...watched.values()]
  watchedCache.set(view, out)
  return out
}
/** Views are immutable: an idle view's watched list is worked out once. */
const watchedCache = new WeakMap<Membership.View, ReadonlyArray<Membership.Member>>()

/** A virtual node's watched neighbours, their processes and when each last answered. */
interface Watching {
  readonly watched: ReadonlyArray<Membership.Member>
  readonly targets: ReadonlyArray<string>
  readonly vnodes: ReadonlyArray<number>
  readonly heard: Array<number>
}

/**
 * Runs the detector for all of the process's virtual nodes for as long as the scope lives: one
 * loop per process. Each round pings every process that any ready virtual node watches once,
 * and then judges each virtual node's neighbours from those answers.
 */
export const run = Effect.gen(function*() {
  const config = yield* NodeConfig
  const metrics = yield* Metrics.current
  const peers = yield* Peers
  const vnodes = yield* VirtualNodes
  const timeoutMs = Duration.toMillis(config.failureTimeout)
  const deadAfterMs = Duration.toMillis(config.deadAfter)
  const deadline = Duration.min(config.rpcTimeout, config.failureTimeout)
  const pingMs = Duration.toMillis(config.pingInterval)
  const fresh = pingMs / 2
  const now = Clock.currentTimeMillis

  // The vnode count each process gave in its last ping answer, and when.
  const pinged = new Map<string, { readonly at: number; readonly count: number }>()
  const repingMs = REPING_PERIODS * pingMs

  /**
   * How many virtual nodes the process at `target` runs: one ping, shared within half a period.
   * A process that answered another call within that half period, and a ping within
   * `REPING_PERIODS` periods, is alive without one: under load, replica writes to the successors
   * stand in for most pings.
   */
  const probe = (target: string) =>
    Effect.gen(function*() {
      const at = yield* now
      let probe = vnodes.probes.get(target)
      if (!probe || at - probe.at >= fresh) {
        const last = pinged.get(target)
        const answered = peers.answeredAt(target)
        if (last !== undefined && at - last.at < repingMs && answered !== undefined && at - answered < fresh) return last.count
        const result = yield* Deferred.make<number, Errors.RpcError>()
        probe = { at, result }
        vnodes.probes.set(target, probe)
        yield* Effect.forkDetach(
          Effect.exit(peers.probe(target, deadline)).pipe(
            Effect.tap((exit) => Effect.sync(() => exit._tag === "Success" ? pinged.set(target, { at, count: exit.value }) : pinged.delete(target))),
            Effect.flatMap((exit) => Deferred.done(result, exit))
          )
        )
      }
      return yield* Deferred.await(probe.result)
    })

  /** Whether `member` answers: its process answers a ping and still runs it. */
  const alive = (member: Membership.Member) =>
    Effect.flatMap(probe(Address.target(member.address)), (count) =>
      Address.vnode(member.address) >= count
        ? Effect.fail(new Errors.Unavailable({ message: `${Address.target(member.address)} no longer runs ${member.address}` }))
        : Effect.void)

  // When each virtual node's neighbours last answered, or were first watched.
  const lastHeard = new Map<Membership.Service, Watching>()

  const markDown = (membership: Membership.Service, member: Membership.Member, silentMs: number) =>
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
    const start = yield* now
    const watching: Array<{ readonly membership: Membership.Service; readonly state: Watching }> = []
    const targets = new Set<string>()
    for (const membership of vnodes.members) {
      const view = SubscriptionRef.getUnsafe(membership.ref)
      if (view.phase !== "ready") continue
      const watched = watchedOf(view, config.replicas)
      let state = lastHeard.get(membership)
      if (state?.watched !== watched) {
        // The neighbours changed: carry over when each one still watched was last heard.
        const before = new Map<bigint, number>()
        if (state) for (const [k, m] of state.watched.entries()) before.set(m.id, state.heard[k]!)
        state = {
          watched,
          targets: watched.map((m) => Address.target(m.address)),
          vnodes: watched.map((m) => Address.vnode(m.address)),
          heard: watched.map((m) => before.get(m.id) ?? start)
        }
        lastHeard.set(membership, state)
      }
      for (const t of state.targets) targets.add(t)
      watching.push({ membership, state })
    }
    // One ping per watched process, all at once.
    const counts = new Map<string, number | undefined>()
    yield* Effect.forEach(targets, (target) =>
      Effect.map(Effect.result(probe(target)), (r) => void counts.set(target, r._tag === "Success" ? r.success : undefined)), {
      concurrency: "unbounded",
      discard: true
    })
    const at = yield* now
    // An answer older than the re-ping period no longer saves a ping: forget it, so the map
    // holds only the processes watched lately.
    for (const [target, last] of pinged) if (at - last.at >= repingMs) pinged.delete(target)
    // A probe that old is never shared again, only replaced: drop it, for processes no longer watched.
    for (const [target, p] of vnodes.probes) if (at - p.at >= repingMs) vnodes.probes.delete(target)
    for (const { membership, state } of watching) {
      for (let k = 0; k < state.watched.length; k++) {
        const count = counts.get(state.targets[k]!)
        if (count !== undefined && state.vnodes[k]! < count) {
          state.heard[k] = at
          continue
        }
        const m = state.watched[k]!
        const silent = at - state.heard[k]!
        if (silent >= timeoutMs && !membership.down.has(m.id)) yield* markDown(membership, m, silent)
      }
    }
  })

  /**
   * Probes a virtual node's down members that are due. One that serves again is taken back; one
   * that answers but still joins or leaves is asked again soon; a silent one waits longer, up to
   * `MAX_PROBE_BACKOFF_MS`. One silent for `deadAfter` is gone.
   */
  const probeDown = (membership: Membership.Service) => Effect.gen(function*() {
    const at = yield* now
    for (const [id, g] of membership.gone) if (at - g.at > 3 * Membership.GONE_TTL_MS) membership.gone.delete(id)
    if (membership.down.size === 0) return
    const view = yield* membership.view
    if (view.phase !== "ready") return
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
  })

  const probeAllDown = Effect.suspend(() =>
    Effect.forEach(vnodes.members.filter((m) => m.down.size > 0 || m.gone.size > 0), probeDown, { concurrency: "unbounded", discard: true })
  )
  yield* Effect.all([round, probeAllDown], {
    concurrency: 2,
    discard: true
  }).pipe(
    Effect.catchCause((cause) => Effect.logError("failure detection round failed", cause)),
    Effect.repeat(Schedule.spaced(config.pingInterval))
  )
})

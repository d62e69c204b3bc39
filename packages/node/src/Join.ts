/**
 * Joining a ring, from both ends. The joiner finds the owner of its own ID through its contact
 * and asks it to split its range; the owner accepts one join at a time, only while it owns that
 * ID, so simultaneous joins are serialised where they meet. The joiner serves at once, reading
 * through to the old owner until the hand-off completes.
 */
import { Address, Errors } from "@crustyring/protocol"
import { Interval, Position } from "@crustyring/ring"
import { Clock, Duration, Effect, Option, Schedule } from "effect"
import { Bootstrap, JoinError } from "./Bootstrap.ts"
import * as Handoff from "./Handoff.ts"
import { InFlight } from "./InFlight.ts"
import * as Membership from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { Peers } from "./Peers.ts"
import { Remembered } from "./Remembered.ts"
import * as Transport from "./Transport.ts"
import * as Events from "./Events.ts"

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
        message: e._tag === "AlreadyExists" ? e.message : `cannot join through ${contact}: ${e.message}`,
        taken: e._tag === "AlreadyExists"
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

export { JoinError }

/** What a contact said when asked whether it serves. */
type Answer =
  | { readonly _tag: "Ready" }
  | { readonly _tag: "Refused"; readonly reason: string }
  | { readonly _tag: "Joining"; readonly id: Position.Position }
  | { readonly _tag: "Other"; readonly reason: string; readonly silent?: boolean }

/** Rounds through the contacts: every second at first, then up to every five seconds. */
const roundSchedule = Schedule.min([Schedule.exponential("500 millis", 1.5), Schedule.spaced("5 seconds")])

/** Rounds a node with nothing to rejoin through tries before it gives up (about three seconds). */
const FRESH_ROUNDS = 4

/** Rounds (about two seconds) a node waits for silent contacts with smaller IDs before it starts a ring. */
const START_GRACE_ROUNDS = 3

/**
 * Brings this node into the ring and marks it ready. The contacts are the bootstrap's (a seed
 * list, or the registry's pick) and then every member remembered from before a restart; the
 * first that serves takes the node in. The node starts a new ring only
 * - when it has no contact and remembers no member (a ring of one, by design);
 * - or when no contact serves and it has the smallest ID among itself and the contacts that are
 *   waiting too: a node that may start (one of its own seeds, or the registry named no
 *   neighbour) in a cluster starting from nothing, or a former member among members restarted
 *   at once. A node that remembers members needs one of them to be waiting with it: it never
 *   starts alone.
 * Otherwise it retries and logs why; a node that remembers members retries until one serves.
 * A node that starts a ring counts its seeds and remembered members as down members: they are
 * probed and taken in as soon as they serve, so rings formed apart merge into one.
 * Returns once the node serves; the range hand-off completes before this returns.
 */
export const run = Effect.fn("Join.run")(function*() {
  const bootstrap = yield* Bootstrap
  const membership = yield* Membership.Membership
  const peers = yield* Peers
  const config = yield* NodeConfig
  const transport = yield* Transport.current
  const self = membership.self
  const plan = yield* bootstrap.plan(self)
  const remembered = yield* Effect.serviceOption(Remembered).pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.succeed([]), onSome: (r) => r.load }))
  )
  const own = Address.target(self.address)
  if (plan.contacts.some((c) => c === self.address)) {
    // Every node may be given the same seeds, itself included. If a ready node answers at our
    // own address, though, it is another process advertising it: our ID is taken.
    const other = yield* peers.status(self.address).pipe(Effect.map((s) => s.phase === "ready"), Effect.orElseSucceed(() => false))
    if (other) {
      return yield* new JoinError({
        message: `ring ID ${Position.toHex(self.id)} of ${self.address} is already held by a live node at that address`,
        taken: true
      })
    }
  }
  // Remembered members are other processes; a seed may be this very node, or (for a later
  // virtual node) the first virtual node of this process.
  const others = remembered.filter((c) => Address.target(c) !== own)
  const contacts = [...new Set([...plan.contacts.filter((c) => c !== self.address), ...others])]
  const rejoining = others.length > 0

  const start = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const pingMs = Duration.toMillis(config.pingInterval)
    for (const address of contacts) {
      const member = { id: Position.nodeId(address), address }
      membership.down.set(member.id, { member, since: now, nextProbe: now, backoff: pingMs })
    }
    yield* membership.markReady
    yield* Events.emit({
      kind: "started",
      node: self.address,
      message: `started a new ring as ${Position.toHex(self.id)} at ${self.address}` +
        (contacts.length > 0 ? `; ${contacts.length} other members counted down until they answer` : "")
    })
    yield* bootstrap.joined(self)
  })
  if (contacts.length === 0) {
    if (plan.mayStart) return yield* start
    return yield* new JoinError({ message: `no contact to join through other than this node itself (${self.address})` })
  }

  const ask = (address: Address.Address): Effect.Effect<Answer> =>
    peers.neighbors(address, Duration.min(config.rpcTimeout, Duration.seconds(2))).pipe(
      Effect.map((n): Answer =>
        n.phase === "ready" || n.phase === ""
          ? { _tag: "Ready" }
          : n.phase === "joining"
          ? { _tag: "Joining", id: n.self.id }
          : { _tag: "Other", reason: `${address} is ${n.phase}` }
      ),
      Effect.catch((e) =>
        // An unreachable contact may be down, or may be refusing our credentials; only the
        // second is final.
        (e._tag === "Unavailable" && e.unreachable === true ? transport.mismatch(address) : Effect.succeed(undefined)).pipe(
          Effect.map((refused): Answer =>
            refused !== undefined
              ? { _tag: "Refused", reason: refused }
              : { _tag: "Other", reason: `cannot reach contact ${address}: ${e.message}`, silent: true }
          )
        )
      )
    )

  /** One round: join through the first contact that serves, or decide to start, or fail with the reasons. */
  const round = Effect.gen(function*() {
    const reasons: Array<string> = []
    const waiting: Array<Position.Position> = []
    // Contacts with a smaller ID that do not answer: perhaps still starting (a whole cluster
    // started at once), perhaps gone for good.
    let silentSmaller = 0
    for (const contact of contacts) {
      const answer = yield* ask(contact)
      if (answer._tag === "Ready") {
        const entered = yield* Effect.result(enter(contact))
        if (entered._tag === "Success") return Option.some(entered.success)
        if (entered.failure.taken === true) return yield* entered.failure
        reasons.push(entered.failure.message)
      } else if (answer._tag === "Refused") {
        return yield* new JoinError({ message: `cannot join through ${contact}: ${answer.reason}`, refused: true })
      } else if (answer._tag === "Joining") {
        waiting.push(answer.id)
        reasons.push(`${contact} is joining too`)
      } else {
        if (answer.silent === true && Position.nodeId(contact) < self.id) silentSmaller++
        reasons.push(answer.reason)
      }
    }
    // The smallest ID among the nodes waiting starts the ring: a node that may start (a seed of
    // its own, or with nothing to rejoin), or a former member whose members wait with it (a
    // whole cluster restarted at once).
    // A silent contact with a smaller ID gets a few rounds to come up first, or two nodes would
    // each start a ring (they merge, but a restart should re-form one).
    const first = waiting.every((id) => self.id < id) && (silentSmaller === 0 || rounds >= START_GRACE_ROUNDS)
    if (first && (rejoining ? waiting.length > 0 : plan.mayStart)) return Option.none()
    return yield* new JoinError({ message: `no contact serves yet (${reasons.join("; ")})` })
  })

  let rounds = 0
  const entered = yield* round.pipe(
    Effect.tapError((e) =>
      e.taken === true || e.refused === true
        ? Effect.void
        : Effect.sync(() => rounds++).pipe(
          Effect.andThen(Effect.logWarning(`${self.address} cannot join yet, retrying: ${e.message}`))
        )
    ),
    Effect.retry({
      schedule: roundSchedule,
      // A taken ID and refused credentials are final; a node with members to rejoin or seeds to
      // wait for keeps trying.
      while: (e) => e.taken !== true && e.refused !== true && (rejoining || plan.mayStart || rounds < FRESH_ROUNDS)
    })
  )
  if (Option.isNone(entered)) return yield* start
  const reply = entered.value
  yield* membership.markReady
  yield* peers.notify(reply.successor.address, self).pipe(
    Effect.catch((e) => Effect.logWarning(`could not notify successor ${reply.successor.address}: ${e.message}`))
  )
  yield* Handoff.receive()
  yield* Events.emit({
    kind: "joined",
    node: self.address,
    peer: reply.predecessor.address,
    message: `joined as ${Position.toHex(self.id)} at ${self.address}: predecessor ${reply.predecessor.address}, successor ${reply.successor.address}`
  })
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
    // It called: a connection to it that failed while it was away reconnects now.
    yield* peers.revive(joiner.address)
    // A down member that comes back is serving again; one that left is a member again.
    membership.down.delete(joiner.id)
    membership.gone.delete(joiner.id)
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
      yield* Events.emit({ kind: "member-joined", node: self.address, peer: joiner.address, message: `accepted ${joiner.address} back as successor after a restart` })
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
    yield* Events.emit({
      kind: "member-joined",
      node: self.address,
      peer: joiner.address,
      range: `${Position.toHex(joiner.id)}-${Position.toHex(next.id)}`,
      message: `accepted ${joiner.address} as successor; it takes [${Position.toHex(joiner.id)}, ${Position.toHex(next.id)})`
    })
    return { predecessor: self, successor: next }
  }, membership.withLock)
})

/**
 * This node's view of the ring: itself, its predecessor, its successor list and its phase, in
 * one `SubscriptionRef`. Ownership follows from it: this node owns `[self.id, successors[0].id)`.
 */
import { Address } from "@crustyring/protocol"
import { Interval, Ownership, Position } from "@crustyring/ring"
import { Context, Deferred, Effect, Layer, Option, Semaphore, SubscriptionRef } from "effect"

/** A node as others know it: its ring ID and advertised address. */
export interface Member {
  readonly id: Position.Position
  readonly address: Address.Address
}

/** Where the node is in its life. Only a `ready` node routes and stores. */
export type Phase = "joining" | "ready" | "leaving"

/**
 * A range this node has just become the owner of and does not hold in full yet. A `handoff`
 * comes from its previous owner `from` (a join or a leave), who serves reads of it meanwhile.
 * A `repair` follows the crash of a successor: the replicas of the range hold it, and reads of
 * it consult them until this node has pulled it.
 */
export interface Incoming {
  readonly kind: "handoff" | "repair"
  readonly from: Member
  readonly start: Position.Position
  readonly end: Position.Position
}

/** The view. `successors` is empty while the node is alone. */
export interface View {
  readonly self: Member
  readonly predecessor: Option.Option<Member>
  readonly successors: ReadonlyArray<Member>
  readonly phase: Phase
  readonly incoming: Option.Option<Incoming>
  /** Distinct finger-table entries, `owner(self + 2^i)`; routing shortcuts, refreshed periodically. */
  readonly fingers: ReadonlyArray<Member>
}

/** How many successors a node remembers at least; never fewer than the replica count. */
export const SUCCESSOR_LIST_LENGTH = 8

/**
 * The successor-list length for a replica count and the virtual nodes per process. With
 * virtual nodes, successors in processes already counted are skipped when choosing replicas,
 * so the list is longer to still find `replicas` distinct processes.
 */
export const successorListLength = (replicas: number, vnodes: number = 1): number =>
  Math.max(SUCCESSOR_LIST_LENGTH, vnodes > 1 ? 8 * replicas : replicas)

/** The process a member runs in: its address without any virtual-node suffix. */
export const processOf = (member: Member): string => Address.target(member.address)

/**
 * The other nodes that hold copies of this node's range: its first successors in `replicas - 1`
 * processes other than this one, one per process. Without virtual nodes, the first
 * `replicas - 1` successors. Fewer when the ring spans fewer processes.
 */
export const replicaSet = (view: View, replicas: number): ReadonlyArray<Member> => {
  // Views are immutable: each is worked out once (a request asks for it once or twice).
  const cached = replicaSets.get(view)
  if (cached?.replicas === replicas) return cached.members
  const out: Array<Member> = []
  const used = new Set([processOf(view.self)])
  for (const m of view.successors) {
    if (out.length >= replicas - 1) break
    const p = processOf(m)
    if (used.has(p)) continue
    used.add(p)
    out.push(m)
  }
  replicaSets.set(view, { replicas, members: out })
  return out
}
const replicaSets = new WeakMap<View, { readonly replicas: number; readonly members: ReadonlyArray<Member> }>()

/**
 * Whether the whole ring fits in one replica set, so this process holds a copy of every range.
 * The successor list stops where it wraps round to this node, so a short list is the whole ring.
 */
export const holdsEverything = (view: View, replicas: number, listLength: number = successorListLength(replicas)): boolean =>
  view.successors.length < listLength &&
  new Set([view.self, ...view.successors].map(processOf)).size <= replicas

/**
 * The view without a member found down (or gone): it leaves the successor list, the predecessor
 * and the fingers, and a hand-off it was giving becomes a repair from the replicas. When it was the successor, this node's range grows up to the next successor; the
 * new part is marked for repair from the replicas, which hold copies of it.
 */
export const withoutDead = (view: View, dead: Member): View => {
  const wasNext = view.successors.length > 0 && same(view.successors[0]!, dead)
  const successors = view.successors.filter((m) => !same(m, dead))
  const predecessor = Option.filter(view.predecessor, (p) => !same(p, dead) && successors.length > 0)
  const fingers = view.fingers.filter((m) => !same(m, dead))
  let incoming = view.incoming
  // A hand-off whose giver went silent: the replicas of the range hold copies of it, so it is
  // repaired from them, and reads consult them rather than wait for the giver.
  if (Option.isSome(incoming) && incoming.value.kind === "handoff" && same(incoming.value.from, dead)) {
    incoming = Option.some({ ...incoming.value, kind: "repair" as const, from: successors[0] ?? view.self })
  }
  if (wasNext && view.phase === "ready") {
    const end = (successors[0] ?? view.self).id
    incoming = Option.match(view.incoming, {
      // A repair under way grows to cover the new part too.
      onSome: (i) => i.kind === "repair" ? Option.some({ ...i, end, from: successors[0] ?? view.self }) : Option.some(i),
      onNone: () => Option.some({ kind: "repair" as const, from: successors[0] ?? view.self, start: dead.id, end })
    })
  }
  return { ...view, successors, predecessor, fingers, incoming }
}
/** The next node clockwise, or self when alone. */
export const next = (view: View): Member => view.successors[0] ?? view.self

/** Whether this node owns `key`. */
export const owns = (view: View, key: Position.Position): boolean => Ownership.owns(view.self.id, next(view).id, key)

/** Every node this node knows: the candidates for the next hop. */
export const known = (view: View): ReadonlyArray<Member> => [
  view.self,
  ...Option.toArray(view.predecessor),
  ...view.successors,
  ...view.fingers
]

/**
 * A member that stopped answering. It is still a member: quorums count it, and it is probed
 * with backoff until it answers again, leaves, is removed, or passes `--dead-after`.
 */
export interface Down {
  readonly member: Member
  /** When it was last heard from (ms). */
  readonly since: number
  /** When it is probed next (ms). */
  nextProbe: number
  /** The current probe backoff (ms); it doubles up to a cap while the member stays silent. */
  backoff: number
}

/** Whether a member is down in this node's view: routing and placement skip it. */
export const isDown = (service: Pick<Service, "down">, id: Position.Position): boolean => service.down.has(id)

/**
 * How long a graceful leave or a removal is told to neighbours, so no one probes the member
 * again. It is remembered three times as long, so the news does not come round the ring again.
 */
export const GONE_TTL_MS = 60_000

/** Records that `member` left the membership, as of `at` (ms): it is no longer down here. */
export const forget = (service: Pick<Service, "down" | "gone" | "self">, member: Member, at: number): void => {
  if (member.id === service.self.id) return
  service.down.delete(member.id)
  if (!service.gone.has(member.id)) service.gone.set(member.id, { member, at })
}

/**
 * Whether `member` left gracefully or was removed, or belongs to a process some of whose
 * positions did: calls to it are expected to fail, and are logged at debug level, not as
 * warnings (a process with many positions leaving set off thousands of them).
 */
export const departed = (services: ReadonlyArray<Pick<Service, "gone">>, member: Member): boolean => {
  const process = processOf(member)
  for (const service of services) {
    if (service.gone.has(member.id)) return true
    for (const g of service.gone.values()) if (processOf(g.member) === process) return true
  }
  return false
}

/**
 * A warning about `member`, or a debug line when it is known to have departed to any of
 * `services` (the memberships of this process's virtual nodes).
 */
export const warnAbout = (services: ReadonlyArray<Pick<Service, "gone">>, member: Member, message: string) =>
  (departed(services, member) ? Effect.logDebug(message) : Effect.logWarning(message)).pipe(Effect.annotateLogs({ peer: member.address }))

/** The members to tell neighbours about as gone at `now`. */
export const recentlyGone = (service: Pick<Service, "gone">, now: number): ReadonlyArray<Member> =>
  [...service.gone.values()].filter((g) => now - g.at <= GONE_TTL_MS).map((g) => g.member)

/**
 * The members this node counts for quorums: the distinct processes of itself, its neighbours,
 * its fingers and its down members. A node cut off from the rest still counts them all, so it
 * acknowledges nothing alone; a ring that is small by design counts only what it has.
 */
export const memberCount = (view: View, down: ReadonlyMap<Position.Position, Down>): number => {
  const count = () => new Set([...known(view), ...[...down.values()].map((d) => d.member)].map(processOf)).size
  // With no member down the count follows from the view alone, which is immutable.
  if (down.size > 0) return count()
  let n = memberCounts.get(view)
  if (n === undefined) memberCounts.set(view, n = count())
  return n
}
const memberCounts = new WeakMap<View, number>()

/**
 * The view with a member that was down taken back, now that it answers again: it goes into the
 * successor list in ring order, and becomes the predecessor if it sits closer. When it becomes
 * the first successor, this node's range shrinks to end at it, and a repair under way is cut to
 * match. When it becomes the predecessor, it may have served this node's range meanwhile (a
 * partition, or a ring formed apart), so the range is marked for repair: reads consult the
 * replicas until this node has pulled from them.
 */
export const withReturned = (view: View, member: Member, listLength: number): View => {
  if (same(member, view.self) || view.phase !== "ready") return view
  const self = view.self
  const successors = [...view.successors.filter((m) => !same(m, member)), member]
    .sort((a, b) => {
      const da = Interval.distance(self.id, a.id)
      const db = Interval.distance(self.id, b.id)
      return da < db ? -1 : da > db ? 1 : 0
    })
    .slice(0, listLength)
  const nextAfter = successors[0]!
  const becomesPredecessor = isBetterPredecessor(view, member)
  const predecessor = becomesPredecessor ? Option.some(member) : view.predecessor
  let incoming = view.incoming
  if (Option.isSome(incoming) && incoming.value.kind === "repair" && !same(nextAfter, next(view))) {
    // Clockwise offsets from this node; an end at this node itself is the full circle.
    const offset = (p: Position.Position) => Interval.distance(self.id, p) || Position.RING_SIZE
    const i = incoming.value
    const limit = offset(nextAfter.id)
    incoming = Interval.distance(self.id, i.start) < limit
      ? Option.some({ ...i, end: offset(i.end) <= limit ? i.end : nextAfter.id, from: nextAfter })
      : Option.none()
  }
  if (becomesPredecessor && (Option.isNone(incoming) || incoming.value.kind === "repair")) {
    incoming = Option.some({ kind: "repair" as const, from: nextAfter, start: self.id, end: nextAfter.id })
  }
  return { ...view, successors, predecessor, incoming }
}

/** Whether a member is the same node (same ID). */
export const same = (a: Member, b: Member): boolean => a.id === b.id

/** Whether `candidate` sits strictly between the current predecessor and self, so it is a better predecessor. */
export const isBetterPredecessor = (view: View, candidate: Member): boolean =>
  !same(candidate, view.self) &&
  Option.match(view.predecessor, {
    onNone: () => true,
    onSome: (p) => same(p, view.self) || Interval.inOpen(candidate.id, p.id, view.self.id)
  })

/** The membership service. */
export interface Service {
  readonly self: Member
  /** Current view. */
  readonly view: Effect.Effect<View>
  /** Current view, read synchronously (for the request fast path). */
  readonly viewSync: () => View
  /** Applies a change to the view atomically and returns a result computed from the old view. */
  readonly modify: <A>(f: (view: View) => readonly [A, View]) => Effect.Effect<A>
  /** Applies a change to the view atomically. */
  readonly update: (f: (view: View) => View) => Effect.Effect<void>
  /** Completes once the node has finished joining. */
  readonly ready: Effect.Effect<void>
  /** Marks the join complete. */
  readonly markReady: Effect.Effect<void>
  /** The underlying ref, for subscribers to changes. */
  readonly ref: SubscriptionRef.SubscriptionRef<View>
  /** Serialises changes of range (joins accepted, take-overs, leaving). */
  readonly withLock: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Completes once a leaving node's range has been fetched and released by its taker. */
  readonly released: Deferred.Deferred<void>
  /** Whether the node has begun to stop; it then accepts no joins and no take-overs. */
  readonly stopping: { value: boolean }
  /** Length of the successor list: at least the replica count. */
  readonly successorListLength: number
  /**
   * Members that stopped answering. They stay out of the view, and stabilization does not
   * adopt them from a neighbour's list, until this node's own probe finds them ready again.
   */
  readonly down: Map<Position.Position, Down>
  /**
   * Members that left gracefully or were removed, with when (ms). Told to neighbours for
   * `GONE_TTL_MS`, so that they stop probing them too.
   */
  readonly gone: Map<Position.Position, { readonly member: Member; readonly at: number }>
}

/** This node's membership view. */
export class Membership extends Context.Service<Membership, Service>()("@crustyring/node/Membership") {}

/**
 * A membership view for `self`, alone and joining, keeping `successorListLength` successors.
 */
export const make = (
  self: Member,
  successorListLength: number = SUCCESSOR_LIST_LENGTH
): Effect.Effect<Service> =>
  Effect.gen(function*() {
    const ref = yield* SubscriptionRef.make<View>({
      self,
      predecessor: Option.none(),
      successors: [],
      phase: "joining",
      incoming: Option.none(),
      fingers: []
    })
    const readyLatch = yield* Deferred.make<void>()
    const lock = yield* Semaphore.make(1)
    const released = yield* Deferred.make<void>()
    return {
      withLock: lock.withPermit,
      released,
      stopping: { value: false },
      successorListLength,
      down: new Map(),
      gone: new Map(),
      self,
      ref,
      view: SubscriptionRef.get(ref),
      viewSync: () => SubscriptionRef.getUnsafe(ref),
      modify: (f) => SubscriptionRef.modify(ref, f),
      // An update that returns the view unchanged publishes nothing: watchers wake for changes only.
      update: (f) =>
        SubscriptionRef.updateSome(ref, (v) => {
          const next = f(v)
          return next === v ? Option.none() : Option.some(next)
        }),
      ready: Deferred.await(readyLatch),
      markReady: SubscriptionRef.update(ref, (v) => ({ ...v, phase: "ready" as const })).pipe(
        Effect.andThen(Deferred.succeed(readyLatch, undefined)),
        Effect.asVoid
      )
    }
  })

/** A layer for `self`. */
export const layer = (
  self: Member,
  successorListLength?: number
): Layer.Layer<Membership> => Layer.effect(Membership, make(self, successorListLength))

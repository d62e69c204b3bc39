/**
 * This node's view of the ring: itself, its predecessor, its successor list and its phase, in
 * one `SubscriptionRef`. Ownership follows from it: this node owns `[self.id, successors[0].id)`.
 */
import type { Address } from "@crustyring/protocol"
import { Interval, Ownership, type Position } from "@crustyring/ring"
import { Context, Deferred, Effect, Layer, Option, Semaphore, SubscriptionRef } from "effect"

/** A node as others know it: its ring ID and advertised address. */
export interface Member {
  readonly id: Position.Position
  readonly address: Address.Address
}

/** Where the node is in its life. Only a `ready` node routes and stores. */
export type Phase = "joining" | "ready" | "leaving"

/** A range this node is receiving from its previous owner, who still serves reads of it. */
export interface Incoming {
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

/** How many successors a node remembers; later, at least the replica count. */
export const SUCCESSOR_LIST_LENGTH = 8

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
}

/** This node's membership view. */
export class Membership extends Context.Service<Membership, Service>()("@crustyring/node/Membership") {}

/** A membership view for `self`, alone and joining. */
export const make = (self: Member): Effect.Effect<Service> =>
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
      self,
      ref,
      view: SubscriptionRef.get(ref),
      modify: (f) => SubscriptionRef.modify(ref, f),
      update: (f) => SubscriptionRef.update(ref, f),
      ready: Deferred.await(readyLatch),
      markReady: SubscriptionRef.update(ref, (v) => ({ ...v, phase: "ready" as const })).pipe(
        Effect.andThen(Deferred.succeed(readyLatch, undefined)),
        Effect.asVoid
      )
    }
  })

/** A layer for `self`. */
export const layer = (self: Member): Layer.Layer<Membership> => Layer.effect(Membership, make(self))

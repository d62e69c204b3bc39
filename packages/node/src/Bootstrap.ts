/**
 * How a node finds its way into a ring. Every way yields the same join plan, one live contact
 * or none, and the join itself is then the same: there is nothing special about a registry.
 *
 * - `layerNewRing`: no contact; the node starts a ring of its own.
 * - `layerPeer(address)`: the contact is a live node (`dht --join`).
 * - `layerRegistry(address)`: the registry hands out the contact and lists the node once joined.
 */
import { Address, Errors, RegistryClient } from "@crustyring/protocol"
import { Context, Effect, Layer, Option, Schedule, Schema } from "effect"
import type { Member } from "./Membership.ts"
import * as Transport from "./Transport.ts"

/** The node could not get into a ring; the message says why. */
export class JoinError extends Schema.TaggedError<JoinError>()("JoinError", {
  message: Schema.String,
  /** The node's ring ID is held by another live node: retrying cannot help. */
  taken: Schema.optional(Schema.Boolean),
  /** A contact or the registry cannot be talked to with this node's credentials: retrying cannot help. */
  refused: Schema.optional(Schema.Boolean)
}) {}

/**
 * Where to join: the nodes to try, in order (the first ready one takes the node in), and whether
 * the node may start a new ring when none of them is ready. No contacts at all starts a ring.
 */
export interface JoinPlan {
  readonly contacts: ReadonlyArray<Address.Address>
  /**
   * The node is one of its own seeds, or the registry named no neighbour: it may be the first
   * member when no contact serves yet.
   */
  readonly mayStart: boolean
}

/** A way into the ring. */
export interface Service {
  /** Describes how the node joins, e.g. "registry 127.0.0.1:50000". */
  readonly description: string
  readonly plan: (self: Member) => Effect.Effect<JoinPlan, JoinError>
  /** Called once the node serves its range. */
  readonly joined: (self: Member) => Effect.Effect<void>
  /** Called when the node leaves. */
  readonly left: (self: Member) => Effect.Effect<void>
}

/** How this node joins. */
export class Bootstrap extends Context.Service<Bootstrap, Service>()("@crustyring/node/Bootstrap") {}

/** No contact: the node is the first member of a new ring. */
export const layerNewRing: Layer.Layer<Bootstrap> = Layer.succeed(Bootstrap, {
  description: "new ring",
  plan: () => Effect.succeed({ contacts: [], mayStart: true }),
  joined: () => Effect.void,
  left: () => Effect.void
})

/**
 * Joins through any of the live nodes at `contacts`, a seed list as in Cassandra (`dht --join
 * a,b,c`). Every node may be given the same list, itself included: a node in its own list may
 * start the ring when no other seed serves yet.
 */
export const layerPeers = (contacts: ReadonlyArray<Address.Address>): Layer.Layer<Bootstrap> =>
  Layer.succeed(Bootstrap, {
    description: `peers ${contacts.join(",")}`,
    plan: (self) =>
      Effect.succeed({
        contacts,
        mayStart: contacts.some((c) => Address.target(c) === Address.target(self.address))
      }),
    joined: () => Effect.void,
    left: () => Effect.void
  })

/** Joins through the live node at `contact`. */
export const layerPeer = (contact: Address.Address): Layer.Layer<Bootstrap> => layerPeers([contact])

/** Options of the registry bootstrap. */
export interface RegistryOptions {
  /** Attempts to reach the registry before giving up. @default 5 */
  readonly attempts?: number
  /** First retry delay; it doubles each time. @default 500 millis */
  readonly backoff?: number
}

/**
 * Joins through the registry at `address`: it returns the member with the closest smaller ID
 * as the contact, and lists this node once its join is complete. An unreachable registry is
 * retried with backoff, then the join fails with a message naming it.
 */
export const layerRegistry = (address: string, options: RegistryOptions = {}): Layer.Layer<Bootstrap> =>
  Layer.effect(
    Bootstrap,
    Effect.gen(function*() {
      const registry = yield* RegistryClient.make(address)
      const attempts = options.attempts ?? 5
      const schedule = Schedule.exponential(`${options.backoff ?? 500} millis`, 2).pipe(Schedule.upTo({ times: attempts - 1 }))
      const retrying = <A, E extends Errors.RpcError | JoinError>(what: string, effect: Effect.Effect<A, E>) =>
        effect.pipe(
          Effect.tapError((e) =>
            e._tag === "Unavailable" || e._tag === "DeadlineExceeded"
              ? Effect.logWarning(`registry ${address} not reachable (${what}): ${e.message}; retrying`)
              : Effect.void
          ),
          Effect.retry({ schedule, while: (e) => e._tag === "Unavailable" || e._tag === "DeadlineExceeded" })
        )
      return {
        description: `registry ${address}`,
        plan: (self) =>
          retrying(
            "register",
            registry.register(self.address).pipe(
              // Unreachable may mean down, or refusing our credentials; only the second is final.
              Effect.catchIf(
                (e) => e._tag === "Unavailable" && e.unreachable === true,
                (e) =>
                  Effect.flatMap(
                    Effect.flatMap(Transport.current, (t) => t.mismatch(address)),
                    (refused): Effect.Effect<never, Errors.RpcError | JoinError> =>
                      refused === undefined
                        ? Effect.fail(e)
                        : Effect.fail(new JoinError({ message: `cannot register with registry ${address}: ${refused}`, refused: true }))
                  )
              )
            )
          ).pipe(
            Effect.flatMap((info) =>
              info.id === self.id
                ? Effect.succeed({ contacts: Option.toArray(Option.map(info.neighbor, (n) => n.address)), mayStart: Option.isNone(info.neighbor) })
                : Effect.fail(
                  new Errors.Internal({ message: `registry ${address} assigned ID ${info.id}, expected ${self.id}` })
                )
            ),
            Effect.mapError((e) =>
              e._tag === "JoinError" ? e : new JoinError({
                message: e._tag === "Unavailable" || e._tag === "DeadlineExceeded"
                  ? `cannot reach registry ${address} after ${attempts} attempts: ${e.message}`
                  : `registry ${address} refused ${self.address}: ${e.message}`
              })
            )
          ),
        joined: (self) =>
          retrying("confirm", registry.confirm(self.address)).pipe(
            Effect.catch((e) => Effect.logWarning(`registry ${address} did not confirm ${self.address}: ${e.message}`))
          ),
        left: (self) =>
          registry.unregister(self.address).pipe(
            Effect.catch((e) => Effect.logWarning(`registry ${address} did not unregister ${self.address}: ${e.message}`))
          )
      }
    })
  )

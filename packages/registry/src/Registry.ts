/**
 * The registry's book of nodes. It hands a joining node its deterministic ID and one contact,
 * and lists the nodes whose join is complete. A node is listed only once it confirms, so the
 * registry never hands out a half-joined node as a contact, except to bootstrap an empty ring.
 */
import { Address, Errors } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Context, Effect, Layer, Option } from "effect"

/** A registered node. */
export interface Entry {
  readonly id: Position.Position
  readonly address: Address.Address
  /** `joining` until the node confirms that it serves. */
  readonly state: "joining" | "member"
  /** Registration order, to pick the founder of an empty ring. */
  readonly seq: number
}

/** What `register` returns: the node's ID and the contact to join through, if any. */
export interface Registration {
  readonly id: Position.Position
  readonly neighbor: Option.Option<Entry>
}

/** The registry's operations. */
export interface Service {
  /**
   * Registers an address, or re-registers it after a restart (idempotent). The contact is the
   * member with the closest smaller ID, wrapping. While there is no member yet, it is the
   * earliest other registered node, so simultaneous first joins still form one ring.
   */
  readonly register: (address: string) => Effect.Effect<Registration, Errors.InvalidArgument | Errors.AlreadyExists>
  /** Marks a node as a member once its join is complete. */
  readonly confirm: (address: string) => Effect.Effect<void, Errors.InvalidArgument | Errors.AlreadyExists>
  /** Removes a node. Removing an unknown node does nothing. */
  readonly unregister: (address: string) => Effect.Effect<void, Errors.InvalidArgument>
  /** The members, in ID order. */
  readonly members: Effect.Effect<ReadonlyArray<Entry>>
}

/** The registry. */
export class Registry extends Context.Service<Registry, Service>()("@crustyring/registry/Registry") {}

const parse = (input: string) =>
  Effect.mapError(Address.parse(input), (e) => new Errors.InvalidArgument({ message: e.message }))

/** A registry that keeps its book in memory. */
export const make: Effect.Effect<Service> = Effect.sync(() => {
  // Every operation below runs synchronously, so each is atomic without a lock.
  const book = new Map<Address.Address, Entry>()
  let seq = 0

  const upsert = (input: string, state: Entry["state"] | undefined) =>
    Effect.flatMap(parse(input), (address): Effect.Effect<Entry, Errors.AlreadyExists> => {
      const id = Position.nodeId(address)
      const clash = [...book.values()].find((e) => e.id === id && e.address !== address)
      if (clash) {
        return Effect.fail(
          new Errors.AlreadyExists({ message: `ring ID ${Position.toHex(id)} of ${address} is already held by ${clash.address}` })
        )
      }
      const existing = book.get(address)
      const entry: Entry = { id, address, state: state ?? existing?.state ?? "joining", seq: existing?.seq ?? seq++ }
      book.set(address, entry)
      return Effect.succeed(entry)
    })

  return {
    register: (input) =>
      Effect.map(upsert(input, undefined), (entry) => {
        const others = [...book.values()].filter((e) => e.address !== entry.address)
        const members = others.filter((e) => e.state === "member")
        if (members.length > 0) {
          return { id: entry.id, neighbor: Option.fromUndefinedOr(Ring.predecessor(Ring.make([...members, entry]), entry.id)) }
        }
        const founder = others.filter((e) => e.seq < entry.seq).sort((a, b) => a.seq - b.seq)[0]
        return { id: entry.id, neighbor: Option.fromUndefinedOr(founder) }
      }),
    confirm: (input) => Effect.asVoid(upsert(input, "member")),
    unregister: (input) =>
      Effect.map(parse(input), (address) => {
        book.delete(address)
      }),
    members: Effect.sync(() => Ring.make([...book.values()].filter((e) => e.state === "member")).members)
  }
})

/** An in-memory registry. */
export const layer: Layer.Layer<Registry> = Layer.effect(Registry, make)

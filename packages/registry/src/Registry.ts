/**
 * The registry's book of nodes. It hands a joining node its deterministic ID and one contact,
 * and lists the nodes whose join is complete. A node is listed only once it confirms, so the
 * registry never hands out a half-joined node as a contact, except to bootstrap an empty ring.
 * A contact is pinged before it is handed out, and the live layers also drop every node that
 * stops answering pings (`HealthCheck`), so a crashed node is neither listed nor handed out.
 */
import { Address, Errors } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Clock, Context, Duration, Effect, Layer, Option } from "effect"
import * as HealthCheck from "./HealthCheck.ts"
import * as Pinger from "./Pinger.ts"

/** A registered node. */
export interface Entry {
  readonly id: Position.Position
  readonly address: Address.Address
  /** `joining` until the node confirms that it serves. */
  readonly state: "joining" | "member"
  /** Registration order, to pick the founder of an empty ring. */
  readonly seq: number
  /** When the node last showed it is alive (registered, confirmed, answered a ping), in `Clock` millis. */
  readonly seenAt: number
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
   * earliest other registered node, so simultaneous first joins still form one ring. The
   * contact must answer a ping first: one that does not is removed and the next candidate is
   * tried, so a joiner is never sent to a dead node (with none left, it gets no contact). A
   * refused connection fails at once; only a host that stays silent costs the ping deadline.
   */
  readonly register: (address: string) => Effect.Effect<Registration, Errors.InvalidArgument | Errors.AlreadyExists>
  /** Marks a node as a member once its join is complete. */
  readonly confirm: (address: string) => Effect.Effect<void, Errors.InvalidArgument | Errors.AlreadyExists>
  /** Removes a node. Removing an unknown node does nothing. */
  readonly unregister: (address: string) => Effect.Effect<void, Errors.InvalidArgument>
  /** The members, in ID order. */
  readonly members: Effect.Effect<ReadonlyArray<Entry>>
  /** Every node in the book, joining or member, in registration order. For health checks. */
  readonly entries: Effect.Effect<ReadonlyArray<Entry>>
  /** Records that the node of `entry` answered a ping just now. Does nothing once it is gone. */
  readonly markAlive: (entry: Entry) => Effect.Effect<void>
  /**
   * Removes `entry`, unless its node showed a sign of life since `entry` was read (its book
   * entry is then a newer object): a node that re-registers while its old entry is being
   * judged is alive. Returns whether it was removed.
   */
  readonly evict: (entry: Entry) => Effect.Effect<boolean>
}

/** The registry. */
export class Registry extends Context.Service<Registry, Service>()("@crustyring/registry/Registry") {}

/** How the registry tells live nodes from dead ones. */
export interface Options {
  /** How often every node in the book is pinged; also each such ping's deadline. @default 1 second */
  readonly healthInterval: Duration.Input
  /**
   * A node that has shown no sign of life (a ping answered, a registration, a confirmation) for
   * this long is dropped at its next failed ping. Below `healthInterval`, one missed ping drops
   * it. @default 3 seconds
   */
  readonly failureTimeout: Duration.Input
}

/** The default options: ping every second, drop after three seconds of silence. */
export const defaults: Options = { healthInterval: "1 second", failureTimeout: "3 seconds" }

/** The deadline for pinging a contact before handing it out: short, because a joiner waits on it. */
const contactTimeout = (options: Options): Duration.Duration =>
  Duration.min(Duration.seconds(1), Duration.fromInputUnsafe(options.failureTimeout))

const parse = (input: string) =>
  Effect.mapError(Address.parse(input), (e) => new Errors.InvalidArgument({ message: e.message }))

/**
 * A registry that keeps its book in memory. It pings contacts through `Pinger` but runs no
 * health check of its own: `layer` and `layerWith` add that (`HealthCheck.start`).
 */
export const make = (options: Partial<Options> = {}): Effect.Effect<Service, never, Pinger.Pinger> =>
  Effect.gen(function*() {
    const pinger = yield* Pinger.Pinger
    const pingTimeout = contactTimeout({ ...defaults, ...options })
    // Every book operation below runs synchronously once it has the time, so each is atomic
    // without a lock. Entries are immutable: any change replaces the object, which `evict` relies on.
    const book = new Map<Address.Address, Entry>()
    let seq = 0

    const upsert = (input: string, state: Entry["state"] | undefined) =>
      Effect.flatMap(
        Effect.all([parse(input), Clock.currentTimeMillis]),
        ([address, now]): Effect.Effect<Entry, Errors.AlreadyExists> => {
          const id = Position.nodeId(address)
          const clash = [...book.values()].find((e) => e.id === id && e.address !== address)
          if (clash) {
            return Effect.fail(
              new Errors.AlreadyExists({ message: `ring ID ${Position.toHex(id)} of ${address} is already held by ${clash.address}` })
            )
          }
          const existing = book.get(address)
          const entry: Entry = {
            id,
            address,
            state: state ?? existing?.state ?? "joining",
            seq: existing?.seq ?? seq++,
            seenAt: now
          }
          book.set(address, entry)
          return Effect.succeed(entry)
        }
      )

    /** The contact for `self` by the rules of `register`, leaving out entries already found dead. */
    const candidate = (self: Entry, dead: ReadonlySet<Entry>): Entry | undefined => {
      const others = [...book.values()].filter((e) => e.address !== self.address && !dead.has(e))
      const members = others.filter((e) => e.state === "member")
      if (members.length > 0) return Ring.predecessor(Ring.make([...members, self]), self.id)
      return others.filter((e) => e.seq < self.seq).sort((a, b) => a.seq - b.seq)[0]
    }

    const markAlive = (entry: Entry) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const current = book.get(entry.address)
        if (current) book.set(entry.address, { ...current, seenAt: now })
      })

    const evict = (entry: Entry) =>
      Effect.sync(() => {
        if (book.get(entry.address) !== entry) return false
        book.delete(entry.address)
        return true
      })

    /**
     * The first candidate that answers a ping. Each failed one is evicted and skipped. This ends:
     * an entry is skipped once found dead, and comes back only as a new object after a sign of life.
     */
    const liveContact = (self: Entry) =>
      Effect.gen(function*() {
        const dead = new Set<Entry>()
        while (true) {
          const next = candidate(self, dead)
          if (next === undefined) return Option.none<Entry>()
          const answer = yield* Effect.result(pinger.ping(next.address, pingTimeout))
          if (answer._tag === "Success") {
            yield* markAlive(next)
            return Option.some(next)
          }
          dead.add(next)
          if (yield* evict(next)) {
            yield* Effect.logWarning(
              `registry: dropped ${next.address} (${Position.toHex(next.id)}), a contact for ${self.address} that did not answer a ping: ${answer.failure.message}`
            )
          }
        }
      })

    return {
      register: (input) =>
        Effect.flatMap(upsert(input, undefined), (entry) =>
          Effect.map(liveContact(entry), (neighbor) => ({ id: entry.id, neighbor }))),
      confirm: (input) => Effect.asVoid(upsert(input, "member")),
      unregister: (input) =>
        Effect.map(parse(input), (address) => {
          book.delete(address)
        }),
      members: Effect.sync(() => Ring.make([...book.values()].filter((e) => e.state === "member")).members),
      entries: Effect.sync(() => [...book.values()].sort((a, b) => a.seq - b.seq)),
      markAlive,
      evict
    } satisfies Service
  })

/**
 * An in-memory registry that pings over gRPC and drops nodes that stop answering, with the
 * given options (the rest from `defaults`). The health check stops with the layer's scope.
 */
export const layerWith = (options: Partial<Options>): Layer.Layer<Registry> =>
  Layer.effect(
    Registry,
    Effect.tap(make(options), (registry) => HealthCheck.start(registry, { ...defaults, ...options }))
  ).pipe(Layer.provide(Pinger.layer))

/** An in-memory registry with the default health check (`defaults`). */
export const layer: Layer.Layer<Registry> = layerWith({})

/**
 * An in-memory registry that trusts every node to be alive: no pings, no health check. For
 * tests that register addresses with nothing behind them.
 */
export const layerMemory: Layer.Layer<Registry> = Layer.effect(Registry, make()).pipe(Layer.provide(Pinger.layerNoop))

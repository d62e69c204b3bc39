/**
 * The original's key-value semantics, run by the key's owner as coordinator: Set returns the
 * previous value, Delete the removed one. Writes get a new version and go to the replicas
 * through `Replication`; a delete is a tombstone. While part of the range is still arriving
 * (from its previous owner, or from the replicas after a crash), reads of it consult those
 * holders, and the newest version wins.
 */
import type { Errors } from "@crustyring/protocol"
import { Interval, Position } from "@crustyring/ring"
import { Context, Effect, Layer, Option, Random } from "effect"
import * as Membership from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import type { Outcome, Query } from "./Query.ts"
import { newest, Replication, shouldCheck } from "./Replication.ts"
import type { Entry } from "./Storage.ts"

/** Local execution of queries the node owns. */
export interface Service {
  /** Runs a query as its coordinator. The caller has checked that this node owns the key. */
  readonly apply: (query: Query) => Effect.Effect<Outcome, Errors.RpcError>
  /**
   * Runs a query synchronously in `view`, where it needs no other node: a read of this node's
   * copy alone, or a write to a ring of one process. `undefined` otherwise, and `apply` runs it.
   */
  readonly applySync: (view: Membership.View, query: Query) => Outcome | undefined
}

/** Query execution at the owner. */
export class KeyValue extends Context.Service<KeyValue, Service>()("@crustyring/node/KeyValue") {}

const live = (entry: Option.Option<Entry>): Option.Option<Uint8Array> =>
  Option.flatMap(entry, (e) => Option.fromUndefinedOr(e.value))

/** Query execution over `Replication`. */
export const make = Effect.gen(function*() {
  const config = yield* NodeConfig
  const membership = yield* Membership.Membership
  const replication = yield* Replication
  // Background read repairs stop with the node.
  const scope = yield* Effect.scope
  const random = yield* Random.Random
  const context = yield* Effect.context<never>()

  /** Where the current value of a key is read from, in a view. */
  const sourcesOf = (view: Membership.View, key: Uint8Array, forWrite: boolean) => {
    const replicas = Membership.replicaSet(view, config.replicas)
    // Members, not live nodes: a read consults min(read quorum, members) copies, and fails
    // when fewer are reachable.
    const needed = Math.min(config.readQuorum, Membership.memberCount(view, membership.down)) - 1
    if (Option.isSome(view.incoming)) {
      const incoming = view.incoming.value
      if (Interval.inHalfOpen(Position.position(key), incoming.start, incoming.end)) {
        // The giver of a hand-off is about to drop the range: never write back to it. A range
        // being repaired reads every replica, and at least the read quorum of them.
        return incoming.kind === "handoff"
          ? { sources: [incoming.from], needed: 1, all: true, repair: false }
          : { sources: replicas, needed: Math.max(Math.min(1, replicas.length), forWrite ? 0 : needed), all: true, repair: true }
      }
    }
    // A write only needs the previous value for its reply; this node's copy is the one it has.
    if (forWrite) return { sources: [], needed: 0, all: false, repair: true }
    return { sources: replicas.slice(0, Math.max(needed, 0)), needed, all: false, repair: true }
  }

  /** Checks the other copies of a key after answering, and repairs the stale ones. */
  const check = (view: Membership.View, key: Uint8Array) =>
    replication.read(key, Membership.replicaSet(view, config.replicas), { needed: 0, all: true, repair: true }).pipe(
      Effect.ignore,
      Effect.forkIn(scope)
    )

  const getSync = (view: Membership.View, key: Uint8Array): Option.Option<Entry> | undefined => {
    // Only where this node's copy alone is the read quorum.
    const { needed, sources } = sourcesOf(view, key, false)
    if (sources.length > 0 || needed > 0) return undefined
    const found = replication.readLocalSync(key)
    if (
      found !== undefined && config.readRepairChance > 0 && random.nextDoubleUnsafe() < config.readRepairChance &&
      Membership.replicaSet(view, config.replicas).length > 0
    ) {
      Effect.runForkWith(context)(check(view, key))
    }
    return found
  }

  const get = (view: Membership.View, key: Uint8Array) =>
    Effect.gen(function*() {
      const { all, needed, repair, sources } = sourcesOf(view, key, false)
      const found = yield* replication.read(key, sources, { needed, all, repair })
      if (sources.length === 0 && (yield* shouldCheck(config.readRepairChance))) yield* check(view, key)
      return found
    })

  const write = (view: Membership.View, key: Uint8Array, value: Uint8Array | undefined) =>
    Effect.gen(function*() {
      const { all, needed, repair, sources } = sourcesOf(view, key, true)
      const before = sources.length > 0 ? yield* replication.read(key, sources, { needed, all, repair }) : Option.none<Entry>()
      const previous = yield* replication.write(view, { key, value, version: replication.version() })
      return newest([before, previous])
    })

  const writeSync = (view: Membership.View, key: Uint8Array, value: Uint8Array | undefined) =>
    sourcesOf(view, key, true).sources.length > 0 ? undefined : replication.writeSync(view, key, value)

  const outcome = (entry: Option.Option<Entry> | undefined): Outcome | undefined => entry === undefined ? undefined : { value: live(entry) }

  return {
    applySync: (view, query) => {
      switch (query._tag) {
        case "Get":
          return outcome(getSync(view, query.key))
        case "Set":
          return outcome(writeSync(view, query.key, query.value))
        case "Delete":
          return outcome(writeSync(view, query.key, undefined))
      }
    },
    apply: (query) =>
      Effect.flatMap(membership.view, (view) => {
        switch (query._tag) {
          case "Get":
            return Effect.map(get(view, query.key), (e) => ({ value: live(e) }))
          case "Set":
            return Effect.map(write(view, query.key, query.value), (e) => ({ value: live(e) }))
          case "Delete":
            return Effect.map(write(view, query.key, undefined), (e) => ({ value: live(e) }))
        }
      })
  } satisfies Service
})

/** Query execution at the owner. */
export const layer = Layer.effect(KeyValue, make)

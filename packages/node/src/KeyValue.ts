/**
 * The original's key-value semantics on this node's storage: Set returns the previous value,
 * Delete the removed one. While a range is arriving from its previous owner, keys of that range
 * not yet received are read through from that owner, and keys written or deleted here meanwhile
 * are "settled" so the arriving copy never overwrites them.
 */
import { Errors } from "@crustyring/protocol"
import { Interval, Position } from "@crustyring/ring"
import { Context, Effect, Layer, Option, Semaphore } from "effect"
import type { Incoming } from "./Membership.ts"
import { Membership } from "./Membership.ts"
import { Peers } from "./Peers.ts"
import type { Outcome, Query } from "./Query.ts"
import { type Entry, Storage, StorageError } from "./Storage.ts"

/** Local execution of queries the node owns. */
export interface Service {
  /** Runs a query against local storage. The caller has checked that this node owns the key. */
  readonly apply: (query: Query) => Effect.Effect<Outcome, Errors.RpcError>
  /** Stores an entry that arrived with a hand-off, unless the key was settled here meanwhile. */
  readonly absorb: (entry: Entry) => Effect.Effect<void, Errors.RpcError>
  /** Forgets the settled keys once a hand-off is complete. */
  readonly endHandoff: Effect.Effect<void>
}

/** Local query execution. */
export class KeyValue extends Context.Service<KeyValue, Service>()("@crustyring/node/KeyValue") {}

const keyId = (key: Uint8Array) => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1")

/** Storage failures reach clients as UNAVAILABLE: the request may succeed elsewhere or later. */
export const storageError = (e: StorageError): Errors.Unavailable =>
  new Errors.Unavailable({ message: `storage failed: ${e.message}` })

/** Local execution over `Storage`, reading through to the previous owner during a hand-off. */
export const make = Effect.gen(function*() {
  const storage = yield* Storage
  const membership = yield* Membership
  const peers = yield* Peers
  const settled = new Set<string>()
  // One lock per key in the arriving range: a client write and the stream entry of the same key
  // must not interleave, but writes to different keys must not queue behind each other or
  // behind the stream.
  const keyLocks = new Map<string, { readonly semaphore: Semaphore.Semaphore; users: number }>()
  const withKeyLock = (id: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      let entry = keyLocks.get(id)
      if (!entry) {
        entry = { semaphore: Semaphore.makeUnsafe(1), users: 0 }
        keyLocks.set(id, entry)
      }
      const held = entry
      held.users++
      return held.semaphore.withPermit(effect).pipe(
        Effect.ensuring(Effect.sync(() => {
          if (--held.users === 0) keyLocks.delete(id)
        }))
      )
    })

  const store = <A>(effect: Effect.Effect<A, StorageError>) => Effect.mapError(effect, storageError)

  const plain = (query: Query): Effect.Effect<Outcome, Errors.RpcError> => {
    switch (query._tag) {
      case "Get":
        return Effect.map(store(storage.get(query.key)), (value) => ({ value }))
      case "Set":
        return Effect.map(store(storage.put(query.key, query.value)), (value) => ({ value }))
      case "Delete":
        return Effect.map(store(storage.remove(query.key)), (value) => ({ value }))
    }
  }

  const duringHandoff = (query: Query, incoming: Incoming): Effect.Effect<Outcome, Errors.RpcError> => {
    const id = keyId(query.key)
    return Effect.gen(function*() {
      const local = yield* store(storage.get(query.key))
      const current = Option.isSome(local) || settled.has(id)
        ? local
        : yield* peers.fetch(incoming.from.address, query.key)
      if (query._tag === "Get") return { value: current }
      settled.add(id)
      if (query._tag === "Set") yield* store(storage.put(query.key, query.value))
      else yield* store(storage.remove(query.key))
      return { value: current }
    }).pipe(query._tag === "Get" ? (e) => e : withKeyLock(id))
  }

  return {
    apply: (query) =>
      Effect.flatMap(membership.view, (view) => {
        if (Option.isNone(view.incoming)) return plain(query)
        const incoming = view.incoming.value
        return Interval.inHalfOpen(Position.position(query.key), incoming.start, incoming.end)
          ? duringHandoff(query, incoming)
          : plain(query)
      }),
    absorb: (entry) => {
      const id = keyId(entry.key)
      return withKeyLock(id)(
        Effect.suspend(() => (settled.has(id) ? Effect.void : Effect.asVoid(store(storage.put(entry.key, entry.value)))))
      )
    },
    endHandoff: Effect.sync(() => settled.clear())
  } satisfies Service
})

/** Local execution over the node's `Storage`. */
export const layer = Layer.effect(KeyValue, make)

/**
 * The Effect client library. `DhtClient` runs Get, Set and Delete against a cluster, found
 * through a registry or a list of node addresses. Each request goes to a random node, as the
 * original client did, with a deadline; an unreachable node is skipped and the request retried
 * on another.
 */
import { Address, Errors, Grpc, Proto, RegistryClient, type Wire } from "@crustyring/protocol"
import { Context, Duration, Effect, Layer, Option, Random, RcMap, Ref } from "effect"
import * as ClientError from "./ClientError.ts"
import * as Display from "./Display.ts"
import * as RingStatus from "./RingStatus.ts"
import { Position, Ring } from "@crustyring/ring"

/** Where the cluster is: a registry, or some nodes. */
export type Target =
  | { readonly registry: string }
  | { readonly nodes: ReadonlyArray<string> }

/** Client options. */
export interface Options {
  /** Deadline of each attempt. @default 5 seconds */
  readonly timeout?: Duration.Input
  /** Nodes tried per request before giving up. @default 3 */
  readonly attempts?: number
  /**
   * `owner`: keep a view of the ring and send each request straight to the key's owner (0 hops
   * on a stable ring); a stale view costs forwarding hops and triggers a refresh.
   * `random`: a random node per request, as the original client did. @default "owner"
   */
  readonly routing?: "owner" | "random"
}

/** The outcome of a request, with the hops the cluster reported. */
export interface Reply<A> {
  readonly value: A
  readonly hops: number
  /** The node that took the request. */
  readonly node: string
}

/** The client operations. Keys and values are bytes or UTF-8 strings. */
export interface Service {
  /** Reads a key. Fails with `KeyNotFound` when it is not stored. */
  readonly get: (key: Uint8Array | string) => Effect.Effect<Uint8Array, ClientError.ClientError>
  /** Stores a value and returns the previous one, if any. */
  readonly set: (key: Uint8Array | string, value: Uint8Array | string) => Effect.Effect<Option.Option<Uint8Array>, ClientError.ClientError>
  /** Removes a key and returns the removed value. Fails with `KeyNotFound` when it is not stored. */
  readonly delete: (key: Uint8Array | string) => Effect.Effect<Uint8Array, ClientError.ClientError>
  /** Runs a raw wire query and returns the raw result, for tools that need hops or the node. */
  readonly query: (query: Wire.Query) => Effect.Effect<Reply<Wire.QueryResult__Output>, ClientError.InvalidRequest | ClientError.Unavailable | ClientError.Timeout>
  /** The ring as a node sees it, walking successors from one of the known nodes (or `from`). */
  readonly ring: (from?: string) => Effect.Effect<ReadonlyArray<RingStatus.NodeStatus>, ClientError.Unavailable | ClientError.Timeout>
  /** The node addresses the client currently knows. */
  readonly nodes: Effect.Effect<ReadonlyArray<string>, ClientError.Unavailable | ClientError.Timeout>
}

/** A DHT client. */
export class DhtClient extends Context.Service<DhtClient, Service>()("@crustyring/client/DhtClient") {}

const toBytes = (v: Uint8Array | string): Uint8Array => (typeof v === "string" ? Buffer.from(v, "utf8") : v)

const retryable = (e: Errors.RpcError) => e._tag === "Unavailable" || e._tag === "DeadlineExceeded"

/** Builds a client for `target`; its connections close with the scope. */
export const make = (target: Target, options: Options = {}) =>
  Effect.gen(function*() {
    const timeout = options.timeout ?? "5 seconds"
    const attempts = options.attempts ?? 3
    const pool = yield* RcMap.make({
      lookup: (address: string) => Grpc.client(Proto.proto.dht.DhtNode, address),
      idleTimeToLive: "1 minute"
    })
    const registry = "registry" in target ? Option.some(yield* RegistryClient.make(target.registry, timeout)) : Option.none()
    const fixed = "nodes" in target ? target.nodes.map((n) => Address.unsafeMake(n)) : []
    const known = yield* Ref.make<ReadonlyArray<string>>(fixed)

    const refresh = Option.match(registry, {
      onNone: () => Effect.succeed(fixed as ReadonlyArray<string>),
      onSome: (r) =>
        r.nodes.pipe(
          Effect.map((ns) => ns.map((n) => n.address as string)),
          Effect.tap((ns) => Ref.set(known, ns)),
          Effect.mapError((e) =>
            e._tag === "DeadlineExceeded"
              ? new ClientError.Timeout({ message: `registry ${r.address}: ${e.message}` })
              : new ClientError.Unavailable({ message: `cannot reach registry ${r.address}: ${e.message}` })
          )
        )
    })

    const nodes = Effect.flatMap(Ref.get(known), (ns) => (ns.length > 0 ? Effect.succeed(ns) : refresh))

    const send = (address: string, query: Wire.Query) =>
      Effect.scoped(
        Effect.flatMap(RcMap.get(pool, address), (c) =>
          Grpc.call<Wire.QueryResult__Output>(address, timeout, (o, cb) => c.QueryDht(query, o, cb)))
      )

    /** Forgets a node that could not be reached; the next request that finds none left refreshes. */
    const forget = (address: string) => Ref.update(known, (ns) => ns.filter((n) => n !== address))

    /** Walks the ring from `from`, or from the known nodes in random order until a walk succeeds. */
    const walkFromAny = (from: string | undefined) =>
      Effect.gen(function*() {
        const starts = from !== undefined ? [from] : [...(yield* nodes)].sort(() => Math.random() - 0.5)
        let last: Errors.RpcError = new Errors.Unavailable({ message: "no nodes in the cluster" })
        for (const start of starts) {
          const result = yield* Effect.result(Effect.scoped(RingStatus.walk(start, timeout)))
          if (result._tag === "Success") {
            // The walk is the freshest list of live nodes there is: use it for random routing too.
            const live = result.success.filter((n) => n.phase === "ready").map((n) => n.address)
            if (live.length > 0) yield* Ref.set(known, live)
            return result.success
          }
          last = result.failure
          if (last._tag === "Unavailable" && last.unreachable === true) yield* forget(start)
        }
        return yield* last
      })

    // The owner-direct view: the ring as last walked, and whether a refresh is under way.
    const routing = options.routing ?? "owner"
    const clientScope = yield* Effect.scope
    const view = yield* Ref.make<Option.Option<Ring.Ring<{ readonly id: Position.Position; readonly address: string }>>>(Option.none())
    let refreshing = false
    const refreshView = Effect.suspend(() => {
      if (refreshing) return Effect.void
      refreshing = true
      return walkFromAny(undefined).pipe(
        Effect.flatMap((statuses) => {
          const members = statuses.flatMap((s) => {
            const id = Position.parse(s.id)
            return id === undefined || s.phase !== "ready" ? [] : [{ id, address: s.address }]
          })
          return Ref.set(view, Option.some(Ring.make(members)))
        }),
        Effect.catch(() => Ref.set(view, Option.none())),
        Effect.ensuring(Effect.sync(() => {
          refreshing = false
        }))
      )
    })
    const refreshInBackground = Effect.asVoid(Effect.forkIn(refreshView, clientScope))
    const ownerOf = (key: Uint8Array | string | undefined) =>
      Effect.gen(function*() {
        if (routing !== "owner" || key === undefined) return Option.none<string>()
        let current = yield* Ref.get(view)
        if (Option.isNone(current)) {
          yield* refreshView
          current = yield* Ref.get(view)
        }
        const bytes = typeof key === "string" ? Buffer.from(key, "utf8") : key
        return Option.flatMap(current, (ring) => Option.fromUndefinedOr(Ring.owner(ring, Position.position(bytes))?.address))
      })

    const query: Service["query"] = (q) =>
      Effect.gen(function*() {
        const owner = yield* ownerOf(q.key)
        if (Option.isSome(owner)) {
          const direct = yield* Effect.result(send(owner.value, q))
          if (direct._tag === "Success") {
            if (direct.success.hops > 0) yield* refreshInBackground
            return { value: direct.success, hops: direct.success.hops, node: owner.value }
          }
          if (!retryable(direct.failure)) return yield* ClientError.fromRpc(direct.failure)
          if (direct.failure._tag === "Unavailable" && direct.failure.unreachable === true) yield* forget(owner.value)
          yield* refreshInBackground
        }
        let candidates = [...(yield* nodes)]
        if (candidates.length === 0) {
          return yield* new ClientError.Unavailable({ message: "no nodes in the cluster" })
        }
        let last: Errors.RpcError | undefined
        for (let i = 0; i < attempts; i++) {
          if (candidates.length === 0) {
            candidates = [...(yield* refresh)]
            if (candidates.length === 0) break
          }
          const pick = yield* Random.nextIntBetween(0, candidates.length, { halfOpen: true })
          const address = candidates[pick]!
          candidates.splice(pick, 1)
          const result = yield* Effect.result(send(address, q))
          if (result._tag === "Success") return { value: result.success, hops: result.success.hops, node: address }
          last = result.failure
          if (!retryable(last)) break
          if (last._tag === "Unavailable" && last.unreachable === true) {
            yield* forget(address)
            yield* refreshInBackground
          }
          yield* Effect.logDebug(`node ${address} failed, trying another: ${last.message}`)
        }
        return yield* ClientError.fromRpc(last ?? new Errors.Unavailable({ message: "no node answered" }))
      })

    const notFound = (key: Uint8Array) =>
      new ClientError.KeyNotFound({ key: Display.bytes(key), message: `key not found: ${Display.bytes(key)}` })

    const outcome = (
      key: Uint8Array,
      r: Wire.QueryResult__Output
    ): Effect.Effect<Option.Option<Uint8Array>, ClientError.KeyNotFound | ClientError.Unavailable> =>
      r.error !== undefined
        ? r.error === "Key not present in database."
          ? Effect.fail(notFound(key))
          : Effect.fail(new ClientError.Unavailable({ message: r.error }))
        : Effect.succeed(Option.fromUndefinedOr(r.value))

    const present = (key: Uint8Array, r: Wire.QueryResult__Output) =>
      Effect.flatMap(outcome(key, r), (v) => (Option.isSome(v) ? Effect.succeed(v.value) : Effect.fail(notFound(key))))

    return {
      get: (k) => {
        const key = toBytes(k)
        return Effect.flatMap(query({ ty: "Get", key }), (r) => present(key, r.value))
      },
      set: (k, v) => {
        const key = toBytes(k)
        return Effect.flatMap(query({ ty: "Set", key, value: toBytes(v) }), (r) => outcome(key, r.value))
      },
      delete: (k) => {
        const key = toBytes(k)
        return Effect.flatMap(query({ ty: "Delete", key }), (r) => present(key, r.value))
      },
      query,
      nodes,
      ring: (from) =>
        walkFromAny(from).pipe(
          Effect.mapError((e) =>
            e._tag === "DeadlineExceeded"
              ? new ClientError.Timeout({ message: e.message })
              : e._tag === "Timeout"
              ? e
              : new ClientError.Unavailable({ message: e.message })
          )
        )
    } satisfies Service
  })

/** A client of the cluster behind a registry. */
export const layerRegistry = (registry: string, options?: Options): Layer.Layer<DhtClient> =>
  Layer.effect(DhtClient, make({ registry }, options))

/** A client of the given nodes. */
export const layerNodes = (nodes: ReadonlyArray<string>, options?: Options): Layer.Layer<DhtClient> =>
  Layer.effect(DhtClient, make({ nodes }, options))

/** Deadline helper for callers that want one overall bound. */
export const withDeadline = (duration: Duration.Input) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(effect, {
    duration,
    orElse: () => Effect.fail(new ClientError.Timeout({ message: `no answer within ${Duration.format(Duration.fromInputUnsafe(duration))}` }))
  })

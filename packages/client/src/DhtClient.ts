/**
 * The Effect client library. `DhtClient` runs Get, Set and Delete against a cluster, found
 * through a registry or a list of node addresses. Each request goes to the key's owner (or a
 * random node) with a per-attempt deadline. A node that fails in a way worth retrying (it is
 * unreachable, it timed out, or it answered that the ring cannot serve right now) is skipped
 * and the request retried on another node, with jittered exponential backoff, until the
 * request's overall deadline: long enough to ride out the few seconds a crashed node takes to
 * be detected and its range taken over by its replicas. For operators, `ring` walks the ring
 * and `remove` makes every node forget a member lost for good.
 */
import * as fs from "node:fs"
import { Address, Errors, Grpc, Proto, RegistryClient, Tls, type Wire } from "@crustyring/protocol"
import { Clock, Context, Duration, Effect, Layer, Option, Random, RcMap, Ref, Schedule, Schema } from "effect"
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
  /** Deadline of each attempt; never beyond what is left of `deadline`. @default 5 seconds */
  readonly timeout?: Duration.Input
  /**
   * Overall deadline of each request, retries and the pauses between them included. When it
   * passes, the request fails with `Timeout`, naming the last error. @default 10 seconds
   */
  readonly deadline?: Duration.Input
  /**
   * At most this many attempts per request. The default is high enough that `deadline` is the
   * usual bound; lower it to give up sooner on a cluster that is down. @default 20
   */
  readonly attempts?: number
  /**
   * `owner`: keep a view of the ring and send each request straight to the key's owner (0 hops
   * on a stable ring); a stale view costs forwarding hops and triggers a refresh.
   * `random`: a random node per request, as the original client did. @default "owner"
   */
  readonly routing?: "owner" | "random"
  /**
   * TLS: the cluster's CA, and this client's certificate and key (each PEM contents, or a path
   * to a PEM file). Without `cert` and `key` the client presents no certificate, for a cluster
   * started with `--client-auth none`. Without `tls`, plaintext, unless `Tls.Security` is
   * provided.
   */
  readonly tls?: TlsOptions
}

/** The CA, certificate and key of a TLS client: PEM contents, or paths to PEM files. */
export interface TlsOptions {
  readonly ca: string | Uint8Array
  readonly cert?: string | Uint8Array
  readonly key?: string | Uint8Array
}

/** PEM contents as given, or read from the path given. */
const pemOf = (value: string | Uint8Array, what: string) =>
  typeof value !== "string"
    ? Effect.succeed(Buffer.from(value))
    : value.includes("-----BEGIN")
    ? Effect.succeed(Buffer.from(value))
    : Effect.try({
      try: () => fs.readFileSync(value),
      catch: (e) => new ClientError.InvalidRequest({ message: `tls.${what}: cannot read ${value}: ${(e as Error).message}` })
    })

/** The security a client uses: its `tls` option, or what the context provides. */
const securityOf = (tls: TlsOptions | undefined): Effect.Effect<Tls.Security, ClientError.InvalidRequest> =>
  tls === undefined
    ? Effect.service(Tls.Security)
    : Effect.gen(function*() {
      const pem = {
        ca: yield* pemOf(tls.ca, "ca"),
        ...(tls.cert !== undefined ? { cert: yield* pemOf(tls.cert, "cert") } : {}),
        ...(tls.key !== undefined ? { key: yield* pemOf(tls.key, "key") } : {})
      }
      return yield* Tls.make(pem).pipe(Effect.mapError((e) => new ClientError.InvalidRequest({ message: `tls: ${e.message}` })))
    })

/** The outcome of a request, with the hops the cluster reported. */
export interface Reply<A> {
  readonly value: A
  readonly hops: number
  /** The node that took the request. */
  readonly node: string
}

/** What `remove` did: which nodes forgot the member, and which could not be asked. */
export interface Removed {
  /** The process removed, "host:port". */
  readonly address: string
  /**
   * The nodes that forgot it, each with how many of its members (virtual nodes) it dropped. A
   * node is a process here: one call answers for all its virtual nodes.
   */
  readonly forgotten: ReadonlyArray<{ readonly node: string; readonly removed: number }>
  /** The nodes that answered but did not know it, or had forgotten it already. */
  readonly unaware: ReadonlyArray<string>
  /** The nodes that did not answer in time, with what went wrong. */
  readonly unanswered: ReadonlyArray<{ readonly node: string; readonly message: string }>
}

/**
 * A node refused to remove the member (gRPC FAILED_PRECONDITION from `cluster.Cluster/Remove`): it
 * still answers that node, so it is down at most to part of the ring. `reason` is the node's own
 * words; `forgotten` counts the nodes that had forgotten it before the refusal came.
 */
export class RemoveRefused extends Schema.TaggedError<RemoveRefused>()("RemoveRefused", {
  address: Schema.String,
  node: Schema.String,
  reason: Schema.String,
  forgotten: Schema.Number,
  message: Schema.String
}) {}

/** No node of the ring knows the process to remove: a typo, or it is gone already. */
export class NotAMember extends Schema.TaggedError<NotAMember>()("NotAMember", {
  address: Schema.String,
  /** Processes asked. */
  asked: Schema.Number,
  message: Schema.String
}) {}

/**
 * The client operations. Keys and values are bytes or UTF-8 strings.
 *
 * Every operation is retried on another node after a failure worth retrying (see `Options`).
 * That is safe because writes are last-writer-wins: repeating a Set or a Delete leaves the
 * same state. It shows in two answers: a retried Delete whose first attempt did take effect
 * fails with `KeyNotFound`, and a retried Set whose first attempt did take effect returns the
 * value it wrote itself as the previous one. A rejected request (`InvalidRequest`) and a
 * missing key are never retried.
 */
export interface Service {
  /** Reads a key. Fails with `KeyNotFound` when it is not stored. */
  readonly get: (key: Uint8Array | string) => Effect.Effect<Uint8Array, ClientError.ClientError>
  /** Stores a value and returns the previous one, if any. */
  readonly set: (key: Uint8Array | string, value: Uint8Array | string) => Effect.Effect<Option.Option<Uint8Array>, ClientError.ClientError>
  /**
   * Removes a key and returns the removed value. Fails with `KeyNotFound` when it is not
   * stored, and also when a retry follows a first attempt that removed it but whose answer was
   * lost (e.g. its node crashed before replying).
   */
  readonly delete: (key: Uint8Array | string) => Effect.Effect<Uint8Array, ClientError.ClientError>
  /**
   * Runs a raw wire query and returns the raw result, for tools that need hops or the node.
   * Retried like the others; a key-not-found result is returned, not failed.
   */
  readonly query: (query: Wire.Query) => Effect.Effect<Reply<Wire.QueryResult__Output>, ClientError.InvalidRequest | ClientError.AccessDenied | ClientError.Unavailable | ClientError.Timeout>
  /** The ring as a node sees it, walking successors from one of the known nodes (or `from`). */
  readonly ring: (from?: string) => Effect.Effect<ReadonlyArray<RingStatus.NodeStatus>, ClientError.AccessDenied | ClientError.Unavailable | ClientError.Timeout>
  /**
   * Removes a member that no longer answers, with all its virtual nodes, as an operator does
   * after losing a machine for good (like Cassandra's `nodetool removenode`). Walks the ring and
   * asks every process it reaches, once for all its virtual nodes, to forget `address`
   * ("host:port"); each call has the per-attempt deadline. The first node is asked alone, so a member that still answers is refused
   * (`RemoveRefused`) before any node forgets it. Fails with `NotAMember` when every node
   * answered and none knew it, and with `Unavailable` when none that answered knew it but some
   * did not answer. Otherwise a node that does not answer does not fail the removal: it is
   * listed in `unanswered`, and learns of the removal from its neighbours.
   */
  readonly remove: (address: string) => Effect.Effect<Removed, ClientError.InvalidRequest | RemoveRefused | NotAMember | ClientError.AccessDenied | ClientError.Unavailable | ClientError.Timeout>
  /** The node addresses the client currently knows. */
  readonly nodes: Effect.Effect<ReadonlyArray<string>, ClientError.AccessDenied | ClientError.Unavailable | ClientError.Timeout>
}

/** A DHT client. */
export class DhtClient extends Context.Service<DhtClient, Service>()("@crustyring/client/DhtClient") {}

/** The node's error text for a missing key (the original's, kept for wire compatibility). */
const KEY_NOT_PRESENT = "Key not present in database."

const toBytes = (v: Uint8Array | string): Uint8Array => (typeof v === "string" ? Buffer.from(v, "utf8") : v)

/**
 * The pause before each retry: 50 ms doubling up to a cap of 500 ms, each scaled by a random
 * 0.8-1.2 so that clients that lost the same node do not retry in lockstep. The cap keeps
 * retries frequent enough to notice within half a second that a replica has taken over.
 */
const backoff = Schedule.min([Schedule.exponential("50 millis", 2), Schedule.spaced("500 millis")]).pipe(Schedule.jittered)

/** Keys longer than this are cut short in error messages. */
const MAX_KEY_IN_MESSAGE = 64

/** `get "k"`: the request, as error messages name it. */
const describeRequest = (q: Wire.Query): string => {
  const op = typeof q.ty === "number" ? (["get", "delete", "set"][q.ty] ?? `op ${q.ty}`) : (q.ty ?? "Get").toLowerCase()
  const key = Display.bytes(toBytes(q.key ?? ""))
  return `${op} "${key.length > MAX_KEY_IN_MESSAGE ? `${key.slice(0, MAX_KEY_IN_MESSAGE)}…` : key}"`
}

/** One failed attempt: the error, and the node it came from when there was one. */
interface Failure {
  readonly error: Errors.RpcError
  readonly node: string | undefined
}

/** Worth another attempt elsewhere: the node is unreachable, slow, or cannot serve right now. */
const retryable = (f: Failure) => f.error._tag === "Unavailable" || f.error._tag === "DeadlineExceeded"

/** The failure's message, naming its node. */
const describeFailure = (f: Failure): string =>
  f.node === undefined || f.error.message.includes(f.node) ? f.error.message : `${f.node}: ${f.error.message}`

/** Builds a client for `target`; its connections close with the scope. */
export const make = (target: Target, options: Options = {}) =>
  Effect.gen(function*() {
    const timeout = Duration.fromInputUnsafe(options.timeout ?? "5 seconds")
    const deadline = Duration.fromInputUnsafe(options.deadline ?? "10 seconds")
    const attempts = Math.max(1, Math.floor(options.attempts ?? 20))
    const security = yield* securityOf(options.tls)
    const secured = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, Tls.Security, security)
    const pool = yield* RcMap.make({
      lookup: (address: string) => Grpc.client(Proto.proto.dht.DhtNode, address, security),
      idleTimeToLive: "1 minute"
    })
    const registry = "registry" in target ? Option.some(yield* secured(RegistryClient.make(target.registry, timeout))) : Option.none()
    const fixed: ReadonlyArray<string> = "nodes" in target ? target.nodes.map((n) => Address.unsafeMake(n)) : []
    const known = yield* Ref.make<ReadonlyArray<string>>(fixed)

    /** Reloads the known nodes from the registry, or back to the given list. */
    const refresh: Effect.Effect<ReadonlyArray<string>, Errors.RpcError> = Option.match(registry, {
      onNone: () => Effect.as(Ref.set(known, fixed), fixed),
      onSome: (r) =>
        r.nodes.pipe(
          Effect.map((ns) => ns.map((n) => n.address as string)),
          Effect.tap((ns) => Ref.set(known, ns)),
          Effect.mapError((e) =>
            e._tag === "DeadlineExceeded"
              ? new Errors.DeadlineExceeded({ message: `registry ${r.address}: ${e.message}` })
              : new Errors.Unavailable({ message: `cannot reach registry ${r.address}: ${e.message}` })
          )
        )
    })

    const knownNodes = Effect.flatMap(Ref.get(known), (ns) => (ns.length > 0 ? Effect.succeed(ns) : refresh))

    const send = (address: string, query: Wire.Query, budget: Duration.Duration) =>
      Effect.scoped(
        Effect.flatMap(RcMap.get(pool, address), (c) =>
          Grpc.call<Wire.QueryResult__Output>(address, budget, (o, cb) => c.QueryDht(query, o, cb)))
      )

    // The owner-direct view: the ring as last walked, and whether a refresh is under way.
    const routing = options.routing ?? "owner"
    const clientScope = yield* Effect.scope
    type Member = { readonly id: Position.Position; readonly address: string }
    const view = yield* Ref.make<Option.Option<Ring.Ring<Member>>>(Option.none())

    /**
     * Forgets a node that could not be reached: the next request that finds no node left
     * refreshes the list, and the owner view routes its range to the next member meanwhile,
     * until the next walk shows the ring as it is.
     */
    const forget = (address: string) =>
      Effect.andThen(
        Ref.update(known, (ns) => ns.filter((n) => n !== address)),
        Ref.update(view, Option.map((ring) => Ring.make(ring.members.filter((m) => m.address !== address))))
      )

    /** Walks the ring from `from`, or from the known nodes in random order until a walk succeeds. */
    const walkFromAny = (from: string | undefined) =>
      Effect.gen(function*() {
        const starts = from !== undefined ? [from] : [...(yield* knownNodes)].sort(() => Math.random() - 0.5)
        let last: Errors.RpcError = new Errors.Unavailable({ message: "no nodes in the cluster" })
        for (const start of starts) {
          const result = yield* Effect.result(Effect.scoped(secured(RingStatus.walk(start, timeout))))
          if (result._tag === "Success") {
            // The walk is the freshest list of live nodes there is: use it for random routing too.
            const live = result.success.filter((n) => n.phase === "ready").map((n) => n.address)
            if (live.length > 0) yield* Ref.set(known, live)
            return result.success
          }
          last = result.failure
          // The unreachable node may be any node of the walk, not `start`: forget the one the
          // error names (`Errors.fromStatus` puts the target first), so that a dead successor
          // does not make the client forget every live node whose walk ran into it.
          if (last._tag === "Unavailable" && last.unreachable === true) {
            const dead = last.message.split(" ")[0]
            if (dead !== undefined) yield* forget(dead)
          }
        }
        return yield* last
      })

    let refreshing = false
    let viewLoaded = false
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
        // A walk fails while a dead node is still someone's successor: route randomly until the
        // ring has healed and a walk gets round.
        Effect.catch(() => Ref.set(view, Option.none())),
        Effect.ensuring(Effect.sync(() => {
          refreshing = false
        }))
      )
    })
    // Also under random routing: a walk is how the client learns of nodes that joined.
    const refreshInBackground = Effect.asVoid(Effect.forkIn(refreshView, clientScope))

    /**
     * The key's owner in the view. The first request waits (up to `budget`) for the first view;
     * later ones never wait for a walk, so a ring in trouble costs no request a walk's time.
     */
    const ownerOf = (key: Uint8Array | string | undefined, budget: Duration.Duration) =>
      Effect.gen(function*() {
        if (routing !== "owner" || key === undefined) return Option.none<string>()
        let current = yield* Ref.get(view)
        if (Option.isNone(current)) {
          if (viewLoaded) {
            yield* refreshInBackground
          } else {
            viewLoaded = true
            yield* Effect.timeoutOption(refreshView, budget)
            current = yield* Ref.get(view)
          }
        }
        const bytes = typeof key === "string" ? Buffer.from(key, "utf8") : key
        return Option.flatMap(current, (ring) => Option.fromUndefinedOr(Ring.owner(ring, Position.position(bytes))?.address))
      })

    /**
     * The node for the next attempt: the owner unless it failed already in this request, else a
     * known node not yet tried in this request. Once every node had its go, a new round starts.
     */
    const pick = (key: Uint8Array | string | undefined, tried: Set<string>, budget: Duration.Duration) =>
      Effect.gen(function*() {
        const owner = yield* ownerOf(key, budget)
        if (Option.isSome(owner) && !tried.has(owner.value)) return owner.value
        const listed = yield* Effect.result(knownNodes)
        if (listed._tag === "Failure") {
          if (Option.isSome(owner)) return owner.value
          return yield* Effect.fail<Failure>({ error: listed.failure, node: undefined })
        }
        let candidates = listed.success.filter((n) => !tried.has(n))
        if (candidates.length === 0) {
          tried.clear()
          if (Option.isSome(owner)) return owner.value
          candidates = [...listed.success]
        }
        if (candidates.length === 0) {
          return yield* Effect.fail<Failure>({ error: new Errors.Unavailable({ message: "no nodes in the cluster" }), node: undefined })
        }
        return candidates[yield* Random.nextIntBetween(0, candidates.length, { halfOpen: true })]!
      })

    const query: Service["query"] = (q) =>
      Effect.gen(function*() {
        // Named only in errors and logs: formatting the key costs more than a cheap request.
        const what = () => describeRequest(q)
        const deadlineAt = (yield* Clock.currentTimeMillis) + Duration.toMillis(deadline)
        const tried = new Set<string>()
        let last: Failure | undefined
        let made = 0

        // The rest of the overall deadline, at most one attempt's timeout.
        const budget = Effect.map(Clock.currentTimeMillis, (now) =>
          Duration.millis(Math.max(1, Math.min(Duration.toMillis(timeout), deadlineAt - now))))

        const attempt = Effect.gen(function*() {
          made++
          const address = yield* pick(q.key, tried, yield* budget)
          tried.add(address)
          const result = yield* send(address, q, yield* budget).pipe(
            Effect.mapError((error): Failure => ({ error, node: address }))
          )
          if (result.error !== undefined && result.error !== KEY_NOT_PRESENT) {
            // The node answered but could not serve, e.g. a quorum not reached: as UNAVAILABLE.
            return yield* Effect.fail<Failure>({ error: new Errors.Unavailable({ message: result.error }), node: address })
          }
          // Under owner routing a forwarded request means the view is stale.
          if (routing === "owner" && result.hops > 0) yield* refreshInBackground
          return { value: result, hops: result.hops, node: address }
        }).pipe(
          Effect.tapError((f) =>
            Effect.gen(function*() {
              last = f
              if (!retryable(f)) return
              if (f.node !== undefined && f.error._tag === "Unavailable" && f.error.unreachable === true) {
                yield* forget(f.node)
              }
              if (f.node !== undefined) yield* refreshInBackground
              yield* Effect.logDebug(`${what()}: attempt ${made} failed, retrying: ${describeFailure(f)}`)
            })
          )
        )

        const failed = (f: Failure): ClientError.InvalidRequest | ClientError.AccessDenied | ClientError.Unavailable | ClientError.Timeout => {
          const message = retryable(f)
            ? `${what()}: no node answered in ${made} attempt${made === 1 ? "" : "s"} (last error: ${describeFailure(f)})`
            : `${what()}: ${f.error._tag === "InvalidArgument" ? f.error.message : describeFailure(f)}`
          return f.error._tag === "InvalidArgument"
            ? new ClientError.InvalidRequest({ message })
            : f.error._tag === "Unauthenticated" || f.error._tag === "PermissionDenied"
            ? new ClientError.AccessDenied({ message })
            : f.error._tag === "DeadlineExceeded"
            ? new ClientError.Timeout({ message })
            : new ClientError.Unavailable({ message })
        }

        return yield* attempt.pipe(
          Effect.retry({ schedule: backoff.pipe(Schedule.upTo({ times: attempts - 1 })), while: retryable }),
          Effect.mapError(failed),
          Effect.timeoutOrElse({
            duration: deadline,
            orElse: () =>
              Effect.fail(
                new ClientError.Timeout({
                  message: `${what()}: no node answered within ${Duration.format(deadline)}` +
                    (last === undefined ? "" : ` (last error: ${describeFailure(last)})`)
                })
              )
          })
        )
      })

    const notFound = (key: Uint8Array) =>
      new ClientError.KeyNotFound({ key: Display.bytes(key), message: `key not found: ${Display.bytes(key)}` })

    /** The value of a result; `query` has already retried every error but the missing key. */
    const outcome = (key: Uint8Array, r: Wire.QueryResult__Output): Effect.Effect<Option.Option<Uint8Array>, ClientError.KeyNotFound> =>
      r.error !== undefined ? Effect.fail(notFound(key)) : Effect.succeed(Option.fromUndefinedOr(r.value))

    const present = (key: Uint8Array, r: Wire.QueryResult__Output) =>
      Effect.flatMap(outcome(key, r), (v) => (Option.isSome(v) ? Effect.succeed(v.value) : Effect.fail(notFound(key))))

    /** Bounds an operation that is not a request (`ring`, `nodes`) by the same overall deadline. */
    const bounded = (what: string) => <A, E>(effect: Effect.Effect<A, E>) =>
      Effect.timeoutOrElse(effect, {
        duration: deadline,
        orElse: () => Effect.fail(new ClientError.Timeout({ message: `${what}: no answer within ${Duration.format(deadline)}` }))
      })

    const fromRpc = (e: Errors.RpcError): ClientError.AccessDenied | ClientError.Unavailable | ClientError.Timeout =>
      e._tag === "DeadlineExceeded"
        ? new ClientError.Timeout({ message: e.message })
        : e._tag === "Unauthenticated" || e._tag === "PermissionDenied"
        ? new ClientError.AccessDenied({ message: e.message })
        : new ClientError.Unavailable({ message: e.message })

    /**
     * How many nodes `remove` asks at once, after the first. Each call may wait for the node's
     * own probe of the member (up to 2 s on a host that drops packets).
     */
    const REMOVE_CONCURRENCY = 16

    const remove: Service["remove"] = (input) =>
      Effect.gen(function*() {
        const address = yield* Address.parse(input).pipe(
          Effect.mapError((e) => new ClientError.InvalidRequest({ message: `remove: ${e.message}` }))
        )
        if (Address.vnode(address) !== 0) {
          return yield* new ClientError.InvalidRequest({
            message: `remove: ${address} is a virtual node; give its process, ${Address.target(address)}, whose virtual nodes go together`
          })
        }
        // One call per process: its first virtual node answers for all of them.
        const nodes = [...new Set((yield* walkFromAny(undefined).pipe(Effect.mapError(fromRpc))).map((n) => Address.target(n.address)))]
        const ask = (node: string) =>
          Effect.scoped(Effect.flatMap(Grpc.client(Proto.proto.cluster.Cluster, node, security), (c) =>
            Grpc.call<Wire.RemoveReply__Output>(node, timeout, (o, cb) => c.Remove({ addr: address }, o, cb)))).pipe(
              Effect.result,
              Effect.map((r) => ({ node, r }))
            )
        // The first node alone: a member that still answers is refused before anyone forgets it.
        const [first, ...rest] = nodes
        const answers = first === undefined ? [] : [yield* ask(first)]
        if (answers[0]?.r._tag !== "Failure" || answers[0].r.failure._tag !== "FailedPrecondition") {
          answers.push(...yield* Effect.forEach(rest, ask, { concurrency: REMOVE_CONCURRENCY }))
        }
        const forgotten: Array<{ readonly node: string; readonly removed: number }> = []
        const unaware: Array<string> = []
        const unanswered: Array<{ readonly node: string; readonly message: string }> = []
        for (const { node, r } of answers) {
          if (r._tag === "Success") {
            if (r.success.removed > 0) forgotten.push({ node, removed: r.success.removed })
            else unaware.push(node)
          } else if (r.failure._tag !== "FailedPrecondition") {
            unanswered.push({ node, message: describeFailure({ error: r.failure, node }) })
          }
        }
        const refusal = answers.find((a) => a.r._tag === "Failure" && a.r.failure._tag === "FailedPrecondition")
        if (refusal !== undefined && refusal.r._tag === "Failure") {
          const reason = refusal.r.failure.message
          return yield* new RemoveRefused({
            address,
            node: refusal.node,
            reason,
            forgotten: forgotten.length,
            message: `${refusal.node} refused to remove ${address}: ${reason}` +
              (forgotten.length === 0 ? "" : ` (${forgotten.length} node${forgotten.length === 1 ? "" : "s"} had forgotten it already)`)
          })
        }
        if (forgotten.length === 0 && unanswered.length > 0) {
          return yield* new ClientError.Unavailable({
            message: `remove ${address}: no node that answered knows it, and ${unanswered.length} of ${nodes.length} did not answer ` +
              `(last error: ${unanswered[unanswered.length - 1]!.message})`
          })
        }
        if (forgotten.length === 0) {
          return yield* new NotAMember({
            address,
            asked: nodes.length,
            message: `no node knows ${address} (asked ${nodes.length} node${nodes.length === 1 ? "" : "s"})`
          })
        }
        return { address, forgotten, unaware, unanswered } satisfies Removed
      }).pipe(bounded(`remove ${input}`))

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
      nodes: knownNodes.pipe(Effect.mapError(fromRpc), bounded("list nodes")),
      ring: (from) => walkFromAny(from).pipe(Effect.mapError(fromRpc), bounded("ring")),
      remove
    } satisfies Service
  })

/** A client of the cluster behind a registry. */
export const layerRegistry = (registry: string, options?: Options): Layer.Layer<DhtClient, ClientError.InvalidRequest> =>
  Layer.effect(DhtClient, make({ registry }, options))

/** A client of the given nodes. */
export const layerNodes = (nodes: ReadonlyArray<string>, options?: Options): Layer.Layer<DhtClient, ClientError.InvalidRequest> =>
  Layer.effect(DhtClient, make({ nodes }, options))

/**
 * Deadline helper for callers that want one bound over several requests; a single request is
 * already bounded by the client's `deadline` option.
 */
export const withDeadline = (duration: Duration.Input) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutOrElse(effect, {
    duration,
    orElse: () => Effect.fail(new ClientError.Timeout({ message: `no answer within ${Duration.format(Duration.fromInputUnsafe(duration))}` }))
  })

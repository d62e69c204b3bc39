/**
 * The gRPC face of a node: the client contract (`dht.DhtNode`), the ring's status and member
 * removal for clients and operators (`cluster.Cluster`), and the node-to-node calls
 * (`peer.Peer`), each handler a thin decode, delegate, encode over the services below it.
 * Queries wait, within their deadline, until the node has joined.
 */
import { Address, Errors, Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Cause, Clock, Duration, Effect, Option, Scope, Stream } from "effect"
import * as Handoff from "./Handoff.ts"
import * as Join from "./Join.ts"
import * as Membership from "./Membership.ts"
import * as Metrics from "./Metrics.ts"
import { MAX_VNODES, NodeConfig } from "./NodeConfig.ts"
import * as Digest from "./Digest.ts"
import { entryOf, fromRef, fromWire, notAhead, Peers, toRef, toWire } from "./Peers.ts"
import * as Query from "./Query.ts"
import { Repair } from "./Repair.ts"
import { Replication, storageError } from "./Replication.ts"
import { Router } from "./Router.ts"
import { type Entry, type Merged, Storage } from "./Storage.ts"
import * as TakeOver from "./TakeOver.ts"
import { VirtualNodes } from "./VirtualNodes.ts"
import * as Events from "./Events.ts"
import * as AdminSource from "./AdminSource.ts"
import * as Transfers from "./Transfers.ts"

const parsePosition = (s: string, what: string): Effect.Effect<Position.Position, Errors.InvalidArgument> => {
  const p = Position.parse(s)
  return p === undefined
    ? Effect.fail(new Errors.InvalidArgument({ message: `${what} must be a position 0..2^64-1, got ${JSON.stringify(s)}` }))
    : Effect.succeed(p)
}

/** A node reference from a request: a malformed one is the caller's error. */
const argRef = (ref: Wire.NodeRef__Output | null, what: string) =>
  Effect.mapError(fromRef(ref, what), (e) => new Errors.InvalidArgument({ message: e.message }))

/** A virtual node's neighbours, as `GetNeighbors` answers them. */
const neighborsOf = (membership: Membership.Service): Effect.Effect<Wire.Neighbors> =>
  Effect.map(Effect.all([membership.view, Clock.currentTimeMillis]), ([view, now]) => ({
    self: toRef(view.self),
    ...Option.match(view.predecessor, { onNone: () => ({}), onSome: (p) => ({ predecessor: toRef(p) }) }),
    successors: view.successors.map(toRef),
    gone: Membership.recentlyGone(membership, now).map(toRef),
    phase: view.phase
  }))

/** The metrics name of each operation. */
const OPS: Record<string, string> = { Get: "get", Set: "set", Delete: "delete" }

const fetchReply = (entry: Option.Option<Entry>): Wire.FetchReply =>
  Option.match(entry, {
    onNone: () => ({}),
    onSome: (e) => ({ entry: toWire(e), ...(e.value === undefined ? {} : { value: e.value }) })
  })

const writeReply = (merged: Merged): Wire.WriteReply =>
  Option.match(merged.previous, { onNone: () => ({}), onSome: (p) => ({ previous: toWire(p) }) })

/** The metrics outcome of each wire error. */
const OUTCOMES: Record<Errors.RpcError["_tag"], Metrics.Outcome> = {
  InvalidArgument: "invalid_argument",
  Unavailable: "unavailable",
  DeadlineExceeded: "deadline_exceeded",
  FailedPrecondition: "unavailable",
  AlreadyExists: "error",
  Unauthenticated: "denied",
  PermissionDenied: "denied",
  Internal: "error"
}

/** Builds the handlers of the node's services, and its `Status` as an Effect (for the admin server). */
export const make = Effect.gen(function*() {
  const config = yield* NodeConfig
  const membership = yield* Membership.Membership
  const router = yield* Router
  const storage = yield* Storage
  const replication = yield* Replication
  const repair = yield* Repair
  const accept = yield* Join.makeAccept
  const acceptTakeOver = yield* TakeOver.makeAccept
  const vnodes = yield* VirtualNodes
  const peers = yield* Peers
  // Hand-offs run in a child scope created now, so they close after the graceful leave (which
  // the node registers later and so runs first): a leave can wait for a range still arriving.
  const scope = yield* Scope.fork(yield* Effect.scope)
  const context = yield* Effect.context<NodeConfig | Membership.Membership | Storage | Replication | Peers>()

  const skewMs = Duration.toMillis(config.maxClockSkew)
  const clock = yield* Clock.Clock
  /** A key from a peer: 1 to `maxKeyBytes` bytes. */
  const argKey = (key: Uint8Array) =>
    key.length === 0 || key.length > config.maxKeyBytes
      ? Effect.fail(new Errors.InvalidArgument({ message: `key must be 1 to ${config.maxKeyBytes} bytes, got ${key.length}` }))
      : Effect.void
  /**
   * An entry from a peer, checked: a well-formed version no further ahead of this node's clock
   * than `maxClockSkew`, and a key and value within the limits.
   */
  const argEntry = (wire: Wire.Entry__Output) =>
    Effect.gen(function*() {
      const entry = yield* Effect.mapError(fromWire(wire), (e) => new Errors.InvalidArgument({ message: e.message }))
      const ahead = notAhead(entry, yield* Clock.currentTimeMillis, skewMs)
      if (ahead !== undefined) return yield* new Errors.InvalidArgument({ message: ahead })
      yield* argKey(entry.key)
      if (entry.value !== undefined && entry.value.length > config.maxValueBytes) {
        return yield* new Errors.InvalidArgument({ message: `entry value must be at most ${config.maxValueBytes} bytes, got ${entry.value.length}` })
      }
      return entry
    })

  // Once ready, a node stays ready: skip the timed wait (two fibers and a timer per request).
  let isReady = false
  const whenReady = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    isReady ? effect : membership.ready.pipe(
      Effect.timeoutOrElse({
        duration: config.readyTimeout,
        orElse: () => Effect.fail(new Errors.Unavailable({ message: `${membership.self.address} has not finished joining` }))
      }),
      Effect.tap(() => Effect.sync(() => {
        isReady = true
      })),
      Effect.andThen(effect)
    )

  const query = (q: Wire.Query__Output | null, hops: number) =>
    Effect.flatMap(Query.decode(q, config), (decoded) => whenReady(router.route(decoded, hops)))

  // The fast paths (see `Grpc.unaryFast`): requests answered at once, without a fiber, where
  // the node owns the key and needs no other node. Anything else, errors included, takes the
  // Effect path above.
  const querySync = (q: Wire.Query__Output | null, hops: number) => {
    if (!isReady) return undefined
    const decoded = Query.check(q, config)
    return typeof decoded === "string" ? undefined : router.routeSync(decoded, hops)
  }
  /** An entry from a peer that passes every check of `argEntry`, else `undefined`. */
  const entrySync = (wire: Wire.Entry__Output | null) => {
    const entry = wire ? entryOf(wire) : undefined
    if (entry === undefined || notAhead(entry, clock.currentTimeMillisUnsafe(), skewMs) !== undefined) return undefined
    if (entry.key.length === 0 || entry.key.length > config.maxKeyBytes) return undefined
    return entry.value !== undefined && entry.value.length > config.maxValueBytes ? undefined : entry
  }

  const adminPort = yield* Effect.serviceOption(AdminSource.AdminPort)
  const transfers = yield* Effect.serviceOption(Transfers.Transfers)
  const status = Effect.gen(function*() {
    const view = yield* membership.view
    const next = Membership.next(view)
    const total = yield* Effect.mapError(storage.count(Position.make(0n), Position.make(0n)), storageError)
    const owned = yield* Effect.mapError(storage.count(view.self.id, next.id), storageError)
    const tombstones = yield* Effect.mapError(storage.tombstones, storageError)
    const progress = yield* repair.progress
    const handoff = Option.match(transfers, { onNone: () => undefined, onSome: (t) => t.current })
    // Copies a key should have: the replica count, or the membership when it is smaller.
    const members = Membership.memberCount(view, membership.down)
    const copies = Math.min(config.replicas, members)
    const now = yield* Clock.currentTimeMillis
    const replicated = copies === 1 ? owned : Math.min(owned, yield* repair.replicated)
    return {
      self: toRef(view.self),
      ...Option.match(view.predecessor, { onNone: () => ({}), onSome: (p) => ({ predecessor: toRef(p) }) }),
      successors: view.successors.map(toRef),
      key_count: String(total),
      owned_key_count: String(owned),
      phase: view.phase,
      replicas: copies,
      replicated_key_count: String(replicated),
      tombstone_count: String(tombstones),
      members,
      http_port: Option.match(adminPort, { onNone: () => 0, onSome: (a) => a.port }),
      down: [...membership.down.values()].map((d) => ({ node: toRef(d.member), silent_ms: String(Math.max(0, now - d.since)) })),
      // A hand-off under way, else a repair.
      ...(handoff !== undefined
        ? {
          repair: {
            done: String(Math.min(handoff.done, handoff.total)),
            total: String(handoff.total),
            keys_per_second: handoff.done / Math.max(0.001, (now - handoff.started) / 1000),
            kind: "handoff"
          }
        }
        : Option.match(progress, {
          onNone: () => ({}),
          onSome: (p) => ({ repair: { done: String(p.done), total: String(p.total), keys_per_second: p.keysPerSecond, kind: "repair" } })
        }))
    } satisfies Wire.NodeStatus
  })

  const metrics = yield* Metrics.current
  /** A client request, timed and counted by operation and outcome. */
  const measured = (req: Wire.Query__Output, effect: Effect.Effect<Wire.QueryResult, Errors.RpcError>) =>
    Effect.flatMap(Clock.currentTimeNanos, (started) =>
      Effect.onExit(effect, (exit) =>
        Effect.map(Clock.currentTimeNanos, (ended) => {
          const seconds = Number(ended - started) / 1e9
          const op = typeof req.ty === "string" ? req.ty.toLowerCase() : "invalid"
          if (exit._tag === "Success") {
            metrics.request(op, exit.value.error === undefined ? "ok" : "not_found", seconds, exit.value.hops ?? 0)
          } else {
            const e = Cause.findErrorOption(exit.cause)
            metrics.request(op, e._tag === "Some" ? OUTCOMES[e.value._tag] : "error", seconds, 0)
          }
        })))

  /** `measured`, for a request answered on the fast path. */
  const measuredSync = (req: Wire.Query__Output) => {
    const started = clock.currentTimeNanosUnsafe()
    const result = querySync(req, 0)
    if (result !== undefined) {
      const seconds = Number(clock.currentTimeNanosUnsafe() - started) / 1e9
      metrics.request(OPS[req.ty] ?? "invalid", result.error === undefined ? "ok" : "not_found", seconds, 0)
    }
    return result
  }

  const dht: Wire.DhtNodeHandlers = {
    QueryDht: Grpc.unaryFast(context, measuredSync, (req: Wire.Query__Output) => measured(req, query(req, 0)))
  }

  const peer: Wire.PeerHandlers = {
    Forward: Grpc.unaryFast(
      context,
      (req: Wire.ForwardRequest__Output) => querySync(req.query, req.hops),
      (req: Wire.ForwardRequest__Output) => query(req.query, req.hops)
    ),
    FindOwner: Grpc.unary(context, (req: Wire.FindOwnerRequest__Output) =>
      Effect.gen(function*() {
        const position = yield* parsePosition(req.position, "position")
        const found = yield* whenReady(router.findOwner(position, req.hops))
        return { owner: toRef(found.owner), successor: toRef(found.successor), hops: found.hops }
      })),
    Join: Grpc.unary(context, (req: Wire.JoinRequest__Output) =>
      Effect.gen(function*() {
        const joiner = yield* argRef(req.node, "joiner")
        const reply = yield* accept(joiner)
        return { predecessor: toRef(reply.predecessor), successor: toRef(reply.successor) }
      })),
    Notify: Grpc.unary(context, (req: Wire.NotifyRequest__Output) =>
      Effect.gen(function*() {
        const candidate = yield* argRef(req.node, "node")
        // A down member that calls is alive again: probe it now rather than after its backoff,
        // and reconnect to it now rather than after the connection's own backoff.
        const down = membership.down.get(candidate.id)
        if (down) down.nextProbe = 0
        yield* peers.revive(candidate.address)
        yield* membership.update((v) =>
          Membership.isBetterPredecessor(v, candidate) ? { ...v, predecessor: Option.some(candidate) } : v
        )
        return {}
      })),
    GetNeighbors: Grpc.unary(context, () => neighborsOf(membership)),
    GetNeighborsBatch: Grpc.unary(context, (req: Wire.NeighborsBatchRequest__Output) =>
      Effect.gen(function*() {
        if (req.vnodes.length > MAX_VNODES) {
          return yield* new Errors.InvalidArgument({ message: `at most ${MAX_VNODES} virtual nodes a call, got ${req.vnodes.length}` })
        }
        const neighbors: Array<Wire.Neighbors> = []
        for (const index of req.vnodes) {
          const m = vnodes.members[index]
          neighbors.push(m ? yield* neighborsOf(m) : {})
        }
        return { neighbors }
      })),
    Remove: Grpc.unary(context, (req: Wire.RemoveRequest__Output) =>
      Effect.gen(function*() {
        const parsed = Address.normalize(req.addr)
        if (!("address" in parsed)) {
          return yield* new Errors.InvalidArgument({ message: `addr must be host:port, got ${JSON.stringify(req.addr)}: ${parsed.error}` })
        }
        const target = Address.target(parsed.address)
        if (target === Address.target(membership.self.address)) {
          return yield* new Errors.FailedPrecondition({ message: `${target} is this node; stop it gracefully (SIGTERM) to leave the ring` })
        }
        const answers = yield* Effect.result(peers.probe(target, Duration.min(config.rpcTimeout, Duration.seconds(2))))
        if (answers._tag === "Success") {
          return yield* new Errors.FailedPrecondition({
            message: `${target} still answers; stop it gracefully (SIGTERM) to have it leave, or stop it before removing it`
          })
        }
        const now = yield* Clock.currentTimeMillis
        let removed = 0
        for (const m of vnodes.members) {
          const view = yield* m.view
          const members = [...Membership.known(view), ...[...m.down.values()].map((d) => d.member)]
            .filter((k) => Address.target(k.address) === target)
          const unique = new Map(members.map((k) => [k.id, k]))
          for (const k of unique.values()) {
            Membership.forget(m, k, now)
            yield* m.update((v) => Membership.withoutDead(v, k))
            removed++
          }
        }
        if (removed > 0) {
          yield* Events.emit({
            kind: "member-left",
            node: membership.self.address,
            peer: target,
            message: `removed ${target} from the membership (${removed} members), by operator request`
          }, "Warning")
        }
        return { removed }
      })),
    Ping: Grpc.unary(context, () => Effect.succeed({ vnodes: config.vnodes })),
    FetchRange: Grpc.serverStream(context, (req: Wire.RangeRequest__Output) =>
      Stream.unwrap(
        Effect.map(
          Effect.all([parsePosition(req.start, "start"), parsePosition(req.end, "end")]),
          ([start, end]) => Handoff.serve(start, end).pipe(Stream.map(toWire))
        )
      )),
    ReleaseRange: Grpc.unary(context, (req: Wire.RangeRequest__Output) =>
      Effect.gen(function*() {
        const start = yield* parsePosition(req.start, "start")
        const end = yield* parsePosition(req.end, "end")
        yield* Handoff.release(start, end)
        return {}
      })),
    Fetch: Grpc.unaryFast(context, (req: Wire.FetchRequest__Output): Wire.FetchReply | undefined => {
      if (req.key.length === 0 || req.key.length > config.maxKeyBytes) return undefined
      const entry = storage.lookupSync?.(req.key)
      return entry === undefined ? undefined : fetchReply(entry)
    }, (req: Wire.FetchRequest__Output) =>
      Effect.map(Effect.andThen(argKey(req.key), Effect.mapError(storage.lookup(req.key), storageError)), fetchReply)),
    Write: Grpc.unaryFast(context, (req: Wire.WriteRequest__Output): Wire.WriteReply | undefined => {
      const entry = entrySync(req.entry)
      const merged = entry === undefined ? undefined : replication.acceptSync(entry)
      return merged === undefined ? undefined : writeReply(merged)
    }, (req: Wire.WriteRequest__Output) =>
      Effect.gen(function*() {
        if (!req.entry) return yield* new Errors.InvalidArgument({ message: "missing entry" })
        const entry = yield* argEntry(req.entry)
        return writeReply(yield* replication.accept(entry))
      })),
    Push: Grpc.unary(context, (req: Wire.PushRequest__Output) =>
      Effect.gen(function*() {
        // Every entry is checked before any is stored: a bad batch changes nothing.
        const entries = yield* Effect.forEach(req.entries, argEntry)
        for (const entry of entries) yield* replication.accept(entry)
        return {}
      })),
    Digest: Grpc.unary(context, (req: Wire.DigestRequest__Output) =>
      Effect.gen(function*() {
        const start = yield* parsePosition(req.start, "start")
        const end = yield* parsePosition(req.end, "end")
        const most = Digest.bucketsFor(Number.MAX_SAFE_INTEGER, start, end)
        if (req.buckets < 1 || req.buckets > most) {
          return yield* new Errors.InvalidArgument({ message: `buckets must be 1 to ${most}, got ${req.buckets}` })
        }
        const d = yield* Digest.digest(storage.scan(start, end).pipe(Stream.mapError(storageError)), start, end, req.buckets)
        return { hashes: d.hashes.map(String), counts: [...d.counts] }
      })),
    Status: Grpc.unary(context, () => status),
    // The process's every virtual node, whichever one the call names.
    StatusAll: Grpc.unary(context, () => Effect.map(Effect.all(vnodes.statuses), (statuses) => ({ statuses }))),
    TakeOver: Grpc.unary(context, (req: Wire.TakeOverRequest__Output) =>
      Effect.gen(function*() {
        const leaving = yield* argRef(req.leaving, "leaving node")
        if (req.successors.length > membership.successorListLength) {
          return yield* new Errors.InvalidArgument({ message: `at most ${membership.successorListLength} successors, got ${req.successors.length}` })
        }
        const successors = yield* Effect.forEach(req.successors, (s) => argRef(s, "successor"))
        yield* acceptTakeOver(leaving, successors)
        // Fetch the range in the background; reads go through to the leaving node meanwhile.
        yield* Handoff.receive().pipe(
          Effect.catchCause((cause) => Effect.logError(`take-over from ${leaving.address} failed`, cause)),
          Effect.provideContext(context),
          Effect.forkIn(scope)
        )
        return {}
      })),
    PredecessorLeft: Grpc.unary(context, (req: Wire.PredecessorLeftRequest__Output) =>
      Effect.gen(function*() {
        const leaving = yield* argRef(req.leaving, "leaving node")
        const predecessor = yield* argRef(req.predecessor, "predecessor")
        yield* TakeOver.predecessorLeft(leaving, predecessor)
        return {}
      }))
  }

  // What clients and operators may ask: the same handlers as peer.Peer's, open to clients.
  const cluster: Wire.ClusterHandlers = { Status: peer.Status, StatusAll: peer.StatusAll, Remove: peer.Remove }

  const services = [
    { definition: Proto.proto.dht.DhtNode.service, implementation: dht, audience: () => "clients" as const },
    { definition: Proto.proto.cluster.Cluster.service, implementation: cluster, audience: () => "clients" as const },
    // Node-to-node calls: under TLS, only callers with a node certificate.
    { definition: Proto.proto.peer.Peer.service, implementation: peer, audience: () => "nodes" as const }
  ] satisfies ReadonlyArray<Grpc.ServiceImplementation>
  vnodes.statuses[Address.vnode(membership.self.address)] = status
  return { services: services as ReadonlyArray<Grpc.ServiceImplementation>, status }
})

/**
 * Calls to other nodes over the `peer.Peer` service. One pooled gRPC client per peer address,
 * closed after it has been idle; every call has the configured deadline.
 */
import { Address, Errors, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Cause, Clock, Context, Duration, Effect, Layer, Option, RcMap, Stream } from "effect"
import type { Member } from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import * as Transport from "./Transport.ts"
import type { Entry } from "./Storage.ts"
import type { Digest } from "./Digest.ts"
import * as Metrics from "./Metrics.ts"
import * as Version from "./Version.ts"

/** A member as a wire `NodeRef`. */
export const toRef = (m: Member): Wire.NodeRef => ({ id: m.id.toString(), addr: m.address })

/**
 * A wire `NodeRef` as a member; a malformed one is the sender's bug. Its ID must be the one its
 * address hashes to, the ring's one ID rule: a reference that breaks it is forged or corrupt.
 */
export const fromRef = (ref: Wire.NodeRef__Output | null | undefined, what: string): Effect.Effect<Member, Errors.Internal> => {
  const known = ref ? verified.get(ref.addr) : undefined
  if (known !== undefined && known.id.toString() === ref!.id) return Effect.succeed(known)
  const id = ref ? Position.parse(ref.id) : undefined
  const addr = ref ? Address.normalize(ref.addr) : undefined
  if (id === undefined || !addr || !("address" in addr)) {
    return Effect.fail(new Errors.Internal({ message: `malformed ${what}: ${JSON.stringify(ref)}` }))
  }
  if (Position.nodeId(addr.address) !== id) {
    return Effect.fail(new Errors.Internal({ message: `${what} ${addr.address} has ID ${Position.toHex(id)}, but its address gives ${Position.toHex(Position.nodeId(addr.address))}` }))
  }
  const member = { id, address: addr.address }
  if (verified.size >= VERIFIED_CAPACITY) verified.clear()
  verified.set(ref!.addr, member)
  return Effect.succeed(member)
}

/**
 * References already checked, by their wire address: a node hears of the same few hundred
 * members every round, and the check (a SHA-256 and an address parse) is the bulk of reading a
 * neighbour list. Cleared when full, so it stays bounded whatever peers send.
 */
const verified = new Map<string, Member>()
const VERIFIED_CAPACITY = 8192

/** What a `Neighbors` reply says. */
const neighborInfo = (r: Wire.Neighbors__Output): Effect.Effect<NeighborInfo, Errors.Internal> =>
  Effect.all({
    self: fromRef(r.self, "self"),
    predecessor: r.predecessor ? Effect.asSome(fromRef(r.predecessor, "predecessor")) : Effect.succeedNone,
    successors: Effect.forEach(r.successors, (s) => fromRef(s, "successor")),
    gone: Effect.forEach(r.gone, (s) => fromRef(s, "gone member")),
    phase: Effect.succeed(r.phase)
  })

/** A stored entry on the wire. */
export const toWire = (e: Entry): Wire.Entry => ({
  key: e.key,
  value: e.value ?? new Uint8Array(0),
  tombstone: e.value === undefined,
  version: { hlc: e.version.hlc.toString(), writer: e.version.writer.toString() }
})

/** A wire entry as a stored one, or `undefined` when its version is malformed. */
export const entryOf = (e: Wire.Entry__Output): Entry | undefined => {
  const hlc = e.version ? Position.parse(e.version.hlc) : undefined
  const writer = e.version ? Position.parse(e.version.writer) : undefined
  return hlc !== undefined && writer !== undefined ? { key: e.key, value: e.tombstone ? undefined : e.value, version: { hlc, writer } } : undefined
}

/** A wire entry as a stored one; a malformed version is the sender's bug. */
export const fromWire = (e: Wire.Entry__Output): Effect.Effect<Entry, Errors.Internal> => {
  const entry = entryOf(e)
  return entry !== undefined
    ? Effect.succeed(entry)
    : Effect.fail(new Errors.Internal({ message: `malformed entry version: ${JSON.stringify(e.version)}` }))
}

/**
 * Refuses an entry whose version is more than `skewMs` ahead of `now`: a version far ahead would
 * win every later write for as long as it leads. Applied to entries from peers, in requests and
 * in replies alike.
 */
export const notAhead = (entry: Entry, now: number, skewMs: number): string | undefined => {
  const ahead = Version.millis(entry.version.hlc) - now
  return ahead > skewMs ? `entry version is ${ahead} ms ahead of this node's clock (at most ${skewMs} ms, --max-clock-skew); refused` : undefined
}

/** The owner of a position, with the end of its range, as found by routing. */
export interface OwnerInfo {
  readonly owner: Member
  readonly successor: Member
  readonly hops: number
}

/** What a peer told about its neighbours. */
export interface NeighborInfo {
  readonly self: Member
  readonly predecessor: Option.Option<Member>
  readonly successors: ReadonlyArray<Member>
  /** Members it knows left gracefully or were removed recently. */
  readonly gone: ReadonlyArray<Member>
  /** Its phase: "joining", "ready" or "leaving" ("" from a node that does not say). */
  readonly phase: string
}

/** Node-to-node calls. */
export interface Service {
  readonly forward: (to: Address.Address, query: Wire.Query, hops: number) => Effect.Effect<Wire.QueryResult__Output, Errors.RpcError>
  readonly findOwner: (to: Address.Address, position: Position.Position, hops: number) => Effect.Effect<OwnerInfo, Errors.RpcError>
  readonly join: (to: Address.Address, self: Member) => Effect.Effect<{ readonly predecessor: Member; readonly successor: Member }, Errors.RpcError>
  readonly notify: (to: Address.Address, self: Member) => Effect.Effect<void, Errors.RpcError>
  /** A node's neighbours and phase, with the RPC deadline or a shorter one. */
  readonly neighbors: (to: Address.Address, timeout?: Duration.Duration) => Effect.Effect<NeighborInfo, Errors.RpcError>
  /**
   * The neighbours of several virtual nodes of the process at `target` ("host:port") in one
   * call, in the order of `vnodes`; `None` for an index it does not run. Falls back to one
   * `GetNeighbors` per virtual node against a node that predates the batch call.
   */
  readonly neighborsBatch: (target: string, vnodes: ReadonlyArray<number>) => Effect.Effect<ReadonlyArray<Option.Option<NeighborInfo>>, Errors.RpcError>
  /** Asks a node to forget a process that no longer answers; returns how many members it forgot. */
  readonly remove: (to: Address.Address, process: string) => Effect.Effect<number, Errors.RpcError>
  /**
   * Drops the connection to a process, so the next call connects afresh. For a peer that went
   * silent: an old connection would wait out TCP's retransmission backoff after the network comes
   * back, seconds after a new one connects.
   */
  readonly reset: (to: string) => Effect.Effect<void>
  /**
   * The peer at `to` has just shown it is alive (it called this node): if the connection to
   * its process last failed to connect, drop it, so the next call connects at once instead of
   * waiting out the reconnect backoff (a member restarted on its address is reachable again).
   */
  readonly revive: (to: string) => Effect.Effect<void>
  /**
   * When the process at `to` ("host:port") last answered a call from this node with success (ms,
   * by the Clock), if it has: the failure detector counts it as a ping answered.
   */
  readonly answeredAt: (to: string) => number | undefined
  /** Liveness check, with the RPC deadline or a shorter one. */
  readonly ping: (to: Address.Address, timeout?: Duration.Duration) => Effect.Effect<void, Errors.RpcError>
  /** Liveness check of a whole process: how many virtual nodes it runs (1 without them). */
  readonly probe: (to: string, timeout: Duration.Duration) => Effect.Effect<number, Errors.RpcError>
  readonly fetchRange: (to: Address.Address, start: Position.Position, end: Position.Position) => Stream.Stream<Entry, Errors.RpcError>
  readonly releaseRange: (to: Address.Address, start: Position.Position, end: Position.Position) => Effect.Effect<void, Errors.RpcError>
  /** The entry a node holds for a key, tombstones included. */
  readonly fetch: (to: Address.Address, key: Uint8Array) => Effect.Effect<Option.Option<Entry>, Errors.RpcError>
  /** Stores an entry on a replica unless it holds a newer one; returns the one it held. */
  readonly write: (to: Address.Address, entry: Entry) => Effect.Effect<Option.Option<Entry>, Errors.RpcError>
  /** Stores a batch of entries on a replica, each unless it holds a newer one. */
  readonly push: (to: Address.Address, entries: ReadonlyArray<Entry>) => Effect.Effect<void, Errors.RpcError>
  /** The bucket digests of a node's entries in a range. */
  readonly digest: (to: Address.Address, start: Position.Position, end: Position.Position, buckets: number) => Effect.Effect<Digest, Errors.RpcError>
  readonly status: (to: Address.Address) => Effect.Effect<Wire.NodeStatus__Output, Errors.RpcError>
  /**
   * The statuses of every virtual node of the process at `target` ("host:port"), in index
   * order, in one call; `None` from a node that predates the call (ask it with `status`).
   */
  readonly statusAll: (target: string) => Effect.Effect<Option.Option<ReadonlyArray<Wire.NodeStatus__Output>>, Errors.RpcError>
  readonly takeOver: (to: Address.Address, leaving: Member, successors: ReadonlyArray<Member>) => Effect.Effect<void, Errors.RpcError>
  readonly predecessorLeft: (to: Address.Address, leaving: Member, predecessor: Member) => Effect.Effect<void, Errors.RpcError>
}

/** How a failed call ended, for metrics: its error's tag, or "interrupted". */
const outcomeOf = (cause: Cause.Cause<Errors.RpcError>): string => {
  const e = Cause.findErrorOption(cause)
  return e._tag === "Some" ? e.value._tag : "interrupted"
}

/** Node-to-node calls. */
export class Peers extends Context.Service<Peers, Service>()("@crustyring/node/Peers") {}

/** Peer calls over gRPC, with a client pool that lives as long as the scope. */
export const make = Effect.gen(function*() {
  const config = yield* NodeConfig
  const transport = yield* Transport.current
  // Processes that answered UNIMPLEMENTED to GetNeighborsBatch: older nodes, asked one by one.
  const unbatched = new Set<string>()
  // Processes whose connection last failed to connect (see `revive`).
  const unreachable = new Set<string>()
  // When each process last answered a call with success (see `answeredAt`).
  const answered = new Map<string, number>()
  // One connection per peer process, shared by the clients of its virtual nodes. What this node
  // remembers of a process goes with its connection (idle for a minute, reset or revived), so a
  // long-lived node keeps nothing of the processes it no longer calls, and a restarted process
  // (perhaps upgraded) is asked afresh.
  const pool = yield* RcMap.make({
    lookup: (target: string) =>
      Effect.andThen(
        Effect.addFinalizer(() =>
          Effect.sync(() => {
            unbatched.delete(target)
            unreachable.delete(target)
            answered.delete(target)
          })
        ),
        transport.connect(target)
      ),
    idleTimeToLive: "1 minute"
  })
  const clientOf = (to: string) => Effect.map(RcMap.get(pool, Address.target(to)), (connection) => connection.client(to))
  const timeout = config.rpcTimeout
  const metrics = yield* Metrics.current
  const skewMs = Duration.toMillis(config.maxClockSkew)
  /** An entry from a peer's reply, refused (as the peer's bug) when its version is too far ahead. */
  const replied = (wire: Wire.Entry__Output, from: string) =>
    Effect.flatMap(fromWire(wire), (entry) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const ahead = notAhead(entry, now, skewMs)
        return ahead === undefined ? Effect.succeed(entry) : Effect.fail(new Errors.Internal({ message: `${from}: ${ahead}` }))
      }))
  const withClient = <A, E>(to: string, f: (client: Wire.PeerClient) => Effect.Effect<A, E>) =>
    Effect.scoped(Effect.flatMap(clientOf(to), f))
  const call = <Res>(
    method: string,
    to: string,
    deadline: Duration.Duration,
    invoke: (c: Wire.PeerClient, o: import("@grpc/grpc-js").CallOptions, cb: (e: import("@grpc/grpc-js").ServiceError | null, r?: Res) => void) => import("@grpc/grpc-js").ClientUnaryCall
  ) =>
    withClient(to, (c) => transport.call<Res>(to, deadline, (o, cb) => invoke(c, o, cb))).pipe(
      Effect.onExit((exit) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          metrics.peerCall(method, exit._tag === "Success" ? "ok" : outcomeOf(exit.cause))
          const e = exit._tag === "Failure" ? Cause.findErrorOption(exit.cause) : Option.none()
          if (e._tag === "Some" && e.value._tag === "Unavailable" && e.value.unreachable === true) unreachable.add(Address.target(to))
          else if (exit._tag === "Success") {
            const target = Address.target(to)
            unreachable.delete(target)
            answered.set(target, at)
          }
        })
      )
    )
  const unary = <Res>(
    method: string,
    to: string,
    invoke: (c: Wire.PeerClient, o: import("@grpc/grpc-js").CallOptions, cb: (e: import("@grpc/grpc-js").ServiceError | null, r?: Res) => void) => import("@grpc/grpc-js").ClientUnaryCall
  ) => call(method, to, timeout, invoke)

  const service: Service = {
    answeredAt: (to) => answered.get(to),
    reset: (to) => Effect.suspend(() => {
      // A peer found silent: what it answered before the reset no longer counts.
      answered.delete(Address.target(to))
      return RcMap.invalidate(pool, Address.target(to))
    }),
    revive: (to) =>
      Effect.suspend(() => {
        const target = Address.target(to)
        if (!unreachable.delete(target)) return Effect.void
        return RcMap.invalidate(pool, target)
      }),
    forward: (to, query, hops) => unary("Forward", to, (c, o, cb) => c.Forward({ query, hops }, o, cb)),
    findOwner: (to, position, hops) =>
      unary<Wire.FindOwnerReply__Output>("FindOwner", to, (c, o, cb) => c.FindOwner({ position: position.toString(), hops }, o, cb)).pipe(
        Effect.flatMap((r) =>
          Effect.all({
            owner: fromRef(r.owner, "owner"),
            successor: fromRef(r.successor, "successor"),
            hops: Effect.succeed(r.hops)
          })
        )
      ),
    join: (to, self) =>
      unary<Wire.JoinReply__Output>("Join", to, (c, o, cb) => c.Join({ node: toRef(self) }, o, cb)).pipe(
        Effect.flatMap((r) =>
          Effect.all({ predecessor: fromRef(r.predecessor, "predecessor"), successor: fromRef(r.successor, "successor") })
        )
      ),
    notify: (to, self) => unary("Notify", to, (c, o, cb) => c.Notify({ node: toRef(self) }, o, cb)).pipe(Effect.asVoid),
    neighbors: (to, deadline = timeout) =>
      call<Wire.Neighbors__Output>("GetNeighbors", to, deadline, (c, o, cb) => c.GetNeighbors({}, o, cb)).pipe(
        Effect.flatMap(neighborInfo)
      ),
    neighborsBatch: (target, vnodes) => {
      const oneByOne = Effect.forEach(vnodes, (i) => Effect.asSome(service.neighbors(Address.withVnode(target as Address.Address, i))))
      if (unbatched.has(target)) return oneByOne
      return call<Wire.NeighborsBatch__Output>("GetNeighborsBatch", target, timeout, (c, o, cb) => c.GetNeighborsBatch({ vnodes: [...vnodes] }, o, cb)).pipe(
        Effect.flatMap((r) =>
          r.neighbors.length !== vnodes.length
            ? Effect.fail(new Errors.Internal({ message: `${target}: ${r.neighbors.length} neighbour lists for ${vnodes.length} virtual nodes` }))
            : Effect.forEach(r.neighbors, (n) => n.self ? Effect.asSome(neighborInfo(n)) : Effect.succeedNone)
        ),
        Effect.catchIf(
          Errors.isUnimplemented,
          () => Effect.andThen(Effect.sync(() => unbatched.add(target)), oneByOne)
        )
      )
    },
    remove: (to, process) =>
      unary<Wire.RemoveReply__Output>("Remove", to, (c, o, cb) => c.Remove({ addr: process }, o, cb)).pipe(Effect.map((r) => r.removed)),
    ping: (to, deadline = timeout) => call("Ping", to, deadline, (c, o, cb) => c.Ping({}, o, cb)).pipe(Effect.asVoid),
    probe: (to, deadline) =>
      call<Wire.PingReply__Output>("Ping", to, deadline, (c, o, cb) => c.Ping({}, o, cb)).pipe(
        Effect.map((r) => Math.max(1, r.vnodes))
      ),
    fetchRange: (to, start, end) =>
      Stream.unwrap(
        Effect.map(clientOf(to), (c) =>
          transport.callStream<Wire.Entry__Output>(
            to,
            config.transferTimeout,
            (o) => c.FetchRange({ start: start.toString(), end: end.toString() }, o)
          ))
      ).pipe(
        // A stream that stalls (its peer cut off mid-transfer) fails after an idle RPC deadline
        // rather than hold a hand-off or a repair for the whole transfer deadline.
        Stream.timeoutOrElse({
          duration: Duration.times(config.rpcTimeout, 2),
          orElse: () => Stream.fail(new Errors.DeadlineExceeded({ message: `${to}: range transfer stalled for ${Duration.format(Duration.times(config.rpcTimeout, 2))}` }))
        }),
        Stream.mapEffect((e) => replied(e, to)),
        Stream.onExit((exit) => Effect.sync(() => metrics.peerCall("FetchRange", exit._tag === "Success" ? "ok" : outcomeOf(exit.cause))))
      ),
    releaseRange: (to, start, end) =>
      unary("ReleaseRange", to, (c, o, cb) => c.ReleaseRange({ start: start.toString(), end: end.toString() }, o, cb)).pipe(Effect.asVoid),
    fetch: (to, key) =>
      unary<Wire.FetchReply__Output>("Fetch", to, (c, o, cb) => c.Fetch({ key }, o, cb)).pipe(
        Effect.flatMap((r) => r.entry ? Effect.asSome(replied(r.entry, to)) : Effect.succeedNone)
      ),
    write: (to, entry) =>
      unary<Wire.WriteReply__Output>("Write", to, (c, o, cb) => c.Write({ entry: toWire(entry) }, o, cb)).pipe(
        Effect.flatMap((r) => r.previous ? Effect.asSome(replied(r.previous, to)) : Effect.succeedNone)
      ),
    push: (to, entries) => unary("Push", to, (c, o, cb) => c.Push({ entries: entries.map(toWire) }, o, cb)).pipe(Effect.asVoid),
    digest: (to, start, end, buckets) =>
      unary<Wire.DigestReply__Output>("Digest", 
        to,
        (c, o, cb) => c.Digest({ start: start.toString(), end: end.toString(), buckets }, o, cb)
      ).pipe(
        Effect.flatMap((r) => {
          const hashes = r.hashes.map((h) => Position.parse(h))
          return hashes.every((h) => h !== undefined) && r.counts.length === hashes.length
            ? Effect.succeed({ hashes: hashes as ReadonlyArray<bigint>, counts: r.counts })
            : Effect.fail(new Errors.Internal({ message: `malformed digest from ${to}` }))
        })
      ),
    status: (to) => unary<Wire.NodeStatus__Output>("Status", to, (c, o, cb) => c.Status({}, o, cb)),
    statusAll: (target) =>
      unary<Wire.StatusAllReply__Output>("StatusAll", target, (c, o, cb) => c.StatusAll({}, o, cb)).pipe(
        Effect.map((r) => Option.some(r.statuses)),
        Effect.catchIf(Errors.isUnimplemented, () => Effect.succeedNone)
      ),
    takeOver: (to, leaving, successors) =>
      unary("TakeOver", to, (c, o, cb) => c.TakeOver({ leaving: toRef(leaving), successors: successors.map(toRef) }, o, cb)).pipe(
        Effect.asVoid
      ),
    predecessorLeft: (to, leaving, predecessor) =>
      unary("PredecessorLeft", to, (c, o, cb) => c.PredecessorLeft({ leaving: toRef(leaving), predecessor: toRef(predecessor) }, o, cb)).pipe(
        Effect.asVoid
      )
  }
  return service
})

/** Peer calls over gRPC. */
export const layer: Layer.Layer<Peers, never, NodeConfig> = Layer.effect(Peers, make)

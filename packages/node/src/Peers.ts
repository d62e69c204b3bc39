/**
 * Calls to other nodes over the `peer.Peer` service. One pooled gRPC client per peer address,
 * closed after it has been idle; every call has the configured deadline.
 */
import { Address, Errors, Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Context, Effect, Layer, Option, RcMap, Stream } from "effect"
import type { Member } from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import type { Entry } from "./Storage.ts"

/** A member as a wire `NodeRef`. */
export const toRef = (m: Member): Wire.NodeRef => ({ id: m.id.toString(), addr: m.address })

/** A wire `NodeRef` as a member; a malformed one is the sender's bug. */
export const fromRef = (ref: Wire.NodeRef__Output | null | undefined, what: string): Effect.Effect<Member, Errors.Internal> => {
  const id = ref ? Position.parse(ref.id) : undefined
  const addr = ref ? Address.normalize(ref.addr) : undefined
  return id !== undefined && addr && "address" in addr
    ? Effect.succeed({ id, address: addr.address })
    : Effect.fail(new Errors.Internal({ message: `malformed ${what} in peer reply: ${JSON.stringify(ref)}` }))
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
}

/** Node-to-node calls. */
export interface Service {
  readonly forward: (to: Address.Address, query: Wire.Query, hops: number) => Effect.Effect<Wire.QueryResult__Output, Errors.RpcError>
  readonly findOwner: (to: Address.Address, position: Position.Position, hops: number) => Effect.Effect<OwnerInfo, Errors.RpcError>
  readonly join: (to: Address.Address, self: Member) => Effect.Effect<{ readonly predecessor: Member; readonly successor: Member }, Errors.RpcError>
  readonly notify: (to: Address.Address, self: Member) => Effect.Effect<void, Errors.RpcError>
  readonly neighbors: (to: Address.Address) => Effect.Effect<NeighborInfo, Errors.RpcError>
  readonly ping: (to: Address.Address) => Effect.Effect<void, Errors.RpcError>
  readonly fetchRange: (to: Address.Address, start: Position.Position, end: Position.Position) => Stream.Stream<Entry, Errors.RpcError>
  readonly releaseRange: (to: Address.Address, start: Position.Position, end: Position.Position) => Effect.Effect<void, Errors.RpcError>
  readonly fetch: (to: Address.Address, key: Uint8Array) => Effect.Effect<Option.Option<Uint8Array>, Errors.RpcError>
  readonly status: (to: Address.Address) => Effect.Effect<Wire.NodeStatus__Output, Errors.RpcError>
  readonly takeOver: (to: Address.Address, leaving: Member, successors: ReadonlyArray<Member>) => Effect.Effect<void, Errors.RpcError>
  readonly predecessorLeft: (to: Address.Address, leaving: Member, predecessor: Member) => Effect.Effect<void, Errors.RpcError>
}

/** Node-to-node calls. */
export class Peers extends Context.Service<Peers, Service>()("@crustyring/node/Peers") {}

/** Peer calls over gRPC, with a client pool that lives as long as the scope. */
export const make = Effect.gen(function*() {
  const config = yield* NodeConfig
  const pool = yield* RcMap.make({
    lookup: (address: string) => Grpc.client(Proto.proto.peer.Peer, address),
    idleTimeToLive: "1 minute"
  })
  const timeout = config.rpcTimeout
  const withClient = <A, E>(to: string, f: (client: Wire.PeerClient) => Effect.Effect<A, E>) =>
    Effect.scoped(Effect.flatMap(RcMap.get(pool, to), f))
  const unary = <Res>(
    to: string,
    invoke: (c: Wire.PeerClient, o: import("@grpc/grpc-js").CallOptions, cb: (e: import("@grpc/grpc-js").ServiceError | null, r?: Res) => void) => import("@grpc/grpc-js").ClientUnaryCall
  ) => withClient(to, (c) => Grpc.call<Res>(to, timeout, (o, cb) => invoke(c, o, cb)))

  const service: Service = {
    forward: (to, query, hops) => unary(to, (c, o, cb) => c.Forward({ query, hops }, o, cb)),
    findOwner: (to, position, hops) =>
      unary<Wire.FindOwnerReply__Output>(to, (c, o, cb) => c.FindOwner({ position: position.toString(), hops }, o, cb)).pipe(
        Effect.flatMap((r) =>
          Effect.all({
            owner: fromRef(r.owner, "owner"),
            successor: fromRef(r.successor, "successor"),
            hops: Effect.succeed(r.hops)
          })
        )
      ),
    join: (to, self) =>
      unary<Wire.JoinReply__Output>(to, (c, o, cb) => c.Join({ node: toRef(self) }, o, cb)).pipe(
        Effect.flatMap((r) =>
          Effect.all({ predecessor: fromRef(r.predecessor, "predecessor"), successor: fromRef(r.successor, "successor") })
        )
      ),
    notify: (to, self) => unary(to, (c, o, cb) => c.Notify({ node: toRef(self) }, o, cb)).pipe(Effect.asVoid),
    neighbors: (to) =>
      unary<Wire.Neighbors__Output>(to, (c, o, cb) => c.GetNeighbors({}, o, cb)).pipe(
        Effect.flatMap((r) =>
          Effect.all({
            self: fromRef(r.self, "self"),
            predecessor: r.predecessor ? Effect.asSome(fromRef(r.predecessor, "predecessor")) : Effect.succeedNone,
            successors: Effect.forEach(r.successors, (s) => fromRef(s, "successor"))
          })
        )
      ),
    ping: (to) => unary(to, (c, o, cb) => c.Ping({}, o, cb)).pipe(Effect.asVoid),
    fetchRange: (to, start, end) =>
      Stream.unwrap(
        Effect.map(RcMap.get(pool, to), (c) =>
          Grpc.callStream<Wire.Entry__Output>(
            to,
            config.transferTimeout,
            (o) => c.FetchRange({ start: start.toString(), end: end.toString() }, o)
          ))
      ).pipe(Stream.map((e): Entry => ({ key: e.key, value: e.value }))),
    releaseRange: (to, start, end) =>
      unary(to, (c, o, cb) => c.ReleaseRange({ start: start.toString(), end: end.toString() }, o, cb)).pipe(Effect.asVoid),
    fetch: (to, key) =>
      unary<Wire.FetchReply__Output>(to, (c, o, cb) => c.Fetch({ key }, o, cb)).pipe(
        Effect.map((r) => Option.fromNullishOr(r.value))
      ),
    status: (to) => unary<Wire.NodeStatus__Output>(to, (c, o, cb) => c.Status({}, o, cb)),
    takeOver: (to, leaving, successors) =>
      unary(to, (c, o, cb) => c.TakeOver({ leaving: toRef(leaving), successors: successors.map(toRef) }, o, cb)).pipe(
        Effect.asVoid
      ),
    predecessorLeft: (to, leaving, predecessor) =>
      unary(to, (c, o, cb) => c.PredecessorLeft({ leaving: toRef(leaving), predecessor: toRef(predecessor) }, o, cb)).pipe(
        Effect.asVoid
      )
  }
  return service
})

/** Peer calls over gRPC. */
export const layer: Layer.Layer<Peers, never, NodeConfig> = Layer.effect(Peers, make)

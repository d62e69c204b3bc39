/**
 * Ring walks ask each process once (`StatusAll`), not each position: `dht-client ring`'s walk
 * (`RingStatus.walk`, over cluster.Cluster) and the dashboard's (`RingView.walk`, over
 * peer.Peer) find every virtual node of a real cluster with one call per process, and each
 * status is what `Status` answers for that position. Against a node that predates the call
 * (it answers UNIMPLEMENTED), both ask it once and then fall back to one `Status` per position.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { RingStatus } from "@crustyring/client"
import { NodeConfig, Peers, RingView } from "@crustyring/node"
import { Address, Proto, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import * as grpc from "@grpc/grpc-js"
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { TestCluster } from "../src/index.ts"

const PROCESSES = 3
const VNODES = 4

/**
 * Counts the calls every gRPC server made after this runs gets, by method path. A spy on
 * `Server.register`, through which `addService` registers each handler; undone with the scope.
 */
const countCalls = Effect.gen(function*() {
  const calls = new Map<string, number>()
  const prototype = grpc.Server.prototype as unknown as { register: (name: string, handler: unknown, ...rest: Array<unknown>) => boolean }
  const original = prototype.register
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      prototype.register = function(this: unknown, name, handler, ...rest) {
        const counted = function(this: unknown, ...args: Array<unknown>) {
          calls.set(name, (calls.get(name) ?? 0) + 1)
          return (handler as (...a: Array<unknown>) => unknown).apply(this, args)
        }
        return original.call(this, name, counted, ...rest)
      }
    }),
    () => Effect.sync(() => void (prototype.register = original))
  )
  /** The calls of `method` made while `effect` ran. */
  const during = <A, E, R>(methods: ReadonlyArray<string>, effect: Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const before = methods.map((m) => calls.get(m) ?? 0)
      const result = yield* effect
      return { result, calls: Object.fromEntries(methods.map((m, i) => [m, (calls.get(m) ?? 0) - before[i]!])) }
    })
  return { during }
})

const peersService = Effect.map(
  Layer.build(Peers.layer.pipe(Layer.provide(NodeConfig.layer({ rpcTimeout: Duration.seconds(5) })))),
  (ctx) => Context.get(ctx, Peers.Peers)
)

/** Every position of the cluster, as the nodes themselves name them. */
const positionsOf = (cluster: TestCluster.TestCluster) => cluster.nodes.flatMap((n) => n.node.vnodes.map((m) => m.self.address as string)).sort()

describe("StatusAll", () => {
  it.live("dht-client's walk and the dashboard's ask each process once, and find every virtual node", () =>
    Effect.gen(function*() {
      const spy = yield* countCalls
      const cluster = yield* TestCluster.make({ nodes: PROCESSES, registry: false, config: { vnodes: VNODES } })
      const positions = positionsOf(cluster)
      assert.lengthOf(positions, PROCESSES * VNODES)
      const start = cluster.nodes[0]!.address
      // Until every position's successor pointer has settled, a walk may pass one by.
      yield* RingStatus.walk(start, "5 seconds").pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (walked) => walked.length === positions.length }),
        Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.die(new Error("the ring did not settle in 20 s")) })
      )

      const client = yield* spy.during(["/cluster.Cluster/StatusAll", "/cluster.Cluster/Status"], RingStatus.walk(start, "5 seconds"))
      expect(client.result.map((s) => s.address).sort()).toEqual(positions)
      expect(client.calls).toEqual({ "/cluster.Cluster/StatusAll": PROCESSES, "/cluster.Cluster/Status": 0 })
      // In ring order, each one's successor the next.
      for (const [i, s] of client.result.entries()) expect(s.successor).toBe(client.result[(i + 1) % client.result.length]!.address)

      // Each status is the one Status gives for that position.
      const peers = yield* peersService
      const second = client.result[1]!
      const single = yield* peers.status(Address.unsafeMake(second.address))
      expect(single.self?.addr).toBe(second.address)
      expect(single.successors[0]?.addr).toBe(second.successor)
      expect(single.phase).toBe(second.phase)

      const dashboard = yield* spy.during(["/peer.Peer/StatusAll", "/peer.Peer/Status"], Effect.provideService(RingView.walk(start), Peers.Peers, peers))
      expect(dashboard.result.members.map((m) => m.address).sort()).toEqual(positions)
      expect(dashboard.result.members.every((m) => m.state === "up" && m.phase === "ready")).toBe(true)
      expect(dashboard.calls).toEqual({ "/peer.Peer/StatusAll": PROCESSES, "/peer.Peer/Status": 0 })
    }), { timeout: 60_000 })

  it.live("against a node without StatusAll, both walks ask each position with Status", () =>
    Effect.gen(function*() {
      // An older process of two positions, #0 and #1, each the other's successor: Status only.
      const asked: Array<string> = []
      const server = new grpc.Server()
      let address = ""
      const status = (service: string) => (call: grpc.ServerUnaryCall<unknown, Wire.NodeStatus>, cb: grpc.sendUnaryData<Wire.NodeStatus>) => {
        const index = Number(call.metadata.get(Address.VNODE_HEADER)[0] ?? 0)
        asked.push(`${service}#${index}`)
        const ref = (i: number) => {
          const a = Address.withVnode(address as Address.Address, i)
          return { id: Position.nodeId(a).toString(), addr: a }
        }
        cb(null, { self: ref(index), predecessor: ref(1 - index), successors: [ref(1 - index)], phase: "ready", down: [] })
      }
      // What a node without the method answers to StatusAll, counted.
      const unimplemented = (service: string) => (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
        asked.push(`${service} StatusAll`)
        cb({ code: grpc.status.UNIMPLEMENTED, details: "unknown method" })
      }
      server.addService(Proto.proto.cluster.Cluster.service, { Status: status("cluster"), StatusAll: unimplemented("cluster") })
      server.addService(Proto.proto.peer.Peer.service, { Status: status("peer"), StatusAll: unimplemented("peer") })
      const port = yield* Effect.callback<number>((resume) =>
        server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (_e, p) => resume(Effect.succeed(p))))
      yield* Effect.addFinalizer(() => Effect.sync(() => server.forceShutdown()))
      address = `127.0.0.1:${port}`

      const walked = yield* RingStatus.walk(address, "5 seconds")
      expect(walked.map((s) => s.address)).toEqual([address, `${address}#1`])
      // StatusAll once: the process is then asked position by position.
      expect(asked).toEqual(["cluster StatusAll", "cluster#0", "cluster#1"])

      const snapshot = yield* Effect.provideService(RingView.walk(address), Peers.Peers, yield* peersService)
      expect(snapshot.members.map((m) => m.address).sort()).toEqual([address, `${address}#1`].sort())
      expect(snapshot.members.every((m) => m.state === "up")).toBe(true)
      expect(asked.filter((a) => a.startsWith("peer"))).toEqual(["peer StatusAll", "peer#0", "peer#1"])
    }), { timeout: 30_000 })
})

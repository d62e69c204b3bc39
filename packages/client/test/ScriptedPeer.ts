/**
 * A scripted ring of `peer.Peer` servers on loopback, for tests of what the client does with
 * the node-internal service without running real nodes: each answers `Status` as our nodes do
 * (itself, its successor in ring order, the members it counts as down) and `Remove` from a
 * script. Every other RPC is UNIMPLEMENTED.
 */
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import { statusOf } from "./ScriptedNode.ts"

/** How a scripted node answers a `Remove`: members forgotten, a status, or no answer at all. */
export type RemoveAnswer = { readonly removed: number } | { readonly status: grpc.status; readonly details: string } | "hang"

/** One scripted node. */
export interface PeerScript {
  /** The members it counts as down, by address, with how long each has been silent. */
  readonly down?: ReadonlyArray<{ readonly address: string; readonly silentMs: number }>
  /** Members it counts for quorums. @default the ring's size plus its down members */
  readonly members?: number
  /** Its answer to `Remove(addr)`. @default forgets nothing */
  readonly remove?: (addr: string) => RemoveAnswer
}

/** A running scripted node: its address and the `Remove` calls it got. */
export interface ScriptedPeer {
  readonly address: string
  readonly removes: Array<string>
}

const ref = (address: string): Wire.NodeRef => ({ id: Position.nodeId(address).toString(), addr: address })

/**
 * Starts one scripted node per script, on ephemeral ports, and links them into a ring by their
 * IDs (the hash of each address, as for real nodes). Returned in the order of the scripts, which
 * is not ring order. Calls left
 * hanging are answered UNAVAILABLE when the scope closes, so that shutdown is quick.
 */
export const scriptedRing = (scripts: ReadonlyArray<PeerScript>) =>
  Effect.gen(function*() {
    const hanging = new Set<grpc.sendUnaryData<Wire.RemoveReply>>()
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const cb of hanging) cb(statusOf(grpc.status.UNAVAILABLE, "shutting down"))
        hanging.clear()
      })
    )
    const servers = yield* Effect.forEach(scripts, () => Grpc.listen({ host: "127.0.0.1", port: 0, drain: "1 second" }))
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`)
    const ringOrder = [...addresses].sort((a, b) => (Position.nodeId(a) < Position.nodeId(b) ? -1 : 1))
    const step = (address: string, by: number) =>
      ringOrder[(ringOrder.indexOf(address) + by + ringOrder.length) % ringOrder.length]!
    return yield* Effect.forEach(servers, (server, i) =>
      Effect.gen(function*() {
        const address = addresses[i]!
        const script = scripts[i]!
        const next = step(address, 1)
        const previous = step(address, -1)
        const removes: Array<string> = []
        const down = script.down ?? []
        const status: Wire.NodeStatus = {
          self: ref(address),
          predecessor: ref(previous),
          successors: [ref(next)],
          key_count: 0,
          phase: "ready",
          owned_key_count: 0,
          replicas: 3,
          replicated_key_count: 0,
          tombstone_count: 0,
          down: down.map((d) => ({ node: ref(d.address), silent_ms: d.silentMs })),
          members: script.members ?? servers.length + down.length
        }
        const handlers: Partial<Wire.PeerHandlers> = {
          Status: (_call, callback) => callback(null, status),
          Remove: (call, callback) => {
            removes.push(call.request.addr)
            const answer = script.remove?.(call.request.addr) ?? { removed: 0 }
            if (answer === "hang") {
              hanging.add(callback)
              call.on("cancelled", () => hanging.delete(callback))
            } else if ("status" in answer) {
              callback(statusOf(answer.status, answer.details))
            } else {
              callback(null, answer)
            }
          }
        }
        // Clients ask cluster.Cluster; peer.Peer answers the same, as a node does.
        yield* server.add({ definition: Proto.proto.peer.Peer.service, implementation: handlers as grpc.UntypedServiceImplementation })
        yield* server.add({ definition: Proto.proto.cluster.Cluster.service, implementation: handlers as grpc.UntypedServiceImplementation })
        return { address, removes } satisfies ScriptedPeer
      }))
  })

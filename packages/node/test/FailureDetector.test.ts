/**
 * The failure detector's shared probes (one per peer process per round) keep only the processes
 * it watches lately: a node that runs for months, through many replaced peers, holds no probe of
 * a process it stopped watching. Peers are a stub that answers every ping; time is the TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Address } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Duration, Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import * as FailureDetector from "../src/FailureDetector.ts"
import * as Membership from "../src/Membership.ts"
import * as NodeConfig from "../src/NodeConfig.ts"
import { Peers, type Service as PeersService } from "../src/Peers.ts"
import * as VirtualNodes from "../src/VirtualNodes.ts"

const member = (address: string): Membership.Member => ({ id: Position.nodeId(address), address: Address.unsafeMake(address) })

describe("FailureDetector", () => {
  it.effect("drops the probe of a process it no longer watches", () =>
    Effect.gen(function*() {
      const pinged: Array<string> = []
      const peers = {
        probe: (target: string) => Effect.sync(() => (pinged.push(target), 1)),
        answeredAt: () => undefined
      } as unknown as PeersService
      const vnodes = VirtualNodes.make(1)
      const membership = yield* Membership.make(member("10.0.0.1:4000"))
      vnodes.members.push(membership)
      const watch = (address: string) =>
        membership.update((v) => ({ ...v, predecessor: Option.some(member(address)), successors: [member(address)], phase: "ready" }))

      yield* watch("10.0.0.2:4000")
      yield* Effect.forkChild(
        FailureDetector.run.pipe(
          Effect.provide(Layer.mergeAll(
            NodeConfig.layer({ pingInterval: Duration.millis(500), failureTimeout: Duration.seconds(2) }),
            Layer.succeed(Peers, peers),
            Layer.succeed(VirtualNodes.VirtualNodes, vnodes)
          ))
        ),
        { startImmediately: true }
      )
      yield* TestClock.adjust("1 second")
      expect([...vnodes.probes.keys()]).toEqual(["10.0.0.2:4000"])

      // The neighbour is replaced: the old process is probed no more, and forgotten.
      yield* watch("10.0.0.3:4000")
      yield* TestClock.adjust(Duration.millis(500 * (FailureDetector.REPING_PERIODS + 1)))
      expect(pinged).toContain("10.0.0.3:4000")
      expect([...vnodes.probes.keys()]).toEqual(["10.0.0.3:4000"])
    }))
})

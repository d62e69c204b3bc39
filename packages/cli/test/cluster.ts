/**
 * A cluster of real processes for the e2e tests: `dht-registry` and N `dht` nodes on port 0,
 * with the addresses read from their logs. Everything is killed when the scope closes.
 */
import { RegistryClient } from "@crustyring/protocol"
import { Context, Effect, Layer, Schedule } from "effect"
import { type Proc, ProcessError, spawnBin } from "./processes.ts"

export interface ProcessCluster {
  /** host:port of the registry. */
  readonly registry: string
  /** host:port of each node, in start order. */
  readonly nodes: ReadonlyArray<string>
  readonly registryProc: Proc
  readonly nodeProcs: ReadonlyArray<Proc>
}

export class Cluster extends Context.Service<Cluster, ProcessCluster>()("cli-test/Cluster") {}

const ADDRESS = "(\\d+\\.\\d+\\.\\d+\\.\\d+:\\d+)"
export const REGISTRY_LISTENING = new RegExp(`registry listening on ${ADDRESS}`)
export const STARTED_RING = new RegExp(`started a new ring as [0-9a-f]+ at ${ADDRESS}`)
export const JOINED = new RegExp(`joined as [0-9a-f]+ at ${ADDRESS}`)

/** Starts `dht-registry` on a random port and returns it with its address. */
export const startRegistry = Effect.gen(function*() {
  const proc = yield* spawnBin("dht-registry", ["--host", "127.0.0.1", "--port", "0"], { label: "dht-registry" })
  const [, address] = yield* proc.waitForStderr(REGISTRY_LISTENING, "15 seconds")
  return { proc, address: address! }
})

/** Starts a `dht` node on a random port and waits until it serves; `expect` is its start log. */
export const startNode = (args: ReadonlyArray<string>, expect: RegExp, label: string) =>
  Effect.gen(function*() {
    const proc = yield* spawnBin("dht", ["--host", "127.0.0.1", "--port", "0", ...args], { label })
    const [, address] = yield* proc.waitForStderr(expect, "15 seconds")
    return { proc, address: address! }
  })

/** Waits until the registry lists `count` nodes. */
export const awaitListed = (registry: string, count: number) =>
  Effect.gen(function*() {
    const client = yield* RegistryClient.make(registry, "2 seconds")
    return yield* client.nodes.pipe(
      Effect.mapError((e) => new ProcessError({ message: `registry ${registry}: ${e.message}` })),
      Effect.filterOrFail(
        (ns) => ns.length === count,
        (ns) => new ProcessError({ message: `registry ${registry} lists ${ns.length} nodes, expected ${count}` })
      ),
      Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 200 })
    )
  }).pipe(Effect.scoped)

/** A registry and `nodes` nodes that joined through it, all listed by the registry. */
export const make = (nodes: number) =>
  Effect.gen(function*() {
    const registry = yield* startRegistry
    const started: Array<{ readonly proc: Proc; readonly address: string }> = []
    for (let i = 0; i < nodes; i++) {
      started.push(
        yield* startNode(["--registry", registry.address], i === 0 ? STARTED_RING : JOINED, `dht node ${i + 1}`)
      )
    }
    yield* awaitListed(registry.address, nodes)
    return {
      registry: registry.address,
      nodes: started.map((n) => n.address),
      registryProc: registry.proc,
      nodeProcs: started.map((n) => n.proc)
    } satisfies ProcessCluster
  })

export const layer = (nodes: number): Layer.Layer<Cluster, ProcessError> => Layer.effect(Cluster, make(nodes))

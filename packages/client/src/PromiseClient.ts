/**
 * The client for code that does not use Effect: the same operations as `DhtClient`, as
 * Promises. Failures reject with the same tagged errors (`err._tag === "KeyNotFound"`, ...).
 *
 * ```ts
 * const client = await PromiseClient.connect({ registry: "127.0.0.1:50000" })
 * await client.set("greeting", "hello")
 * console.log(new TextDecoder().decode(await client.get("greeting")))
 * await client.close()
 * ```
 */
import { Effect, Layer, ManagedRuntime, Option } from "effect"
import * as DhtClient from "./DhtClient.ts"
import type * as RingStatus from "./RingStatus.ts"

/** A Promise-based client. Call `close` when done, to release its connections. */
export interface PromiseClient {
  readonly get: (key: Uint8Array | string) => Promise<Uint8Array>
  /** Resolves to the previous value, or undefined. */
  readonly set: (key: Uint8Array | string, value: Uint8Array | string) => Promise<Uint8Array | undefined>
  readonly delete: (key: Uint8Array | string) => Promise<Uint8Array>
  /** The ring as a node sees it, in ring order. */
  readonly ring: () => Promise<ReadonlyArray<RingStatus.NodeStatus>>
  readonly close: () => Promise<void>
}

/** Connects to a cluster through a registry or a list of nodes. */
export const connect = async (target: DhtClient.Target, options?: DhtClient.Options): Promise<PromiseClient> => {
  const runtime = ManagedRuntime.make(Layer.effect(DhtClient.DhtClient, DhtClient.make(target, options)))
  const client = await runtime.runPromise(Effect.service(DhtClient.DhtClient))
  return {
    get: (key) => runtime.runPromise(client.get(key)),
    set: (key, value) => runtime.runPromise(Effect.map(client.set(key, value), Option.getOrUndefined)),
    delete: (key) => runtime.runPromise(client.delete(key)),
    ring: () => runtime.runPromise(client.ring()),
    close: () => runtime.dispose()
  }
}

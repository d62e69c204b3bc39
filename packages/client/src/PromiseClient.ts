/**
 * The client for code that does not use Effect: the same operations as `DhtClient`, as
 * Promises. Failures reject with the same tagged errors (`err._tag === "KeyNotFound"`, ...).
 * Requests are retried on other nodes as `DhtClient` does, so a promise settles within the
 * `deadline` option (10 seconds by default), rejecting with `Timeout` when no node answered.
 *
 * ```ts
 * const client = await PromiseClient.connect({ registry: "127.0.0.1:50000" }, { deadline: "3 seconds" })
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
  /** Rejects with `KeyNotFound` when the key is not stored. */
  readonly get: (key: Uint8Array | string) => Promise<Uint8Array>
  /** Resolves to the previous value, or undefined. */
  readonly set: (key: Uint8Array | string, value: Uint8Array | string) => Promise<Uint8Array | undefined>
  /**
   * Resolves to the removed value; rejects with `KeyNotFound` when the key is not stored, also
   * when a retry follows a first attempt that removed it but whose answer was lost.
   */
  readonly delete: (key: Uint8Array | string) => Promise<Uint8Array>
  /** The ring as a node sees it, in ring order. */
  readonly ring: () => Promise<ReadonlyArray<RingStatus.NodeStatus>>
  /**
   * Removes a member that no longer answers ("host:port", all its virtual nodes). Rejects with
   * `RemoveRefused` while it still answers, and with `NotAMember` when no node knows it.
   */
  readonly remove: (address: string) => Promise<DhtClient.Removed>
  readonly close: () => Promise<void>
}

/**
 * Connects to a cluster through a registry or a list of nodes. The options are `DhtClient`'s:
 * `deadline` per request (retries included, default 10 s), `timeout` per attempt (default 5 s),
 * `attempts` (default 20) and `routing` (default "owner").
 */
export const connect = async (target: DhtClient.Target, options?: DhtClient.Options): Promise<PromiseClient> => {
  const runtime = ManagedRuntime.make(Layer.effect(DhtClient.DhtClient, DhtClient.make(target, options)))
  const client = await runtime.runPromise(Effect.service(DhtClient.DhtClient))
  return {
    get: (key) => runtime.runPromise(client.get(key)),
    set: (key, value) => runtime.runPromise(Effect.map(client.set(key, value), Option.getOrUndefined)),
    delete: (key) => runtime.runPromise(client.delete(key)),
    ring: () => runtime.runPromise(client.ring()),
    remove: (address) => runtime.runPromise(client.remove(address)),
    close: () => runtime.dispose()
  }
}

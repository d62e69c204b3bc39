/**
 * Failing fast when nothing can answer. Before a command, `dht-client` asks each address it
 * was given what it is, through the gRPC health service every Crusty Ring process serves: a
 * node (`dht.DhtNode`), a registry (`registry.Registry`), something else, or nothing (the
 * connection is refused). When every address refuses, or the one target is the wrong kind,
 * it stops at once with exit 2 and says so, instead of retrying until the deadline. Slow or
 * overloaded servers, and servers without the health service (the original Rust ones), are
 * not judged: only a refusal or a definite answer counts.
 */
import type { Errors } from "@crustyring/protocol"
import { Health } from "@crustyring/protocol"
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import { UserError } from "./Main.ts"

/** What answers at an address. */
export type Kind = "node" | "registry" | "other" | "refused" | "unknown"

/** The time each question may take; a slower answer leaves the address `unknown`. */
const TIMEOUT = "1500 millis"

const hasService = (address: string, service: string): Effect.Effect<boolean | Kind> =>
  Health.check(address, TIMEOUT, service).pipe(
    Effect.as(true as boolean | Kind),
    Effect.catch((e: Errors.RpcError) =>
      Effect.succeed<boolean | Kind>(
        e._tag === "Unavailable" && e.unreachable === true
          ? "refused"
          : e._tag === "Internal" && e.code === grpc.status.NOT_FOUND
          ? false
          : "unknown" // slow, or no health service (the original Rust servers have none): not judged

      )
    )
  )

/** What answers at `address`. */
export const identify = (address: string): Effect.Effect<Kind> =>
  Effect.gen(function*() {
    const node = yield* hasService(address, "dht.DhtNode")
    if (node === true) return "node"
    if (node !== false) return node
    const registry = yield* hasService(address, "registry.Registry")
    return registry === true ? "registry" : registry === false ? "other" : registry
  })

const what: Record<Kind, string> = {
  node: "a node",
  registry: "a registry",
  other: "not a Crusty Ring node or registry",
  refused: "not answering (connection refused)",
  unknown: "unknown"
}

/** Checks the registry address; fails with exit 2 when it refuses or is not a registry. */
export const registry = (address: string): Effect.Effect<void, UserError> =>
  Effect.gen(function*() {
    const kind = yield* identify(address)
    if (kind === "refused") return yield* new UserError({ message: `cannot reach the registry at ${address}: connection refused`, exitCode: 2 })
    if (kind === "node") return yield* new UserError({ message: `${address} is a node, not a registry; use --node`, exitCode: 2 })
    if (kind === "other") return yield* new UserError({ message: `${address} is ${what.other}`, exitCode: 2 })
  })

/** Checks the node addresses; fails with exit 2 when none can serve. */
export const nodes = (addresses: ReadonlyArray<string>): Effect.Effect<void, UserError> =>
  Effect.gen(function*() {
    const kinds = yield* Effect.forEach(addresses, identify, { concurrency: "unbounded" })
    if (kinds.some((k) => k === "node" || k === "unknown")) return
    if (addresses.length === 1 && kinds[0] === "registry") {
      return yield* new UserError({ message: `${addresses[0]} is a registry, not a node; use --registry`, exitCode: 2 })
    }
    const each = addresses.map((a, i) => `${a} is ${what[kinds[i]!]}`).join("; ")
    return yield* new UserError({ message: `no node can answer: ${each}`, exitCode: 2 })
  })

/**
 * Client queries as the node understands them, decoded and checked against the limits from
 * the wire `dht.Query`, and their outcomes encoded back into `dht.QueryResult`.
 */
import { Errors, type Wire } from "@crustyring/protocol"
import { Effect, Option } from "effect"
import type { Settings } from "./NodeConfig.ts"

/** A checked query. */
export type Query =
  | { readonly _tag: "Get"; readonly key: Uint8Array }
  | { readonly _tag: "Set"; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly _tag: "Delete"; readonly key: Uint8Array }

/** The original's error text for a missing key, kept for wire compatibility. */
export const KEY_NOT_PRESENT = "Key not present in database."

/** What a query returns: the value read, replaced or removed, if any. */
export interface Outcome {
  readonly value: Option.Option<Uint8Array>
}

const KIB = 1024

const formatBytes = (n: number): string =>
  n % (KIB * KIB) === 0 ? `${n / (KIB * KIB)} MiB` : n % KIB === 0 ? `${n / KIB} KiB` : `${n} bytes`

/** Checks a wire query: the query, or a message naming the problem. */
export const check = (
  query: Wire.Query__Output | null | undefined,
  limits: Pick<Settings, "maxKeyBytes" | "maxValueBytes">
): Query | string => {
  if (!query) return "missing query"
  const key = query.key
  if (key.length === 0) return "key must not be empty"
  if (key.length > limits.maxKeyBytes) {
    return `key is ${key.length} bytes; the limit is ${formatBytes(limits.maxKeyBytes)}`
  }
  switch (query.ty as unknown) {
    case "Get":
      return { _tag: "Get", key }
    case "Delete":
      return { _tag: "Delete", key }
    case "Set": {
      if (query.value === undefined) return "Set needs a value"
      if (query.value.length > limits.maxValueBytes) {
        return `value is ${query.value.length} bytes; the limit is ${formatBytes(limits.maxValueBytes)}`
      }
      return { _tag: "Set", key, value: query.value }
    }
    default:
      return `unknown operation ${JSON.stringify(query.ty)}; expected Get (0), Delete (1) or Set (2)`
  }
}

/** Decodes and checks a wire query. Fails with INVALID_ARGUMENT naming the problem. */
export const decode = (
  query: Wire.Query__Output | null | undefined,
  limits: Pick<Settings, "maxKeyBytes" | "maxValueBytes">
): Effect.Effect<Query, Errors.InvalidArgument> => {
  const checked = check(query, limits)
  return typeof checked === "string" ? Effect.fail(new Errors.InvalidArgument({ message: checked })) : Effect.succeed(checked)
}

/** A checked query back on the wire, for forwarding. */
export const encode = (query: Query): Wire.Query =>
  query._tag === "Set" ? { ty: "Set", key: query.key, value: query.value } : { ty: query._tag, key: query.key }

/** An outcome as a wire result: a missing key on Get or Delete is the original's error string. */
export const toResult = (query: Query, outcome: Outcome, hops: number): Wire.QueryResult => {
  if (Option.isSome(outcome.value)) return { value: outcome.value.value, hops }
  return query._tag === "Set" ? { hops } : { error: KEY_NOT_PRESENT, hops }
}

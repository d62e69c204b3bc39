/**
 * Node addresses: "host:port" strings. A node's ring ID is the hash of this exact string, so
 * every address is normalised the same way wherever it enters (flags, registry, peers).
 *
 * A process that runs virtual nodes serves them all on one port: its first virtual node is
 * "host:port" and the others are "host:port#1", "host:port#2", ... Calls to "host:port#i" go
 * to "host:port" and name the virtual node in the `crusty-vnode` metadata header.
 */
import { Effect, Schema } from "effect"

/** A normalised "host:port" address. */
export type Address = string & { readonly Address: unique symbol }

/** Why an address string was refused. */
export class InvalidAddress extends Schema.TaggedError<InvalidAddress>()("InvalidAddress", {
  input: Schema.String,
  message: Schema.String
}) {}

const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)$/

/**
 * Normalises an address: drops an `http://` or `https://` prefix (the original sent
 * `http://host:port`) and a trailing slash, then checks host and port. Returns a message
 * naming the problem on failure.
 */
export const normalize = (input: string): { readonly address: Address } | { readonly error: string } => {
  let s = input.trim()
  s = s.replace(/^https?:\/\//i, "").replace(/\/$/, "")
  let suffix = ""
  const hash = s.indexOf("#")
  if (hash !== -1) {
    const index = s.slice(hash + 1)
    if (!/^\d{1,5}$/.test(index) || Number(index) < 1 || Number(index) > MAX_VNODE) {
      return { error: `invalid virtual node in address ${JSON.stringify(input)}: expected host:port#1 to #${MAX_VNODE}` }
    }
    suffix = `#${Number(index)}`
    s = s.slice(0, hash)
  }
  const colon = s.lastIndexOf(":")
  if (colon <= 0) return { error: `address must be host:port, got ${JSON.stringify(input)}` }
  const host = s.slice(0, colon)
  const portText = s.slice(colon + 1)
  if (!HOST.test(host)) return { error: `invalid host in address ${JSON.stringify(input)}` }
  if (!/^\d{1,5}$/.test(portText)) return { error: `invalid port in address ${JSON.stringify(input)}` }
  const port = Number(portText)
  if (port < 1 || port > 65535) return { error: `port must be 1-65535 in address ${JSON.stringify(input)}` }
  return { address: `${host}:${port}${suffix}` as Address }
}

/** The highest virtual-node index an address may name. */
export const MAX_VNODE = 1023

/** The metadata header that names the virtual node a call is for. */
export const VNODE_HEADER = "crusty-vnode"

/** The process part of an address, "host:port": where a virtual node's calls are sent. */
export const target = (address: string): string => {
  const hash = address.indexOf("#")
  return hash === -1 ? address : address.slice(0, hash)
}

/** The virtual-node index an address names: 0 for a plain "host:port". */
export const vnode = (address: string): number => {
  const hash = address.indexOf("#")
  return hash === -1 ? 0 : Number(address.slice(hash + 1))
}

/** The address of virtual node `index` of the process at `base` ("host:port"). */
export const withVnode = (base: Address, index: number): Address =>
  (index === 0 ? target(base) : `${target(base)}#${index}`) as Address

/** Parses an address, failing with `InvalidAddress`. */
export const parse = (input: string): Effect.Effect<Address, InvalidAddress> => {
  const r = normalize(input)
  return "address" in r ? Effect.succeed(r.address) : Effect.fail(new InvalidAddress({ input, message: r.error }))
}

/** Parses an address or throws `InvalidAddress`. For trusted input such as test fixtures. */
export const unsafeMake = (input: string): Address => {
  const r = normalize(input)
  if ("address" in r) return r.address
  throw new InvalidAddress({ input, message: r.error })
}

/**
 * Section (d), pure ring math: how evenly `Ring.owner` spreads keys over nodes whose IDs are
 * the hashes of their "host:port" addresses, with one position per node or with `vnodes`
 * virtual nodes each ("host:port", "host:port#1", ...: the rule `dht --vnodes` uses). No servers.
 */
import { Address } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { mean, percentile } from "./stats.ts"

/** Load of one ring: key count per node, divided by the mean. */
export interface Spread {
  readonly maxOverMean: number
  /** Nearest-rank p99 over nodes; equal to the max for fewer than 100 nodes. */
  readonly p99OverMean: number
  readonly minOverMean: number
  /** Each node's keys divided by the mean, for pooling across address sets. */
  readonly normalized: ReadonlyArray<number>
}

/** The addresses of a default local cluster: 127.0.0.1 from `firstPort` on. */
export const addresses = (n: number, firstPort: number): ReadonlyArray<string> =>
  Array.from({ length: n }, (_, i) => `127.0.0.1:${firstPort + i}`)

/** The ring positions of `key-0` .. `key-<count-1>`. */
export const keyPositions = (count: number): ReadonlyArray<Position.Position> =>
  Array.from({ length: count }, (_, i) => Position.position(`key-${i}`))

/** Counts the keys each node owns over all its positions and summarises the spread. */
export const spread = (nodes: ReadonlyArray<string>, keys: ReadonlyArray<Position.Position>, vnodes: number = 1): Spread => {
  const ring = Ring.make(nodes.flatMap((address, node) =>
    Array.from({ length: vnodes }, (_, i) => ({ id: Position.nodeId(Address.withVnode(Address.unsafeMake(address), i)), node }))
  ))
  const counts = new Array<number>(nodes.length).fill(0)
  for (const k of keys) counts[ring.members[Ring.ownerIndex(ring, k)]!.node]!++
  const avg = mean(counts)
  const normalized = counts.map((c) => c / avg)
  return {
    maxOverMean: Math.max(...normalized),
    p99OverMean: percentile(normalized, 99),
    minOverMean: Math.min(...normalized),
    normalized
  }
}

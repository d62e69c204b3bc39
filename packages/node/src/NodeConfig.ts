/**
 * Settings of one DHT node, with documented defaults. Built from CLI flags by the `dht`
 * command, or from a partial object in tests.
 */
import type { Address } from "@crustyring/protocol"
import { Context, Duration, Layer } from "effect"

/** Settings of one node. */
export interface Settings {
  /** Interface the gRPC server binds. @default "0.0.0.0" */
  readonly host: string
  /** Port the gRPC server binds; 0 picks a free one. @default 50001 */
  readonly port: number
  /**
   * The "host:port" other nodes and clients reach this node at. Its hash is the node's ring ID.
   * Undefined means `host:bound-port` (with 127.0.0.1 for a wildcard host).
   */
  readonly advertise: Address.Address | undefined
  /** Largest key accepted, in bytes. @default 1024 */
  readonly maxKeyBytes: number
  /** Largest value accepted, in bytes. @default 1 MiB */
  readonly maxValueBytes: number
  /** Forwards a query may take before it fails; a safety net against a broken ring. @default 64 */
  readonly maxHops: number
  /** Deadline of each node-to-node call. @default 3 seconds */
  readonly rpcTimeout: Duration.Duration
  /** How long a request may wait for this node to finish joining. @default 10 seconds */
  readonly readyTimeout: Duration.Duration
  /** Deadline of a whole range hand-off stream. @default 10 minutes */
  readonly transferTimeout: Duration.Duration
  /** How many times a join is retried while the ring is busy (another join in progress). @default 60 */
  readonly joinAttempts: number
  /** Period of stabilization: successor check, successor-list refresh, notify. @default 500 millis */
  readonly stabilizeInterval: Duration.Duration
  /** Longest a graceful leave may take before the node stops anyway. @default 30 seconds */
  readonly leaveTimeout: Duration.Duration
  /** Keep a finger table for O(log N) routing. Off, routing walks neighbours: O(N). @default true */
  readonly fingers: boolean
  /** Period of finger-table refresh. @default 1 second */
  readonly fixFingersInterval: Duration.Duration
  /** Copies of each key: its owner and the next `replicas - 1` nodes. @default 3 */
  readonly replicas: number
  /** Copies that must hold a write before it is acknowledged. @default 2 */
  readonly writeQuorum: number
  /** Copies a read consults; the newest version wins. @default 1 */
  readonly readQuorum: number
  /** Period of the liveness pings to the predecessor and successors. @default 500 millis */
  readonly pingInterval: Duration.Duration
  /** A neighbour that has not answered a ping for this long is dropped as dead. @default 2 seconds */
  readonly failureTimeout: Duration.Duration
  /**
   * A member down (silent) this long leaves the membership, so a node lost for good does not
   * keep quorums down for ever. Zero keeps down members until they answer, leave or are
   * removed by an operator. @default 1 hour
   */
  readonly deadAfter: Duration.Duration
  /** Period of the anti-entropy round that compares replicas and repairs them. @default 5 seconds */
  readonly repairInterval: Duration.Duration
  /** Most keys per second that repair and re-replication move, so clients are not starved. @default 10000 */
  readonly repairRate: number
  /** How long a delete's tombstone is kept so that every replica learns of it. @default 1 hour */
  readonly tombstoneGrace: Duration.Duration
  /**
   * How far ahead of this node's clock a version from a peer may be. One further ahead is
   * refused, so a broken or hostile peer cannot plant writes that win for years. @default 1 minute
   */
  readonly maxClockSkew: Duration.Duration
  /**
   * Share of single-copy reads that check the other replicas afterwards and repair them. Each
   * check is two more calls (about as costly as a read each), and the anti-entropy round
   * repairs every key anyway, so the checks are rare: hot keys still converge between rounds.
   * @default 0.01
   */
  readonly readRepairChance: number
  /**
   * Ring positions this process takes: virtual nodes "host:port", "host:port#1", ... each at the
   * hash of its address, served on one port and sharing one store. More positions spread keys
   * more evenly over processes; 1 is the original's layout of one position per node. @default 64
   */
  readonly vnodes: number
  /**
   * Port of the HTTP admin server (`/metrics`, `/healthz`, `/readyz`, `/status`) on `host`;
   * 0 picks a free one. Undefined: no admin server. @default undefined
   */
  readonly httpPort: number | undefined
  /** Record metrics (requests, peer calls, repair, ...). Off, every update is a no-op. @default true */
  readonly metrics: boolean
}

/** The defaults, with the reason beside each number. */
export const defaults: Settings = {
  httpPort: undefined, // operators turn it on; an open port is a choice
  metrics: true, // about half a microsecond a request (bench section j)
  host: "0.0.0.0",
  port: 50001, // the original's first node port
  advertise: undefined,
  maxKeyBytes: 1024, // keys are routing handles, not payloads
  maxValueBytes: 1024 * 1024, // large enough for documents, small enough to hand off quickly
  maxHops: 64, // a forward always gets strictly closer to the key, so 64 covers 64 nodes on neighbour links alone
  rpcTimeout: Duration.seconds(3),
  readyTimeout: Duration.seconds(10),
  transferTimeout: Duration.minutes(10),
  joinAttempts: 60, // with backoff capped at 1 s, about a minute of a busy ring
  stabilizeInterval: Duration.millis(500), // pointers repair within a second; a few small RPCs per period
  leaveTimeout: Duration.seconds(30), // a hand-off streams thousands of keys per second; 30 s covers large ranges
  fingers: true,
  fixFingersInterval: Duration.seconds(1), // at most four lookups a round (the whole table up to ~16 nodes); stale fingers only cost hops
  replicas: 3, // survives two simultaneous crashes once fully replicated
  writeQuorum: 2, // an acknowledged write survives any one crash
  readQuorum: 1, // reads stay available with a single live copy
  pingInterval: Duration.millis(500),
  failureTimeout: Duration.seconds(2), // with the ping period, a crash is detected within 2.5 s
  deadAfter: Duration.hours(1), // long enough to ride out a restart, a deploy or a long partition
  repairInterval: Duration.seconds(5), // a full compare costs one scan of the owned range per replica
  repairRate: 10_000,
  tombstoneGrace: Duration.hours(1), // far longer than any repair round, so a delete reaches every replica
  maxClockSkew: Duration.minutes(1), // NTP keeps clocks within milliseconds; a minute is a broken clock
  readRepairChance: 0.01, // 0.1 cost a 5-node ring a third of its Get throughput (bench section b); repair rounds cover the rest
  vnodes: 64 // the fewest that keep the p99 node within 1.5x the mean keys for 8 to 32 processes (bench section d); 1 is the original's layout
}

/** Most virtual nodes a process may run: each runs its own stabilization and repair. */
export const MAX_VNODES = 256

/**
 * How much longer a virtual node's background period is when the process runs `vnodes` of
 * them: the square root of their number (x4 at 16, x16 at 256), so the work a process does a
 * second for all of them grows only as that square root, with no step at any count. One
 * position keeps the configured periods. Stabilization is batched per peer process on top
 * (one call per peer process and round); failure detection is per process and keeps its period.
 */
export const stretch = (vnodes: number): number => Math.sqrt(Math.max(1, vnodes))

/** A background period for the process's virtual nodes: `period` stretched for their number. */
export const perVnode = (settings: Settings, period: Duration.Duration): Duration.Duration =>
  settings.vnodes <= 1 ? period : Duration.times(period, stretch(settings.vnodes))

/**
 * Checks that the settings fit together; the message names the offending settings. The CLI
 * refuses to start a node with a bad combination.
 */
export const validate = (s: Settings): string | undefined => {
  const int = (n: number) => Number.isInteger(n)
  if (!int(s.replicas) || s.replicas < 1) return `replicas must be a whole number of at least 1, got ${s.replicas}`
  if (!int(s.writeQuorum) || s.writeQuorum < 1 || s.writeQuorum > s.replicas) {
    return `write quorum must be between 1 and the replica count (${s.replicas}), got ${s.writeQuorum}`
  }
  if (!int(s.readQuorum) || s.readQuorum < 1 || s.readQuorum > s.replicas) {
    return `read quorum must be between 1 and the replica count (${s.replicas}), got ${s.readQuorum}`
  }
  if (!int(s.vnodes) || s.vnodes < 1 || s.vnodes > MAX_VNODES) {
    return `virtual nodes must be a whole number from 1 to ${MAX_VNODES}, got ${s.vnodes}`
  }
  if (!(s.repairRate > 0)) return `repair rate must be positive, got ${s.repairRate}`
  if (!(s.readRepairChance >= 0 && s.readRepairChance <= 1)) {
    return `read-repair chance must be between 0 and 1, got ${s.readRepairChance}`
  }
  if (Duration.isLessThanOrEqualTo(s.failureTimeout, s.pingInterval)) {
    return `failure timeout (${Duration.format(s.failureTimeout)}) must be longer than the ping interval (${Duration.format(s.pingInterval)})`
  }
  return undefined
}

/** The node's settings as a service. */
export class NodeConfig extends Context.Service<NodeConfig, Settings>()("@crustyring/node/NodeConfig") {}

/** A layer of the defaults overridden by `partial`. */
export const layer = (partial: Partial<Settings> = {}): Layer.Layer<NodeConfig> =>
  Layer.succeed(NodeConfig, { ...defaults, ...partial })

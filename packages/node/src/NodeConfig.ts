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
}

/** The defaults, with the reason beside each number. */
export const defaults: Settings = {
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
  fixFingersInterval: Duration.seconds(1) // about log2 N lookups a round; stale fingers only cost hops
}

/** The node's settings as a service. */
export class NodeConfig extends Context.Service<NodeConfig, Settings>()("@crustyring/node/NodeConfig") {}

/** A layer of the defaults overridden by `partial`. */
export const layer = (partial: Partial<Settings> = {}): Layer.Layer<NodeConfig> =>
  Layer.succeed(NodeConfig, { ...defaults, ...partial })

/**
 * A node process's metrics, as Effect `Metric`s in a registry of its own (so nodes sharing a
 * process, as in `TestCluster`, keep theirs apart), rendered in the Prometheus text format with
 * the `crusty_` prefix by `PrometheusMetrics`. Updates are synchronous (`updateUnsafe`) on
 * metric handles made once, so a request pays a few map lookups; `layerDisabled` makes every
 * update a no-op, for measuring what metrics cost.
 */
import { Context, Effect, Layer, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"

/** How a client request ended. */
export type Outcome = "ok" | "not_found" | "invalid_argument" | "unavailable" | "deadline_exceeded" | "denied" | "error"

/** What a scrape reads from the node at that moment (summed over its virtual nodes). */
export interface Snapshot {
  readonly keysOwned: number
  readonly keysStored: number
  readonly tombstones: number
  readonly underReplicated: number
  readonly ringSize: number
  readonly membersDown: number
  readonly transferKeysPerSecond: number
  readonly serving: boolean
}

/** The node's metrics. */
export interface Service {
  /** A client request (`QueryDht`) of `op` that ended with `outcome` after `seconds`, `hops` forwards away. */
  readonly request: (op: string, outcome: Outcome, seconds: number, hops: number) => void
  /** A query forwarded to another node. */
  readonly forwarded: () => void
  /** A node-to-node call made, by method, and how it ended ("ok" or an error tag). */
  readonly peerCall: (method: string, outcome: string) => void
  /** Keys moved by repair or re-replication, or received in a hand-off. */
  readonly moved: (kind: "repair" | "handoff", keys: number) => void
  /** A member found silent and marked down. */
  readonly detected: () => void
  /** A durable storage commit that took `seconds`. */
  readonly commit: (seconds: number) => void
  /** The Prometheus text of every metric, with the gauges of `snapshot`. */
  readonly render: (snapshot: Snapshot) => string
}

/** The node's metrics service. */
export class Metrics extends Context.Service<Metrics, Service>()("@crustyring/node/Metrics") {}

const SECONDS = Metric.exponentialBoundaries({ start: 0.0005, factor: 2, count: 14 }) // 0.5 ms .. ~4 s
const OPS = ["get", "set", "delete", "invalid"] as const
const OUTCOMES: ReadonlyArray<Outcome> = ["ok", "not_found", "invalid_argument", "unavailable", "deadline_exceeded", "denied", "error"]

/** Metrics in a registry of their own. */
export const make = (): Service => {
  const context = Context.make(Metric.MetricRegistry, new Map())
  // One metric object per series, its attributes given when it is made: an update is then a
  // map lookup. (`Metric.withAttributes` builds a context on every update, and series of one
  // metric updated in turn rebuild its key every time: about 2 us a request.)
  const requests = (attributes: { readonly op: string; readonly outcome: Outcome }) =>
    Metric.counter("requests_total", { description: "Client requests (QueryDht) by operation and outcome", incremental: true, attributes })
  const latency = (attributes: { readonly op: string }) =>
    Metric.histogram("request_duration_seconds", { description: "Client request latency at the node that took it", boundaries: SECONDS, attributes })
  const hops = Metric.histogram("request_hops", { description: "Forwards a client request took to reach its owner", boundaries: [0, 1, 2, 3, 4, 6, 8, 12, 16] })
  const forwards = Metric.counter("forwards_total", { description: "Queries this node forwarded toward their owner", incremental: true })
  const peer = (attributes: { readonly method: string; readonly outcome: string }) =>
    Metric.counter("peer_rpcs_total", { description: "Node-to-node calls made, by method and outcome", incremental: true, attributes })
  const moved = (kind: "repair" | "handoff") =>
    Metric.counter("keys_moved_total", {
      description: "Keys moved by repair and re-replication (kind=repair) or received in hand-offs (kind=handoff)",
      incremental: true,
      attributes: { kind }
    })
  const detections = Metric.counter("failure_detections_total", { description: "Members found silent and marked down", incremental: true })
  const commits = Metric.histogram("storage_commit_seconds", { description: "Durable storage commit latency (--data-dir)", boundaries: SECONDS })
  const gauge = (name: string, description: string) => Metric.gauge(name, { description })
  const gauges = {
    keysOwned: gauge("keys_owned", "Keys in the ranges this node owns"),
    keysStored: gauge("keys_stored", "Keys this node stores: owned, and copies held for others"),
    tombstones: gauge("tombstones", "Deletes remembered until every copy has them"),
    underReplicated: gauge("keys_under_replicated", "Owned keys below their target copy count"),
    ringSize: gauge("ring_members", "Members of the ring as this node sees it"),
    membersDown: gauge("members_down", "Members that do not answer but stay members"),
    transferKeysPerSecond: gauge("transfer_keys_per_second", "Rate of the repair or hand-off in progress"),
    serving: gauge("serving", "1 while the node serves (joined and not leaving)")
  }
  const requestBy = new Map<string, Map<Outcome, Metric.Counter<number>>>()
  for (const op of OPS) requestBy.set(op, new Map(OUTCOMES.map((outcome) => [outcome, requests({ op, outcome })])))
  const latencyBy = new Map<string, Metric.Histogram<number>>(OPS.map((op) => [op, latency({ op })]))
  const peerBy = new Map<string, Metric.Counter<number>>()
  const movedBy = { repair: moved("repair"), handoff: moved("handoff") }
  // Every series exists from the start, so a rate over the first scrape is defined.
  for (const byOutcome of requestBy.values()) for (const c of byOutcome.values()) c.updateUnsafe(0, context)
  movedBy.repair.updateUnsafe(0, context)
  movedBy.handoff.updateUnsafe(0, context)
  forwards.updateUnsafe(0, context)
  detections.updateUnsafe(0, context)
  return {
    request: (op, outcome, seconds, h) => {
      const key = requestBy.has(op) ? op : "invalid"
      requestBy.get(key)!.get(outcome)?.updateUnsafe(1, context)
      latencyBy.get(key)!.updateUnsafe(seconds, context)
      hops.updateUnsafe(h, context)
    },
    forwarded: () => forwards.updateUnsafe(1, context),
    peerCall: (method, outcome) => {
      const key = `${method}/${outcome}`
      let c = peerBy.get(key)
      if (!c) peerBy.set(key, c = peer({ method, outcome }))
      c.updateUnsafe(1, context)
    },
    moved: (kind, keys) => movedBy[kind].updateUnsafe(keys, context),
    detected: () => detections.updateUnsafe(1, context),
    commit: (seconds) => commits.updateUnsafe(seconds, context),
    render: (snapshot) => {
      for (const [name, g] of Object.entries(gauges)) {
        const value = snapshot[name as keyof Snapshot]
        g.updateUnsafe(typeof value === "boolean" ? (value ? 1 : 0) : value, context)
      }
      return PrometheusMetrics.formatUnsafe(context, { prefix: "crusty" })
    }
  }
}

/** Metrics that record nothing and render nothing. */
export const disabled: Service = {
  request: () => {},
  forwarded: () => {},
  peerCall: () => {},
  moved: () => {},
  detected: () => {},
  commit: () => {},
  render: () => ""
}

/** A node's metrics, in a registry of their own. */
export const layer: Layer.Layer<Metrics> = Layer.sync(Metrics, make)

/** No metrics. */
export const layerDisabled: Layer.Layer<Metrics> = Layer.succeed(Metrics, disabled)

/** The metrics in context, or none. */
export const current: Effect.Effect<Service> = Effect.map(Effect.serviceOption(Metrics), (m) => (m._tag === "Some" ? m.value : disabled))

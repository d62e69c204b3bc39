/**
 * `dht`: runs one node until SIGINT or SIGTERM. It joins through a registry (`--registry`),
 * through any live node (`--join`), or starts a new ring with neither.
 */
import { Address, Tls } from "@crustyring/protocol"
import { Bootstrap, DurableStorage, Metrics, Node, NodeConfig, Remembered, Storage } from "@crustyring/node"
import { Config, Duration, Effect, Layer, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Durations from "./Durations.ts"
import * as Logs from "./Logs.ts"
import { UserError } from "./Main.ts"
import * as Security from "./Security.ts"

const addressFlag = (name: string, description: string, env: string) =>
  Flag.String(name).pipe(
    Flag.withDescription(description),
    Flag.withFallbackConfig(Config.String(env)),
    Flag.optional
  )

const flags = {
  portArg: Argument.Int("port").pipe(
    Argument.withDescription("Listen port, as in the original `dht <port>`; same as --port"),
    Argument.optional
  ),
  port: Flag.Int("port").pipe(
    Flag.withDescription("gRPC listen port (default 50001; env DHT_PORT)"),
    Flag.withFallbackConfig(Config.Int("DHT_PORT")),
    Flag.optional
  ),
  host: Flag.String("host").pipe(
    Flag.withDescription("Interface to bind (default 0.0.0.0; env DHT_HOST)"),
    Flag.withFallbackConfig(Config.String("DHT_HOST")),
    Flag.withDefault("0.0.0.0")
  ),
  advertise: addressFlag(
    "advertise",
    "host:port that peers and clients reach this node at; its hash is the node's ring ID (default 127.0.0.1:<port>; env DHT_ADVERTISE)",
    "DHT_ADVERTISE"
  ),
  // No environment fallback for these two: a stray DHT_REGISTRY would clash with an explicit --join.
  registry: Flag.String("registry").pipe(Flag.withDescription("Join through the registry at host:port"), Flag.optional),
  join: Flag.String("join").pipe(
    Flag.withDescription(
      "Join through any of these live nodes, a seed list: host:port[,host:port...], or the flag repeated; every node may get the same list, itself included"
    ),
    Flag.atLeast(0)
  ),
  maxValueBytes: Flag.Int("max-value-bytes").pipe(
    Flag.withDescription("Largest value accepted, in bytes (default 1048576)"),
    Flag.withDefault(NodeConfig.defaults.maxValueBytes)
  ),
  replicas: Flag.Int("replicas").pipe(
    Flag.withDescription("Copies of each key: its owner and the next N-1 nodes (default 3)"),
    Flag.withDefault(NodeConfig.defaults.replicas)
  ),
  writeQuorum: Flag.Int("write-quorum").pipe(
    Flag.withDescription("Copies that must hold a write before it is acknowledged (default 2)"),
    Flag.withDefault(NodeConfig.defaults.writeQuorum)
  ),
  readQuorum: Flag.Int("read-quorum").pipe(
    Flag.withDescription("Copies a read consults; the newest wins (default 1)"),
    Flag.withDefault(NodeConfig.defaults.readQuorum)
  ),
  vnodes: Flag.Int("vnodes").pipe(
    Flag.withDescription(
      "Ring positions this node takes (virtual nodes host:port#1..), for an even spread of keys: 64 keeps the busiest of 8 to 32 nodes within ~1.3x the mean; 1 is one position per node (default 64; env DHT_VNODES)"
    ),
    Flag.withFallbackConfig(Config.Int("DHT_VNODES")),
    Flag.withDefault(NodeConfig.defaults.vnodes)
  ),
  pingInterval: Durations.flag("ping-interval", "Period of liveness pings to neighbours (default 500ms)"),
  failureTimeout: Durations.flag("failure-timeout", "A neighbour silent this long is dropped as dead (default 2s)"),
  deadAfter: Durations.flag(
    "dead-after",
    "A member silent this long leaves the membership, so quorums stop counting it; 0 keeps it until removed (default 1h)"
  ),
  repairInterval: Durations.flag("repair-interval", "Period of the replica compare-and-repair round (default 5s)"),
  repairRate: Flag.Int("repair-rate").pipe(
    Flag.withDescription("Most keys per second moved by repair and re-replication (default 10000)"),
    Flag.withDefault(NodeConfig.defaults.repairRate)
  ),
  readRepairChance: Flag.Finite("read-repair-chance").pipe(
    Flag.withDescription("Share of single-copy reads that check the other copies afterwards and repair them, 0 to 1 (default 0.01)"),
    Flag.withDefault(NodeConfig.defaults.readRepairChance)
  ),
  tombstoneGrace: Durations.flag("tombstone-grace", "How long deletes are remembered so every replica learns them (default 1h)"),
  maxClockSkew: Durations.flag("max-clock-skew", "Refuse copies from peers whose version is this far ahead of this node's clock (default 1m)"),
  dataDir: Flag.String("data-dir").pipe(
    Flag.withDescription("Keep data on disk in this directory, across crashes and restarts (default: in memory only; env DHT_DATA_DIR)"),
    Flag.withFallbackConfig(Config.String("DHT_DATA_DIR")),
    Flag.optional
  ),
  durability: Flag.Literals("durability", ["sync", "async"]).pipe(
    Flag.withDescription(
      "With --data-dir: sync acknowledges a write once it is fsynced; async once committed, fsynced just after (default sync)"
    ),
    Flag.withDefault("sync" as const)
  ),
  httpPort: Flag.Int("http-port").pipe(
    Flag.withDescription("Serve /metrics, /healthz, /readyz and /status over HTTP on this port (HTTPS with --certs-dir; default off; env DHT_HTTP_PORT)"),
    Flag.withFallbackConfig(Config.Int("DHT_HTTP_PORT")),
    Flag.optional
  ),
  logFormat: Logs.format,
  certsDir: Security.certsDir,
  clientAuth: Security.clientAuth,
  forceId: Flag.Boolean("force-id").pipe(
    Flag.withDescription("With --data-dir: take over a data directory that belongs to another node address"),
    Flag.withDefault(false)
  )
}

const address = (flag: string, value: string) =>
  Effect.mapError(Address.parse(value), (e) => new UserError({ message: `--${flag}: ${e.message}` }))

/** A settings message in the words of the flags. */
const flagNames = (message: string) =>
  message
    .replace(/^replicas/, "--replicas")
    .replace(/^write quorum/, "--write-quorum")
    .replace(/^read quorum/, "--read-quorum")
    .replace(/the replica count \(/, "--replicas (")
    .replace(/^repair rate/, "--repair-rate")
    .replace(/^read-repair chance/, "--read-repair-chance")
    .replace(/^failure timeout/, "--failure-timeout")
    .replace(/ping interval/, "--ping-interval")
    .replace(/^virtual nodes/, "--vnodes")

/** The `dht` command. */
export const command = Command.make("dht", flags, (f) =>
  Logs.provide(f.logFormat, Effect.gen(function*() {
    if (Option.isSome(f.portArg) && Option.isSome(f.port) && f.portArg.value !== f.port.value) {
      return yield* new UserError({ message: `port given twice: ${f.portArg.value} and --port ${f.port.value}` })
    }
    const seeds = f.join.flatMap((j) => j.split(",")).map((j) => j.trim())
    if (seeds.some((j) => j === "")) return yield* new UserError({ message: `--join: empty address in ${JSON.stringify(f.join.join(","))}` })
    if (Option.isSome(f.registry) && seeds.length > 0) {
      return yield* new UserError({ message: "--registry and --join are mutually exclusive: choose one way to join" })
    }
    const port = Option.getOrElse(Option.orElse(f.port, () => f.portArg), () => NodeConfig.defaults.port)
    if (port < 0 || port > 65535) return yield* new UserError({ message: `--port must be 0-65535, got ${port}` })
    const httpPort = Option.getOrUndefined(f.httpPort)
    if (httpPort !== undefined && (httpPort < 0 || httpPort > 65535)) {
      return yield* new UserError({ message: `--http-port must be 0-65535, got ${httpPort}` })
    }
    if (httpPort !== undefined && httpPort !== 0 && httpPort === port) {
      return yield* new UserError({ message: `--http-port must differ from the gRPC port ${port}` })
    }
    if (f.maxValueBytes < 1) return yield* new UserError({ message: `--max-value-bytes must be at least 1` })
    const advertise = Option.isSome(f.advertise) ? yield* address("advertise", f.advertise.value) : undefined
    if (advertise !== undefined && Address.vnode(advertise) !== 0) {
      return yield* new UserError({ message: `--advertise must be a plain host:port, got ${advertise}; use --vnodes for virtual nodes` })
    }
    const duration = Durations.orElse
    const settings: NodeConfig.Settings = {
      ...NodeConfig.defaults,
      host: f.host,
      port,
      advertise,
      maxValueBytes: f.maxValueBytes,
      replicas: f.replicas,
      writeQuorum: f.writeQuorum,
      readQuorum: f.readQuorum,
      vnodes: f.vnodes,
      pingInterval: yield* duration("ping-interval", f.pingInterval, NodeConfig.defaults.pingInterval),
      failureTimeout: yield* duration("failure-timeout", f.failureTimeout, NodeConfig.defaults.failureTimeout),
      deadAfter: Option.isSome(f.deadAfter) && f.deadAfter.value.trim() === "0"
        ? Duration.zero
        : yield* duration("dead-after", f.deadAfter, NodeConfig.defaults.deadAfter),
      repairInterval: yield* duration("repair-interval", f.repairInterval, NodeConfig.defaults.repairInterval),
      repairRate: f.repairRate,
      readRepairChance: f.readRepairChance,
      tombstoneGrace: yield* duration("tombstone-grace", f.tombstoneGrace, NodeConfig.defaults.tombstoneGrace),
      maxClockSkew: yield* duration("max-clock-skew", f.maxClockSkew, NodeConfig.defaults.maxClockSkew),
      httpPort
    }
    const invalid = NodeConfig.validate(settings)
    if (invalid !== undefined) return yield* new UserError({ message: flagNames(invalid) })
    if (Option.isNone(f.dataDir) && (f.forceId || f.durability !== "sync")) {
      return yield* new UserError({ message: "--durability and --force-id need --data-dir" })
    }
    if (Option.isSome(f.dataDir) && port === 0 && advertise === undefined) {
      return yield* new UserError({
        message: "--data-dir needs a fixed address: give --port (not 0) or --advertise, so the node gets its ring ID and data back after a restart"
      })
    }
    const storage = Option.isSome(f.dataDir)
      ? DurableStorage.layer({
        dir: f.dataDir.value,
        address: advertise ?? Node.advertised(f.host, port),
        durability: f.durability,
        forceId: f.forceId
      })
      : Storage.layerMemory
    const bootstrap = Option.isSome(f.registry)
      ? Bootstrap.layerRegistry(yield* address("registry", f.registry.value))
      : seeds.length > 0
      ? Bootstrap.layerPeers(yield* Effect.forEach(seeds, (j) => address("join", j)))
      : Bootstrap.layerNewRing
    const remembered = Option.isSome(f.dataDir) ? Remembered.layerFile(f.dataDir.value) : Layer.empty
    // One set of metrics for the process, shared by the store (commit latency) and the node.
    const metrics = Layer.succeed(Metrics.Metrics, Metrics.make())
    const node = Node.layer.pipe(
      Layer.provide(Layer.mergeAll(
        NodeConfig.layer(settings),
        bootstrap,
        storage.pipe(Layer.provide(metrics)),
        remembered,
        metrics
      ))
    )
    const security = yield* Security.make(f.certsDir, "node", f.clientAuth)
    yield* Effect.logInfo(`starting node on ${f.host}:${port}${security._tag === "Tls" ? " (TLS)" : ""}`)
    return yield* Layer.launch(node).pipe(
      Effect.provideService(Tls.Security, security),
      Effect.catchTags({
        StartError: (e) => Effect.fail(new UserError({ message: e.message })),
        DataDirError: (e) => Effect.fail(new UserError({ message: e.message }))
      })
    )
  }))).pipe(Command.withDescription("Run a Crusty Ring DHT node. Stops gracefully on SIGINT or SIGTERM."))

/**
 * `dht-registry`: runs the optional registry until SIGINT or SIGTERM. It pings every node in its
 * book and drops the ones that stop answering.
 */
import { Registry, RegistryServer } from "@crustyring/registry"
import { Config, Duration, Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { UserError } from "./Main.ts"

const flags = {
  port: Flag.Int("port").pipe(
    Flag.withDescription("Listen port (default 50000, the original's; env DHT_REGISTRY_PORT)"),
    Flag.withFallbackConfig(Config.Int("DHT_REGISTRY_PORT")),
    Flag.withDefault(50000)
  ),
  host: Flag.String("host").pipe(
    Flag.withDescription("Interface to bind (default 0.0.0.0; env DHT_REGISTRY_HOST)"),
    Flag.withFallbackConfig(Config.String("DHT_REGISTRY_HOST")),
    Flag.withDefault("0.0.0.0")
  ),
  healthIntervalMs: Flag.Int("health-interval-ms").pipe(
    Flag.withDescription("Ping every registered node this often, in ms; also each ping's deadline (default 1000)"),
    Flag.withDefault(Duration.toMillis(Registry.defaults.healthInterval))
  ),
  failureTimeoutMs: Flag.Int("failure-timeout-ms").pipe(
    Flag.withDescription("Drop a node that has answered no ping for this long, in ms (default 3000)"),
    Flag.withDefault(Duration.toMillis(Registry.defaults.failureTimeout))
  )
}

/** Timers cannot go beyond 2^31 - 1 ms (about 24.8 days). */
const MAX_MILLIS = 2 ** 31 - 1

const millis = (flag: string, value: number) =>
  Number.isInteger(value) && value >= 1 && value <= MAX_MILLIS
    ? Effect.succeed(value)
    : Effect.fail(new UserError({ message: `--${flag} must be a positive integer of milliseconds (1-${MAX_MILLIS}), got ${value}` }))

/** The `dht-registry` command. */
export const command = Command.make("dht-registry", flags, (f) =>
  Effect.gen(function*() {
    if (f.port < 0 || f.port > 65535) return yield* new UserError({ message: `--port must be 0-65535, got ${f.port}` })
    const healthInterval = yield* millis("health-interval-ms", f.healthIntervalMs)
    const failureTimeout = yield* millis("failure-timeout-ms", f.failureTimeoutMs)
    const registry = Registry.layerWith({
      healthInterval: Duration.millis(healthInterval),
      failureTimeout: Duration.millis(failureTimeout)
    })
    return yield* Layer.launch(RegistryServer.layer({ host: f.host, port: f.port }).pipe(Layer.provide(registry))).pipe(
      Effect.catchTag("Unavailable", (e) => Effect.fail(new UserError({ message: e.message })))
    )
  })).pipe(
    Command.withDescription(
      "Run the Crusty Ring registry: hands out node IDs and contacts, lists the ring, and drops nodes that stop answering pings."
    )
  )

/**
 * `dht-registry`: runs the optional registry until SIGINT or SIGTERM. It pings every node in its
 * book and drops the ones that stop answering.
 */
import { Tls } from "@crustyring/protocol"
import { Registry, RegistryServer } from "@crustyring/registry"
import { Config, Duration, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import * as Durations from "./Durations.ts"
import * as Logs from "./Logs.ts"
import { UserError } from "./Main.ts"
import * as Security from "./Security.ts"

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
  httpPort: Flag.Int("http-port").pipe(
    Flag.withDescription("Serve /metrics, /healthz, /readyz and /status over HTTP on this port (HTTPS with --certs-dir; default off; env DHT_HTTP_PORT)"),
    Flag.withFallbackConfig(Config.Int("DHT_HTTP_PORT")),
    Flag.optional
  ),
  logFormat: Logs.format,
  certsDir: Security.certsDir,
  clientAuth: Security.clientAuth,
  healthInterval: Durations.flag("health-interval", "Ping every registered node this often; also each ping's deadline (default 1s)"),
  failureTimeout: Durations.flag("failure-timeout", "Drop a node that has answered no ping for this long (default 3s)")
}

/** The `dht-registry` command. */
export const command = Command.make("dht-registry", flags, (f) =>
  Logs.provide(f.logFormat, Effect.gen(function*() {
    if (f.port < 0 || f.port > 65535) return yield* new UserError({ message: `--port must be 0-65535, got ${f.port}` })
    const httpPort = Option.getOrUndefined(f.httpPort)
    if (httpPort !== undefined && (httpPort < 0 || httpPort > 65535)) {
      return yield* new UserError({ message: `--http-port must be 0-65535, got ${httpPort}` })
    }
    const healthInterval = yield* Durations.orElse("health-interval", f.healthInterval, Duration.fromInputUnsafe(Registry.defaults.healthInterval))
    const failureTimeout = yield* Durations.orElse("failure-timeout", f.failureTimeout, Duration.fromInputUnsafe(Registry.defaults.failureTimeout))
    const registry = Registry.layerWith({ healthInterval, failureTimeout })
    const security = yield* Security.make(f.certsDir, "node", f.clientAuth)
    return yield* Layer.launch(RegistryServer.layer({ host: f.host, port: f.port, httpPort }).pipe(Layer.provide(registry))).pipe(
      Effect.provideService(Tls.Security, security),
      Effect.catchTag("Unavailable", (e) => Effect.fail(new UserError({ message: e.message })))
    )
  }))).pipe(
    Command.withDescription(
      "Run the Crusty Ring registry: hands out node IDs and contacts, lists the ring, and drops nodes that stop answering pings."
    )
  )

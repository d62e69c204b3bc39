/**
 * `dht-registry`: runs the optional registry until SIGINT or SIGTERM.
 */
import { Registry, RegistryServer } from "@crustyring/registry"
import { Config, Effect, Layer } from "effect"
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
  )
}

/** The `dht-registry` command. */
export const command = Command.make("dht-registry", flags, (f) =>
  Effect.gen(function*() {
    if (f.port < 0 || f.port > 65535) return yield* new UserError({ message: `--port must be 0-65535, got ${f.port}` })
    return yield* Layer.launch(RegistryServer.layer({ host: f.host, port: f.port }).pipe(Layer.provide(Registry.layer))).pipe(
      Effect.catchTag("Unavailable", (e) => Effect.fail(new UserError({ message: e.message })))
    )
  })).pipe(Command.withDescription("Run the Crusty Ring registry: hands out node IDs and contacts, and lists the ring."))

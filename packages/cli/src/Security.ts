/**
 * The flags every binary shares for transport security, `--certs-dir` (and, for servers,
 * `--client-auth`), and the `Tls.Security` they make: TLS with the certificates `dht-certs`
 * wrote, or plaintext, with one warning at start.
 */
import { Tls } from "@crustyring/protocol"
import { Config, Effect, Option } from "effect"
import { Flag } from "effect/cli"
import { UserError } from "./Main.ts"

/** `--certs-dir DIR` (env DHT_CERTS_DIR): the directory `dht-certs` writes. */
export const certsDir = Flag.String("certs-dir").pipe(
  Flag.withDescription("Use TLS with the certificates in DIR (made by dht-certs; env DHT_CERTS_DIR). Without it, traffic is plaintext"),
  Flag.withFallbackConfig(Config.String("DHT_CERTS_DIR")),
  Flag.optional
)

/** `--client-auth certificate|none`: whether clients need a certificate. */
export const clientAuth = Flag.Literals("client-auth", ["certificate", "none"]).pipe(
  Flag.withDescription("With --certs-dir: clients need a certificate from the cluster CA (certificate, the default), or any TLS client may read and write (none)"),
  Flag.withDefault("certificate" as const)
)

/**
 * The security of a process: from `dir` for `identity`, or plaintext (logging that the
 * cluster is insecure) without one.
 */
export const make = (
  dir: Option.Option<string>,
  identity: "node" | { readonly client: string } | "ca-only",
  auth: Tls.ClientAuth = "certificate",
  warn = true
): Effect.Effect<Tls.Security, UserError> =>
  Option.match(dir, {
    onNone: () =>
      Effect.as(
        warn ? Effect.logWarning("no --certs-dir: traffic is plaintext and unauthenticated; anyone who reaches this port can read and change the cluster") : Effect.void,
        Tls.plaintext
      ),
    onSome: (d) =>
      (identity === "ca-only" ? Tls.fromCaDir(d) : Tls.fromDir(d, identity, auth)).pipe(
        Effect.mapError((e) => new UserError({ message: e.message }))
      )
  })

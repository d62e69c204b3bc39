/**
 * `--log-format pretty|json` for the servers: Effect's pretty logger on a terminal, and one JSON
 * object per line otherwise (or when asked), for log collectors. A JSON line has `timestamp`
 * (ISO 8601), `level`, `message`, the annotations flattened in (`node`, and `peer`, `range` or
 * `keys` where a message has them), and `cause` for a failure. Both go to stderr.
 */
import { Config, Effect, Layer, Logger, Option } from "effect"
import { Flag } from "effect/cli"

/** The log format flag; without it, pretty on a terminal and json otherwise. */
export const format = Flag.Literals("log-format", ["pretty", "json"]).pipe(
  Flag.withDescription("Log lines as pretty text or JSON objects (default pretty on a terminal, json otherwise; env DHT_LOG_FORMAT)"),
  Flag.withFallbackConfig(Config.Literals(["pretty", "json"] as const, "DHT_LOG_FORMAT")),
  Flag.optional
)

/** One JSON object per log line, to stderr. */
export const json: Logger.Logger<unknown, void> = Logger.formatStructured.pipe(
  Logger.map((s) =>
    JSON.stringify({
      timestamp: s.timestamp,
      level: s.level,
      message: Array.isArray(s.message) && s.message.length === 1 ? s.message[0] : s.message,
      ...s.annotations,
      ...(s.cause === undefined || s.cause === "" ? {} : { cause: s.cause })
    })
  ),
  Logger.withConsoleError
)

/** Runs `effect` with the logger that `choice` names. */
export const provide = <A, E, R>(choice: Option.Option<"pretty" | "json">, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const chosen = Option.getOrElse(choice, () => (process.stderr.isTTY ? "pretty" : "json"))
  return chosen === "json" ? Effect.provide(effect, Logger.layer([json])) : effect
}

/** The JSON logger as a layer. */
export const layerJson: Layer.Layer<never> = Logger.layer([json])

/**
 * Duration flags shared by the commands: `750ms`, `2s`, `5m`, `1h`, or Effect's `2 seconds`.
 */
import { Duration, Effect, Option } from "effect"
import { Flag } from "effect/cli"
import { UserError } from "./Main.ts"

/** An optional duration flag; parse it with `parse`. */
export const flag = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(`${description}; e.g. 750ms, 2s, 5m, 1h`), Flag.optional)

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Timers cannot go beyond 2^31 - 1 ms (about 24.8 days). */
const MAX_MILLIS = 2 ** 31 - 1

/** Parses a duration flag's value; a bad one is a usage error naming the flag. */
export const parse = (name: string, value: string): Effect.Effect<Duration.Duration, UserError> => {
  const short = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/.exec(value.trim())
  const parsed = short
    ? Option.some(Duration.millis(Number(short[1]) * UNITS[short[2]!]!))
    : Duration.fromInput(value as Duration.Input)
  return Option.isSome(parsed) && Duration.isPositive(parsed.value) && Duration.toMillis(parsed.value) <= MAX_MILLIS
    ? Effect.succeed(parsed.value)
    : Effect.fail(
      new UserError({ message: `--${name} must be a positive duration up to 24 days, such as 750ms, 2s or 1h, got ${JSON.stringify(value)}` })
    )
}

/** The flag's value, or `fallback` when it was not given. */
export const orElse = (name: string, value: Option.Option<string>, fallback: Duration.Duration) =>
  Option.isSome(value) ? parse(name, value.value) : Effect.succeed(fallback)

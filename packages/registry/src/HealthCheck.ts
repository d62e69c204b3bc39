/**
 * The registry's failure detector. Every `healthInterval` it pings each node in its book,
 * members and joining nodes alike, and drops a node that has shown no sign of life for
 * `failureTimeout`. Without it, a crashed node would stay listed and keep being handed out.
 */
import { Position } from "@crustyring/ring"
import { Clock, Duration, Effect, Schedule, type Scope } from "effect"
import * as Pinger from "./Pinger.ts"
import type { Entry, Options, Service } from "./Registry.ts"

/** Checks one node: pings it, then records the answer or, after `failureTimeout` of silence, drops it. */
const check = (registry: Service, pinger: Pinger.Service, options: Options) => (entry: Entry) =>
  pinger.ping(entry.address, options.healthInterval).pipe(
    Effect.matchEffect({
      onSuccess: () => registry.markAlive(entry),
      onFailure: (error) =>
        Effect.gen(function*() {
          const silent = (yield* Clock.currentTimeMillis) - entry.seenAt
          if (silent < Duration.toMillis(options.failureTimeout)) {
            return yield* Effect.logDebug(`registry: ${entry.address} missed a ping: ${error.message}`)
          }
          if (yield* registry.evict(entry)) {
            yield* Effect.logWarning(
              `registry: dropped ${entry.address} (${Position.toHex(entry.id)}, ${entry.state}): no sign of life for ${silent} ms; last ping: ${error.message}`
            )
          }
        })
    }),
    // A bug in one check must not end the health check for good.
    Effect.catchDefect((defect) => Effect.logError(`registry: health check of ${entry.address} failed`, defect))
  )

/**
 * Starts health-checking `registry` in the background, until the scope closes. The first round
 * runs at once; later rounds start every `healthInterval`, or at once when a round overran.
 */
export const start = (registry: Service, options: Options): Effect.Effect<void, never, Pinger.Pinger | Scope.Scope> =>
  Effect.gen(function*() {
    const pinger = yield* Pinger.Pinger
    const round = Effect.flatMap(registry.entries, (entries) =>
      // All at once: a round then takes one ping deadline however many nodes are dead.
      Effect.forEach(entries, check(registry, pinger, options), { concurrency: "unbounded", discard: true }))
    yield* Effect.forkScoped(Effect.repeat(round, Schedule.fixed(options.healthInterval)), { startImmediately: true })
  })

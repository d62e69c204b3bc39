/**
 * Versions of stored values. A version is a hybrid logical clock timestamp plus the writer's
 * ring ID: timestamps follow wall time closely but never run backwards, and a node that has
 * seen a version always issues greater ones after it. The greater version wins everywhere
 * (last writer wins), so replicas that see the same writes in any order converge.
 */
import { Clock, Context, Effect, Layer } from "effect"

/** A version: `hlc` is milliseconds << 16 plus a counter; `writer` is the writing node's ID. */
export interface Version {
  readonly hlc: bigint
  readonly writer: bigint
}

/** Bits of the logical counter below the milliseconds. */
export const COUNTER_BITS = 16n

/** Orders versions: by timestamp, then by writer. */
export const compare = (a: Version, b: Version): -1 | 0 | 1 =>
  a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : 0

/** The wall-clock milliseconds of a timestamp. */
export const millis = (hlc: bigint): number => Number(hlc >> COUNTER_BITS)

/** The earliest timestamp of a wall-clock time. */
export const fromMillis = (ms: number): bigint => BigInt(Math.max(0, Math.floor(ms))) << COUNTER_BITS

/** A node's hybrid logical clock. */
export interface Service {
  /** A new timestamp, greater than every one issued or observed before. */
  readonly next: () => bigint
  /** Takes note of a timestamp seen in a stored or received version. */
  readonly observe: (hlc: bigint) => void
}

/** The node's clock. */
export class Hlc extends Context.Service<Hlc, Service>()("@crustyring/node/Hlc") {}

/** A clock over `now` (milliseconds). */
export const makeWith = (now: () => number): Service => {
  let last = 0n
  return {
    next: () => {
      const wall = fromMillis(now())
      last = wall > last ? wall : last + 1n
      return last
    },
    observe: (hlc) => {
      if (hlc > last) last = hlc
    }
  }
}

/** A hybrid clock over Effect's `Clock`: the wall clock, or `TestClock` in tests and simulations. */
export const make: Effect.Effect<Service> = Effect.gen(function*() {
  const clock = yield* Clock.Clock
  return makeWith(() => clock.currentTimeMillisUnsafe())
})

/** The hybrid clock as a layer. */
export const layer: Layer.Layer<Hlc> = Layer.effect(Hlc, make)

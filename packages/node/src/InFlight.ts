/**
 * Tracks local operations in flight, in epochs, so that a range can change hands safely. An
 * operation checks ownership and touches storage inside `track`; a membership change that
 * gives a range away then calls `drain`, which waits only for the operations that started
 * before it. Later operations see the new view and are forwarded, so `drain` cannot starve.
 *
 * A leaving node also `freeze`s: new operations wait at the gate until the successor of its
 * range has accepted it, then `thaw` lets them through to be forwarded there.
 */
import { Context, Deferred, Effect, Latch, Layer } from "effect"

interface Epoch {
  count: number
  readonly done: Deferred.Deferred<void>
}

/** The tracker. */
export interface Service {
  /** Runs a local operation inside the current epoch. */
  readonly track: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * Runs a synchronous local operation, or returns `undefined` without running it while the
   * gate is closed (the caller then takes `track`'s path and waits). It needs no epoch: nothing
   * else runs while it does, so a `drain` sees it either finished or not yet begun, and one
   * that began after a view change sees the new view.
   */
  readonly trackSync: <A>(f: () => A) => A | undefined
  /** Starts a new epoch and waits until every operation of the earlier ones has finished. */
  readonly drain: Effect.Effect<void>
  /** Holds new operations at the gate, then drains the ones in flight. */
  readonly freeze: Effect.Effect<void>
  /** Opens the gate again. */
  readonly thaw: Effect.Effect<void>
}

/** In-flight local operations. */
export class InFlight extends Context.Service<InFlight, Service>()("@crustyring/node/InFlight") {}

/** A tracker with no operation in flight. */
export const make: Effect.Effect<Service> = Effect.gen(function*() {
  const gate = yield* Latch.make(true)
  const newEpoch = (): Epoch => ({ count: 0, done: Deferred.makeUnsafe<void>() })
  let current = newEpoch()
  const leave = (epoch: Epoch) =>
    Effect.suspend(() => {
      epoch.count--
      return epoch.count === 0 && epoch !== current ? Deferred.succeed(epoch.done, undefined) : Effect.void
    })
  const drain = Effect.suspend(() => {
    const old = current
    current = newEpoch()
    return old.count === 0 ? Effect.void : Deferred.await(old.done)
  })
  const enter = Effect.sync(() => {
    const epoch = current
    epoch.count++
    return epoch
  })
  return {
    track: (effect) =>
      gate.await.pipe(
        Effect.andThen(Effect.uninterruptible(enter)),
        Effect.flatMap((epoch) => Effect.ensuring(effect, leave(epoch)))
      ),
    trackSync: (f) => Latch.isOpen(gate) ? f() : undefined,
    drain,
    freeze: Effect.andThen(gate.close, drain),
    thaw: Effect.asVoid(gate.open)
  }
})

/** A fresh tracker. */
export const layer: Layer.Layer<InFlight> = Layer.effect(InFlight, make)

/**
 * The simulator's clock keeps `TestClock`'s contract: time moves only when told, sleepers wake
 * in time order (equal times in the order they slept), each wake runs to its next suspension
 * before the next one, and cancelled sleeps never wake.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { SimClock } from "../src/index.ts"

const simulated = <A, E>(effect: Effect.Effect<A, E>) => effect.pipe(Effect.provide(SimClock.layer))

describe("SimClock", () => {
  it.live("time moves only when adjusted, and sleepers wake in time order, ties in the order they slept", () =>
    simulated(Effect.gen(function*() {
      const woke: Array<string> = []
      const sleeper = (name: string, ms: number) => Effect.forkChild(Effect.andThen(Effect.sleep(ms), Effect.sync(() => woke.push(name))))
      yield* sleeper("c", 300)
      yield* sleeper("a", 100)
      yield* sleeper("b1", 200)
      yield* sleeper("b2", 200)
      yield* Effect.yieldNow
      expect(yield* Clock.currentTimeMillis).toBe(0)
      yield* TestClock.adjust("150 millis")
      expect(woke).toEqual(["a"])
      expect(yield* Clock.currentTimeMillis).toBe(150)
      yield* TestClock.adjust("1 second")
      expect(woke).toEqual(["a", "b1", "b2", "c"])
      yield* TestClock.setTime(5000)
      expect(yield* Clock.currentTimeMillis).toBe(5000)
    })))

  it.live("a wake runs to its next suspension, and what it sets off runs too, before the next sleeper wakes", () =>
    simulated(Effect.gen(function*() {
      const log: Array<string> = []
      yield* Effect.forkChild(Effect.gen(function*() {
        yield* Effect.sleep(100)
        log.push("first woke")
        // Work it sets off, each after a yield: all of it runs before the second sleeper.
        yield* Effect.forkDetach(Effect.gen(function*() {
          yield* Effect.yieldNow
          yield* Effect.yieldNow
          log.push("its child ran")
        }))
        yield* Effect.yieldNow
        log.push("first yielded and went on")
      }))
      yield* Effect.forkChild(Effect.andThen(Effect.sleep(100), Effect.sync(() => log.push("second woke"))))
      yield* Effect.yieldNow
      yield* TestClock.adjust("100 millis")
      expect(log).toEqual(["first woke", "first yielded and went on", "its child ran", "second woke"])
    })))

  it.live("an interrupted sleep never wakes, and a timeout fires at its time", () =>
    simulated(Effect.gen(function*() {
      let woke = false
      const fiber = yield* Effect.forkChild(Effect.andThen(Effect.sleep(100), Effect.sync(() => { woke = true })))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      const slow = yield* Effect.forkChild(Effect.timeoutOption(Effect.never, "1 second"))
      yield* Effect.yieldNow
      yield* TestClock.adjust("999 millis")
      expect(slow.pollUnsafe()).toBeUndefined()
      yield* TestClock.adjust("1 millis")
      expect(woke).toBe(false)
      expect((yield* Fiber.join(slow))._tag).toBe("None")
    })))
})

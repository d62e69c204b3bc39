/**
 * The simulator's clock: Effect's `TestClock` contract (`TestClock.adjust` and `setTime` work
 * on it), made for rings of a thousand nodes. Like `TestClock`, it moves time only when told,
 * wakes sleepers in time order (equal times in the order they slept), and waits after each wake until the woken fiber and every task
 * it set off have suspended, so a run is the same every time. Unlike it, sleepers wait in a
 * binary heap (cancelled ones are dropped lazily), and a wake carries no watchdog timer: in a
 * profile of a 256-node run, `TestClock`'s sorted-array insert and removal and the live
 * timer it arms per wake were a third of the time spent per wake. It prints no warnings, and a
 * fiber that never suspends stops the clock.
 */
import { TimeHeap } from "@crustyring/protocol"
import { Clock, Context, Duration, Effect, Layer, Scheduler, Semaphore } from "effect"
import type { TestClock } from "effect/testing"

interface Sleeper {
  readonly at: number
  seq: number
  readonly wake: () => void
  cancelled: boolean
}

/** Tasks set off by one wake, counted so the clock can wait for them. */
interface Tracker {
  pending: number
  onIdle: (() => void) | undefined
}

const NANOS_PER_MILLI = 1_000_000n

/** A new simulated clock at time 0, with the scheduler that lets it see when a wake is done. */
export const make: Effect.Effect<readonly [TestClock.TestClock, Scheduler.Scheduler]> = Effect.gen(function*() {
  const parent = yield* Scheduler.Scheduler
  const runLock = yield* Semaphore.make(1)
  const sleepers = new TimeHeap<Sleeper>()
  let now = 0
  let monotonic = 0n

  let current: Tracker | undefined
  const runTracked = (tracker: Tracker, f: () => void) => {
    const previous = current
    current = tracker
    try {
      f()
    } finally {
      current = previous
    }
  }
  const scheduler: Scheduler.Scheduler = {
    executionMode: parent.executionMode,
    shouldYield: (fiber) => parent.shouldYield(fiber),
    makeDispatcher() {
      const dispatcher = parent.makeDispatcher()
      return {
        scheduleTask(task, priority) {
          const tracker = current
          if (tracker === undefined) return dispatcher.scheduleTask(task, priority)
          tracker.pending++
          dispatcher.scheduleTask(() => {
            try {
              runTracked(tracker, task)
            } finally {
              if (--tracker.pending === 0) tracker.onIdle?.()
            }
          }, priority)
        },
        flush: () => dispatcher.flush()
      }
    }
  }

  const sleep = (duration: Duration.Duration): Effect.Effect<void> =>
    Effect.callback<void>((resume) => {
      const at = now + Duration.toMillis(duration)
      if (!(at > now)) return resume(Effect.void)
      const sleeper: Sleeper = { at, seq: 0, wake: () => resume(Effect.void), cancelled: false }
      sleepers.push(sleeper)
      return Effect.sync(() => {
        sleeper.cancelled = true
      })
    })

  /** Wakes one sleeper and waits until what it set off has suspended. */
  const wake = (sleeper: Sleeper): Effect.Effect<void> =>
    Effect.suspend(() => {
      const tracker: Tracker = { pending: 0, onIdle: undefined }
      runTracked(tracker, sleeper.wake)
      if (tracker.pending === 0) return Effect.yieldNow
      return Effect.callback<void>((resume) => {
        if (tracker.pending === 0) return resume(Effect.void)
        tracker.onIdle = () => resume(Effect.void)
        return Effect.sync(() => {
          tracker.onIdle = undefined
        })
      }).pipe(Effect.andThen(Effect.yieldNow))
    })

  const advanceTo = (at: number) => {
    if (at > now && Number.isFinite(at)) monotonic += BigInt(Math.round((at - now) * 1_000_000))
    now = at
  }

  const run = (end: (from: number) => number) =>
    runLock.withPermits(1)(Effect.gen(function*() {
      // Let work already under way settle first, as TestClock does.
      yield* Effect.yieldNow
      const until = end(now)
      for (let next = sleepers.peek(); next !== undefined && next.at <= until; next = sleepers.peek()) {
        sleepers.pop()
        if (next.cancelled) continue
        advanceTo(next.at)
        yield* wake(next)
      }
      advanceTo(until)
    }))

  const clock: TestClock.TestClock = {
    currentTimeMillisUnsafe: () => now,
    currentTimeNanosUnsafe: () => BigInt(Math.floor(now)) * NANOS_PER_MILLI,
    monotonicTimeNanosUnsafe: () => monotonic,
    currentTimeMillis: Effect.sync(() => now),
    currentTimeNanos: Effect.sync(() => BigInt(Math.floor(now)) * NANOS_PER_MILLI),
    monotonicTimeNanos: Effect.sync(() => monotonic),
    sleep,
    adjust: (input: Duration.Input) => run((from) => from + Duration.toMillis(Duration.fromInputUnsafe(input))),
    setTime: (timestamp: number) => run(() => timestamp),
    withLive: <A, E, R>(effect: Effect.Effect<A, E, R>) => effect
  } as unknown as TestClock.TestClock
  return [clock, scheduler] as const
})

/** The simulated clock and its scheduler, as a layer: use it where `TestClock.layer()` would go. */
export const layer: Layer.Layer<never> = Layer.effectContext(
  Effect.map(make, ([clock, scheduler]) => Context.make(Clock.Clock, clock).pipe(Context.add(Scheduler.Scheduler, scheduler)))
)

/**
 * The registry's health check, on a fake network and the test clock: which nodes it drops, when,
 * and that it stops with its scope.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Errors } from "@crustyring/protocol"
import { Effect, Exit, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import { HealthCheck, Pinger, Registry } from "../src/index.ts"

const options: Registry.Options = { healthInterval: "1 second", failureTimeout: "3 seconds" }
const [a, b, c] = ["10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"] as const

/** A registry on a fake network whose addresses answer unless listed in `down`, health-checked in the current scope. */
const setup = (opts: Registry.Options = options) =>
  Effect.gen(function*() {
    const down = new Set<string>()
    const pings: Array<string> = []
    const network = Layer.succeed(Pinger.Pinger, {
      ping: (address) =>
        Effect.suspend(() => {
          pings.push(address)
          return down.has(address)
            ? Effect.fail(new Errors.Unavailable({ message: `${address} unavailable: down`, unreachable: true }))
            : Effect.void
        })
    })
    const registry = yield* Registry.make(opts).pipe(Effect.provide(network))
    /** Starts the health check; it runs until the scope closes. */
    const start = HealthCheck.start(registry, opts).pipe(Effect.provide(network))
    const inBook = Effect.map(registry.entries, (es) => es.map((e) => e.address as string))
    return { registry, down, pings, start, inBook }
  })

/** Advances the test clock one second at a time, so that every round in between runs. */
const seconds = (n: number) => Effect.repeat(TestClock.adjust("1 second"), { times: n - 1 })

describe("HealthCheck", () => {
  it.effect("drops members and joining nodes after failureTimeout without an answer, and keeps the rest", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      for (const x of [a, b, c]) yield* t.registry.register(x)
      yield* t.registry.confirm(a)
      yield* t.registry.confirm(b)
      t.down.add(b)
      t.down.add(c)
      yield* t.start
      yield* seconds(2)
      expect(yield* t.inBook, "2 s of silence is not enough").toEqual([a, b, c])
      yield* seconds(1)
      expect(yield* t.inBook).toEqual([a])
      expect((yield* t.registry.members).map((m) => m.address)).toEqual([a])
      yield* seconds(10)
      expect(yield* t.inBook).toEqual([a])
    }))

  it.effect("pings every node once per interval", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      for (const x of [a, b]) yield* t.registry.register(x)
      // (b's registration pinged a, its contact.)
      const before = t.pings.length
      yield* t.start
      yield* seconds(4)
      // Rounds at 0, 1, 2, 3 and 4 seconds.
      const rounds = t.pings.slice(before)
      expect(rounds.filter((p) => p === a)).toHaveLength(5)
      expect(rounds.filter((p) => p === b)).toHaveLength(5)
    }))

  it.effect("silence is counted from the last sign of life: an answer, a registration or a confirmation", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      yield* t.registry.register(a)
      yield* t.start
      yield* seconds(5)
      // a answered the round at 5 s, then went quiet.
      t.down.add(a)
      yield* seconds(2)
      expect(yield* t.inBook).toEqual([a])
      // It confirms at 7 s, though still not answering pings: 3 s more from there.
      yield* t.registry.confirm(a)
      yield* seconds(2)
      expect(yield* t.inBook).toEqual([a])
      yield* seconds(1)
      expect(yield* t.inBook).toEqual([])
    }))

  it.effect("a node that answers again before failureTimeout is kept", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      yield* t.registry.register(a)
      yield* t.registry.confirm(a)
      t.down.add(a)
      yield* t.start
      yield* seconds(2)
      t.down.delete(a)
      yield* seconds(10)
      expect(yield* t.inBook).toEqual([a])
    }))

  it.effect("a dropped node that registers again is checked afresh", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      yield* t.registry.register(a)
      yield* t.registry.confirm(a)
      yield* t.registry.register(b)
      yield* t.registry.confirm(b)
      t.down.add(b)
      yield* t.start
      yield* seconds(3)
      expect(yield* t.inBook).toEqual([a])
      // b restarts, registers and confirms.
      t.down.delete(b)
      yield* t.registry.register(b)
      yield* t.registry.confirm(b)
      yield* seconds(10)
      expect((yield* t.registry.members).map((m) => m.address).sort()).toEqual([a, b].sort())
      // And is dropped again 3 s after it stops answering.
      t.down.add(b)
      yield* seconds(2)
      assert.include(yield* t.inBook, b)
      yield* seconds(1)
      expect(yield* t.inBook).toEqual([a])
    }))

  it.effect("with failureTimeout below healthInterval, one missed ping drops a node", () =>
    Effect.gen(function*() {
      const t = yield* setup({ healthInterval: "1 second", failureTimeout: "500 millis" })
      yield* t.registry.register(a)
      yield* t.start
      yield* seconds(1)
      t.down.add(a)
      yield* seconds(1)
      expect(yield* t.inBook).toEqual([])
    }))

  it.effect("stops when its scope closes", () =>
    Effect.gen(function*() {
      const t = yield* setup()
      yield* t.registry.register(a)
      const scope = yield* Scope.make()
      yield* t.start.pipe(Scope.provide(scope))
      yield* seconds(2)
      const pinged = t.pings.length
      assert.isAbove(pinged, 0)
      yield* Scope.close(scope, Exit.void)
      t.down.add(a)
      yield* seconds(10)
      assert.strictEqual(t.pings.length, pinged, "no ping after the scope closed")
      expect(yield* t.inBook, "and so nothing dropped").toEqual([a])
    }))
})

/**
 * The dashboard's reading of the ring: where a key lives on a snapshot (its owner's range
 * holds its position, and the replica set is the one the owner's own membership computes),
 * and the event stream that the page's events pane shows.
 */
import { describe, expect, it } from "@effect/vitest"
import { Address } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Effect, Option, PubSub } from "effect"
import { TestClock } from "effect/testing"
import * as fc from "fast-check"
import { Events, Membership, RingView } from "../src/index.ts"

/** A snapshot of members at `ids`, each in process `p<n>` where `n` is given per member. */
const snapshot = (members: ReadonlyArray<{ readonly id: bigint; readonly process: number }>): RingView.Snapshot => {
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : 1))
  return {
    at: 0,
    from: "p0:1",
    members: sorted.map((m, i) => {
      const next = (sorted[i + 1] ?? sorted[0]!).id
      return {
        address: `p${m.process}:1#${i + 1}`,
        process: `p${m.process}:1`,
        id: Position.toHex(Position.make(m.id)),
        at: RingView.fraction(m.id),
        next: Position.toHex(Position.make(next)),
        nextAt: RingView.fraction(next),
        state: "up",
        phase: "ready",
        keys: 0,
        ownedKeys: 0,
        copies: 3,
        replicatedKeys: 0,
        repair: null,
        silentMs: null,
        httpPort: 0
      }
    })
  }
}

const members = fc.uniqueArray(fc.record({ id: fc.bigInt({ min: 0n, max: Position.MAX }), process: fc.integer({ min: 0, max: 4 }) }), {
  minLength: 1,
  maxLength: 40,
  selector: (m) => m.id
})

describe("RingView.locate", () => {
  it("puts a key in the range [id, next) of its owner, and the replica set is the owner's own", () =>
    fc.assert(
      fc.property(members, fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.integer({ min: 1, max: 5 }), (ms, key, copies) => {
        const s = snapshot(ms)
        const location = RingView.locate(s, key, copies)!
        const index = s.members.findIndex((m) => m.address === location.owner)
        const owner = s.members[index]!
        const position = Position.toHex(Position.position(key))
        expect(location.position).toBe(position)
        const inRange = owner.id < owner.next ? position >= owner.id && position < owner.next : position >= owner.id || position < owner.next
        expect(inRange || s.members.length === 1).toBe(true)
        // The owner's membership, with the members after it as its successors, picks the same copies.
        const successors = [...s.members.slice(index + 1), ...s.members.slice(0, index)].map((m) => ({
          id: Position.make(BigInt(`0x${m.id}`)),
          address: Address.unsafeMake(m.address)
        }))
        const self = { id: Position.make(BigInt(`0x${owner.id}`)), address: Address.unsafeMake(owner.address) }
        const view: Membership.View = { self, successors, predecessor: Option.none(), phase: "ready", incoming: Option.none(), fingers: [] }
        expect(location.replicas).toEqual([owner.address, ...Membership.replicaSet(view, copies).map((m) => m.address)])
        expect(new Set(location.replicas.map((a) => a.replace(/#\d+$/, ""))).size).toBe(location.replicas.length)
      }),
      { numRuns: 300 }
    ))

  it("places a fraction of the ring in [0, 1), in order", () =>
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: Position.MAX }), fc.bigInt({ min: 0n, max: Position.MAX }), (a, b) => {
        const fa = RingView.fraction(a)
        expect(fa).toBeGreaterThanOrEqual(0)
        expect(fa).toBeLessThan(1)
        if (a >> 11n < b >> 11n) expect(fa).toBeLessThan(RingView.fraction(b))
      })
    ))

  it("finds no owner on an empty ring", () => {
    expect(RingView.locate({ at: 0, from: "x:1", members: [] }, new Uint8Array([1]), 3)).toBeUndefined()
  })
})

describe("Events", () => {
  it.effect("emit stamps an event with the clock and publishes it; recent keeps the latest", () =>
    Effect.gen(function*() {
      const events = yield* Events.make(3)
      const subscription = yield* events.subscribe
      yield* TestClock.adjust("5 seconds")
      for (let i = 0; i < 5; i++) {
        yield* Events.emit({ kind: "down", node: "a:1", peer: `b${i}:1`, message: `b${i} down` }).pipe(Effect.provideService(Events.Events, events))
      }
      expect(events.recent().map((e) => e.peer)).toEqual(["b2:1", "b3:1", "b4:1"])
      expect(events.recent()[0]!.at).toBe(5000)
      const first = yield* PubSub.take(subscription)
      expect(first.kind).toBe("down")
    }).pipe(Effect.scoped))

  it.effect("emit without an event stream only logs", () => Events.emit({ kind: "joined", node: "a:1", message: "joined" }))
})

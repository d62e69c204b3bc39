/**
 * Handoff, on real nodes over the in-memory network under TestClock: while a range streams
 * from its old owner to a joiner (`FetchRange`, held back by a delay), writes and deletes of
 * the range land on the joiner and are neither lost nor overwritten by the older copies that
 * arrive after them; reads meanwhile go through to the old owner, which deletes nothing until
 * released; a stream that breaks is retried and loses nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Membership, type NodeConfig } from "@crustyring/node"
import { MemoryNetwork } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { Duration, Effect, Exit, Fiber, Option, Scope, SubscriptionRef } from "effect"
import { TestClock } from "effect/testing"
import { MemoryCluster } from "../src/index.ts"
import { DROP, FAST, flush, harness, held, keysOwnedBy, ownerOf, replicaSet, ringOf, sortedOf, startRing, text, bytes, withTime, type Harness, type Node } from "./Harness.ts"


/** Whether `giver` has accepted `joiner` as its successor: the range is then on its way. */
const accepted = (giver: Node, joiner: string) => Membership.next(SubscriptionRef.getUnsafe(giver.node.membership.ref)).address === joiner

/** Two nodes, keys in the range a third node, "joiner", will take, and the old owner of that range. */
const setup = (h: Harness, count = 40) =>
  Effect.gen(function*() {
    const nodes = yield* startRing(h, 2)
    const joiner = MemoryCluster.addressOf("joiner")
    const joinerId = Position.nodeId(joiner)
    const future = Ring.make([...nodes.map((n) => ({ id: n.node.self.id })), { id: joinerId }])
    const inRange = (k: string) => Ring.owner(future, Position.position(bytes(k)))!.id === joinerId
    const keys: Array<string> = []
    for (let i = 0; keys.length < count; i++) if (inRange(`handed-${i}`)) keys.push(`handed-${i}`)
    const fresh: Array<string> = []
    for (let i = 0; fresh.length < 5; i++) if (inRange(`fresh-${i}`)) fresh.push(`fresh-${i}`)
    for (const key of keys) yield* h.query(nodes[0]!.address, { ty: "Set", key: bytes(key), value: bytes(`old-${key}`) })
    const giver = Ring.owner(ringOf(nodes), joinerId)!.node
    const other = nodes.find((n) => n !== giver)!
    return { nodes, joiner, keys, fresh, giver, other }
  })

describe("Handoff", () => {
  it.effect("writes and deletes during a hand-off are not lost, and the older copies streamed after them do not win", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // One copy per key: the joiner's copy is the only one once the giver releases the range.
      const h = yield* harness({ replicas: 1, writeQuorum: 1 })
      const { fresh, giver, joiner, keys, other } = yield* setup(h)
      // The first message from the joiner to the giver once the giver has accepted it is the
      // FetchRange request: it arrives 2 s late. Everything else goes at once.
      let heldBack = 0
      h.faults.rule = (from, to) => {
        if (from !== joiner || to !== giver.address || heldBack > 0 || !accepted(giver, joiner)) return undefined
        heldBack++
        return { drop: false, delayMs: 2000 }
      }
      const starting = yield* h.spawn({ name: "joiner", seeds: [giver.address] })
      for (let i = 0; i < 100 && !accepted(giver, joiner); i++) yield* TestClock.adjust("10 millis")
      expect(accepted(giver, joiner)).toBe(true)
      yield* TestClock.adjust("100 millis")
      yield* flush
      expect(heldBack).toBe(1)
      expect(starting.pollUnsafe()).toBeUndefined()

      // Meanwhile, through the other node: overwrites, deletes, new keys and plain reads.
      const overwritten = keys.slice(0, 10)
      const deleted = keys.slice(10, 15)
      const untouched = keys.slice(15)
      const ops = Effect.all([
        Effect.forEach(overwritten, (k) => h.query(other.address, { ty: "Set", key: bytes(k), value: bytes(`new-${k}`) })),
        Effect.forEach(deleted, (k) => h.query(other.address, { ty: "Delete", key: bytes(k) })),
        Effect.forEach(fresh, (k) => h.query(other.address, { ty: "Set", key: bytes(k), value: bytes(`fresh-${k}`) })),
        Effect.forEach(untouched.slice(0, 5), (k) => h.query(other.address, { ty: "Get", key: bytes(k) }))
      ])
      const during = yield* Effect.forkChild(ops)
      yield* TestClock.adjust("200 millis")
      yield* flush
      // All answered, while the stream is still held back.
      const [sets, deletes, news, reads] = yield* Fiber.join(during)
      expect(starting.pollUnsafe()).toBeUndefined()
      // The previous values came from the giver: the joiner does not have them yet.
      expect(sets.map((r) => text(r.value))).toEqual(overwritten.map((k) => `old-${k}`))
      expect(deletes.map((r) => text(r.value))).toEqual(deleted.map((k) => `old-${k}`))
      expect(news.map((r) => r.value)).toEqual(fresh.map(() => undefined))
      expect(reads.map((r) => text(r.value))).toEqual(untouched.slice(0, 5).map((k) => `old-${k}`))
      const joinerNode = yield* Effect.suspend(() => Effect.succeed(h.nodes.find((n) => n.address === joiner)))
      expect(joinerNode).toBeUndefined() // still starting: its hand-off is not complete
      // The giver has deleted nothing yet, and holds none of the new writes.
      for (const k of keys) expect(yield* held(giver, k), k).toEqual(Option.some(`old-${k}`))

      // The stream arrives, the joiner releases the giver.
      yield* TestClock.adjust("3 seconds")
      expect(starting.pollUnsafe()).toBeDefined()
      const j = yield* Fiber.join(starting)
      for (const k of overwritten) expect(yield* held(j, k), k).toEqual(Option.some(`new-${k}`))
      for (const k of deleted) expect(yield* held(j, k), k).toEqual(Option.some(undefined))
      for (const k of fresh) expect(yield* held(j, k), k).toEqual(Option.some(`fresh-${k}`))
      for (const k of untouched) expect(yield* held(j, k), k).toEqual(Option.some(`old-${k}`))
      for (const k of [...keys, ...fresh]) expect(yield* held(giver, k), k).toEqual(Option.none())
      // And clients see the last write of every key, from every node.
      for (const n of h.nodes) {
        for (const k of overwritten) expect(text((yield* h.query(n.address, { ty: "Get", key: bytes(k) })).value)).toBe(`new-${k}`)
        for (const k of deleted) expect((yield* h.query(n.address, { ty: "Get", key: bytes(k) })).error).toBe("Key not present in database.")
        for (const k of fresh) expect(text((yield* h.query(n.address, { ty: "Get", key: bytes(k) })).value)).toBe(`fresh-${k}`)
      }
    }))

  it.effect("a hand-off stream that breaks is retried, and the joiner ends with every key", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      const h = yield* harness({ replicas: 1, writeQuorum: 1 })
      const { giver, joiner, keys } = yield* setup(h)
      // Once the joiner has asked for the range, the first message back (the first streamed
      // entry) is lost: the stream fails and is asked for again.
      let asked = 0
      let broken = 0
      h.faults.rule = (from, to) => {
        if (!accepted(giver, joiner)) return undefined
        if (from === joiner && to === giver.address) asked++
        if (from === giver.address && to === joiner && asked > 0 && broken === 0) {
          broken++
          return DROP
        }
        return undefined
      }
      const j = yield* h.start({ name: "joiner", seeds: [giver.address] })
      expect(broken).toBe(1)
      // FetchRange twice, then ReleaseRange (at least).
      expect(asked).toBeGreaterThanOrEqual(3)
      for (const k of keys) expect(yield* held(j, k), k).toEqual(Option.some(`old-${k}`))
      for (const k of keys) expect(yield* held(giver, k), k).toEqual(Option.none())
      expect(Option.isNone((yield* j.node.membership.view).incoming)).toBe(true)
    }))

  it.effect("with replicas, the giver of a small ring keeps its copy as a replica", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 1))
      // Three replicas, three nodes after the join: every node holds every range.
      const h = yield* harness()
      const { giver, keys } = yield* setup(h)
      const j = yield* h.start({ name: "joiner", seeds: [giver.address] })
      yield* TestClock.adjust("2 seconds")
      for (const k of keys) {
        expect(yield* held(j, k)).toEqual(Option.some(`old-${k}`))
        expect(yield* held(giver, k)).toEqual(Option.some(`old-${k}`))
      }
    }))
})

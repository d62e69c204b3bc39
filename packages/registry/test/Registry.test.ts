import { assert, describe, expect, it } from "@effect/vitest"
import { Errors } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { Duration, Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { Pinger, Registry } from "../src/index.ts"

/** A network of addresses that are up unless listed in `down`; it records every ping and its deadline. */
const fakeNetwork = () => {
  const down = new Set<string>()
  const pings: Array<string> = []
  const timeouts: Array<number> = []
  const layer = Layer.succeed(Pinger.Pinger, {
    ping: (address, timeout) =>
      Effect.suspend(() => {
        pings.push(address)
        timeouts.push(Duration.toMillis(timeout))
        return down.has(address)
          ? Effect.fail(new Errors.Unavailable({ message: `${address} unavailable: down`, unreachable: true }))
          : Effect.void
      })
  })
  return { down, pings, timeouts, layer }
}

/** A registry whose contacts always answer. */
const makeRegistry = () => Registry.make().pipe(Effect.provide(Pinger.layerNoop))

/** Addresses sorted by their ring ID, so tests can reason about "closest smaller ID". */
const byId = (addresses: ReadonlyArray<string>): Array<{ readonly address: string; readonly id: bigint }> =>
  addresses.map((address) => ({ address, id: Position.nodeId(address) as bigint })).sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0
  )

/** Written from the spec: the member with the greatest ID below `id`, else the greatest ID overall. */
const expectedNeighbor = (members: ReadonlyArray<string>, id: bigint): string | undefined => {
  const sorted = byId(members).filter((m) => m.id !== id)
  if (sorted.length === 0) return undefined
  const below = sorted.filter((m) => m.id < id)
  return (below.length > 0 ? below[below.length - 1]! : sorted[sorted.length - 1]!).address
}

const addresses = Array.from({ length: 10 }, (_, i) => `10.0.0.${i + 1}:7000`)

const neighborAddress = (r: Registry.Registration): string | undefined =>
  Option.getOrUndefined(Option.map(r.neighbor, (n) => n.address as string))

describe("Registry", () => {
  it.effect("hands out the deterministic ID Position.nodeId(address)", () =>
    Effect.gen(function*() {
      const first = yield* makeRegistry()
      const second = yield* makeRegistry()
      for (const address of addresses.slice(0, 3)) {
        const a = yield* first.register(address)
        const b = yield* second.register(address)
        assert.strictEqual(a.id, Position.nodeId(address))
        assert.strictEqual(b.id, a.id, "a fresh registry gives the same ID")
      }
      // Test vector from the architecture notes.
      const vector = yield* first.register("127.0.0.1:50001")
      assert.strictEqual(vector.id, 0xc7eb349fed1a6c5bn)
    }))

  it.effect("gives the first node no neighbor", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry()
      const r = yield* registry.register(addresses[0]!)
      assert.isTrue(Option.isNone(r.neighbor))
    }))

  it.effect("before any member, the contact is the earliest other registrant", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry()
      const [a, b, c, d] = addresses
      assert.isUndefined(neighborAddress(yield* registry.register(a!)))
      assert.strictEqual(neighborAddress(yield* registry.register(b!)), a)
      assert.strictEqual(neighborAddress(yield* registry.register(c!)), a)
      // Re-registering the founder still gives no contact: nobody registered before it.
      assert.isUndefined(neighborAddress(yield* registry.register(a!)))
      assert.strictEqual(neighborAddress(yield* registry.register(c!)), a)
      // Once the founder is gone, the next earliest registrant is the contact.
      yield* registry.unregister(a!)
      assert.strictEqual(neighborAddress(yield* registry.register(d!)), b)
      expect(yield* registry.members).toEqual([])
    }))

  it.effect("the neighbor is the confirmed member with the closest smaller ID, wrapping", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry()
      const members = addresses.slice(0, 5)
      for (const m of members) {
        yield* registry.register(m)
        yield* registry.confirm(m)
      }
      // Joining-only nodes must never be handed out while members exist.
      const joining = addresses.slice(5)
      for (const j of joining) {
        const r = yield* registry.register(j)
        assert.strictEqual(r.id, Position.nodeId(j))
        const expected = expectedNeighbor(members, r.id)
        assert.strictEqual(neighborAddress(r), expected, `neighbor of ${j}`)
        assert.include(members, neighborAddress(r))
        // The neighbor carries its own ID and member state.
        const n = Option.getOrThrow(r.neighbor)
        assert.strictEqual(n.id, Position.nodeId(n.address))
        assert.strictEqual(n.state, "member")
      }
      // Re-registering a member: its neighbor is computed among the other members.
      for (const m of members) {
        const r = yield* registry.register(m)
        assert.strictEqual(neighborAddress(r), expectedNeighbor(members, r.id), `neighbor of member ${m}`)
        assert.notStrictEqual(neighborAddress(r), m)
      }
    }))

  it.effect("wraps: the node below every member gets the member with the greatest ID", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry()
      const sorted = byId(addresses)
      const lowest = sorted[0]!
      const members = sorted.slice(1)
      for (const m of members) {
        yield* registry.register(m.address)
        yield* registry.confirm(m.address)
      }
      const r = yield* registry.register(lowest.address)
      assert.strictEqual(neighborAddress(r), members[members.length - 1]!.address)
      // And the highest node's neighbor is the one just below it, not a wrap.
      const top = yield* registry.register(members[members.length - 1]!.address)
      assert.strictEqual(neighborAddress(top), members[members.length - 2]!.address)
    }))

  it.effect("with a single member, every newcomer gets that member", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry()
      yield* registry.register(addresses[0]!)
      yield* registry.confirm(addresses[0]!)
      for (const a of addresses.slice(1)) {
        assert.strictEqual(neighborAddress(yield* registry.register(a)), addresses[0])
      }
    }))

  it.effect("re-registering is idempotent: same ID, member state kept", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry()
      const [a, b] = addresses
      const first = yield* registry.register(a!)
      yield* registry.confirm(a!)
      yield* registry.register(b!)
      yield* registry.confirm(b!)
      const again = yield* registry.register(a!)
      assert.strictEqual(again.id, first.id)
      assert.strictEqual(neighborAddress(again), b, "the other member, not itself")
      const members = yield* registry.members
      expect(members.map((m) => m.address).sort()).toEqual([a, b].sort())
      for (const m of members) assert.strictEqual(m.state, "member")
      // Registering many times does not create duplicates.
      for (let i = 0; i < 3; i++) yield* registry.register(a!)
      assert.lengthOf(yield* registry.members, 2)
    }))

  it.effect("normalises http://host:port to host:port", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry()
      const r = yield* registry.register("http://127.0.0.1:50001")
      assert.strictEqual(r.id, Position.nodeId("127.0.0.1:50001"))
      yield* registry.confirm("127.0.0.1:50001/")
      const members = yield* registry.members
      expect(members.map((m) => m.address)).toEqual(["127.0.0.1:50001"])
      // The same node under both spellings is one entry.
      yield* registry.register("127.0.0.1:50001")
      assert.lengthOf(yield* registry.members, 1)
      yield* registry.unregister("https://127.0.0.1:50001")
      assert.lengthOf(yield* registry.members, 0)
    }))

  it.effect("refuses malformed addresses with InvalidArgument naming the problem", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry()
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["nonsense", "host:port"],
        ["host:99999", "1-65535"],
        [":5000", "host:port"],
        ["", "host:port"]
      ]
      for (const [input, expected] of cases) {
        for (const op of [registry.register, registry.confirm, registry.unregister]) {
          const e = yield* Effect.flip(op(input))
          assert.strictEqual(e._tag, "InvalidArgument", input)
          expect(e.message, input).toContain(expected)
          expect(e.message, input).toContain(JSON.stringify(input))
        }
      }
      // Nothing was recorded.
      assert.lengthOf(yield* registry.members, 0)
      assert.isTrue(Option.isNone((yield* registry.register(addresses[0]!)).neighbor))
    }))

  it.effect("unregister removes the node; unknown nodes are ignored", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry()
      const [a, b, c] = addresses
      for (const x of [a!, b!]) {
        yield* registry.register(x)
        yield* registry.confirm(x)
      }
      yield* registry.unregister(a!)
      expect((yield* registry.members).map((m) => m.address)).toEqual([b])
      // The removed node is no longer handed out as a contact.
      assert.strictEqual(neighborAddress(yield* registry.register(c!)), b)
      yield* registry.unregister("10.9.9.9:1")
      expect((yield* registry.members).map((m) => m.address)).toEqual([b])
      // A removed node that comes back starts over as joining.
      yield* registry.register(a!)
      expect((yield* registry.members).map((m) => m.address)).toEqual([b])
    }))

  it.effect("members lists only confirmed nodes, sorted by ID", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry()
      for (const a of addresses) yield* registry.register(a)
      assert.lengthOf(yield* registry.members, 0)
      // Confirm in address order, which is not ID order.
      const confirmed = addresses.filter((_, i) => i % 2 === 0)
      for (const a of confirmed) yield* registry.confirm(a)
      const members = yield* registry.members
      expect(members.map((m) => m.address)).toEqual(byId(confirmed).map((m) => m.address))
      for (const m of members) {
        assert.strictEqual(m.id, Position.nodeId(m.address))
        assert.strictEqual(m.state, "member")
      }
      for (let i = 1; i < members.length; i++) assert.isTrue(members[i - 1]!.id < members[i]!.id)
    }))
})

describe("Registry contacts are alive", () => {
  /** Registers and confirms `members`, in order. */
  const join = (registry: Registry.Service, members: ReadonlyArray<string>) =>
    Effect.forEach(members, (m) => Effect.andThen(registry.register(m), registry.confirm(m)), { discard: true })

  const listed = (registry: Registry.Service) => Effect.map(registry.members, (ms) => ms.map((m) => m.address as string))

  it.effect("a contact that does not answer is dropped and the next candidate is handed out instead", () =>
    Effect.gen(function*() {
      const net = fakeNetwork()
      const registry = yield* Registry.make().pipe(Effect.provide(net.layer))
      const members = addresses.slice(0, 5)
      yield* join(registry, members)
      const joiner = addresses[7]!
      const id = Position.nodeId(joiner) as bigint
      const first = expectedNeighbor(members, id)!
      net.down.add(first)
      const r = yield* registry.register(joiner)
      const alive = members.filter((m) => m !== first)
      assert.strictEqual(neighborAddress(r), expectedNeighbor(alive, id))
      expect(net.pings.slice(-2)).toEqual([first, expectedNeighbor(alive, id)])
      expect((yield* listed(registry)).sort()).toEqual([...alive].sort())
      // Every member but one dead: the joiner gets that one. The dead ones tried on the way are
      // gone; the others stay listed until the health check finds them.
      const survivor = alive[2]!
      for (const m of alive) if (m !== survivor) net.down.add(m)
      const before = net.pings.length
      assert.strictEqual(neighborAddress(yield* registry.register(joiner)), survivor)
      const tried = net.pings.slice(before)
      expect(tried.at(-1)).toBe(survivor)
      expect((yield* listed(registry)).sort()).toEqual(alive.filter((m) => !tried.slice(0, -1).includes(m)).sort())
      // A second joiner is not sent to any of them either.
      for (const j of addresses.slice(8)) assert.strictEqual(neighborAddress(yield* registry.register(j)), survivor)
    }))

  it.effect("with every candidate dead, the joiner gets no contact and founds the ring", () =>
    Effect.gen(function*() {
      const net = fakeNetwork()
      const registry = yield* Registry.make().pipe(Effect.provide(net.layer))
      const members = addresses.slice(0, 3)
      yield* join(registry, members)
      for (const m of members) net.down.add(m)
      const r = yield* registry.register(addresses[5]!)
      assert.isTrue(Option.isNone(r.neighbor))
      expect(yield* listed(registry)).toEqual([])
      expect((yield* registry.entries).map((e) => e.address)).toEqual([addresses[5]])
    }))

  it.effect("a dead founder is skipped for the next earliest registrant, or for none", () =>
    Effect.gen(function*() {
      const net = fakeNetwork()
      const registry = yield* Registry.make().pipe(Effect.provide(net.layer))
      const [a, b, c, d] = addresses
      yield* registry.register(a!)
      yield* registry.register(b!)
      net.down.add(a!)
      assert.strictEqual(neighborAddress(yield* registry.register(c!)), b)
      net.down.add(b!)
      net.down.add(c!)
      assert.isUndefined(neighborAddress(yield* registry.register(d!)))
      expect((yield* registry.entries).map((e) => e.address)).toEqual([d])
    }))

  it.effect("a live contact is not pinged twice, and its answer counts as a sign of life", () =>
    Effect.gen(function*() {
      const net = fakeNetwork()
      const registry = yield* Registry.make().pipe(Effect.provide(net.layer))
      const [a, b] = addresses
      yield* join(registry, [a!])
      yield* TestClock.adjust("5 seconds")
      const before = net.pings.length
      assert.strictEqual(neighborAddress(yield* registry.register(b!)), a)
      expect(net.pings.slice(before)).toEqual([a])
      const seen = (yield* registry.entries).find((e) => e.address === a)!
      assert.strictEqual(seen.seenAt, 5000)
    }))

  it.effect("the contact ping's deadline is 1 second, or failureTimeout when that is shorter", () =>
    Effect.gen(function*() {
      for (const [options, expected] of [[{}, 1000], [{ failureTimeout: "300 millis" }, 300], [{ failureTimeout: "1 minute" }, 1000]] as const) {
        const net = fakeNetwork()
        const registry = yield* Registry.make(options).pipe(Effect.provide(net.layer))
        yield* join(registry, [addresses[0]!])
        yield* registry.register(addresses[1]!)
        expect(net.timeouts).toEqual([expected])
      }
    }))

  it.effect("a dropped node that re-registers is listed and handed out again", () =>
    Effect.gen(function*() {
      const net = fakeNetwork()
      const registry = yield* Registry.make().pipe(Effect.provide(net.layer))
      const [a, b, c] = addresses
      yield* join(registry, [a!])
      net.down.add(a!)
      assert.isUndefined(neighborAddress(yield* registry.register(b!)))
      expect(yield* listed(registry)).toEqual([])
      // a restarts: it registers (b, the only other node, was registered first and answers) and confirms.
      net.down.delete(a!)
      const again = yield* registry.register(a!)
      assert.strictEqual(again.id, Position.nodeId(a!))
      assert.strictEqual(neighborAddress(again), b)
      yield* registry.confirm(a!)
      expect(yield* listed(registry)).toEqual([a])
      assert.strictEqual(neighborAddress(yield* registry.register(c!)), a)
    }))

  it.effect("evict removes an entry only if it has not changed since it was read", () =>
    Effect.gen(function*() {
      const registry = yield* makeRegistry()
      const [a] = addresses
      yield* registry.register(a!)
      const stale = (yield* registry.entries)[0]!
      // The node re-registers (a sign of life) before the verdict on the stale entry lands.
      yield* registry.register(a!)
      assert.isFalse(yield* registry.evict(stale))
      assert.lengthOf(yield* registry.entries, 1)
      const current = (yield* registry.entries)[0]!
      assert.isTrue(yield* registry.evict(current))
      assert.lengthOf(yield* registry.entries, 0)
      assert.isFalse(yield* registry.evict(current), "evicting twice does nothing")
    }))
})

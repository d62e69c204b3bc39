/**
 * The pure functions of `Membership` over a view: dropping a dead member (and marking the range
 * this node gains for repair), the replica set, and whether one node holds the whole ring.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Address } from "@crustyring/protocol"
import { Interval, Position } from "@crustyring/ring"
import { Option } from "effect"
import * as fc from "fast-check"
import { Membership } from "../src/index.ts"

const NUM_RUNS = 200
const MAX = Position.MAX

/** A member in a process of its own, unless `address` puts it in another's. */
const member = (id: bigint, address = `node-${id.toString(16)}:7000`): Membership.Member => ({
  id: Position.make(id),
  address: Address.unsafeMake(address)
})

const ids = (ms: ReadonlyArray<Membership.Member>) => ms.map((m) => m.id)

const view = (
  self: Membership.Member,
  successors: ReadonlyArray<Membership.Member>,
  options: Partial<Omit<Membership.View, "self" | "successors">> = {}
): Membership.View => ({
  self,
  successors,
  predecessor: successors.length > 0 ? Option.some(successors.at(-1)!) : Option.none(),
  phase: "ready",
  incoming: Option.none(),
  fingers: [],
  ...options
})

/** A node's view of a ring with the given IDs: the first is self; it knows up to `length` successors. */
const ringView = (ring: ReadonlyArray<bigint>, length: number, fingers: ReadonlyArray<number> = []) => {
  const [selfId, ...rest] = ring
  const self = member(selfId!)
  const others = rest
    .map((id) => member(id))
    .sort((a, b) => (Interval.distance(self.id, a.id) < Interval.distance(self.id, b.id) ? -1 : 1))
  return view(self, others.slice(0, length), {
    predecessor: Option.fromUndefinedOr(others.at(-1)),
    fingers: fingers.filter((i) => i < others.length).map((i) => others[i]!)
  })
}

/** Distinct ring IDs, biased toward the seam so clockwise order wraps. */
const ring = fc.uniqueArray(
  fc.oneof(fc.bigInt({ min: 0n, max: MAX }), fc.bigInt({ min: 0n, max: 8n }), fc.bigInt({ min: MAX - 8n, max: MAX })),
  { minLength: 2, maxLength: 20 }
)

const repairOf = (v: Membership.View) => {
  const i = Option.getOrThrow(v.incoming)
  return { kind: i.kind, start: i.start, end: i.end }
}

describe("Membership.withoutDead", () => {
  const self = member(100n)
  const a = member(200n)
  const b = member(300n)
  const c = member(400n)
  const d = member(50n)

  it("removes the dead member from the successors, the predecessor and the fingers", () => {
    const before = view(self, [a, b, c, d], { predecessor: Option.some(b), fingers: [a, b, d] })
    const after = Membership.withoutDead(before, b)
    expect(ids(after.successors)).toEqual([a.id, c.id, d.id])
    assert.isTrue(Option.isNone(after.predecessor))
    expect(ids(after.fingers)).toEqual([a.id, d.id])
    assert.isTrue(Option.isNone(after.incoming), "b was not the next node: nothing gained")
    // A live predecessor is kept.
    const kept = Membership.withoutDead(view(self, [a, b, c], { predecessor: Option.some(d) }), a)
    assert.strictEqual(Option.getOrThrow(kept.predecessor).id, d.id)
  })

  it("matches by ID, not by object identity", () => {
    const after = Membership.withoutDead(view(self, [a, b], { fingers: [b] }), member(b.id, "elsewhere:9999"))
    expect(ids(after.successors)).toEqual([a.id])
    expect(after.fingers).toEqual([])
  })

  it("marks [dead, next successor) for repair when the next node of a ready node dies", () => {
    const after = Membership.withoutDead(view(self, [a, b, c]), a)
    expect(repairOf(after)).toEqual({ kind: "repair", start: a.id, end: b.id })
    assert.strictEqual(Option.getOrThrow(after.incoming).from.id, b.id)
    // This node now owns the dead node's range.
    assert.isTrue(Membership.owns(after, a.id))
    assert.isTrue(Membership.owns(after, Position.make(b.id - 1n)))
    assert.isFalse(Membership.owns(after, b.id))
  })

  it("a second death extends the repair range under way to the new next successor", () => {
    const once = Membership.withoutDead(view(self, [a, b, c]), a)
    const twice = Membership.withoutDead(once, b)
    expect(repairOf(twice)).toEqual({ kind: "repair", start: a.id, end: c.id })
    // The last other node dies: the repair reaches round to self.
    const alone = Membership.withoutDead(twice, c)
    expect(repairOf(alone)).toEqual({ kind: "repair", start: a.id, end: self.id })
    expect(alone.successors).toEqual([])
  })

  it("the last successor dying leaves a lone node repairing everything but its own range", () => {
    const after = Membership.withoutDead(view(self, [a]), a)
    expect(repairOf(after)).toEqual({ kind: "repair", start: a.id, end: self.id })
    assert.isTrue(Option.isNone(after.predecessor))
    assert.isTrue(Membership.holdsEverything(after, 1))
  })

  it("marks nothing when the node is not ready, or a later successor dies", () => {
    for (const phase of ["joining", "leaving"] as const) {
      assert.isTrue(Option.isNone(Membership.withoutDead(view(self, [a, b], { phase }), a).incoming), phase)
    }
    assert.isTrue(Option.isNone(Membership.withoutDead(view(self, [a, b, c]), c).incoming))
    // A hand-off under way is left as it is.
    const handoff: Membership.Incoming = { kind: "handoff", from: d, start: d.id, end: self.id }
    const after = Membership.withoutDead(view(self, [a, b], { incoming: Option.some(handoff) }), a)
    assert.strictEqual(Option.getOrThrow(after.incoming), handoff)
  })

  it("over any ring and any sequence of deaths of the next node, the repair runs from the first dead to the next node", () => {
    fc.assert(
      fc.property(ring, fc.integer({ min: 1, max: 19 }), fc.array(fc.nat({ max: 19 })), (r, deaths, fingers) => {
        let v = ringView(r, Membership.SUCCESSOR_LIST_LENGTH, fingers)
        const firstDead = v.successors[0]!
        const ownedBefore = [v.self.id, Membership.next(v).id] as const
        // Only the known successors die: stabilization would refill the list in between.
        for (let k = 0; k < Math.min(deaths, v.successors.length); k++) {
          const dead = v.successors[0]!
          v = Membership.withoutDead(v, dead)
          expect(ids(v.successors)).not.toContain(dead.id)
          expect(ids(v.fingers)).not.toContain(dead.id)
          expect(Option.getOrUndefined(v.predecessor)?.id).not.toBe(dead.id)
          expect(repairOf(v)).toEqual({ kind: "repair", start: firstDead.id, end: Membership.next(v).id })
          // The old range and the repair range together make the new range.
          expect(Interval.size(ownedBefore[0], ownedBefore[1]) + Interval.size(firstDead.id, Membership.next(v).id))
            .toBe(Interval.size(v.self.id, Membership.next(v).id))
          expect(Membership.owns(v, dead.id)).toBe(true)
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("Membership.replicaSet", () => {
  it("is the first min(replicas - 1, successors) successors, in order", () => {
    fc.assert(
      fc.property(ring, fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 20 }), (r, replicas, length) => {
        const v = ringView(r, length)
        const set = Membership.replicaSet(v, replicas)
        expect(set.length).toBe(Math.min(Math.max(0, replicas - 1), v.successors.length))
        expect(ids(set)).toEqual(ids(v.successors.slice(0, set.length)))
      }),
      { numRuns: NUM_RUNS }
    )
    assert.strictEqual(Membership.replicaSet(view(member(1n), []), 3).length, 0, "alone")
  })

  it("with virtual nodes, takes one successor per process and never this node's own process", () => {
    // Processes a, b, c; this node is a#1. Its successors: a (own process), b#2, b, a#3, c.
    const self = member(10n, "a:1#1")
    const successors = [member(20n, "a:1"), member(30n, "b:1#2"), member(40n, "b:1"), member(50n, "a:1#3"), member(60n, "c:1")]
    const v = view(self, successors)
    expect(Membership.replicaSet(v, 3).map((m) => m.address)).toEqual(["b:1#2", "c:1"])
    expect(Membership.replicaSet(v, 2).map((m) => m.address)).toEqual(["b:1#2"])
    // Only two other processes exist: a replica set of 5 has the two.
    expect(Membership.replicaSet(v, 5).map((m) => m.address)).toEqual(["b:1#2", "c:1"])
  })

  it("holds copies in distinct processes for any placement of virtual nodes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 5 }),
        (processes, replicas) => {
          const self = member(0n, "p0:1")
          const successors = processes.map((p, i) => member(BigInt(i + 1), `p${p}:1#${i + 1}`))
          const set = Membership.replicaSet(view(self, successors), replicas)
          const owners = set.map((m) => Membership.processOf(m))
          expect(new Set(owners).size).toBe(owners.length)
          expect(owners).not.toContain("p0:1")
          const others = new Set(processes.filter((p) => p !== 0)).size
          expect(set.length).toBe(Math.min(replicas - 1, others))
        }
      ),
      { numRuns: NUM_RUNS }
    )
  })
})

describe("Membership.holdsEverything", () => {
  it("is true exactly when the successor list wrapped and the ring has at most `replicas` nodes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 12 }), (size, replicas) => {
        // A settled view of a ring of `size` nodes: the list holds every other node, up to its length.
        const length = Membership.successorListLength(replicas)
        const r = Array.from({ length: size }, (_, i) => BigInt(i) * 1000n)
        const v = ringView(r, length)
        expect(v.successors.length).toBe(Math.min(size - 1, length))
        expect(Membership.holdsEverything(v, replicas)).toBe(size <= replicas)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("a full successor list never holds everything, whatever the replica count", () => {
    for (const replicas of [1, 3, 8, 9, 12]) {
      const length = Membership.successorListLength(replicas)
      const v = view(member(0n), Array.from({ length }, (_, i) => member(BigInt(i + 1) * 10n)))
      assert.isFalse(Membership.holdsEverything(v, replicas), `replicas ${replicas}`)
    }
    assert.isTrue(Membership.holdsEverything(view(member(0n), []), 1), "alone, one replica")
    assert.isTrue(Membership.holdsEverything(view(member(0n), [member(5n)]), 2))
    assert.isFalse(Membership.holdsEverything(view(member(0n), [member(5n)]), 1))
  })

  it("counts processes, not virtual nodes", () => {
    const self = member(0n, "a:1")
    const v = view(self, [member(5n, "b:1"), member(6n, "a:1#1"), member(7n, "b:1#1")])
    assert.isTrue(Membership.holdsEverything(v, 2, 24), "two processes, two copies")
    assert.isFalse(Membership.holdsEverything(v, 1, 24), "two processes, one copy")
  })
})

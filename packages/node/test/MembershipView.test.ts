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

  it("turns a hand-off from a giver that went silent into a repair of the same range, and leaves other hand-offs alone", () => {
    const handoff: Membership.Incoming = { kind: "handoff", from: d, start: self.id, end: a.id }
    const joining = view(self, [a, b, c], { predecessor: Option.some(d), incoming: Option.some(handoff) })
    const giverGone = Membership.withoutDead(joining, d)
    expect(repairOf(giverGone)).toEqual({ kind: "repair", start: self.id, end: a.id })
    assert.strictEqual(Option.getOrThrow(giverGone.incoming).from.id, a.id)
    const otherGone = Membership.withoutDead(joining, c)
    assert.strictEqual(otherGone.incoming, joining.incoming)
  })

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

/** Down entries for the given members, as the failure detector records them. */
const downOf = (...ms: ReadonlyArray<Membership.Member>): Map<Position.Position, Membership.Down> =>
  new Map(ms.map((m) => [m.id, { member: m, since: 0, nextProbe: 0, backoff: 1000 }]))

/** Whether the successor list runs strictly clockwise from self: sorted, without duplicates. */
const clockwise = (v: Membership.View) =>
  v.successors.every((m, i) =>
    i === 0 || Interval.distance(v.self.id, v.successors[i - 1]!.id) < Interval.distance(v.self.id, m.id)
  )

/** A repair under way lies in this node's range and runs up to the next node, from which it pulls. */
const checkRepair = (v: Membership.View) => {
  if (Option.isNone(v.incoming)) return
  const i = v.incoming.value
  expect(i.kind).toBe("repair")
  expect(i.end).toBe(Membership.next(v).id)
  expect(i.from.id).toBe(Membership.next(v).id)
  expect(Membership.owns(v, i.start)).toBe(true)
}

describe("Membership.memberCount", () => {
  const self = member(100n)

  it("counts a lone node, and the down members it still counts for quorums", () => {
    const alone = view(self, [])
    assert.strictEqual(Membership.memberCount(alone, new Map()), 1)
    const down = downOf(member(1n), member(2n), member(3n), member(4n), member(5n))
    assert.strictEqual(Membership.memberCount(alone, down), 6)
  })

  it("counts processes, not virtual nodes", () => {
    const v = view(member(100n, "a:1"), [member(200n, "a:1#1"), member(300n, "b:1"), member(400n, "a:1#2")], {
      fingers: [member(500n, "b:1#3")]
    })
    assert.strictEqual(Membership.memberCount(v, downOf(member(600n, "a:1#4"), member(700n, "b:1#5"))), 2)
    assert.strictEqual(Membership.memberCount(v, downOf(member(800n, "c:1#1"))), 3)
  })

  it("counts the predecessor, the fingers and the down members once each, even when they are also elsewhere", () => {
    const a = member(200n)
    const b = member(300n)
    const p = member(50n)
    const f = member(900n)
    // A predecessor and a finger outside the successor list count too.
    const wide = view(self, [a], { predecessor: Option.some(p), fingers: [f] })
    assert.strictEqual(Membership.memberCount(wide, new Map()), 4)
    // A down member also still in the view (or in it twice) counts once.
    const v = view(self, [a, b], { fingers: [a, b] })
    assert.strictEqual(Membership.memberCount(v, downOf(a)), 3)
    assert.strictEqual(Membership.memberCount(v, downOf(member(a.id, a.address), p)), 4)
  })
})

describe("Membership.withReturned", () => {
  const self = member(100n)
  const a = member(200n)
  const b = member(300n)
  const c = member(400n)
  const d = member(500n)
  const L = Membership.SUCCESSOR_LIST_LENGTH

  it("taking back any member dropped from a settled view restores its successor list and predecessor", () => {
    fc.assert(
      fc.property(ring, fc.integer({ min: 0, max: 4 }), fc.nat(), (r, slack, pick) => {
        // The list holds the whole ring.
        const length = r.length - 1 + slack
        const before = ringView(r, length)
        const m = before.successors[pick % before.successors.length]!
        const after = Membership.withReturned(Membership.withoutDead(before, m), m, length)
        expect(ids(after.successors)).toEqual(ids(before.successors))
        assert.strictEqual(Option.getOrThrow(after.predecessor).id, Option.getOrThrow(before.predecessor).id)
        // The repair of the range it left is cut away; a predecessor coming back may have
        // served this node's range meanwhile, so the range is marked for repair.
        const wasPredecessor = m.id === Option.getOrThrow(before.predecessor).id
        if (wasPredecessor) {
          expect(repairOf(after)).toEqual({ kind: "repair", start: before.self.id, end: Membership.next(before).id })
        } else {
          assert.isTrue(Option.isNone(after.incoming))
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("also when the ring does not fit the successor list, as long as a death leaves a successor", () => {
    // With a list of one, the death of the only successor empties it, and `withoutDead` then
    // takes the node for alone and drops its (live) predecessor too.
    fc.assert(
      fc.property(ring, fc.integer({ min: 2, max: 19 }), fc.nat(), (r, length, pick) => {
        const before = ringView(r, length)
        const others = r.slice(1).map((id) => member(id))
        const m = others[pick % others.length]!
        const after = Membership.withReturned(Membership.withoutDead(before, m), m, length)
        expect(ids(after.successors)).toEqual(ids(before.successors))
        assert.strictEqual(Option.getOrThrow(after.predecessor).id, Option.getOrThrow(before.predecessor).id)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("over any sequence of deaths and returns, keeps the successor list clockwise, short and free of self", () => {
    const step = fc.record({ returns: fc.boolean(), pick: fc.nat() })
    fc.assert(
      fc.property(
        ring,
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.nat({ max: 19 })),
        fc.array(step, { maxLength: 40 }),
        (r, length, fingers, steps) => {
          let v = ringView(r, length, fingers)
          for (const { pick, returns } of steps) {
            const before = v
            if (!returns) {
              v = Membership.withoutDead(v, member(r[1 + (pick % (r.length - 1))]!))
              checkRepair(v)
              continue
            }
            // Any node of the ring, self included, and perhaps one this node never knew.
            const m = member(r[pick % r.length]!, `returned-${pick}:1`)
            v = Membership.withReturned(before, m, length)
            if (m.id === before.self.id) {
              assert.strictEqual(v, before, "self is never added")
              continue
            }
            assert.isTrue(clockwise(v), "clockwise from self")
            expect(new Set(ids(v.successors)).size).toBe(v.successors.length)
            expect(ids(v.successors)).not.toContain(v.self.id)
            expect(v.successors.length).toBeLessThanOrEqual(length)
            // It is in the list unless `length` nodes sit closer; no other successor is lost
            // unless the list is full and it sits beyond the last.
            const dm = Interval.distance(v.self.id, m.id)
            const closer = before.successors.filter((s) => s.id !== m.id && Interval.distance(v.self.id, s.id) < dm)
            expect(ids(v.successors).includes(m.id)).toBe(closer.length < length)
            const last = v.successors.at(-1)!
            for (const s of before.successors) {
              if (s.id === m.id) continue
              const beyond = v.successors.length === length &&
                Interval.distance(v.self.id, s.id) > Interval.distance(v.self.id, last.id)
              expect(ids(v.successors).includes(s.id)).toBe(!beyond)
            }
            // It becomes the predecessor exactly when it sits closer than the current one.
            const closerPredecessor = Option.match(before.predecessor, {
              onNone: () => true,
              onSome: (p) => Interval.distance(m.id, v.self.id) < Interval.distance(p.id, v.self.id)
            })
            expect(Option.getOrUndefined(v.predecessor)?.id).toBe(
              closerPredecessor ? m.id : Option.getOrUndefined(before.predecessor)?.id
            )
            expect(ids(v.fingers)).toEqual(ids(before.fingers))
            checkRepair(v)
            // Neither the next node nor the predecessor changed: neither does what is incoming.
            if (!closerPredecessor && Membership.next(v).id === Membership.next(before).id) {
              expect(v.incoming).toEqual(before.incoming)
            }
          }
        }
      ),
      { numRuns: NUM_RUNS }
    )
  })

  it("leaves a view that is not ready unchanged, and never adds self", () => {
    fc.assert(
      fc.property(
        ring,
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom("joining" as const, "leaving" as const),
        fc.nat(),
        (r, length, phase, pick) => {
          const settled = ringView(r, length)
          const v = { ...Membership.withoutDead(settled, settled.successors[0]!), phase }
          const m = member(r[pick % r.length]!)
          assert.strictEqual(Membership.withReturned(v, m, length), v)
          // Self, even under another address, is never added to a ready view.
          const ready = { ...v, phase: "ready" as const }
          assert.strictEqual(Membership.withReturned(ready, member(ready.self.id, "other:1"), length), ready)
        }
      ),
      { numRuns: NUM_RUNS }
    )
    const alone = view(self, [])
    assert.strictEqual(Membership.withReturned(alone, self, L), alone)
  })

  it("an isolated node taking back one member gets it as successor and predecessor, and repairs its range", () => {
    for (const m of [a, member(50n), member(MAX)]) {
      const after = Membership.withReturned(view(self, []), m, L)
      expect(ids(after.successors)).toEqual([m.id])
      assert.strictEqual(Option.getOrThrow(after.predecessor).id, m.id)
      expect(repairOf(after)).toEqual({ kind: "repair", start: self.id, end: m.id })
      assert.strictEqual(Option.getOrThrow(after.incoming).from.id, m.id)
      assert.isTrue(Membership.owns(after, self.id))
      assert.isFalse(Membership.owns(after, m.id))
    }
  })

  it("a member coming back as the next node cuts a repair under way to end at it, or drops it", () => {
    // self, a, b, c: a then b die; the repair covers [a, c).
    const once = Membership.withoutDead(view(self, [a, b, c]), a)
    const twice = Membership.withoutDead(once, b)
    expect(repairOf(twice)).toEqual({ kind: "repair", start: a.id, end: c.id })
    // b comes back: the repair ends at it again.
    const bBack = Membership.withReturned(twice, b, L)
    expect(ids(bBack.successors)).toEqual([b.id, c.id])
    expect(repairOf(bBack)).toEqual({ kind: "repair", start: a.id, end: b.id })
    assert.strictEqual(Option.getOrThrow(bBack.incoming).from.id, b.id)
    assert.strictEqual(Option.getOrThrow(bBack.predecessor).id, c.id)
    // a comes back: the repair started at it, so nothing is left to repair.
    const aBack = Membership.withReturned(bBack, a, L)
    expect(ids(aBack.successors)).toEqual([a.id, b.id, c.id])
    assert.isTrue(Option.isNone(aBack.incoming))
    // Straight from [a, c): a coming back first drops the whole repair.
    assert.isTrue(Option.isNone(Membership.withReturned(twice, a, L).incoming))
    // A member between self and a comes back: the repair started beyond it and is dropped.
    assert.isTrue(Option.isNone(Membership.withReturned(twice, member(150n), L).incoming))
    // A member between a and b: the repair is cut to [a, it).
    const x = member(250n)
    expect(repairOf(Membership.withReturned(twice, x, L))).toEqual({ kind: "repair", start: a.id, end: x.id })
    // A repair that already ends before the new next node keeps its end.
    const early: Membership.Incoming = { kind: "repair", from: c, start: member(120n).id, end: member(150n).id }
    const short = view(self, [c], { incoming: Option.some(early) })
    expect(repairOf(Membership.withReturned(short, a, L))).toEqual({ kind: "repair", start: 120n, end: 150n })
  })

  it("a repair of the whole ring but its own range becomes [self, next) when the node is no longer alone", () => {
    // self, a: a dies, the repair covers [a, self); then b, beyond a, comes back.
    const alone = Membership.withoutDead(view(self, [a]), a)
    expect(repairOf(alone)).toEqual({ kind: "repair", start: a.id, end: self.id })
    const bBack = Membership.withReturned(alone, b, L)
    expect(ids(bBack.successors)).toEqual([b.id])
    assert.strictEqual(Option.getOrThrow(bBack.predecessor).id, b.id)
    // b becomes the predecessor too: it may have served all of [self, b) meanwhile.
    expect(repairOf(bBack)).toEqual({ kind: "repair", start: self.id, end: b.id })
    // a itself comes back: the repair is dropped, and [self, a) is repaired from its new predecessor.
    const aBack = Membership.withReturned(alone, a, L)
    expect(repairOf(aBack)).toEqual({ kind: "repair", start: self.id, end: a.id })
    // Across the seam: self at MAX - 1, a at MAX dies, b at 5 comes back.
    const s = member(MAX - 1n)
    const seam = Membership.withoutDead(view(s, [member(MAX)]), member(MAX))
    expect(repairOf(Membership.withReturned(seam, member(5n), L))).toEqual({ kind: "repair", start: MAX - 1n, end: 5n })
  })

  it("over any ring, next nodes dying then coming back in any order keep the repair at [first dead, next node)", () => {
    fc.assert(
      fc.property(ring, fc.integer({ min: 1, max: 19 }), fc.array(fc.nat()), (r, deaths, order) => {
        const initial = ringView(r, L)
        // The predecessor and one successor stay alive.
        const k = Math.min(deaths, initial.successors.length - 1)
        let v = initial
        const dead = initial.successors.slice(0, k)
        for (const m of dead) v = Membership.withoutDead(v, m)
        const pending = [...dead]
        for (let i = 0; pending.length > 0; i++) {
          const m = pending.splice((order[i] ?? 0) % pending.length, 1)[0]!
          v = Membership.withReturned(v, m, L)
          if (pending.includes(dead[0]!)) {
            expect(repairOf(v)).toEqual({ kind: "repair", start: dead[0]!.id, end: Membership.next(v).id })
          } else {
            assert.isTrue(Option.isNone(v.incoming))
          }
        }
        expect(ids(v.successors)).toEqual(ids(initial.successors))
        expect(Option.getOrUndefined(v.predecessor)?.id).toBe(Option.getOrUndefined(initial.predecessor)?.id)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("never changes a hand-off under way", () => {
    // self joined between d and a; it takes [self, a) from d.
    const handoff: Membership.Incoming = { kind: "handoff", from: d, start: self.id, end: a.id }
    const v = view(self, [a, b, c, d], { incoming: Option.some(handoff) })
    // A member coming back as the next node, or as the predecessor.
    for (const m of [member(150n), member(600n), member(50n)]) {
      const after = Membership.withReturned(v, m, L)
      assert.strictEqual(Option.getOrThrow(after.incoming), handoff)
    }
    assert.strictEqual(Option.getOrThrow(Membership.withReturned(v, member(50n), L).predecessor).id, 50n)
    fc.assert(
      fc.property(ring, fc.integer({ min: 1, max: 12 }), fc.nat(), (r, length, pick) => {
        const settled = ringView(r, length)
        const h: Membership.Incoming = {
          kind: "handoff",
          from: settled.successors[0]!,
          start: settled.self.id,
          end: Membership.next(settled).id
        }
        const before = { ...settled, incoming: Option.some(h) }
        const after = Membership.withReturned(before, member(r[pick % r.length]!, "x:1"), length)
        assert.strictEqual(Option.getOrThrow(after.incoming), h)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  it("a member coming back later in the successor list changes neither the range nor what is incoming", () => {
    const x = member(250n)
    const before = view(self, [a, b, c, d])
    const after = Membership.withReturned(before, x, L)
    expect(ids(after.successors)).toEqual([a.id, x.id, b.id, c.id, d.id])
    assert.strictEqual(Option.getOrThrow(after.predecessor).id, d.id)
    assert.strictEqual(Membership.next(after).id, a.id)
    assert.isTrue(Option.isNone(after.incoming))
    // Nor a repair under way.
    const repair: Membership.Incoming = { kind: "repair", from: a, start: member(150n).id, end: a.id }
    const repairing = Membership.withReturned(view(self, [a, b, c, d], { incoming: Option.some(repair) }), x, L)
    expect(Option.getOrThrow(repairing.incoming)).toEqual(repair)
    // Beyond a full list, it is not taken at all.
    const full = view(self, [a, b, c], { predecessor: Option.some(d) })
    const beyond = Membership.withReturned(full, member(450n), 3)
    expect(ids(beyond.successors)).toEqual([a.id, b.id, c.id])
    assert.isTrue(Option.isNone(beyond.incoming))
  })
})

describe("Membership.forget and recentlyGone", () => {
  const self = member(100n)
  const a = member(200n)
  const b = member(300n)
  const service = () => ({
    self,
    down: downOf(a, b),
    gone: new Map<Position.Position, { readonly member: Membership.Member; readonly at: number }>()
  })

  it("forgetting a member takes it out of down and records it as gone once, with its first time", () => {
    const s = service()
    Membership.forget(s, a, 1000)
    expect([...s.down.keys()]).toEqual([b.id])
    expect(s.gone.get(a.id)).toEqual({ member: a, at: 1000 })
    Membership.forget(s, a, 5000)
    expect(s.gone.get(a.id)).toEqual({ member: a, at: 1000 })
    expect(s.gone.size).toBe(1)
    // A member that was not down is recorded as gone too.
    const c = member(400n)
    Membership.forget(s, c, 2000)
    expect(s.gone.get(c.id)).toEqual({ member: c, at: 2000 })
    expect([...s.down.keys()]).toEqual([b.id])
  })

  it("never records self", () => {
    const s = service()
    Membership.forget(s, member(self.id, "other:1"), 1000)
    expect(s.gone.size).toBe(0)
    expect(s.down.size).toBe(2)
  })

  it("tells of the members gone within GONE_TTL_MS only", () => {
    const s = service()
    const c = member(400n)
    Membership.forget(s, a, 1000)
    Membership.forget(s, b, 2000)
    Membership.forget(s, c, 3000)
    const TTL = Membership.GONE_TTL_MS
    const gone = (now: number) => ids(Membership.recentlyGone(s, now))
    expect(gone(3000)).toEqual([a.id, b.id, c.id])
    expect(gone(1000 + TTL)).toEqual([a.id, b.id, c.id])
    expect(gone(1000 + TTL + 1)).toEqual([b.id, c.id])
    expect(gone(2000 + TTL + 1)).toEqual([c.id])
    expect(gone(3000 + TTL + 1)).toEqual([])
    expect(Membership.recentlyGone(service(), 0)).toEqual([])
  })
})

/**
 * The finger table (Chord's fix_fingers): `finger[i] = owner(self + 2^i)` for i in 0..63, found
 * through normal routing and refreshed periodically. Fingers are only shortcuts: routing stays
 * correct with a stale or empty table, it just takes more hops (O(N) instead of O(log N)).
 */
import { Interval, Position } from "@crustyring/ring"
import { Duration, Effect } from "effect"
import * as Membership from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { Router } from "./Router.ts"

/** Number of fingers: one per bit of a ring position. */
export const FINGER_COUNT = 64

/** Where finger `i` of node `id` points: `id + 2^i`, wrapping. */
export const start = (id: Position.Position, i: number): Position.Position => Position.wrap(id + (1n << BigInt(i)))

/**
 * The table being kept: the owner found for each finger (undefined where this node owns the
 * start, or nothing is known yet) and the next finger to look up.
 */
export interface Table {
  readonly owners: Array<Membership.Member | undefined>
  cursor: number
  /** Whether the whole table has been filled once since this node became ready. */
  filled: boolean
}

/** An empty table. */
export const makeTable = (): Table => ({ owners: new Array(FINGER_COUNT).fill(undefined), cursor: 0, filled: false })

/** Most lookups in one round after the first: a whole pass in rings up to about 16 nodes. */
export const LOOKUPS_PER_ROUND = 4

/**
 * One round of fix_fingers. Consecutive fingers often share an owner: one lookup answers every
 * start inside the owner's range, so a whole pass of the table is about log2 N lookups. The
 * first round after the node is ready makes a whole pass; every later round goes on from where
 * the last stopped for at most `LOOKUPS_PER_ROUND` lookups, as Chord's fix_fingers does one
 * finger at a time. A small ring is refreshed whole every round, and a ring of a thousand
 * nodes costs four lookups a round, not ten, with the table fresh within three rounds.
 */
export const refresh = Effect.fn("Fingers.refresh")(function*(table: Table = makeTable()) {
  const membership = yield* Membership.Membership
  const router = yield* Router
  const view = yield* membership.view
  if (view.phase !== "ready" || Membership.next(view).id === view.self.id) {
    table.filled = false
    return
  }
  const next = Membership.next(view)
  // Fingers dropped from the view since (found dead) are dropped from the table too.
  const kept = new Set(view.fingers.map((m) => m.id))
  for (let k = 0; k < FINGER_COUNT; k++) if (table.owners[k] && !kept.has(table.owners[k]!.id)) table.owners[k] = undefined
  let lookups = table.filled ? LOOKUPS_PER_ROUND : FINGER_COUNT
  let i = table.filled ? table.cursor : 0
  let scanned = 0
  while (scanned < FINGER_COUNT && lookups > 0) {
    const target = start(view.self.id, i)
    if (Interval.inHalfOpen(target, view.self.id, next.id)) {
      // This node owns the start: no lookup.
      table.owners[i] = undefined
      i = (i + 1) % FINGER_COUNT
      scanned++
      continue
    }
    lookups--
    const result = yield* Effect.result(router.findOwner(target, 0))
    if (result._tag === "Failure") {
      i = (i + 1) % FINGER_COUNT
      scanned++
      continue
    }
    const { owner, successor } = result.success
    // Every start from here on inside the owner's range has the same owner.
    do {
      table.owners[i] = owner.id === view.self.id ? undefined : owner
      i = (i + 1) % FINGER_COUNT
      scanned++
    } while (scanned < FINGER_COUNT && Interval.inHalfOpen(start(view.self.id, i), owner.id, successor.id))
  }
  table.cursor = i
  table.filled = true
  const found = new Map<bigint, Membership.Member>()
  for (const m of table.owners) if (m) found.set(m.id, m)
  const fingers = [...found.values()]
  const before = (yield* membership.view).fingers
  const changed = fingers.length !== before.length || fingers.some((m, k) => m.id !== before[k]!.id)
  // An unchanged table leaves the view as it is, so nothing watching it wakes.
  if (changed) yield* membership.update((v) => ({ ...v, fingers }))
  return changed
})

/** How far the period stretches while rounds find nothing new: up to 16 times `fixFingersInterval`. */
const MAX_STRETCH = 4

/**
 * Keeps the table fresh while the scope lives; does nothing if fingers are off. A round runs
 * every `fixFingersInterval` while rounds find changes; each round that finds none doubles the
 * period, up to 16 times, and a change brings it back. A stable ring then costs a few lookups
 * a quarter-minute instead of four a second; stale fingers only cost hops.
 */
export const run = Effect.gen(function*() {
  const config = yield* NodeConfig
  if (!config.fingers) return
  const table = makeTable()
  let stretch = 0
  for (;;) {
    const changed = yield* Effect.suspend(() => refresh(table)).pipe(
      Effect.map((c) => c !== false),
      Effect.catchCause((cause) => Effect.as(Effect.logError("finger refresh failed", cause), true))
    )
    stretch = changed ? 0 : Math.min(stretch + 1, MAX_STRETCH)
    yield* Effect.sleep(Duration.times(config.fixFingersInterval, 2 ** stretch))
  }
})

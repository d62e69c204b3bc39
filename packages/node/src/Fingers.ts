/**
 * The finger table (Chord's fix_fingers): `finger[i] = owner(self + 2^i)` for i in 0..63, found
 * through normal routing and refreshed periodically. Fingers are only shortcuts: routing stays
 * correct with a stale or empty table, it just takes more hops (O(N) instead of O(log N)).
 */
import { Interval, Position } from "@crustyring/ring"
import { Effect, Schedule } from "effect"
import * as Membership from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { Router } from "./Router.ts"

/** Number of fingers: one per bit of a ring position. */
export const FINGER_COUNT = 64

/** Where finger `i` of node `id` points: `id + 2^i`, wrapping. */
export const start = (id: Position.Position, i: number): Position.Position => Position.wrap(id + (1n << BigInt(i)))

/**
 * Recomputes the whole table. Consecutive fingers often share an owner; one lookup answers every
 * start inside the owner's range, so a round costs about log2 N lookups, not 64.
 */
export const refresh = Effect.fn("Fingers.refresh")(function*() {
  const membership = yield* Membership.Membership
  const router = yield* Router
  const view = yield* membership.view
  if (view.phase !== "ready" || Membership.next(view).id === view.self.id) return
  const found = new Map<bigint, Membership.Member>()
  let last: { owner: Membership.Member; end: Position.Position } | undefined
  for (let i = 0; i < FINGER_COUNT; i++) {
    const target = start(view.self.id, i)
    if (last && Interval.inHalfOpen(target, last.owner.id, last.end)) continue
    const result = yield* Effect.result(router.findOwner(target, 0))
    if (result._tag === "Failure") continue
    last = { owner: result.success.owner, end: result.success.successor.id }
    if (result.success.owner.id !== view.self.id) found.set(result.success.owner.id, result.success.owner)
  }
  const fingers = [...found.values()]
  yield* membership.update((v) => ({ ...v, fingers }))
})

/** Refreshes the table every `fixFingersInterval` while the scope lives; does nothing if fingers are off. */
export const run = Effect.gen(function*() {
  const config = yield* NodeConfig
  if (!config.fingers) return
  yield* Effect.suspend(() => refresh()).pipe(
    Effect.catchCause((cause) => Effect.logError("finger refresh failed", cause)),
    Effect.repeat(Schedule.spaced(config.fixFingersInterval))
  )
})

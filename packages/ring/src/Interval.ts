/**
 * Clockwise arithmetic on the ring: distances and wrapping intervals. Every interval wraps at
 * 2^64, and an interval whose ends are equal covers the whole ring.
 */
import { type Position, RING_SIZE } from "./Position.ts"

/** Clockwise distance from `from` to `to`, in [0, 2^64). */
export const distance = (from: Position, to: Position): bigint => {
  const d = to - from
  return d < 0n ? d + RING_SIZE : d
}

/** Whether `x` lies in `[start, end)`, clockwise. `start === end` is the whole ring. */
export const inHalfOpen = (x: Position, start: Position, end: Position): boolean =>
  start === end || distance(start, x) < distance(start, end)

/** Whether `x` lies in `(start, end)`, clockwise. `start === end` is every position but `start`. */
export const inOpen = (x: Position, start: Position, end: Position): boolean =>
  x !== start && (start === end || distance(start, x) < distance(start, end))

/** Number of positions in `[start, end)`. `start === end` is the whole ring, 2^64. */
export const size = (start: Position, end: Position): bigint =>
  start === end ? RING_SIZE : distance(start, end)

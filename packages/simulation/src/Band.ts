/**
 * The fast band: the seeds `.ci/run` runs on every change (`npm run sim:band`), and whose first
 * seeds `npm test` runs. Seeds 1001 and up, on 8, 16, 24 or 32 nodes by seed, with every kind
 * of fault and nine simulated seconds of faults and load each.
 */
import * as Faults from "./Faults.ts"

/** Seeds in the whole band. */
export const SIZE = 200

/** Simulated minutes of faults and load per seed. */
export const MINUTES = 0.15

/** The first `count` seeds of the band. */
export const seeds = (count: number = SIZE): ReadonlyArray<number> => Array.from({ length: count }, (_, i) => 1001 + i)

/** The nodes of a seed's ring: 8, 16, 24 or 32. */
export const nodesOf = (seed: number): number => 8 + (seed % 4) * 8

/** The options every seed of the band shares. */
export const options = { kinds: Faults.KINDS, minutes: MINUTES } as const

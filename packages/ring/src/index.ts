/**
 * Ring math for Crusty Ring: positions, intervals and ownership. Pure code with no I/O.
 */
export * as Interval from "./Interval.ts"
export * as Ownership from "./Ownership.ts"
export * as Position from "./Position.ts"
export * as Ring from "./Ring.ts"

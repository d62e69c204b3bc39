/**
 * The deterministic simulator of Crusty Ring: real nodes, many of them, on an in-memory network
 * under a simulated clock, with seeded fault schedules and invariant checks.
 */
export * as Band from "./Band.ts"
export * as Faults from "./Faults.ts"
export * as Simulation from "./Simulation.ts"
export * as Runner from "./Runner.ts"
export * as SimClock from "./SimClock.ts"

/**
 * Test helpers for Crusty Ring users: `TestCluster` starts a real local cluster in-process.
 */
export * as TestCluster from "./TestCluster.ts"
export * as MemoryCluster from "./MemoryCluster.ts"

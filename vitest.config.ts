import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"
import { SOURCE_CONDITION } from "./vitest.shared.ts"

// Processes the tests spawn (nodes, CLIs, simulator runs) run the sources too.
const conditions = `--conditions=${SOURCE_CONDITION}`
if (!(process.env.NODE_OPTIONS ?? "").includes(conditions)) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} ${conditions}`.trim()
}

export default defineConfig({
  test: {
    projects: ["packages/*"],
    // At least two test files at once. Vitest's default on two cores is one, but most files
    // spend their time waiting on the processes and servers they start: two at once took the
    // suite from 809 s to 636 s on a 2-core machine, with the same results.
    maxWorkers: Math.max(2, availableParallelism() - 1)
  }
})

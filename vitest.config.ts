import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"
import { SOURCE_CONDITION } from "./vitest.shared.ts"

// Processes the tests spawn (nodes, CLIs, simulator runs) run the sources too.
const conditions = `--conditions=${SOURCE_CONDITION}`
if (!(process.env.NODE_OPTIONS ?? "").includes(conditions)) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} ${conditions}`.trim()
}

// At least two test files at once. Vitest's default on two cores is one, but most files spend
// their time waiting on the processes and servers they start: two at once took the suite from
// 809 s to 636 s on a 2-core machine, with the same results. Set through the environment
// because vitest 5 does not apply a root `maxWorkers` to a run of projects (the variable, like
// --maxWorkers, still wins when given).
process.env.VITEST_MAX_WORKERS ??= String(Math.max(2, availableParallelism() - 1))

export default defineConfig({
  test: {
    projects: ["packages/*"]
  }
})

import { defineConfig } from "vitest/config"
import { SOURCE_CONDITION } from "./vitest.shared.ts"

// Processes the tests spawn (nodes, CLIs, simulator runs) run the sources too.
const conditions = `--conditions=${SOURCE_CONDITION}`
if (!(process.env.NODE_OPTIONS ?? "").includes(conditions)) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} ${conditions}`.trim()
}

export default defineConfig({
  test: {
    projects: ["packages/*"]
  }
})

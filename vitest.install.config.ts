import { defineConfig } from "vitest/config"
import { sourceResolution } from "./vitest.shared.ts"

/**
 * `npm run test:install`: packs the packages and installs them into a fresh project outside
 * the repository (packages/cli/test/packages.install.ts). Apart from `npm test`, because it
 * installs from the npm registry; CI runs both.
 */
export default defineConfig({
  ...sourceResolution,
  test: {
    include: ["packages/cli/test/packages.install.ts"],
    testTimeout: 600_000,
    hookTimeout: 60_000
  }
})

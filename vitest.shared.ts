/**
 * What every package's test project shares: inside the repository the `@crustyring/*`
 * packages resolve to their TypeScript sources through the `@crustyring/source` export
 * condition, so tests need no build. Child processes that tests spawn get the same condition
 * through NODE_OPTIONS (set in vitest.config.ts).
 */
import { defaultClientConditions, defaultServerConditions } from "vite"

export const SOURCE_CONDITION = "@crustyring/source"

export const sourceResolution = {
  resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions] } }
}

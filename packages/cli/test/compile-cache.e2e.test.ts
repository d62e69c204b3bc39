/**
 * The binaries turn on Node's compile cache, in the OS temp directory, so that runs after the
 * first start sooner; `NODE_DISABLE_COMPILE_CACHE=1` turns it off. Checked on real processes of
 * `bin/dht-client.js`, each with a temp directory of its own (`TMPDIR`).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { runCommand } from "./processes.ts"

/** The installed entry point, which turns the cache on (the other tests run `src/bin/` directly). */
const BIN = fileURLToPath(new URL("../bin/dht-client.js", import.meta.url))

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "crusty-cache-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The files of Node's default compile cache under `dir`, after `dht-client --version` ran with it as TMPDIR. */
const cachedFiles = (env: Record<string, string>) =>
  Effect.gen(function*() {
    const dir = yield* tempDir
    const r = yield* runCommand(process.execPath, [BIN, "--version"], { timeout: "30 seconds", env: { TMPDIR: dir, ...env }, label: "dht-client --version" })
    expect(r.code, r.stderr).toBe(0)
    const cache = path.join(dir, "node-compile-cache")
    return fs.existsSync(cache) ? fs.readdirSync(cache, { recursive: true }).length : 0
  })

describe("the compile cache", () => {
  it.live("a binary fills it in the temp directory, unless NODE_DISABLE_COMPILE_CACHE=1", () =>
    Effect.gen(function*() {
      // Set, it would turn the cache on by itself, whatever the binaries do.
      expect(process.env.NODE_COMPILE_CACHE, "NODE_COMPILE_CACHE is set for this test run").toBeUndefined()
      expect(yield* cachedFiles({})).toBeGreaterThan(0)
      expect(yield* cachedFiles({ NODE_DISABLE_COMPILE_CACHE: "1" })).toBe(0)
    }), { timeout: 60_000 })
})

/** Certificates made by `dht-certs` in temp directories, and TLS processes, for the TLS tests. */
import { expect } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runBin, spawnBin, STACK_TRACE } from "./processes.ts"

/** A temp directory, removed with the scope. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "crusty-tls-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** Runs `dht-certs` and expects it to succeed. */
export const certs = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const r = yield* runBin("dht-certs", args, { timeout: "30 seconds" })
    expect(r.code, `dht-certs ${args.join(" ")}:\n${r.stderr}`).toBe(0)
    return r
  })

/** A certificates directory with a CA, a node certificate for 127.0.0.1 and a client `alice`. */
export const clusterCerts = Effect.gen(function*() {
  const dir = yield* tempDir
  yield* certs(["create-ca", dir])
  yield* certs(["create-node", dir, "127.0.0.1", "localhost"])
  yield* certs(["create-client", dir, "alice"])
  return dir
})

/** Starts a TLS node with the node certificate in `dir`; resolves once stderr matches `expect` (capturing the address). */
export const startTlsNode = (dir: string, args: ReadonlyArray<string>, expect: RegExp, label: string) =>
  Effect.gen(function*() {
    const proc = yield* spawnBin("dht", ["--host", "127.0.0.1", "--port", "0", "--certs-dir", dir, ...args], { label })
    const [, address] = yield* proc.waitForStderr(expect, "20 seconds")
    return { proc, address: address! }
  })

/** Runs `dht-client` over TLS as `user` (null: no certificate). */
export const client = (dir: string, node: string, words: ReadonlyArray<string>, user: string | null = "alice") =>
  runBin("dht-client", ["--node", node, "--certs-dir", dir, ...(user ? ["--user", user] : []), "--timeout", "8000", ...words], {
    timeout: "30 seconds"
  })


/** Expects a run that failed with exit 1 and exactly one `error:` line matching `pattern`, and no stack trace. */
export const refused = (r: { readonly code: number | null; readonly stderr: string }, pattern: RegExp) => {
  expect(r.code, r.stderr).toBe(1)
  expect(r.stderr).not.toMatch(STACK_TRACE)
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: "))
  expect(errors, r.stderr).toHaveLength(1)
  expect(errors[0]).toMatch(pattern)
}

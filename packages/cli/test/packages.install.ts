/**
 * The packages as a user gets them: `npm pack` every workspace, install only those tarballs
 * (and the public registry's packages) into a fresh project outside the repository, and use
 * them there. Run with `npm run test:install`.
 *
 * - `npx dht --version`, `npx dht-registry`, `npx dht`, `npx dht-client` from @crustyring/cli: a
 *   registry and two nodes (one with `--data-dir`, so LMDB loads, and `--http-port`, whose
 *   dashboard serves every asset from the install) form a ring, and dht-client writes and
 *   reads it;
 * - plain JavaScript (ESM) imports `PromiseClient` and reads and writes the same ring;
 * - TypeScript imports `DhtClient`, type-checks (`tsc`, against the shipped declarations) and
 *   runs;
 * - the project's own vitest test imports `TestCluster` from @crustyring/testing.
 *
 * The project's processes run with no NODE_OPTIONS, so nothing can reach the sources: the
 * `@crustyring/source` condition the repository sets would point into files the tarballs do
 * not ship.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect } from "effect"
import * as Packages from "../../../scripts/Packages.ts"
import { REGISTRY_LISTENING, STARTED_RING, JOINED } from "./cluster.ts"
import { freePorts, tempDir } from "./durable.ts"
import { type RunResult, runCommand, spawnCommand } from "./processes.ts"

/** The Node that runs this test (24 here) comes first on the project's PATH, as a user's would. */
const env = {
  PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}`,
  NODE_OPTIONS: "",
  // npm passes its own config on to the commands it runs; this one would set NODE_OPTIONS again.
  npm_config_node_options: "",
  npm_config_update_notifier: "false"
}

const root = JSON.parse(readFileSync(path.join(Packages.ROOT, "package.json"), "utf8")) as {
  readonly dependencies: Record<string, string>
  readonly devDependencies: Record<string, string>
}

/** A command's output for an assertion message. */
const shown = (r: RunResult) => `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`

const ESM_CLIENT = `import { PromiseClient } from "@crustyring/client"

const client = await PromiseClient.connect({ registry: process.argv[2] })
try {
  await client.set("from-esm", "written by plain JavaScript")
  const value = new TextDecoder().decode(await client.get("greeting"))
  const ring = await client.ring()
  console.log(JSON.stringify({ value, nodes: ring.length }))
} finally {
  await client.close()
}
`

const TS_CLIENT = `import { DhtClient } from "@crustyring/client"
import { Effect, Option } from "effect"

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

const program = Effect.gen(function*() {
  const client = yield* DhtClient.DhtClient
  const fromEsm: Uint8Array = yield* client.get("from-esm")
  const previous: Option.Option<Uint8Array> = yield* client.set("from-ts", "written by TypeScript")
  const missing = yield* client.get("never-written").pipe(
    Effect.map(() => false),
    Effect.catchTag("KeyNotFound", () => Effect.succeed(true))
  )
  console.log(JSON.stringify({ fromEsm: text(fromEsm), hadPrevious: Option.isSome(previous), missing }))
}).pipe(Effect.provide(DhtClient.layerRegistry(process.argv[2]!, { timeout: "2 seconds" })))

await Effect.runPromise(program)
`

const TS_CONFIG = {
  compilerOptions: {
    target: "ES2023",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    types: ["node"],
    skipLibCheck: true
  },
  include: ["client.ts", "test"]
}

const VITEST_TEST = `import { describe, expect, it } from "@effect/vitest"
import { TestCluster } from "@crustyring/testing"
import { type Duration, Effect } from "effect"

describe("a user's own test", () => {
  it.live("stores and reads through a 3-node TestCluster", () =>
    Effect.gen(function*() {
      const cluster = yield* TestCluster.make({ nodes: 3 })
      const client = yield* cluster.client()
      yield* client.set("k", "v")
      expect(new TextDecoder().decode(yield* client.get("k"))).toBe("v")
      expect((yield* cluster.running).length).toBe(3)
    }), 60_000)
})
`

describe("the packed packages, installed outside the repository", () => {
  it.live("serve a ring from npx, and the library from JavaScript, TypeScript and vitest", () =>
    Effect.gen(function*() {
      const work = yield* tempDir("install")
      const tarballs = path.join(work, "tarballs")
      const project = path.join(work, "app")
      mkdirSync(tarballs)
      mkdirSync(path.join(project, "test"), { recursive: true })

      Packages.build()
      const packed = Packages.pack(tarballs)
      expect(packed.map((p) => p.name).sort()).toEqual(Packages.root().workspaces.map((dir) => Packages.manifest(dir).name).sort())

      writeFileSync(
        path.join(project, "package.json"),
        JSON.stringify(
          {
            name: "crusty-install-test",
            private: true,
            type: "module",
            dependencies: {
              ...Object.fromEntries(packed.map((p) => [p.name, `file:${path.join(tarballs, p.filename)}`])),
              effect: root.dependencies["effect"]
            },
            devDependencies: {
              "@effect/vitest": root.devDependencies["@effect/vitest"],
              "@types/node": root.devDependencies["@types/node"],
              vitest: root.devDependencies["vitest"]
            }
          },
          null,
          2
        )
      )
      writeFileSync(path.join(project, "client.mjs"), ESM_CLIENT)
      writeFileSync(path.join(project, "client.ts"), TS_CLIENT)
      writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify(TS_CONFIG, null, 2))
      writeFileSync(path.join(project, "test", "ring.test.ts"), VITEST_TEST)

      const inProject = (label: string, command: string, args: ReadonlyArray<string>, timeout: Duration.Input = "60 seconds") =>
        runCommand(command, args, { label, cwd: project, env, timeout })

      const install = yield* inProject("npm install", "npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], "5 minutes")
      expect(install.code, shown(install)).toBe(0)
      // Nothing from the repository: every @crustyring package is a real directory from a tarball.
      for (const p of packed) {
        const installed = JSON.parse(readFileSync(path.join(project, "node_modules", p.name, "package.json"), "utf8")) as { version: string }
        expect(installed.version).toBe(p.version)
      }

      const version = yield* inProject("npx dht --version", "npx", ["--no-install", "dht", "--version"])
      expect(version.code, shown(version)).toBe(0)
      expect(version.stdout).toContain(Packages.root().version)

      // npx runs the binary as its child: each runs in a process group of its own, which the
      // scope's end kills whole.
      const npx = (label: string, args: ReadonlyArray<string>) =>
        spawnCommand("npx", ["--no-install", ...args], { label, cwd: project, env, group: true })
      const registry = yield* npx("npx dht-registry", ["dht-registry", "--host", "127.0.0.1", "--port", "0"])
      const [, registryAddress] = yield* registry.waitForStderr(REGISTRY_LISTENING, "20 seconds")
      yield* (yield* npx("npx dht 1", ["dht", "--host", "127.0.0.1", "--port", "0", "--registry", registryAddress!])).waitForStderr(STARTED_RING, "20 seconds")
      // The second keeps its data on disk: LMDB's prebuilt binary must load from the install.
      const [port] = yield* freePorts(1)
      const second = yield* npx("npx dht 2", ["dht", "--host", "127.0.0.1", "--port", String(port), "--registry", registryAddress!, "--data-dir", path.join(work, "data"), "--http-port", "0"])
      yield* second.waitForStderr(JOINED, "20 seconds")
      // Its dashboard comes from the installed package, with every asset (no network).
      const [, adminPort] = yield* second.waitForStderr(/admin server on http:\/\/[^ ]+:(\d+)/, "5 seconds")
      for (const asset of ["/", "/dashboard/app.js", "/dashboard/style.css", "/dashboard/vendor/d3-shape.js", "/dashboard/vendor/d3-path.js"]) {
        const response = yield* Effect.promise(() => fetch(`http://127.0.0.1:${adminPort}${asset}`))
        expect(response.status, asset).toBe(200)
      }

      const client = (...args: ReadonlyArray<string>) => inProject(`npx dht-client ${args.join(" ")}`, "npx", ["--no-install", "dht-client", "--registry", registryAddress!, ...args])
      const set = yield* client("set", "greeting", "hello from npx")
      expect(set.code, shown(set)).toBe(0)

      const esm = yield* inProject("node client.mjs", "node", ["client.mjs", registryAddress!])
      expect(esm.code, shown(esm)).toBe(0)
      expect(JSON.parse(esm.stdout)).toEqual({ value: "hello from npx", nodes: 2 })

      const tsc = yield* inProject("tsc", path.join(Packages.ROOT, "node_modules", ".bin", "tsc"), ["-p", "."])
      expect(tsc.code, shown(tsc)).toBe(0)
      const ts = yield* inProject("node client.ts", "node", ["client.ts", registryAddress!])
      expect(ts.code, shown(ts)).toBe(0)
      expect(JSON.parse(ts.stdout)).toEqual({ fromEsm: "written by plain JavaScript", hadPrevious: false, missing: true })

      const get = yield* client("get", "from-ts")
      expect(get.code, shown(get)).toBe(0)
      expect(get.stdout).toContain("written by TypeScript")

      const vitest = yield* inProject("npx vitest run", "npx", ["--no-install", "vitest", "run"], "3 minutes")
      expect(vitest.code, shown(vitest)).toBe(0)
      expect(vitest.stdout).toMatch(/1 passed/)
    }))
})

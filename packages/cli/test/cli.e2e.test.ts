/**
 * End to end: `dht-registry` and three `dht` nodes run as real processes, and `dht-client` is
 * run against them as a user would, checking exact stdout, stderr and exit codes.
 */
import { DhtClient } from "@crustyring/client"
import { expect, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as Cluster from "./cluster.ts"
import { runBin, type RunResult, STACK_TRACE } from "./processes.ts"

/** Runs `dht-client` with the given arguments (and stdin) with a hard deadline. */
const client = (args: ReadonlyArray<string>, stdin?: string) =>
  runBin("dht-client", args, stdin === undefined ? { timeout: "15 seconds" } : { stdin, timeout: "15 seconds" })

/** Runs a `dht-client` one-shot through the registry. */
const viaRegistry = (...words: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const c = yield* Cluster.Cluster
    return yield* client(["--registry", c.registry, ...words])
  })

/** Checks the exit code and exact stdout, showing stderr when they differ. */
const expectRun = (r: RunResult, expected: { readonly code: number; readonly stdout: string }) =>
  expect({ code: r.code, stdout: r.stdout }, `stderr: ${r.stderr}`).toEqual(expected)

const BANNER = "Enter DHT query (Get, Set or Delete). Type exit to quit."

const lines = (s: string) => s.split("\n").filter((l, i, all) => !(l === "" && i === all.length - 1))

// One cluster for all the tests below. They run concurrently (light: a few processes at a time),
// so each test uses keys of its own.
layer(Cluster.layer(3), { excludeTestServices: true, concurrent: true, timeout: "40 seconds" })("a registry and 3 nodes as processes", (it) => {
  it.effect("the cluster came up with three distinct node addresses", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      expect(c.nodes).toHaveLength(3)
      expect(new Set(c.nodes).size).toBe(3)
      for (const p of [c.registryProc, ...c.nodeProcs]) {
        expect(p.status, `${p.label} is running`).toBeUndefined()
      }
    }))

  it.effect("set, get and delete round-trip with exact stdout", () =>
    Effect.gen(function*() {
      const first = yield* viaRegistry("set", "rt", "v1")
      expectRun(first, { code: 0, stdout: "" })

      const second = yield* viaRegistry("set", "rt", "v2")
      expectRun(second, { code: 0, stdout: "v1\n" })

      const read = yield* viaRegistry("get", "rt")
      expectRun(read, { code: 0, stdout: "v2\n" })

      const removed = yield* viaRegistry("delete", "rt")
      expectRun(removed, { code: 0, stdout: "v2\n" })

      const gone = yield* viaRegistry("get", "rt")
      expectRun(gone, { code: 1, stdout: "" })
      for (const r of [first, second, read, removed]) expect(r.stderr).not.toMatch(STACK_TRACE)
    }))

  it.effect("a value is the rest of the words; spaces inside one argument are kept", () =>
    Effect.gen(function*() {
      expectRun(yield* viaRegistry("set", "spaced", "hello", "big", "world"), { code: 0, stdout: "" })
      expectRun(yield* viaRegistry("get", "spaced"), { code: 0, stdout: "hello big world\n" })

      expectRun(yield* viaRegistry("set", "spaced", "one  arg   with spaces"), {
        code: 0,
        stdout: "hello big world\n"
      })
      expectRun(yield* viaRegistry("get", "spaced"), { code: 0, stdout: "one  arg   with spaces\n" })
    }))

  it.effect("a missing key exits 1 with a message on stderr and nothing on stdout", () =>
    Effect.gen(function*() {
      for (const verb of ["get", "delete"]) {
        const r = yield* viaRegistry(verb, "never-stored")
        expect(r.code, `${verb}: ${r.stderr}`).toBe(1)
        expect(r.stdout, verb).toBe("")
        expect(r.stderr, verb).toMatch(/never-stored/)
        expect(r.stderr, verb).toMatch(/not found/i)
        expect(r.stderr, verb).not.toMatch(STACK_TRACE)
      }
    }))

  it.effect("--node sends requests to the given nodes, no registry needed", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const [n1, n2, n3] = c.nodes as [string, string, string]
      expectRun(yield* client(["--node", n1, "set", "direct", "through", "node", "1"]), { code: 0, stdout: "" })
      // Any node answers for any key: the ring routes the request to the owner.
      expectRun(yield* client(["--node", n3, "get", "direct"]), { code: 0, stdout: "through node 1\n" })
      expectRun(yield* client(["--node", n2, "--node", n3, "get", "direct"]), {
        code: 0,
        stdout: "through node 1\n"
      })
      expectRun(yield* viaRegistry("get", "direct"), { code: 0, stdout: "through node 1\n" })
      expectRun(yield* client(["--node", n2, "delete", "direct"]), { code: 0, stdout: "through node 1\n" })
      const gone = yield* client(["--node", n1, "get", "direct"])
      expectRun(gone, { code: 1, stdout: "" })
    }))

  it.effect("prompt mode prints the original messages, is case-insensitive, and ends 1 at EOF when a line failed", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const input = [
        "SET pk one",
        "get pk",
        "Set pk two words",
        "GET pk",
        "Delete pk",
        "get pk",
        "DELETE pk",
        "frobnicate pk",
        "set pk",
        "get",
        "  set   pk2   x   y  ",
        "get pk2"
      ].join("\n") + "\n"
      const r = yield* client(["--registry", c.registry], input)
      // Piped input: some lines failed (missing keys, bad entries), so the exit code is 1.
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).not.toMatch(STACK_TRACE)
      const out = lines(r.stdout)
      expect(out.slice(0, 8)).toEqual([
        BANNER,
        "Inserting new pair (pk, one)",
        "Value is: one",
        "Previous value was: one, inserting: two words",
        "Value is: two words",
        "Deleting: (pk, two words)",
        "Error: Key not present in database.",
        "Error: Key not present in database."
      ])
      expect(out[8]).toMatch(/^invalid entry: .*frobnicate/)
      expect(out[9]).toMatch(/^invalid entry: .*SET key value/i)
      expect(out[10]).toMatch(/^invalid entry: .*GET key/i)
      expect(out.slice(11)).toEqual(["Inserting new pair (pk2, x   y)", "Value is: x   y"])
    }))

  it.effect("prompt mode stops at exit or quit (any case) with exit 0, ignoring later lines", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      for (const word of ["exit", "QUIT", "Exit"]) {
        const key = `stop-${word}`
        const r = yield* client(["--node", c.nodes[1]!], `set ${key} before\n${word}\nset ${key} after\n`)
        expect(r.code, r.stderr).toBe(0)
        expect(lines(r.stdout)).toEqual([BANNER, `Inserting new pair (${key}, before)`])
        expectRun(yield* viaRegistry("get", key), { code: 0, stdout: "before\n" })
      }
    }))

  it.effect("prompt mode with empty input prints the banner and exits 0", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const r = yield* client(["--registry", c.registry], "")
      expectRun(r, { code: 0, stdout: `${BANNER}\n` })
    }))

  it.effect("a value that is not UTF-8 is shown escaped, in one-shot and prompt mode", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const effectClient = yield* DhtClient.make({ nodes: [c.nodes[0]!] })
      const previous = yield* effectClient.set("bin", new Uint8Array([0xff, 0xfe, 0x41]))
      expect(Option.isNone(previous)).toBe(true)

      const r = yield* viaRegistry("get", "bin")
      expectRun(r, { code: 0, stdout: "\\xff\\xfeA\n" })
      expect(r.stderr).not.toMatch(STACK_TRACE)

      const p = yield* client(
        ["--node", c.nodes[2]!],
        "get bin\nset bin text\nset bin2 x\ndelete bin\n"
      )
      expect(p.code, p.stderr).toBe(0)
      expect(lines(p.stdout)).toEqual([
        BANNER,
        "Value is: \\xff\\xfeA",
        "Previous value was: \\xff\\xfeA, inserting: text",
        "Inserting new pair (bin2, x)",
        "Deleting: (bin, text)"
      ])

      // The original bytes come back intact through the Effect client after a CLI write.
      yield* effectClient.set("bin", new Uint8Array([0x00, 0x5c, 0x80]))
      expectRun(yield* viaRegistry("delete", "bin"), { code: 0, stdout: "\\x00\\\\\\x80\n" })
    }))
})

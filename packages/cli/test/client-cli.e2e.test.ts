/**
 * `dht-client` as people use redis-cli and etcdctl, against a registry and three real nodes:
 * binary keys and values, `--json`, durations, failing fast, one-line usage errors, the
 * prompt's quoting, history and completion (through a pseudo-terminal, `script` from
 * util-linux), its exit codes, `ring` in ring order with `--watch`, and `bench`.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Cluster from "./cluster.ts"
import { tempDir } from "./durable.ts"
import { binPath, runBin, runCommand, type RunResult, spawnCommand, STACK_TRACE } from "./processes.ts"

const client = (args: ReadonlyArray<string>, options: { readonly stdin?: string | Uint8Array; readonly env?: Record<string, string> } = {}) =>
  runBin("dht-client", args, { timeout: "30 seconds", ...options })

/** Checks a run exited `code` with no stack trace, showing its output when not. */
const exited = (r: RunResult, code: number) => {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code)
  expect(r.stderr).not.toMatch(STACK_TRACE)
}

/** One line on stderr, `error: ...`, with a pointer to --help. */
const usageError = (r: RunResult, names: RegExp) => {
  exited(r, 1)
  const lines = r.stderr.trim().split("\n")
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(names)
  expect(lines[0]).toMatch(/see dht-client --help$/)
  expect(r.stdout).toBe("")
}

const MiB = 1 << 20

/** `script` (util-linux) gives the prompt a pseudo-terminal; Debian always has it (bsdutils). */
const SCRIPT = ["/usr/bin/script", "/bin/script"].find((p) => fs.existsSync(p))
if (SCRIPT === undefined) console.log("client-cli.e2e: the pseudo-terminal test is skipped: no `script` (util-linux) here")

layer(Cluster.layer(3), { excludeTestServices: true, concurrent: true, timeout: "60 seconds" })("dht-client against a registry and 3 nodes", (it) => {
  it.effect("a 1 MiB binary value round-trips byte for byte through stdin and through --file; --out writes the raw bytes", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const dir = yield* tempDir("client-binary")
      // Every byte value, NUL and 0xfe included, and a value just under the 1 MiB limit's edge.
      const value = new Uint8Array(randomBytes(MiB - 64))
      value.set(Array.from({ length: 256 }, (_, i) => i))
      const viaStdin = yield* client(["--registry", c.registry, "set", "bin-stdin", "--file", "-"], { stdin: value })
      exited(viaStdin, 0)
      const file = path.join(dir, "value.bin")
      fs.writeFileSync(file, value)
      exited(yield* client(["--registry", c.registry, "set", "bin-file", "--file", file]), 0)
      for (const key of ["bin-stdin", "bin-file"]) {
        const out = path.join(dir, `${key}.out`)
        exited(yield* client(["--registry", c.registry, "get", key, "--out", out]), 0)
        expect(Buffer.compare(fs.readFileSync(out), Buffer.from(value)), key).toBe(0)
      }
      // --hex in and out: a key with NUL and 0xfe, and a value with both.
      exited(yield* client(["--registry", c.registry, "--hex", "set", "00fe01", "fe00ff"]), 0)
      const hex = yield* client(["--registry", c.registry, "--hex", "get", "00fe01"])
      exited(hex, 0)
      expect(hex.stdout).toBe("fe00ff\n")
      const b64 = yield* client(["--registry", c.registry, "--base64", "get", Buffer.from([0, 0xfe, 1]).toString("base64")])
      expect(b64.stdout).toBe(`${Buffer.from([0xfe, 0, 0xff]).toString("base64")}\n`)
      // Not hex: a usage error naming it.
      usageError(yield* client(["--registry", c.registry, "--hex", "get", "xyz"]), /key: "xyz" is not hex/)
    }))

  it.effect("--json: one object per result, values in base64, with a found flag, for get, set, delete, ring and the prompt", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const at = ["--registry", c.registry, "--json"]
      const set1 = JSON.parse((yield* client([...at, "set", "js", "one"])).stdout)
      expect(set1).toEqual({ op: "set", key: "js", found: false, previous: null })
      const set2 = JSON.parse((yield* client([...at, "set", "js", "two"])).stdout)
      expect(set2).toEqual({ op: "set", key: "js", found: true, previous: Buffer.from("one").toString("base64") })
      expect(JSON.parse((yield* client([...at, "get", "js"])).stdout)).toEqual({ op: "get", key: "js", found: true, value: Buffer.from("two").toString("base64") })
      expect(JSON.parse((yield* client([...at, "delete", "js"])).stdout)).toEqual({ op: "delete", key: "js", found: true, value: Buffer.from("two").toString("base64") })
      const missing = yield* client([...at, "get", "js"])
      exited(missing, 1)
      expect(JSON.parse(missing.stdout)).toEqual({ op: "get", key: "js", found: false })
      expect(missing.stderr).toBe("")
      const ring = JSON.parse((yield* client([...at, "ring"])).stdout) as ReadonlyArray<{ readonly address: string; readonly id: string }>
      expect(ring.map((n) => n.address).sort()).toEqual([...c.nodes].sort())
      const prompt = yield* client(at, { stdin: "set pj v\nget pj\nget nothing-here\n" })
      const objects = prompt.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
      expect(objects).toEqual([
        { op: "set", key: "pj", found: false, previous: null },
        { op: "get", key: "pj", found: true, value: Buffer.from("v").toString("base64") },
        { op: "get", key: "nothing-here", found: false }
      ])
    }))

  it.effect("--timeout takes durations; a bare number stays milliseconds; a bad one is a usage error", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      for (const t of ["2s", "500ms", "3000", "1m"]) exited(yield* client(["--registry", c.registry, "--timeout", t, "set", `t-${t}`, "v"]), 0)
      usageError(yield* client(["--registry", c.registry, "--timeout", "2 parsecs", "get", "k"]), /--timeout must be a positive duration/)
      usageError(yield* client(["--registry", c.registry, "--timeout", "0", "get", "k"]), /--timeout must be at least 1 ms/)
    }))

  it.effect("fails fast, naming the address and what it is: refused everywhere, a node given as the registry, the registry given as a node", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
        [["--node", "127.0.0.1:1", "--node", "127.0.0.1:2"], /^error: no node can answer: 127\.0\.0\.1:1 is not answering \(connection refused\); 127\.0\.0\.1:2 is not answering/],
        [["--registry", "127.0.0.1:1"], /^error: cannot reach the registry at 127\.0\.0\.1:1: connection refused$/],
        [["--registry", c.nodes[0]!], new RegExp(`^error: ${c.nodes[0]!.replace(/\./g, "\\.")} is a node, not a registry; use --node$`)],
        [["--node", c.registry], new RegExp(`^error: ${c.registry.replace(/\./g, "\\.")} is a registry, not a node; use --registry$`)]
      ]
      for (const [target, says] of cases) {
        const r = yield* client([...target, "--timeout", "60s", "get", "k"])
        exited(r, 2)
        expect(r.stderr.trim(), target.join(" ")).toMatch(says)
        // It gives up at once instead of retrying until the 60 s deadline. Start-up included
        // this usually takes about a second; a loaded 2-core CI machine has taken 5.1 s, so the
        // bound is far from both.
        expect(r.millis, `${target.join(" ")}: ${r.millis} ms`).toBeLessThan(30_000)
      }
      // A node that is down among live ones is not a reason to give up.
      const some = yield* client(["--node", "127.0.0.1:1", "--node", c.nodes[1]!, "set", "ff", "v"])
      exited(some, 0)
    }))

  it.effect("usage errors: one line naming the problem and pointing to --help, exit 1; only --help prints the help", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      usageError(yield* client(["--registry", c.registry, "frobnicate"]), /unknown command "frobnicate"/)
      usageError(yield* client(["--bogus", "get", "k"]), /--bogus/)
      usageError(yield* client(["--registry", c.registry, "get"]), /usage: GET key/)
      usageError(yield* client(["--registry", c.registry, "--out", "/tmp/x", "set", "k", "v"]), /--out works only with get/)
      usageError(yield* client(["--registry", c.registry, "--hex", "--base64", "get", "k"]), /--hex and --base64 are mutually exclusive/)
      const help = yield* client(["--help"])
      exited(help, 0)
      expect(help.stdout).toMatch(/--file/)
      expect(help.stdout).not.toMatch(/--wizard|--completions/)
    }))

  it.effect("piped prompt input exits 0 when every line worked, 1 when one failed, 2 when the cluster became unreachable", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      exited(yield* client(["--registry", c.registry], { stdin: "set p1 a\nget p1\n" }), 0)
      exited(yield* client(["--registry", c.registry], { stdin: "get p1\nget never-set-p\nget p1\n" }), 1)
      exited(yield* client(["--registry", c.registry], { stdin: "set p2 \"unclosed\n" }), 1)
      // A node address that answers, then does not: every attempt is refused from the first line.
      const gone = yield* client(["--node", c.nodes[0]!, "--timeout", "1500ms"], { stdin: "set p3 a\nremove 127.0.0.1:1\nget p3\n" })
      expect([1, 2]).toContain(gone.code)
    }))

  it.effect("output piped into a reader that stops early (| head -1) ends the client quietly, exit 0, with no stack trace", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const lines = Array.from({ length: 400 }, (_, i) => `set piped-${i} v`).join("\n")
      // pipefail: the pipeline's status is the client's, not head's.
      const r = yield* runCommand("bash", [
        "-c",
        `set -o pipefail; printf '%s\\n' "$LINES" | "${process.execPath}" "${binPath("dht-client")}" --registry ${c.registry} | head -1`
      ], { label: "dht-client | head -1", env: { LINES: lines }, timeout: "30 seconds" })
      expect(r.stdout.trim().split("\n"), r.stdout).toHaveLength(1)
      expect(r.stderr).not.toMatch(/EPIPE|Unhandled 'error' event/)
      exited(r, 0)
    }))

  it.effect("the prompt splits quoted words as a shell does, and keeps unquoted spaces in a value as the original did", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const r = yield* client(["--registry", c.registry], {
        stdin: [`set "q k" "a  value"`, `get "q k"`, `get 'q k'`, `set plain one   two`, `get plain`, `set esc\\ aped x`, `get "esc aped"`].join("\n") + "\n"
      })
      exited(r, 0)
      expect(r.stdout.split("\n").slice(1, 8)).toEqual([
        "Inserting new pair (q k, a  value)",
        "Value is: a  value",
        "Value is: a  value",
        "Inserting new pair (plain, one   two)",
        "Value is: one   two",
        "Inserting new pair (esc aped, x)",
        "Value is: x"
      ])
    }))

  it.effect.skipIf(SCRIPT === undefined)("the prompt in a terminal: line editing, history across sessions in the history file, and tab completion", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const dir = yield* tempDir("client-pty")
      const history = path.join(dir, "history")
      const session = (label: string) =>
        spawnCommand(SCRIPT!, ["-qfec", `${process.execPath} ${binPath("dht-client")} --registry ${c.registry}`, "/dev/null"], {
          label,
          env: { DHT_HISTORY_FILE: history, TERM: "xterm" },
          group: true
        })
      const first = yield* session("dht-client in a pty")
      yield* first.waitForStdout(/dht> /, "20 seconds")
      yield* first.write(`set "tty key" v1\r`)
      yield* first.waitForStdout(/Inserting new pair \(tty key, v1\)/)
      // Line editing: type, go left over "XX", delete it, go to the end, finish the line.
      yield* first.write(`get "tty kXXey"\u001b[D\u001b[D\u001b[D\u007f\u007f\u001b[F\r`)
      yield* first.waitForStdout(/Value is: v1/)
      // Up twice recalls the Set.
      yield* first.write("\u001b[A\u001b[A\r")
      yield* first.waitForStdout(/Previous value was: v1, inserting: v1/)
      // Tab completes the verb (sent alone: readline completes before it reads on).
      yield* first.write("rin\t")
      yield* first.waitForStdout(/ring /)
      yield* first.write("\r")
      yield* first.waitForStdout(/ADDRESS\s+RANGE/)
      yield* first.write("exit\r")
      const status = yield* first.exitWithin("10 seconds")
      expect(status.code, first.stdout).toBe(0)
      const saved = fs.readFileSync(history, "utf8")
      expect(saved).toContain(`set "tty key" v1`)
      expect(saved).toContain("ring")
      // A new session has the history, newest first and without duplicates: exit, ring, then
      // the Set (run twice, kept once).
      const second = yield* session("dht-client in a pty, again")
      yield* second.waitForStdout(/dht> /, "20 seconds")
      yield* second.write("\u001b[A\u001b[A\u001b[A\r")
      yield* second.waitForStdout(/Previous value was: v1, inserting: v1/)
      yield* second.write("exit\r")
      expect((yield* second.exitWithin("10 seconds")).code).toBe(0)
    }))

  it.effect("ring lists the nodes in ring order, whichever node answers; --watch redraws it every second", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const rows = (stdout: string) => stdout.split("\n").slice(1, 1 + c.nodes.length).map((l) => l.split(/\s+/)[0]!)
      for (const node of c.nodes) {
        const r = yield* client(["--node", node, "ring"])
        exited(r, 0)
        const ids = rows(r.stdout)
        expect(ids, r.stdout).toEqual([...ids].sort())
        expect(ids).toHaveLength(3)
      }
      const watch = yield* spawnCommand(process.execPath, [binPath("dht-client"), "--registry", c.registry, "ring", "--watch"], { label: "ring --watch" })
      yield* watch.waitForStdout(/(1 node|3 nodes)[^]*every second[^]*(3 nodes)[^]*every second/, "10 seconds")
      yield* watch.kill("SIGINT")
      expect((yield* watch.exitWithin("10 seconds")).code).toBe(0)
    }))

  it.effect("bench prints ops/s and p50, p99 and p99.9 per operation; --json prints one object", () =>
    Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const table = yield* client(["--registry", c.registry, "bench", "--ops", "300", "--concurrency", "4", "--value-size", "64", "--ratio", "3:1"])
      exited(table, 0)
      expect(table.stdout).toMatch(/300 requests, 4 in flight, 64-byte values: \d+ ops\/s/)
      expect(table.stdout).toMatch(/^op\s+requests\s+failed\s+ops\/s\s+p50 ms\s+p99 ms\s+p99\.9 ms/m)
      const r = yield* client(["--registry", c.registry, "--json", "bench", "--ops", "200", "--concurrency", "8"])
      exited(r, 0)
      const result = JSON.parse(r.stdout) as { ops: number; opsPerSecond: number; get: { count: number; p50: number; p99: number; p999: number }; set: { count: number } }
      expect(result.ops).toBe(200)
      expect(result.get.count + result.set.count).toBe(200)
      expect(result.opsPerSecond).toBeGreaterThan(0)
      expect(result.get.p999).toBeGreaterThanOrEqual(result.get.p99)
      expect(result.get.p99).toBeGreaterThanOrEqual(result.get.p50)
      usageError(yield* client(["--registry", c.registry, "bench", "--ratio", "lots"]), /--ratio must be get:set/)
    }))
})


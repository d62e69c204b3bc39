/**
 * Helpers for the durable-storage e2e tests (`--data-dir`): free fixed ports, temporary
 * directories removed with the scope, `dht` nodes started on a fixed port with a data directory,
 * and `dht` run under a shell (`ulimit -f`) to simulate a full disk.
 *
 * Everything belongs to the caller's Scope: processes are SIGKILLed and directories removed when
 * it closes, failed test or not.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { type Duration, Effect, type Scope } from "effect"
import { JOINED, STARTED_RING } from "./cluster.ts"
import { binPath, type Proc, ProcessError, spawnBin, spawnCommand } from "./processes.ts"
import type { RingNode } from "./replicated.ts"

/**
 * `n` distinct TCP ports free on 127.0.0.1 right now: all are bound at once on port 0, then
 * released. Another process could take one in between; nothing else on a test machine binds
 * fixed ports in that range, so that is as good as it gets without the node choosing.
 */
export const freePorts = (n: number): Effect.Effect<ReadonlyArray<number>> =>
  Effect.promise(async () => {
    const servers: Array<net.Server> = []
    try {
      for (let i = 0; i < n; i++) {
        const server = net.createServer()
        servers.push(server)
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject)
          server.listen(0, "127.0.0.1", () => resolve())
        })
      }
      return servers.map((s) => (s.address() as net.AddressInfo).port)
    } finally {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    }
  })

/** A fresh directory under the OS temp dir, removed (recursively) when the scope closes. */
export const tempDir = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), `crusty-${prefix}-`))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/**
 * Runs `bash -c script` in the current Scope, with a handle like `spawnBin`'s; the process is
 * SIGKILLed when the scope closes if it is still running. With `exec` in the script, the pid and
 * the signals are the final program's.
 */
export const spawnShell = (script: string, label: string): Effect.Effect<Proc, never, Scope.Scope> =>
  spawnCommand("bash", ["-c", script], { label })

/** Quotes a word for bash. */
const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

export interface DurableNodeOptions {
  readonly port: number
  readonly dataDir: string
  /** host:port of a live node to join through; none starts a new ring. */
  readonly join?: string
  /** More flags, e.g. `--replicas 3`. */
  readonly args?: ReadonlyArray<string>
  readonly label: string
  /** Runs the node under `ulimit -f <blocks>` (1024-byte blocks): a file-size limit as a full disk. */
  readonly fileSizeBlocks?: number
}

/** The full argument list of `dht` for `options`. */
export const durableArgs = (options: Omit<DurableNodeOptions, "label" | "fileSizeBlocks">): ReadonlyArray<string> => [
  "--host",
  "127.0.0.1",
  "--port",
  String(options.port),
  "--data-dir",
  options.dataDir,
  ...(options.join === undefined ? [] : ["--join", options.join]),
  ...(options.args ?? [])
]

/**
 * Starts `dht` on a fixed port with a data directory and waits until it serves (its "started a
 * new ring" or "joined" log line, with its address).
 */
export const startDurableNode = (options: DurableNodeOptions): Effect.Effect<RingNode, ProcessError, Scope.Scope> =>
  Effect.gen(function*() {
    const args = durableArgs(options)
    const proc = options.fileSizeBlocks === undefined
      ? yield* spawnBin("dht", args, { label: options.label })
      : yield* spawnShell(
        `ulimit -f ${options.fileSizeBlocks} && exec ${[process.execPath, binPath("dht"), ...args].map(shellQuote).join(" ")}`,
        options.label
      )
    const [, address] = yield* proc.waitForStderr(options.join === undefined ? STARTED_RING : JOINED, "20 seconds")
    if (address !== `127.0.0.1:${options.port}`) {
      return yield* new ProcessError({ message: `${options.label} serves at ${address}, expected 127.0.0.1:${options.port}` })
    }
    return { address, proc }
  })

/** The metadata file of a data directory, parsed. */
export const readMeta = (dataDir: string): { readonly format: unknown; readonly address: unknown; readonly id: unknown } =>
  JSON.parse(fs.readFileSync(path.join(dataDir, "crusty-ring.json"), "utf8"))

/**
 * The log line of a node that serves, whichever way it got there: group 1 is `started a new
 * ring` or `joined`, group 2 the address.
 */
export const SERVING = /(started a new ring|joined) as [0-9a-f]+ at (\d+\.\d+\.\d+\.\d+:\d+)/

/** `127.0.0.1:<port>` for each port, comma-separated: a seed list for `--join`. */
export const seedList = (ports: ReadonlyArray<number>): string => ports.map((p) => `127.0.0.1:${p}`).join(",")

/**
 * Starts `dht` on a fixed port with a data directory and returns at once, without waiting for
 * it to serve (see `awaitServing`): for nodes that can only get into a ring together, or whose
 * way in (new ring or join) is what the test checks. `join` may be a seed list.
 */
export const spawnDurableNode = (options: DurableNodeOptions): Effect.Effect<RingNode, never, Scope.Scope> =>
  Effect.map(
    spawnBin("dht", durableArgs(options), { label: options.label }),
    (proc) => ({ address: `127.0.0.1:${options.port}`, proc })
  )

/**
 * Waits until `node` serves and says how it got there: `started` (a new ring) or `joined`.
 * Fails when the deadline passes, the process ends first, or it serves at another address.
 */
export const awaitServing = (node: RingNode, timeout: Duration.Input = "20 seconds"): Effect.Effect<"started" | "joined", ProcessError> =>
  Effect.gen(function*() {
    const [, how, address] = yield* node.proc.waitForStderr(SERVING, timeout)
    if (address !== node.address) {
      return yield* new ProcessError({ message: `${node.proc.label} serves at ${address}, expected ${node.address}` })
    }
    return how === "joined" ? "joined" : "started"
  })

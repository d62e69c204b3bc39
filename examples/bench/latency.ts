/**
 * Latency as a user feels it, for section (k): a closed loop of Gets or Sets with a fixed
 * number in flight, measured in a child process, against one of three targets:
 *
 * - `raw`: one grpc-js server, through a raw grpc-js client (the bare Map server, or the head
 *   of a hop chain);
 * - `cluster`: Crusty Ring nodes, through the owner-direct `PromiseClient`.
 *
 * `startChain` builds the floor of a replicated write: three grpc-js hops, client -> A -> B ->
 * C, where A and B forward each request unchanged and C answers from a Map. It runs in this
 * process, beside a `TestCluster`; `startChainProcesses` runs each hop in a process of its own,
 * beside `startNodeProcesses`, real `dht` processes as a deployment runs them.
 *
 *   node examples/bench/latency.ts '{"target":{"raw":"127.0.0.1:PORT"},"concurrency":1,...}'   # one JSON line
 *   node examples/bench/latency.ts serve bare | serve forward HOST:PORT                        # prints its port
 */
import * as grpc from "@grpc/grpc-js"
import { PromiseClient } from "@crustyring/client"
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import { type ChildProcess, spawn } from "node:child_process"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as Bare from "./bare.ts"
import * as Load from "./load.ts"
import { percentile } from "./stats.ts"

export type Target = { readonly raw: string } | { readonly nodes: ReadonlyArray<string> }

export interface Options {
  readonly target: Target
  readonly concurrency: number
  readonly keys: number
  readonly valueBytes: number
  readonly warmupMs: number
  readonly durationMs: number
}

/** Latencies of one operation, in milliseconds. */
export interface Percentiles {
  readonly ops: number
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly errors: number
}

export interface Result {
  readonly set: Percentiles
  readonly get: Percentiles
}

/** A running chain of hops; `address` is its head. */
export interface Chain {
  readonly address: string
  readonly close: () => Promise<void>
}

/** A grpc-js server that forwards every QueryDht to `next`, as is. */
const forwarder = (next: string): Promise<{ readonly port: number; readonly close: () => void }> =>
  new Promise((resolve, reject) => {
    const client = Load.connect(next)
    const server = new grpc.Server(Grpc.channelOptions)
    const handlers: Wire.DhtNodeHandlers = {
      QueryDht: (call, callback) => client.QueryDht(call.request, { deadline: Date.now() + 10_000 }, (err, res) => callback(err, res))
    }
    server.addService(Proto.proto.dht.DhtNode.service, handlers)
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve({ port, close: () => (server.forceShutdown(), client.close()) }))
  })

/** Starts client -> A -> B -> C, with C a bare Map server. */
export const startChain = async (): Promise<Chain> => {
  const c = await Bare.start()
  const b = await forwarder(`127.0.0.1:${c.port}`)
  const a = await forwarder(`127.0.0.1:${b.port}`)
  return {
    address: `127.0.0.1:${a.port}`,
    close: async () => {
      a.close()
      b.close()
      await c.close()
    }
  }
}

/** Ends a child process and waits for it to exit. */
const stop = (proc: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
    proc.once("exit", () => resolve())
    proc.kill("SIGKILL")
  })

/**
 * Starts a child process and resolves with the first match of `expect` in its output (stdout
 * for this file's servers, stderr for `dht`'s logs), or rejects once it exits or `timeoutMs`
 * passes first. The rest of its output is read and dropped.
 */
const startChild = (argv: ReadonlyArray<string>, expect: RegExp, from: "stdout" | "stderr", timeoutMs = 30_000) =>
  new Promise<{ readonly proc: ChildProcess; readonly match: RegExpMatchArray }>((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {}
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("DHT_") && v !== undefined) env[k] = v
    const proc = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"], env })
    let out = ""
    let done = false
    const fail = (why: string) => {
      if (done) return
      done = true
      clearTimeout(timer)
      void stop(proc).then(() => reject(new Error(`${argv.join(" ")}: ${why}\n${out.slice(-2000)}`)))
    }
    const timer = setTimeout(() => fail(`no ${expect} within ${timeoutMs} ms`), timeoutMs)
    for (const stream of [proc.stdout!, proc.stderr!]) {
      stream.setEncoding("utf8")
      stream.on("data", (chunk: string) => {
        if (done) return
        out += chunk
        const match = stream === proc[from] ? out.match(expect) : null
        if (match) {
          done = true
          clearTimeout(timer)
          resolve({ proc, match })
        }
      })
    }
    proc.on("exit", (code, signal) => fail(`exited (${code ?? signal}) before it served`))
  })

const SERVING = /^port (\d+)$/m
const here = fileURLToPath(import.meta.url)

/** Starts client -> A -> B -> C with each hop in a process of its own. */
export const startChainProcesses = async (): Promise<Chain> => {
  const procs: Array<ChildProcess> = []
  const close = async () => {
    await Promise.all(procs.map(stop))
  }
  try {
    let next = ""
    for (const args of [["bare"], ["forward"], ["forward"]]) {
      const { match, proc } = await startChild([here, "serve", ...args, ...(next ? [next] : [])], SERVING, "stdout")
      procs.push(proc)
      next = `127.0.0.1:${match[1]}`
    }
    return { address: next, close }
  } catch (e) {
    await close()
    throw e
  }
}

/** Running `dht` processes. */
export interface NodeProcesses {
  readonly nodes: ReadonlyArray<string>
  readonly close: () => Promise<void>
}

const DHT_BIN = fileURLToPath(new URL("../../packages/cli/src/bin/dht.ts", import.meta.url))
const STARTED = /(?:started a new ring|joined) as [0-9a-f]+ at (\d+\.\d+\.\d+\.\d+:\d+)/

/**
 * Starts `count` `dht` processes on loopback, each joining through the first, with `flags`,
 * and waits until the ring has formed: every node ready, and holding `copies` copies of its keys.
 */
export const startNodeProcesses = async (count: number, flags: ReadonlyArray<string>, copies: number): Promise<NodeProcesses> => {
  const procs: Array<ChildProcess> = []
  const close = async () => {
    await Promise.all(procs.map(stop))
  }
  try {
    const nodes: Array<string> = []
    for (let i = 0; i < count; i++) {
      const join = i === 0 ? [] : ["--join", nodes[0]!]
      const { match, proc } = await startChild(
        [DHT_BIN, "--host", "127.0.0.1", "--port", "0", "--vnodes", "1", ...join, ...flags],
        STARTED,
        "stderr"
      )
      procs.push(proc)
      nodes.push(match[1]!)
    }
    const client = await PromiseClient.connect({ nodes })
    try {
      const deadline = performance.now() + 30_000
      for (;;) {
        const ring = await client.ring().catch(() => [])
        if (ring.length === count && ring.every((n) => n.phase === "ready" && n.copies === copies)) break
        if (performance.now() > deadline) throw new Error(`the ${count} dht processes did not form a ring within 30 s`)
        await new Promise((r) => setTimeout(r, 100))
      }
    } finally {
      await client.close()
    }
    return { nodes, close }
  } catch (e) {
    await close()
    throw e
  }
}

const summary = (latencies: Array<number>, errors: number): Percentiles => {
  const lat = Float64Array.from(latencies)
  return { ops: latencies.length, p50: percentile(lat, 50), p99: percentile(lat, 99), p999: percentile(lat, 99.9), errors }
}

/** One closed-loop phase of `op` through `send`; only requests inside the window count. */
const phase = async (send: (i: number) => Promise<unknown>, options: Options): Promise<Percentiles> => {
  const t0 = performance.now()
  const from = t0 + options.warmupMs
  const to = from + options.durationMs
  const latencies: Array<number> = []
  let errors = 0
  let next = 0
  const worker = async () => {
    for (;;) {
      const started = performance.now()
      if (started >= to) return
      let failed = false
      try {
        await send(next++)
      } catch {
        failed = true
      }
      const done = performance.now()
      if (started >= from && done <= to) {
        latencies.push(done - started)
        if (failed) errors++
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  return summary(latencies, errors)
}

/** Runs this file in a child process with `options`: a Set phase, then a Get phase. */
export const child = (options: Options): Promise<Result> =>
  new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify(options)], { stdio: ["ignore", "pipe", "inherit"] })
    let out = ""
    proc.stdout.setEncoding("utf8")
    proc.stdout.on("data", (chunk: string) => (out += chunk))
    proc.on("error", reject)
    proc.on("close", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").at(-1)!) as Result) : reject(new Error(`latency child exited with ${code}`))))
  })

if (import.meta.main && process.argv[2] === "serve") {
  // One hop of `startChainProcesses`: prints "port N" once it serves, and runs until killed.
  const port = process.argv[3] === "bare" ? (await Bare.start()).port : (await forwarder(process.argv[4]!)).port
  console.log(`port ${port}`)
} else if (import.meta.main) {
  const options = JSON.parse(process.argv[2]!) as Options
  const keys = Load.makeKeys(options.keys)
  const value = Buffer.alloc(options.valueBytes, 0x61)
  if ("raw" in options.target) {
    const client = Load.connect(options.target.raw)
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (err) => (err ? reject(err) : resolve())))
    const set = await phase((i) => Load.send(client, { ty: "Set", key: keys[i % keys.length]!, value }), options)
    const get = await phase((i) => Load.send(client, { ty: "Get", key: keys[i % keys.length]! }), options)
    console.log(JSON.stringify({ set, get }))
    client.close()
  } else {
    const client = await PromiseClient.connect({ nodes: options.target.nodes })
    // The first request builds the client's view of the ring; make it before timing.
    await client.set(keys[0]!, value)
    const set = await phase((i) => client.set(keys[i % keys.length]!, value), options)
    const get = await phase((i) => client.get(keys[i % keys.length]!), options)
    console.log(JSON.stringify({ set, get }))
    await client.close()
  }
}

/**
 * A closed-loop load generator over a raw grpc-js `dht.DhtNode` client: `concurrency`
 * requests in flight, each started when the previous one answers. Used by section (a), where
 * it runs in a child process so the server under test has the main process to itself:
 *
 *   node examples/bench/load.ts 127.0.0.1:PORT '{"concurrency":64,...}'   # prints one JSON line
 */
import * as grpc from "@grpc/grpc-js"
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { percentile } from "./stats.ts"

/** PEM files of a TLS client: the CA, and the client's certificate and key. */
export interface TlsFiles {
  readonly ca: string
  readonly cert: string
  readonly key: string
}

/** A raw client of one node, with the channel options every Crusty Ring client uses; TLS with `tls`. */
export const connect = (target: string, tls?: TlsFiles): Wire.DhtNodeClient =>
  new Proto.proto.dht.DhtNode(
    target,
    tls ? grpc.credentials.createSsl(readFileSync(tls.ca), readFileSync(tls.key), readFileSync(tls.cert)) : grpc.credentials.createInsecure(),
    Grpc.channelOptions
  )

/** The keys `k0` .. `k<n-1>` as bytes. */
export const makeKeys = (n: number, prefix = "k"): ReadonlyArray<Buffer> =>
  Array.from({ length: n }, (_, i) => Buffer.from(`${prefix}${i}`))

/** One request, as a promise of its result (an RPC error rejects). */
export const send = (client: Wire.DhtNodeClient, query: Wire.Query): Promise<Wire.QueryResult__Output> =>
  new Promise((resolve, reject) =>
    client.QueryDht(query, { deadline: Date.now() + 10_000 }, (err, res) => (err || !res ? reject(err ?? new Error("empty")) : resolve(res)))
  )

/** Options of one measured phase. */
export interface PhaseOptions {
  readonly op: "Get" | "Set"
  readonly concurrency: number
  readonly keys: number
  readonly valueBytes: number
  readonly warmupMs: number
  readonly durationMs: number
}

/** What one phase measured; latencies in milliseconds. */
export interface PhaseResult {
  readonly op: "Get" | "Set"
  readonly ops: number
  readonly opsPerSec: number
  readonly p50: number
  readonly p99: number
  readonly errors: number
}

/**
 * Runs `op` closed-loop for `warmupMs + durationMs`; only requests that complete inside the
 * measured window count. Keys go round-robin over `k0..k<keys-1>`, so a Set phase writes all.
 */
export const phase = (
  client: Wire.DhtNodeClient,
  options: PhaseOptions,
  onWindow?: (edge: "begin" | "end") => void
): Promise<PhaseResult> =>
  new Promise((resolve) => {
    const keys = makeKeys(options.keys)
    const value = Buffer.alloc(options.valueBytes, 0x61)
    const t0 = performance.now()
    const from = t0 + options.warmupMs
    const to = from + options.durationMs
    const latencies: Array<number> = []
    let next = 0
    let errors = 0
    let active = 0
    if (onWindow) {
      setTimeout(() => onWindow("begin"), options.warmupMs)
      setTimeout(() => onWindow("end"), options.warmupMs + options.durationMs)
    }
    const issue = () => {
      const key = keys[next++ % keys.length]!
      const query: Wire.Query = options.op === "Set" ? { ty: "Set", key, value } : { ty: "Get", key }
      const started = performance.now()
      active++
      client.QueryDht(query, { deadline: Date.now() + 10_000 }, (err, res) => {
        active--
        const now = performance.now()
        if (started >= from && now <= to) {
          latencies.push(now - started)
          if (err || !res || res.error !== undefined) errors++
        }
        if (now < to) issue()
        else if (active === 0) {
          const lat = Float64Array.from(latencies)
          resolve({
            op: options.op,
            ops: latencies.length,
            opsPerSec: latencies.length / (options.durationMs / 1000),
            p50: percentile(lat, 50),
            p99: percentile(lat, 99),
            errors
          })
        }
      })
    }
    for (let i = 0; i < options.concurrency; i++) issue()
  })

/** Writes `count` keys `<prefix><i>` with `concurrency` requests in flight. */
export const fill = async (
  client: Wire.DhtNodeClient,
  count: number,
  options: { readonly concurrency: number; readonly valueBytes: number; readonly prefix?: string }
): Promise<void> => {
  const value = Buffer.alloc(options.valueBytes, 0x62)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      await send(client, { ty: "Set", key: Buffer.from(`${options.prefix ?? "key-"}${i}`), value })
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
}

/** A phase measured by `child`, with the calling process's CPU time over the window. */
export interface ChildPhase extends PhaseResult {
  /** CPU time of the calling (server's) process over the measured window, per operation. */
  readonly serverCpuUsPerOp: number
}

/** What `child` measured. */
export interface ChildResult {
  readonly set: ChildPhase
  readonly get: ChildPhase
}

const cpuMicros = (u: NodeJS.CpuUsage) => u.user + u.system

/**
 * Runs this file in a child process against `target`: a Set phase, then a Get
 * phase. The child has a core of its own, and this process reads its own CPU time at the
 * window marks, which is the server's cost when the server is all this process runs.
 */
export const child = (target: string, options: Omit<PhaseOptions, "op"> & { readonly tls?: TlsFiles }): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), target, JSON.stringify(options)], { stdio: ["ignore", "pipe", "inherit"] })
    const marks = new Map<string, number>()
    let buffer = ""
    let last = ""
    proc.stdout.setEncoding("utf8")
    proc.stdout.on("data", (chunk: string) => {
      buffer += chunk
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line.startsWith("MARK ")) marks.set(line.slice(5), cpuMicros(process.cpuUsage()))
        else if (line.trim() !== "") last = line
      }
    })
    proc.on("error", reject)
    proc.on("close", (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`))
      const out = JSON.parse(last) as { set: PhaseResult; get: PhaseResult }
      const cpu = (op: string, r: PhaseResult) =>
        ((marks.get(`${op}-end`) ?? Number.NaN) - (marks.get(`${op}-begin`) ?? Number.NaN)) / r.ops
      resolve({
        set: { ...out.set, serverCpuUsPerOp: cpu("set", out.set) },
        get: { ...out.get, serverCpuUsPerOp: cpu("get", out.get) }
      })
    })
  })

// As a child process, against the target in argv. By default a Set phase, then a Get phase: it
// prints "MARK <op>-begin|end" when each measured window opens and closes (so the parent can read
// its own CPU time over the window), then one JSON line. With `fill` in the options it only
// writes that many keys `key-<i>` and prints how long that took.
if (import.meta.main) {
  const target = process.argv[2]!
  const opts = JSON.parse(process.argv[3] ?? "{}") as Omit<PhaseOptions, "op"> & { readonly fill?: number; readonly tls?: TlsFiles }
  const client = connect(target, opts.tls)
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 5000, (err) => (err ? reject(err) : resolve()))
  )
  if (opts.fill !== undefined) {
    const t0 = performance.now()
    await fill(client, opts.fill, opts)
    console.log(JSON.stringify({ loadMs: performance.now() - t0 }))
  } else {
    const mark = (op: string) => (edge: string) => process.stdout.write(`MARK ${op}-${edge}\n`)
    const set = await phase(client, { ...opts, op: "Set" }, mark("set"))
    const get = await phase(client, { ...opts, op: "Get" }, mark("get"))
    console.log(JSON.stringify({ set, get }))
  }
  client.close()
}

/**
 * Crusty Ring benchmarks, in one run of about 25 minutes on a 2-core machine:
 *
 *   a. one node vs a bare grpc-js Map server (same proto, codecs and client): ops/s, latency
 *   b. a 5-node in-process cluster: random-node client vs owner-direct client
 *   c. routing hops vs N (8..64 nodes), with and without finger tables
 *   d. key balance over node IDs, with and without virtual nodes (pure ring math, no servers)
 *   e. join transfer: a second node joining a node that holds 100,000 keys
 *   f. memory of one node holding 100,000 keys, vs the bare server (clean child processes)
 *   g. one node on the memory store vs --data-dir (LMDB) under --durability sync and async
 *   h. virtual nodes in a running cluster: start time, key balance, idle CPU per process
 *   i. one node over TLS (mutual, certificates from dht-certs) vs the same node in plaintext
 *   j. one node with metrics on (the default) vs off
 *   k. latency with replication: five nodes (replicas 3, quorums 2) through the owner-direct
 *      client, p50/p99/p99.9 at 1 and 16 in flight, beside a bare grpc-js server and a chain of
 *      three grpc-js hops; once all in this process (a TestCluster), and once as five `dht`
 *      processes beside a chain of three processes
 *   l. many nodes in one process, as users' test suites run them: a 16-node TestCluster and its
 *      owner-direct client in this process, 16 in flight, vs the same load on one node; beside it
 *      the same layout with bare grpc-js servers (fanout.ts)
 *
 * Each section prints an aligned table; the run writes `bench-results.json` at the repo root
 * and prints the same JSON as the last stdout line.
 *
 *   npm run bench                      # everything
 *   BENCH_ONLY=ad npm run bench        # some sections (does not write bench-results.json)
 *   BENCH_QUICK=1 npm run bench        # short windows, one repetition, for trying changes
 *
 * The machine is whatever runs it: other processes on it show up as noise, so the run records
 * the load average, takes medians of 3 repetitions where cheap, and reports ratios against a
 * baseline measured in the same run.
 *
 * To see where a node's time goes: `profile.ts` runs section (a) for one server under
 * `--cpu-prof`, and `cpuprofile.ts` summarises the profile.
 *
 * Last results: in the README's Performance section (one full run, 2026-12-07, AMD EPYC, 2
 * vCPUs, Node v24.21.0), and in bench-results.json after a full run.
 */
import type { DhtClient } from "@crustyring/client"
import { DurableStorage, Metrics } from "@crustyring/node"
import { Certs } from "@crustyring/cli"
import { Address, Tls, type Wire } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { TestCluster } from "@crustyring/testing"
import { Clock, Duration, Effect, Exit, Option, Schedule, Scope } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as Balance from "./balance.ts"
import * as Bare from "./bare.ts"
import * as Latency from "./latency.ts"
import * as Fanout from "./fanout.ts"
import * as Load from "./load.ts"
import * as Many from "./many.ts"
import { fmt, header, mean, median, percentile, round, table } from "./stats.ts"

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

const QUICK = process.env.BENCH_QUICK === "1"
const ONLY = new Set((process.env.BENCH_ONLY ?? "abcdefghijkl").toLowerCase().split(""))
const REPS = QUICK ? 1 : 3
const WARMUP_MS = QUICK ? 500 : 1000
const WINDOW_MS = QUICK ? 2000 : 5000
const CONCURRENCY = 64
const VALUE_BYTES = 100
const KEYS = 10_000
const HOPS_N = QUICK ? [8, 16] : [8, 16, 32, 64]
const HOPS_QUERIES = 2000
const BALANCE_KEYS = 100_000
const BALANCE_SETS = 20
const BALANCE_VNODES = [1, 16, 32, 64, 128, 256]
const BIG_KEYS = QUICK ? 20_000 : 100_000
const VNODE_COUNTS = QUICK ? [1, 16] : [1, 16, 64, 128, 256]
const VNODE_PROCESSES = 4
const VNODE_KEYS = 10_000
/** Section h: how long the nodes settle after the writes; idle CPU is then the median of windows of half that. */
const IDLE_MS = QUICK ? 2000 : 10_000
const IDLE_WINDOWS = QUICK ? 1 : 5
const IDLE_WINDOW_MS = IDLE_MS / 2
/** One measured load phase of sections a and g: 64 in flight over the preloaded keys. */
const PHASE = { concurrency: CONCURRENCY, keys: KEYS, valueBytes: VALUE_BYTES, warmupMs: WARMUP_MS, durationMs: WINDOW_MS }

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const RESULTS_FILE = here("../../bench-results.json")
const MEMORY_SCRIPT = here("./memory.ts")
const MEMORY_PAIRS = 3

/** Benchmarks measure real time; `Clock` (for TestClock) has no use here. */
const now = () => performance.now()
const cpuMicros = (u: NodeJS.CpuUsage) => u.user + u.system
const ratio = (x: number) => `${fmt(x, 2)}x`

// ---------------------------------------------------------------------------------------------
// Scopes: each cluster lives in a scope closed (nodes stopped) before its section returns.
// ---------------------------------------------------------------------------------------------

const withScope = async <A>(f: (run: <B, E>(effect: Effect.Effect<B, E, Scope.Scope>) => Promise<B>) => Promise<A>): Promise<A> => {
  const scope = Effect.runSync(Scope.make())
  try {
    return await f((effect) => Effect.runPromise(Scope.provide(scope)(effect)))
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Polls `check` every 50 ms until it holds; fails after `timeoutMs`. */
const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = now() + timeoutMs
  while (!(await check())) {
    if (now() > deadline) throw new Error(`bench: not within ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const cluster = (options: TestCluster.Options) => TestCluster.make({ logLevel: "Error", ...options })

const storedKeys = (node: TestCluster.ClusterNode) =>
  Effect.runPromise(node.node.storage.count(Position.make(0n), Position.make(0n)))

// ---------------------------------------------------------------------------------------------
// a. Baseline vs one node
// ---------------------------------------------------------------------------------------------

/** Section a's goal: one node at 0.9x of the bare server's ops/s or better. */
const A_TARGET = 0.9

const sectionA = async () => {
  header("a. Baseline (bare grpc-js Map server) vs one Crusty Ring node")
  const runs = { bare: [] as Array<Load.ChildResult>, node: [] as Array<Load.ChildResult> }
  const bare = await Bare.start()
  try {
    await withScope(async (run) => {
      const c = await run(cluster({ nodes: 1, registry: false }))
      const targets = { bare: `127.0.0.1:${bare.port}`, node: c.nodes[0]!.address }
      for (let rep = 0; rep < REPS; rep++) {
        // Alternate which server goes first, so a drift in machine load hits both alike.
        const order = rep % 2 === 0 ? (["bare", "node"] as const) : (["node", "bare"] as const)
        for (const server of order) {
          runs[server].push(await Load.child(targets[server], PHASE))
        }
      }
    })
  } finally {
    await bare.close()
  }

  const summary = (server: "bare" | "node", op: "set" | "get") => {
    const rs = runs[server].map((r) => r[op])
    return {
      opsPerSec: median(rs.map((r) => r.opsPerSec)),
      p50Ms: median(rs.map((r) => r.p50)),
      p99Ms: median(rs.map((r) => r.p99)),
      serverCpuUsPerOp: median(rs.map((r) => r.serverCpuUsPerOp)),
      errors: rs.reduce((a, r) => a + r.errors, 0),
      opsPerSecReps: rs.map((r) => round(r.opsPerSec, 0))
    }
  }
  const rows: Array<Array<string>> = []
  const notes: Array<string> = []
  const json: Record<string, unknown> = {}
  for (const op of ["set", "get"] as const) {
    const b = summary("bare", op)
    const n = summary("node", op)
    // Ratios pair each node run with the bare run next to it in time, then take the median:
    // steadier than a ratio of medians when other work on the machine comes and goes.
    const paired = (f: (r: Load.ChildPhase) => number) => runs.node.map((r, i) => f(r[op]) / f(runs.bare[i]![op]))
    const opsRatios = paired((r) => r.opsPerSec)
    const cpuRatios = paired((r) => r.serverCpuUsPerOp)
    const opsRatio = median(opsRatios)
    const cpuRatio = median(cpuRatios)
    notes.push(`${op === "set" ? "Set" : "Get"} node/bare per repetition: ops/s ${opsRatios.map((x) => fmt(x, 2)).join(" ")}, CPU/op ${cpuRatios.map((x) => fmt(x, 2)).join(" ")}`)
    for (const [name, s] of [["bare", b], ["node", n]] as const) {
      rows.push([
        op === "set" ? "Set" : "Get",
        name,
        fmt(s.opsPerSec),
        fmt(s.p50Ms, 2),
        fmt(s.p99Ms, 2),
        fmt(s.serverCpuUsPerOp, 1),
        `${fmt((s.serverCpuUsPerOp * s.opsPerSec) / 1e4, 0)}%`,
        name === "bare" ? "1.00x" : ratio(opsRatio),
        name === "bare" ? "1.00x" : ratio(cpuRatio),
        String(s.errors)
      ])
    }
    json[op] = {
      bare: roundAll(b),
      node: roundAll(n),
      opsRatioNodeOverBare: round(opsRatio, 3),
      cpuRatioNodeOverBare: round(cpuRatio, 3),
      opsRatioPerRep: opsRatios.map((x) => round(x, 3)),
      cpuRatioPerRep: cpuRatios.map((x) => round(x, 3)),
      meetsTarget: opsRatio >= A_TARGET
    }
  }
  console.log(table(["phase", "server", "ops/s", "p50 ms", "p99 ms", "server CPU us/op", "server core", "ops/s vs bare", "CPU/op vs bare", "errors"], rows))
  for (const note of notes) console.log(note)
  console.log(
    `${CONCURRENCY} in flight, ${VALUE_BYTES} B values, ${fmt(KEYS)} keys, ${WARMUP_MS / 1000} s warm-up + ${WINDOW_MS / 1000} s per phase;` +
      ` medians of ${REPS} repetitions, servers alternating; ratios are medians of per-repetition ratios.`
  )
  console.log("The load generator is a raw grpc-js client in a child process; server CPU is this process's CPU over the window,")
  console.log("'server core' the share of one core it used. Below 100%, ops/s is bounded by the client and the machine as much as")
  console.log("by the server, and CPU/op vs bare is the steadier measure of the node's own overhead.")
  console.log(`Target: node ops/s >= ${A_TARGET}x bare.`)
  return { ...json, reps: REPS, concurrency: CONCURRENCY, valueBytes: VALUE_BYTES, keys: KEYS, warmupMs: WARMUP_MS, windowMs: WINDOW_MS, targetRatio: A_TARGET }
}

const roundAll = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "number" ? round(v, 3) : v])) as T

// ---------------------------------------------------------------------------------------------
// b. 5-node cluster: random vs owner-direct client
// ---------------------------------------------------------------------------------------------

interface Drive {
  readonly ops: number
  readonly seconds: number
  readonly hops: number
  readonly errors: number
  readonly latencies: Array<number>
}

/** Closed-loop Get/Set 50/50 (or only one of them) through a DhtClient for `ms`, `concurrency` requests in flight. */
const drive = (client: DhtClient.Service, keys: ReadonlyArray<Buffer>, value: Buffer, ms: number, mix: "both" | "get" | "set" = "both") =>
  Effect.gen(function*() {
    const start = now()
    const end = start + ms
    const out = { ops: 0, hops: 0, errors: 0, latencies: [] as Array<number> }
    let next = 0
    const worker = Effect.gen(function*() {
      while (now() < end) {
        const i = next++
        const key = keys[(i >> 1) % keys.length]!
        const get = mix === "both" ? i % 2 === 0 : mix === "get"
        const query: Wire.Query = get ? { ty: "Get", key } : { ty: "Set", key, value }
        const started = now()
        const r = yield* Effect.result(client.query(query))
        out.latencies.push(now() - started)
        out.ops++
        if (r._tag === "Success") {
          out.hops += r.success.hops
          if (r.success.value.error !== undefined) out.errors++
        } else out.errors++
      }
    })
    yield* Effect.forEach(Array.from({ length: CONCURRENCY }), () => worker, { concurrency: "unbounded", discard: true })
    return { ...out, seconds: (now() - start) / 1000 } satisfies Drive
  })

const sectionB = async () => {
  header("b. 5-node cluster (in-process, registry): random-node client vs owner-direct client")
  const routings = ["random", "owner"] as const
  const runs = { random: [] as Array<Drive & { cpuUs: number }>, owner: [] as Array<Drive & { cpuUs: number }> }
  await withScope(async (run) => {
    const c = await run(cluster({ nodes: 5 }))
    const clients = { random: await run(c.client({ routing: "random" })), owner: await run(c.client({ routing: "owner" })) }
    const keys = Load.makeKeys(KEYS)
    const value = Buffer.alloc(VALUE_BYTES, 0x61)
    await Effect.runPromise(Effect.forEach(keys, (k) => clients.owner.set(k, value), { concurrency: CONCURRENCY, discard: true }))
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? routings : ([...routings].reverse() as Array<"random" | "owner">)
      for (const routing of order) {
        await Effect.runPromise(drive(clients[routing], keys, value, WARMUP_MS))
        const cpu0 = process.cpuUsage()
        const d = await Effect.runPromise(drive(clients[routing], keys, value, WINDOW_MS))
        runs[routing].push({ ...d, cpuUs: cpuMicros(process.cpuUsage(cpu0)) })
      }
    }
  })
  const summary = (routing: "random" | "owner") => {
    const rs = runs[routing]
    return {
      opsPerSec: median(rs.map((r) => r.ops / r.seconds)),
      meanHops: median(rs.map((r) => r.hops / r.ops)),
      p50Ms: median(rs.map((r) => percentile(r.latencies, 50))),
      p99Ms: median(rs.map((r) => percentile(r.latencies, 99))),
      cpuUsPerOp: median(rs.map((r) => r.cpuUs / r.ops)),
      errors: rs.reduce((a, r) => a + r.errors, 0),
      opsPerSecReps: rs.map((r) => round(r.ops / r.seconds, 0))
    }
  }
  const random = summary("random")
  const owner = summary("owner")
  const paired = (f: (r: Drive & { cpuUs: number }) => number) => runs.owner.map((r, i) => f(r) / f(runs.random[i]!))
  const opsRatios = paired((r) => r.ops / r.seconds)
  const cpuRatios = paired((r) => r.cpuUs / r.ops)
  const opsRatio = median(opsRatios)
  const cpuRatio = median(cpuRatios)
  console.log(table(
    ["client", "ops/s", "mean hops", "p50 ms", "p99 ms", "CPU us/op (all)", "ops/s vs random", "CPU/op vs random", "errors"],
    [["random", random], ["owner", owner]].map(([name, s]) => {
      const x = s as typeof random
      return [
        name as string,
        fmt(x.opsPerSec),
        fmt(x.meanHops, 3),
        fmt(x.p50Ms, 2),
        fmt(x.p99Ms, 2),
        fmt(x.cpuUsPerOp, 1),
        name === "random" ? "1.00x" : ratio(opsRatio),
        name === "random" ? "1.00x" : ratio(cpuRatio),
        String(x.errors)
      ]
    })
  ))
  console.log(`owner/random per repetition: ops/s ${opsRatios.map((x) => fmt(x, 2)).join(" ")}, CPU/op ${cpuRatios.map((x) => fmt(x, 2)).join(" ")}`)
  console.log(
    `Get/Set 50/50 over ${fmt(KEYS)} preloaded keys, ${CONCURRENCY} in flight, ${WARMUP_MS / 1000} s warm-up + ${WINDOW_MS / 1000} s;` +
      ` medians of ${REPS}, ratios paired per repetition.`
  )
  console.log("CPU us/op is process.cpuUsage() over the window / ops: the 5 nodes, the registry and the client share this")
  console.log("process, so it is the sum over all of them (2 cores: the cluster is CPU-bound, not network-bound).")
  return {
    random: roundAll(random),
    owner: roundAll(owner),
    opsRatioOwnerOverRandom: round(opsRatio, 3),
    cpuRatioOwnerOverRandom: round(cpuRatio, 3),
    opsRatioPerRep: opsRatios.map((x) => round(x, 3)),
    cpuRatioPerRep: cpuRatios.map((x) => round(x, 3)),
    nodes: 5,
    reps: REPS,
    replication: await replicationOnOff()
  }
}

/** Replication off: one copy per key. */
const ONE_COPY = { replicas: 1, writeQuorum: 1, readQuorum: 1 }
const REPLICATION_TARGET = 0.9

/**
 * The same five nodes' aggregate through the owner-direct client, with replication on (the
 * defaults: 3 copies, write quorum 2, read quorum 1) and off, Gets and Sets in phases of their
 * own. A Get reads one copy either way, so it shows what replication costs where the copies
 * are not the bottleneck; a Set stores three copies on the same two cores, so there they are.
 */
const replicationOnOff = async () => {
  const modes = ["off", "on"] as const
  type Mode = (typeof modes)[number]
  const ops = ["get", "set"] as const
  const runs: Record<Mode, Record<(typeof ops)[number], Array<Drive>>> = { off: { get: [], set: [] }, on: { get: [], set: [] } }
  await withScope(async (run) => {
    const clusters = { on: await run(cluster({ nodes: 5 })), off: await run(cluster({ nodes: 5, config: ONE_COPY })) }
    const clients = { on: await run(clusters.on.client({ routing: "owner" })), off: await run(clusters.off.client({ routing: "owner" })) }
    const keys = Load.makeKeys(KEYS)
    const value = Buffer.alloc(VALUE_BYTES, 0x61)
    for (const mode of modes) {
      await Effect.runPromise(Effect.forEach(keys, (k) => clients[mode].set(k, value), { concurrency: CONCURRENCY, discard: true }))
    }
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? modes : ([...modes].reverse() as Array<Mode>)
      for (const op of ops) {
        for (const mode of order) {
          await Effect.runPromise(drive(clients[mode], keys, value, WARMUP_MS, op))
          runs[mode][op].push(await Effect.runPromise(drive(clients[mode], keys, value, WINDOW_MS, op)))
        }
      }
    }
  })
  const rate = (d: Drive) => d.ops / d.seconds
  const rows: Array<Array<string>> = []
  const json: Record<string, unknown> = {}
  for (const op of ops) {
    const ratios = runs.on[op].map((d, i) => rate(d) / rate(runs.off[op][i]!))
    const r = median(ratios)
    for (const mode of modes) {
      const rs = runs[mode][op]
      rows.push([
        op === "get" ? "Get" : "Set",
        mode === "on" ? "3 copies (W2 R1)" : "1 copy",
        fmt(median(rs.map(rate))),
        fmt(median(rs.map((d) => percentile(d.latencies, 50))), 2),
        fmt(median(rs.map((d) => percentile(d.latencies, 99))), 2),
        mode === "off" ? "1.00x" : ratio(r),
        String(rs.reduce((a, d) => a + d.errors, 0))
      ])
    }
    json[op] = {
      offOpsPerSec: round(median(runs.off[op].map(rate)), 0),
      onOpsPerSec: round(median(runs.on[op].map(rate)), 0),
      ratioOnOverOff: round(r, 3),
      ratioPerRep: ratios.map((x) => round(x, 3))
    }
  }
  const getRatio = (json.get as { ratioOnOverOff: number }).ratioOnOverOff
  console.log()
  console.log(table(["phase", "replication", "ops/s", "p50 ms", "p99 ms", "vs 1 copy", "errors"], rows))
  console.log(
    `Owner-direct client, 5 nodes each way, ${CONCURRENCY} in flight; medians of ${REPS}, modes alternating, ratios paired per repetition.` +
      ` Target: Get >= ${REPLICATION_TARGET}x of one copy (a Get reads one copy either way). A Set stores three copies on the`
  )
  console.log("same 2 cores, so there the copies are the bottleneck and the ratio is reported, not targeted.")
  return { ...json, targetRatio: REPLICATION_TARGET, meetsTarget: getRatio >= REPLICATION_TARGET }
}

// ---------------------------------------------------------------------------------------------
// c. Hops vs N
// ---------------------------------------------------------------------------------------------

/**
 * Waits until the successor lists and finger tables are the same in two snapshots 300 ms
 * apart (1.5 finger periods), as packages/testing/test/Routing.test.ts does. With fingers on,
 * every table must also be non-empty. None when it does not settle in 20 s.
 */
const settle = (c: TestCluster.TestCluster, fingers: boolean) =>
  Effect.gen(function*() {
    const snapshot = Effect.map(c.views, (vs) =>
      vs.map((v) => `${v.successors.map((s) => s.id).join(",")}/${v.fingers.map((f) => f.id).join(",")}`).join("|"))
    const a = yield* snapshot
    yield* Effect.sleep("300 millis")
    const b = yield* snapshot
    return a === b && (!fingers || (yield* c.views).every((v) => v.fingers.length > 0))
  }).pipe(
    Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (ok) => ok }),
    Effect.timeoutOption("20 seconds")
  )

const sectionC = async () => {
  header("c. Routing hops vs N (random-routing client, 2,000 Gets of random keys)")
  const rows: Array<Array<string>> = []
  const json: Array<Record<string, unknown>> = []
  for (const n of HOPS_N) {
    for (const fingers of [true, false]) {
      const t0 = now()
      let startS = 0
      let settleS = 0
      let settled = false
      let hops: Array<number> = []
      let errors = 0
      await withScope(async (run) => {
        const c = await run(cluster({ nodes: n, config: { fingers, fixFingersInterval: Duration.millis(200) } }))
        startS = (now() - t0) / 1000
        const t1 = now()
        settled = Option.isSome(await Effect.runPromise(settle(c, fingers)))
        settleS = (now() - t1) / 1000
        const client = await run(c.client({ routing: "random" }))
        const results = await Effect.runPromise(Effect.forEach(
          Array.from({ length: HOPS_QUERIES }, (_, i) => i),
          (i) => Effect.result(client.query({ ty: "Get", key: Buffer.from(`random-key-${i}-${Math.random()}`) })),
          { concurrency: CONCURRENCY }
        ))
        hops = results.flatMap((r) => (r._tag === "Success" ? [r.success.hops] : []))
        errors = results.length - hops.length
      })
      const totalS = (now() - t0) / 1000
      const reference = 0.5 * Math.log2(n) + 0.5
      const m = mean(hops)
      const max = Math.max(...hops)
      rows.push([
        String(n),
        fingers ? "on" : "off",
        fmt(m, 2),
        String(max),
        fmt(reference, 2),
        ratio(m / reference),
        fmt(startS, 1),
        settled ? fmt(settleS, 1) : "no (20 s)",
        fmt(totalS, 1),
        String(errors)
      ])
      json.push({
        nodes: n,
        fingers,
        meanHops: round(m, 3),
        maxHops: max,
        reference: round(reference, 3),
        meanOverReference: round(m / reference, 3),
        startSeconds: round(startS, 2),
        settleSeconds: round(settleS, 2),
        settled,
        totalSeconds: round(totalS, 2),
        errors
      })
    }
  }
  console.log(table(
    ["N", "fingers", "mean hops", "max hops", "0.5*log2(N)+0.5", "mean vs ref", "join all s", "settle s", "total s", "errors"],
    rows
  ))
  console.log("In-process clusters with a registry, fixFingersInterval 200 ms; 'join all' is starting N nodes one after another,")
  console.log("'total' includes the graceful stop of every node. Without fingers, routing uses the 8-entry successor list.")
  return { queries: HOPS_QUERIES, rows: json }
}

// ---------------------------------------------------------------------------------------------
// d. Key balance (pure ring math)
// ---------------------------------------------------------------------------------------------

/** Section d's goal for the default number of positions: p99/mean owned keys at or under 1.5. */
const D_TARGET = 1.5

const sectionD = () => {
  header(`d. Key balance: ${fmt(BALANCE_KEYS)} keys over N nodes, with and without virtual nodes (ring math, no servers)`)
  const t0 = now()
  const keys = Balance.keyPositions(BALANCE_KEYS)
  const rows: Array<Array<string>> = []
  const json: Array<Record<string, unknown>> = []
  for (const n of [8, 16, 32]) {
    for (const vnodes of BALANCE_VNODES) {
      const single = Balance.spread(Balance.addresses(n, 50001), keys, vnodes)
      const sets = Array.from({ length: BALANCE_SETS }, (_, s) => Balance.spread(Balance.addresses(n, 50001 + 100 * s), keys, vnodes))
      const maxes = sets.map((s) => s.maxOverMean)
      const pooled = sets.flatMap((s) => s.normalized)
      const pooledP99 = percentile(pooled, 99)
      rows.push([
        String(n),
        String(vnodes),
        fmt(single.maxOverMean, 2),
        fmt(single.p99OverMean, 2),
        fmt(single.minOverMean, 2),
        fmt(median(maxes), 2),
        fmt(Math.max(...maxes), 2),
        fmt(pooledP99, 2),
        fmt(percentile(pooled, 1), 2),
        pooledP99 <= D_TARGET ? "yes" : "no"
      ])
      json.push({
        nodes: n,
        vnodes,
        singleSet: { maxOverMean: round(single.maxOverMean, 3), p99OverMean: round(single.p99OverMean, 3), minOverMean: round(single.minOverMean, 3) },
        sets: {
          medianMaxOverMean: round(median(maxes), 3),
          worstMaxOverMean: round(Math.max(...maxes), 3),
          pooledP99OverMean: round(pooledP99, 3),
          pooledP1OverMean: round(percentile(pooled, 1), 3)
        },
        meetsTarget: pooledP99 <= D_TARGET
      })
    }
  }
  console.log(table(
    ["N", "vnodes", "max/mean", "p99/mean", "min/mean", `${BALANCE_SETS} sets: median max/mean`, "worst max/mean", "pooled p99/mean", "pooled p1/mean", `p99 <= ${D_TARGET}`],
    rows
  ))
  console.log("First three columns: one address set, 127.0.0.1:50001.. (as a default local cluster). p99 is nearest-rank over")
  console.log(`nodes, so with N < 100 it equals the max. ${BALANCE_SETS} sets use ports from 50001 + 100*s; 'pooled' ranks all N x ${BALANCE_SETS} node loads.`)
  console.log(`vnodes = positions per node (dht --vnodes): host:port, host:port#1, ... each at the hash of its address. Target: p99/mean <= ${D_TARGET} (the goal for the default --vnodes).`)
  return { keys: BALANCE_KEYS, sets: BALANCE_SETS, rows: json, seconds: round((now() - t0) / 1000, 2), targetP99OverMean: D_TARGET }
}

// ---------------------------------------------------------------------------------------------
// e. Join transfer
// ---------------------------------------------------------------------------------------------

const sectionE = async () => {
  header(`e. Join transfer: a second node joins a node holding ${fmt(BIG_KEYS)} keys`)
  const out = await withScope(async (run) => {
    // One copy per key, so the figures are the hand-off alone: with replication on, a two-node
    // ring keeps every key on both nodes and the giver releases nothing.
    const c = await run(cluster({ nodes: 1, registry: false, config: { replicas: 1, writeQuorum: 1 } }))
    const first = c.nodes[0]!
    const client = Load.connect(first.address)
    const t0 = now()
    await Load.fill(client, BIG_KEYS, { concurrency: CONCURRENCY, valueBytes: VALUE_BYTES })
    const loadS = (now() - t0) / 1000
    client.close()
    const t1 = now()
    const joined = await run(c.addNode())
    const joinS = (now() - t1) / 1000
    const moved = await storedKeys(joined)
    const kept = await storedKeys(first)
    return { loadS, joinS, moved, kept }
  })
  const keysPerSec = out.moved / out.joinS
  const loadRate = BIG_KEYS / out.loadS
  console.log(table(
    ["keys held", "load s", "client Set ops/s", "join s", "keys moved", "keys kept", "keys/s moved", "vs client Set ops/s"],
    [[fmt(BIG_KEYS), fmt(out.loadS, 1), fmt(loadRate), fmt(out.joinS, 2), fmt(out.moved), fmt(out.kept), fmt(keysPerSec), ratio(keysPerSec / loadRate)]]
  ))
  console.log(`${VALUE_BYTES} B values written by a raw gRPC client, ${CONCURRENCY} in flight. Join time is addNode from start to return`)
  console.log("(bind, find owner, split, stream the range, release it on the giver). One run: the split point is the new node's hash.")
  if (out.moved + out.kept !== BIG_KEYS) console.log(`WARNING: ${out.moved + out.kept} keys after the join, expected ${BIG_KEYS}`)
  return {
    keys: BIG_KEYS,
    loadSeconds: round(out.loadS, 3),
    clientSetOpsPerSec: round(loadRate, 0),
    joinSeconds: round(out.joinS, 3),
    keysMoved: out.moved,
    keysKept: out.kept,
    keysPerSec: round(keysPerSec, 0),
    ratioVsClientSet: round(keysPerSec / loadRate, 3)
  }
}

// ---------------------------------------------------------------------------------------------
// f. Memory
// ---------------------------------------------------------------------------------------------

interface MemorySample {
  readonly rss: number
  readonly heapTotal: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
}
interface MemoryRun {
  readonly mode: string
  readonly keys: number
  readonly loadMs: number
  readonly gcExposed: boolean
  readonly before: MemorySample
  readonly after: MemorySample
}

const memoryChild = (mode: "node" | "bare"): Promise<MemoryRun> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", MEMORY_SCRIPT, mode, String(BIG_KEYS), String(VALUE_BYTES)], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => (out += chunk))
    child.on("error", reject)
    child.on("close", (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split("\n").at(-1)!) as MemoryRun)
        : reject(new Error(`memory child (${mode}) exited with ${code}`)))
  })

const sectionF = async () => {
  header(`f. Memory: one process holding ${fmt(BIG_KEYS)} keys of ${VALUE_BYTES} B (after GC, in a clean child process)`)
  // RSS after a load depends on what the allocator kept, which varies from run to run: three
  // pairs, each node run next to a bare one in time, and the pair with the median RSS ratio.
  const pairs: Array<{ bare: MemoryRun; node: MemoryRun }> = []
  for (let i = 0; i < MEMORY_PAIRS; i++) pairs.push({ bare: await memoryChild("bare"), node: await memoryChild("node") })
  const rssRatio = (p: { bare: MemoryRun; node: MemoryRun }) =>
    (p.node.after.rss - p.node.before.rss) / (p.bare.after.rss - p.bare.before.rss)
  const rssRatios = pairs.map(rssRatio)
  const runs = pairs.slice().sort((a, b) => rssRatio(a) - rssRatio(b))[Math.floor(pairs.length / 2)]!
  const per100k = 100_000 / BIG_KEYS
  const mb = (bytes: number) => (bytes * per100k) / (1024 * 1024)
  const delta = (r: MemoryRun, k: keyof MemorySample) => r.after[k] - r.before[k]
  const payload = BIG_KEYS * (VALUE_BYTES + `key-${BIG_KEYS - 1}`.length)
  const retained = (r: MemoryRun) => delta(r, "heapUsed") + delta(r, "arrayBuffers")
  const rows = (["bare", "node"] as const).map((m) => {
    const r = runs[m]
    return [
      m,
      fmt(r.keys),
      fmt(mb(delta(r, "rss")), 1),
      fmt(mb(delta(r, "heapTotal")), 1),
      fmt(mb(delta(r, "heapUsed")), 1),
      fmt(mb(delta(r, "arrayBuffers")), 1),
      fmt(retained(r) / BIG_KEYS, 0),
      ratio(delta(r, "rss") / payload),
      m === "bare" ? "1.00x" : ratio(delta(r, "rss") / delta(runs.bare, "rss")),
      m === "bare" ? "1.00x" : ratio(delta(r, "heapUsed") / delta(runs.bare, "heapUsed")),
      m === "bare" ? "1.00x" : ratio(retained(r) / retained(runs.bare))
    ]
  })
  console.log(table(
    [
      "server",
      "keys",
      "RSS MB/100k",
      "heapTotal MB/100k",
      "heapUsed MB/100k",
      "arrayBuffers MB/100k",
      "heapUsed+AB B/key",
      "RSS vs payload",
      "RSS vs bare",
      "heapUsed vs bare",
      "heapUsed+AB vs bare"
    ],
    rows
  ))
  console.log(`Deltas between after-load and before-load, each after global.gc (exposed: ${runs.node.gcExposed}); the keys were written`)
  console.log(`over gRPC by a client in another process. Payload = keys x (value + key bytes) = ${fmt(payload / (1024 * 1024), 1)} MB.`)
  console.log("RSS also counts heap the GC keeps (heapTotal - heapUsed) and native memory the allocator kept from the load;")
  console.log("heapUsed + arrayBuffers (Buffers outside the JS heap) is what the stored data itself holds.")
  console.log(`The median of ${MEMORY_PAIRS} pairs by RSS ratio; the ratios were ${rssRatios.map((r) => ratio(r)).join(", ")}.`)
  const summary = (r: MemoryRun) => ({
    keys: r.keys,
    loadMs: round(r.loadMs, 0),
    rssDeltaMBPer100k: round(mb(delta(r, "rss")), 2),
    heapUsedDeltaMBPer100k: round(mb(delta(r, "heapUsed")), 2),
    arrayBuffersDeltaMBPer100k: round(mb(delta(r, "arrayBuffers")), 2),
    heapTotalDeltaMBPer100k: round(mb(delta(r, "heapTotal")), 2),
    rssBytesPerKey: round(delta(r, "rss") / BIG_KEYS, 0),
    retainedBytesPerKey: round(retained(r) / BIG_KEYS, 0),
    before: r.before,
    after: r.after
  })
  return {
    bare: summary(runs.bare),
    node: summary(runs.node),
    rssRatioNodeOverBare: round(delta(runs.node, "rss") / delta(runs.bare, "rss"), 3),
    rssRatiosOfPairs: rssRatios.map((r) => round(r, 3)),
    heapRatioNodeOverBare: round(delta(runs.node, "heapUsed") / delta(runs.bare, "heapUsed"), 3),
    retainedRatioNodeOverBare: round(retained(runs.node) / retained(runs.bare), 3),
    payloadBytes: payload,
    gcExposed: runs.node.gcExposed
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const machine = {
  cpu: os.cpus()[0]?.model ?? "unknown",
  cpus: os.cpus().length,
  totalMemoryGB: round(os.totalmem() / 1024 ** 3, 1),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  date: new Date().toISOString(),
  loadAvgAtStart: os.loadavg().map((x) => round(x, 2))
}

// ---------------------------------------------------------------------------------------------
// g. Storage: one node on the memory store vs the durable store under each durability policy
// ---------------------------------------------------------------------------------------------

const sectionG = async () => {
  header("g. One node: memory store vs --data-dir (LMDB) with --durability sync and async")
  const stores = ["memory", "durable sync", "durable async"] as const
  const runs: Record<(typeof stores)[number], Array<Load.ChildResult>> = { memory: [], "durable sync": [], "durable async": [] }
  for (let rep = 0; rep < REPS; rep++) {
    for (const store of rep % 2 === 0 ? stores : [...stores].reverse()) {
      const dir = mkdtempSync(`${os.tmpdir()}/crusty-bench-`)
      try {
        await withScope(async (run) => {
          const storage = store === "memory"
            ? undefined
            : DurableStorage.layer({
              dir,
              // The directory is fresh each run, so any address will do; the node takes a free port.
              address: Address.unsafeMake("127.0.0.1:1"),
              forceId: true,
              durability: store === "durable sync" ? "sync" : "async"
            })
          const c = await run(cluster({ nodes: 1, registry: false, ...(storage ? { storage } : {}) }))
          runs[store].push(await Load.child(c.nodes[0]!.address, PHASE))
        })
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  const rows: Array<Array<string>> = []
  const json: Record<string, unknown> = {}
  for (const op of ["set", "get"] as const) {
    const base = median(runs.memory.map((r) => r[op].opsPerSec))
    for (const store of stores) {
      const rs = runs[store].map((r) => r[op])
      const ops = median(rs.map((r) => r.opsPerSec))
      const entry = {
        opsPerSec: round(ops, 0),
        p50Ms: round(median(rs.map((r) => r.p50)), 3),
        p99Ms: round(median(rs.map((r) => r.p99)), 3),
        serverCpuUsPerOp: round(median(rs.map((r) => r.serverCpuUsPerOp)), 1),
        errors: rs.reduce((a, r) => a + r.errors, 0),
        vsMemory: round(ops / base, 3)
      }
      json[`${op} ${store}`] = entry
      rows.push([op === "set" ? "Set" : "Get", store, fmt(entry.opsPerSec), fmt(entry.p50Ms, 2), fmt(entry.p99Ms, 2), fmt(entry.serverCpuUsPerOp, 1), `${fmt(entry.vsMemory, 2)}x`, String(entry.errors)])
    }
  }
  console.log(table(["op", "store", "ops/s", "p50 ms", "p99 ms", "CPU us/op", "ops/s vs memory", "errors"], rows))
  console.log(`${CONCURRENCY} in flight, ${VALUE_BYTES} B values, ${fmt(KEYS)} keys, one node (replica set of one), medians of ${REPS}.`)
  console.log("sync: a Set is acknowledged after its LMDB commit is fsynced. async: after the commit; the fsync follows.")
  return { stores: json, reps: REPS, concurrency: CONCURRENCY, valueBytes: VALUE_BYTES }
}

// ---------------------------------------------------------------------------------------------
// h. Virtual nodes in a running cluster
// ---------------------------------------------------------------------------------------------

const sectionH = async () => {
  header(`h. Virtual nodes: ${VNODE_PROCESSES} in-process nodes with V positions each, ${fmt(VNODE_KEYS)} keys, 3 copies`)
  const rows: Array<Array<string>> = []
  const json: Array<Record<string, unknown>> = []
  for (const vnodes of VNODE_COUNTS) {
    const out = await withScope(async (run) => {
      const t0 = now()
      const c = await run(cluster({ nodes: VNODE_PROCESSES, registry: false, config: { vnodes } }))
      const startS = (now() - t0) / 1000
      // The fill starts once every position knows its full replica set: a write that reaches a
      // position still learning its successors is refused (UNAVAILABLE, nothing written).
      await waitFor("every position has its replica set", async () => {
        for (const n of c.nodes) {
          for (const m of n.node.vnodes) {
            const view = await Effect.runPromise(m.view)
            if (view.phase !== "ready" || new Set(view.successors.map((s) => Address.target(s.address)).filter((t) => t !== n.address)).size < 2) return false
          }
        }
        return true
      }, 60_000)
      const client = Load.connect(c.nodes[0]!.address)
      await Load.fill(client, VNODE_KEYS, { concurrency: CONCURRENCY, valueBytes: VALUE_BYTES })
      client.close()
      // Each process owns the ranges of its positions: the balance a user sees.
      const owned = await Promise.all(c.nodes.map(async (n) => {
        let sum = 0
        for (const m of n.node.vnodes) {
          const view = await Effect.runPromise(m.view)
          const next = view.successors[0] ?? view.self
          sum += await Effect.runPromise(n.node.storage.count(view.self.id, next.id))
        }
        return sum
      }))
      // Idle cost: the CPU all nodes of this process use with no client traffic, once the
      // repair rounds that follow the writes are over.
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS))
      // The median of several windows: one window caught other work on the machine too often.
      const windows: Array<number> = []
      for (let w = 0; w < IDLE_WINDOWS; w++) {
        const cpu0 = process.cpuUsage()
        const w0 = now()
        await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS))
        windows.push(cpuMicros(process.cpuUsage(cpu0)) / 1000 / (now() - w0) / VNODE_PROCESSES)
      }
      const idle = median(windows)
      // Graceful stops, newest node first: every position hands its range on.
      const t1 = now()
      for (const n of [...c.nodes].reverse()) await run(c.stopNode(n))
      const stopS = (now() - t1) / 1000
      return { startS, owned, idle, stopS }
    })
    const avg = mean(out.owned)
    const one = json.length > 0 ? (json[0]!.idleCpuPerNode as number) : out.idle
    rows.push([
      String(vnodes),
      fmt(out.startS, 1),
      fmt(out.stopS, 1),
      out.owned.map((o) => fmt(o)).join(" / "),
      fmt(Math.max(...out.owned) / avg, 2),
      fmt(Math.min(...out.owned) / avg, 2),
      `${fmt(out.idle * 100, 2)}%`,
      `${fmt(out.idle / one, 2)}x`
    ])
    json.push({
      vnodes,
      startSeconds: round(out.startS, 2),
      stopSeconds: round(out.stopS, 2),
      ownedPerNode: out.owned,
      maxOverMean: round(Math.max(...out.owned) / avg, 3),
      minOverMean: round(Math.min(...out.owned) / avg, 3),
      idleCpuPerNode: round(out.idle, 4),
      idleVsOnePosition: round(out.idle / one, 3)
    })
  }
  console.log(table(["vnodes", "start s (all)", "stop s (all)", "keys owned per node", "max/mean", "min/mean", "idle CPU per node", "idle vs V=1"], rows))
  console.log(`Nodes started, and stopped gracefully, one after another (each position joins or leaves in turn). Owned keys counted in each node's store over its`)
  console.log(`positions' ranges. Idle CPU: this process's CPU with no traffic (after ${IDLE_MS / 1000} s to settle), the median of ${IDLE_WINDOWS} windows of ${IDLE_WINDOW_MS / 1000} s, divided by ${VNODE_PROCESSES}, as a share of one core.`)
  return { processes: VNODE_PROCESSES, keys: VNODE_KEYS, rows: json }
}

// ---------------------------------------------------------------------------------------------
// Two kinds of one node side by side (sections i and j)
// ---------------------------------------------------------------------------------------------

interface Mode {
  readonly name: string
  /** Starts the node in the comparison's scope; returns one measurement (a Set and a Get phase). */
  readonly run: (run: <B, E>(effect: Effect.Effect<B, E, Scope.Scope>) => Promise<B>) => Promise<() => Promise<Load.ChildResult>>
}

/**
 * Measures `base` and `other` REPS times, alternating which goes first, and tabulates ops/s,
 * latency and server CPU with `other`'s ops/s as the median of per-repetition ratios to `base`.
 */
const comparison = async (base: Mode, other: Mode) => {
  const runs = { base: [] as Array<Load.ChildResult>, other: [] as Array<Load.ChildResult> }
  await withScope(async (run) => {
    const measure = { base: await base.run(run), other: await other.run(run) }
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? (["base", "other"] as const) : (["other", "base"] as const)
      for (const mode of order) runs[mode].push(await measure[mode]())
    }
  })
  const rows: Array<Array<string>> = []
  const json: Record<string, unknown> = {}
  const ratioOf = { set: 0, get: 0 }
  for (const op of ["set", "get"] as const) {
    const ratios = runs.other.map((r, i) => r[op].opsPerSec / runs.base[i]![op].opsPerSec)
    ratioOf[op] = median(ratios)
    for (const mode of ["base", "other"] as const) {
      const rs = runs[mode].map((r) => r[op])
      rows.push([
        op === "set" ? "Set" : "Get",
        mode === "base" ? base.name : other.name,
        fmt(median(rs.map((r) => r.opsPerSec))),
        fmt(median(rs.map((r) => r.p50)), 2),
        fmt(median(rs.map((r) => r.p99)), 2),
        fmt(median(rs.map((r) => r.serverCpuUsPerOp)), 1),
        mode === "base" ? "1.00x" : ratio(median(ratios)),
        String(rs.reduce((a, r) => a + r.errors, 0))
      ])
    }
    json[op] = {
      [`${base.name}OpsPerSec`]: round(median(runs.base.map((r) => r[op].opsPerSec)), 0),
      [`${other.name}OpsPerSec`]: round(median(runs.other.map((r) => r[op].opsPerSec)), 0),
      opsRatio: round(median(ratios), 3),
      opsRatioPerRep: ratios.map((x) => round(x, 3)),
      [`${base.name}ServerCpuUsPerOp`]: round(median(runs.base.map((r) => r[op].serverCpuUsPerOp)), 1),
      [`${other.name}ServerCpuUsPerOp`]: round(median(runs.other.map((r) => r[op].serverCpuUsPerOp)), 1)
    }
  }
  return { rows, json, ratio: ratioOf }
}

// ---------------------------------------------------------------------------------------------
// i. TLS vs plaintext
// ---------------------------------------------------------------------------------------------

const sectionI = async () => {
  header("i. One node over mutual TLS vs the same kind of node in plaintext")
  // Certificates as dht-certs makes them, in a temp dir: a CA, a node for 127.0.0.1, a client.
  const dir = mkdtempSync(path.join(os.tmpdir(), "crusty-bench-tls-"))
  try {
    const ca = await Certs.createCa()
    const node = await Certs.createNode(ca, ["127.0.0.1"])
    const user = await Certs.createClient(ca, "bench")
    const file = (name: string, pem: string) => {
      writeFileSync(path.join(dir, name), pem, { mode: 0o600 })
      return path.join(dir, name)
    }
    const tls = { ca: file("ca.crt", ca.cert), cert: file("client.bench.crt", user.cert), key: file("client.bench.key", user.key) }
    file("node.crt", node.cert)
    file("node.key", node.key)
    const security = await Effect.runPromise(Tls.fromDir(dir, "node"))
    const { rows, json } = await comparison(
      { name: "plaintext", run: async (run) => {
        const c = await run(cluster({ nodes: 1, registry: false }))
        return () => Load.child(c.nodes[0]!.address, PHASE)
      } },
      { name: "tls", run: async (run) => {
        const c = await run(Effect.provideService(cluster({ nodes: 1, registry: false }), Tls.Security, security))
        return () => Load.child(c.nodes[0]!.address, { ...PHASE, tls })
      } }
    )
    console.log(table(["phase", "transport", "ops/s", "p50 ms", "p99 ms", "server CPU us/op", "ops/s vs plaintext", "errors"], rows))
    console.log(
      `${CONCURRENCY} in flight over one connection, ${VALUE_BYTES} B values, ${fmt(KEYS)} keys; the client presents a certificate (mutual TLS, ECDSA P-256);` +
        ` medians of ${REPS} repetitions, modes alternating; the ratio is the median of per-repetition ratios.`
    )
    return { ...json, reps: REPS, concurrency: CONCURRENCY, valueBytes: VALUE_BYTES }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// j. Metrics on vs off
// ---------------------------------------------------------------------------------------------

const sectionJ = async () => {
  header("j. One node with metrics on (the default) vs off")
  const { rows, json, ratio: ratios } = await comparison(
    { name: "off", run: async (run) => {
      const c = await run(cluster({ nodes: 1, registry: false, config: { metrics: false } }))
      return () => Load.child(c.nodes[0]!.address, PHASE)
    } },
    { name: "on", run: async (run) => {
      const c = await run(cluster({ nodes: 1, registry: false }))
      return () => Load.child(c.nodes[0]!.address, PHASE)
    } }
  )
  for (const op of ["set", "get"] as const) (json[op] as Record<string, unknown>).meetsTarget = ratios[op] >= 0.95
  console.log(table(["phase", "metrics", "ops/s", "p50 ms", "p99 ms", "server CPU us/op", "ops/s vs off", "errors"], rows))
  console.log(`${CONCURRENCY} in flight, ${VALUE_BYTES} B values; medians of ${REPS} repetitions, modes alternating. Target: on >= 0.95x off.`)
  // Ops/s of two runs of one node differ by more than metrics cost on this kind of machine: the
  // work metrics add to a request, timed alone, beside the CPU a request costs the node.
  const recording = recordingCost()
  const offCpu = median(["set", "get"].map((op) => (json[op] as Record<string, number>).offServerCpuUsPerOp!))
  console.log(
    `Recording one request (two clock reads, its counter and two histograms), timed alone: ${fmt(recording, 2)} us, ` +
      `${fmt((100 * recording) / offCpu, 2)}% of the ${fmt(offCpu, 1)} us of server CPU a request takes with metrics off.`
  )
  return { ...json, reps: REPS, targetRatio: 0.95, recordingUsPerRequest: round(recording, 3), recordingShareOfRequestCpu: round(recording / offCpu, 4) }
}

/** Microseconds to record one request in a node's metrics, as `DhtServer` does (median of 5 runs of 200,000). */
const recordingCost = () => {
  const metrics = Metrics.make()
  const clock = Effect.runSync(Clock.clockWith(Effect.succeed))
  const N = 200_000
  const runs: Array<number> = []
  for (let rep = 0; rep < 6; rep++) {
    const start = performance.now()
    for (let i = 0; i < N; i++) {
      const started = clock.currentTimeNanosUnsafe()
      const seconds = Number(clock.currentTimeNanosUnsafe() - started) / 1e9
      metrics.request(i % 2 === 0 ? "set" : "get", "ok", seconds + (i % 7) * 0.001, 0)
    }
    // The first run warms up.
    if (rep > 0) runs.push(((performance.now() - start) * 1000) / N)
  }
  return median(runs)
}

// ---------------------------------------------------------------------------------------------
// k. Latency with replication, against grpc-js floors
// ---------------------------------------------------------------------------------------------

const LATENCY_IN_FLIGHT = [1, 16]
/**
 * Repetitions per level, targets in alternating order: the p50 goal at 1 in flight is judged on
 * the median of paired ratios, as single runs of the same code spread from 1.1x to 1.8x here.
 */
const latencyReps = (inFlight: number) => (inFlight === 1 ? REPS : 1)

/** The median of each figure over repetitions. */
const medianResult = (runs: ReadonlyArray<Latency.Result>): Latency.Result => {
  const of = (op: "set" | "get"): Latency.Percentiles => ({
    ops: median(runs.map((r) => r[op].ops)),
    p50: median(runs.map((r) => r[op].p50)),
    p99: median(runs.map((r) => r[op].p99)),
    p999: median(runs.map((r) => r[op].p999)),
    errors: runs.reduce((n, r) => n + r[op].errors, 0)
  })
  return { set: of("set"), get: of("get") }
}
const LATENCY_KEYS = 1000

/** The nodes' replication flags, for the `dht` processes and the `TestCluster` alike. */
const LATENCY_REPLICATION = { replicas: 3, writeQuorum: 2, readQuorum: 2 }

const sectionK = async () => {
  header("k. Latency with replication: 5 nodes (replicas 3, write and read quorums 2), owner-direct client")
  // Two layouts, each against its own floor: everything in this process (a TestCluster and the
  // hops of the chain share one event loop, as users' tests run them), and a process per node
  // and per hop, as a deployment runs them (a Set's copies are written in parallel there).
  const names = ["bare", "chain", "cluster", "chainProcs", "clusterProcs"] as const
  type Name = typeof names[number]
  const results = Object.fromEntries(names.map((n) => [n, {}])) as Record<Name, Record<number, Latency.Result>>
  const reps = Object.fromEntries(names.map((n) => [n, {}])) as Record<Name, Record<number, Array<Latency.Result>>>
  const bare = await Bare.start()
  const chain = await Latency.startChain()
  const chainProcs = await Latency.startChainProcesses()
  const nodeProcs = await Latency.startNodeProcesses(
    5,
    ["--replicas", "3", "--write-quorum", "2", "--read-quorum", "2"],
    LATENCY_REPLICATION.replicas
  )
  try {
    await withScope(async (run) => {
      const c = await run(cluster({ nodes: 5, registry: false, config: LATENCY_REPLICATION }))
      const targets: Record<Name, Latency.Target> = {
        bare: { raw: `127.0.0.1:${bare.port}` },
        chain: { raw: chain.address },
        cluster: { nodes: c.nodes.map((n) => n.address) },
        chainProcs: { raw: chainProcs.address },
        clusterProcs: { nodes: nodeProcs.nodes }
      }
      for (const inFlight of LATENCY_IN_FLIGHT) {
        for (let rep = 0; rep < latencyReps(inFlight); rep++) {
          // Alternate the order, so that no target always runs first or last.
          for (const name of rep % 2 === 0 ? names : [...names].reverse()) {
            const r = await Latency.child({
              target: targets[name],
              concurrency: inFlight,
              // Few enough that the Set phase writes them all before the Gets read them.
              keys: LATENCY_KEYS,
              valueBytes: VALUE_BYTES,
              warmupMs: WARMUP_MS,
              durationMs: QUICK ? 2000 : 6000
            })
            ;(reps[name][inFlight] ??= []).push(r)
          }
        }
        for (const name of names) results[name][inFlight] = medianResult(reps[name][inFlight]!)
      }
    })
  } finally {
    await nodeProcs.close()
    await chainProcs.close()
    await chain.close()
    await bare.close()
  }
  const label: Record<Name, string> = {
    bare: "bare grpc-js, 1 hop",
    chain: "grpc-js chain, 3 hops",
    cluster: "Crusty Ring, 5 nodes",
    chainProcs: "grpc-js chain, 3 hops, 3 processes",
    clusterProcs: "Crusty Ring, 5 dht processes"
  }
  const rows: Array<Array<string>> = []
  for (const inFlight of LATENCY_IN_FLIGHT) {
    for (const name of names) {
      for (const op of ["set", "get"] as const) {
        const r = results[name][inFlight]![op]
        rows.push([label[name], String(inFlight), op, fmt(r.ops), fmt(r.p50, 2), fmt(r.p99, 2), fmt(r.p999, 2), String(r.errors)])
      }
    }
  }
  console.log(table(["target", "in flight", "op", "requests", "p50 ms", "p99 ms", "p99.9 ms", "errors"], rows))

  /** One layout's ratios against its chain. */
  const layout = (node: Name, floor: Name) => {
    // Each repetition's ratio pairs two runs made minutes apart at most; the median of those
    // ratios is steadier than a ratio of two medians.
    const perRep = (op: "set" | "get") => reps[node][1]!.map((r, i) => r[op].p50 / reps[floor][1]![i]![op].p50)
    const vsChain = (op: "set" | "get") => median(perRep(op))
    const worstP999 = Math.max(...LATENCY_IN_FLIGHT.flatMap((n) => [results[node][n]!.set.p999, results[node][n]!.get.p999]))
    // The tail against the same floor: the chain's own p99.9 says how much of the tail the machine
    // (GC, scheduling, other load) puts there with no Crusty Ring code in the path.
    const p999VsChain = Object.fromEntries(
      LATENCY_IN_FLIGHT.map((n) => [n, {
        set: round(results[node][n]!.set.p999 / results[floor][n]!.set.p999, 2),
        get: round(results[node][n]!.get.p999 / results[floor][n]!.get.p999, 2)
      }])
    )
    const chainWorstP999 = Math.max(...LATENCY_IN_FLIGHT.flatMap((n) => [results[floor][n]!.set.p999, results[floor][n]!.get.p999]))
    return {
      p50VsChainAt1: { set: round(vsChain("set"), 2), get: round(vsChain("get"), 2) },
      p50VsChainAt1PerRep: { set: perRep("set").map((x) => round(x, 2)), get: perRep("get").map((x) => round(x, 2)) },
      p999VsChain,
      chainWorstP999Ms: round(chainWorstP999, 2),
      worstP999Ms: round(worstP999, 2),
      meetsTarget: vsChain("set") <= 1.5 && vsChain("get") <= 1.5 && worstP999 < 30
    }
  }
  const inProcess = layout("cluster", "chain")
  const processes = layout("clusterProcs", "chainProcs")
  for (const [name, l] of [["One process", inProcess], ["A process each", processes]] as const) {
    console.log(
      `${name}: p50 at 1 in flight vs the 3-hop chain: Set ${ratio(l.p50VsChainAt1.set)}, Get ${ratio(l.p50VsChainAt1.get)} (goal: at most 1.5x). ` +
        `p99.9 vs the chain: ${LATENCY_IN_FLIGHT.map((n) => `${n} in flight Set ${ratio(l.p999VsChain[n]!.set)}, Get ${ratio(l.p999VsChain[n]!.get)}`).join("; ")}. ` +
        `Worst p99.9: ${fmt(l.worstP999Ms, 2)} ms (goal: under 30 ms; the chain's own worst: ${fmt(l.chainWorstP999Ms, 2)} ms).`
    )
  }
  console.log(
    `${VALUE_BYTES} B values over ${LATENCY_KEYS} keys; the client runs in a child process. One process: the TestCluster and ` +
      "the chain's hops in this one. A process each: 5 dht processes, and a process per hop of the chain. " +
      `At 1 in flight, medians of ${latencyReps(1)} runs per target, in alternating order; the p50 ratio is the median of the runs' paired ratios ` +
      `(per run: one process Set ${inProcess.p50VsChainAt1PerRep.set.map(ratio).join(" ")}, Get ${inProcess.p50VsChainAt1PerRep.get.map(ratio).join(" ")}; ` +
      `a process each Set ${processes.p50VsChainAt1PerRep.set.map(ratio).join(" ")}, Get ${processes.p50VsChainAt1PerRep.get.map(ratio).join(" ")}). ` +
      "At 16 in flight every target runs at the machine's limit, so its latency is mostly queueing: p50 is about 16 / its rate."
  )
  return { results, repsAt1: latencyReps(1), ...inProcess, processes }
}

// ---------------------------------------------------------------------------------------------
// l. Many nodes in one process
// ---------------------------------------------------------------------------------------------

const MANY_NODES = 16
const MANY_TARGET = 0.25

const sectionL = async () => {
  header(`l. ${MANY_NODES} nodes in one process (TestCluster, owner-direct client in the same process) vs one node`)
  const options = { seconds: WINDOW_MS / 1000, warmupMs: WARMUP_MS }
  type Rates = Record<"get" | "set", number>
  const runs = { one: [] as Array<Record<"get" | "set", Many.Phase>>, many: [] as Array<Record<"get" | "set", Many.Phase>> }
  const floor = { one: [] as Array<Rates>, many: [] as Array<Rates> }
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? (["one", "many"] as const) : (["many", "one"] as const)
    for (const mode of order) runs[mode].push(await Many.measure(mode === "one" ? 1 : MANY_NODES, options))
    // The same layout with bare grpc-js servers: what gRPC alone gives up with 16 servers.
    for (const mode of order) {
      floor[mode].push(await Fanout.measure(mode === "one" ? 1 : MANY_NODES, mode === "one" ? 0 : 2, { warmupMs: WARMUP_MS, ms: WINDOW_MS }))
    }
  }
  const rows: Array<Array<string>> = []
  const json: Record<string, unknown> = {}
  for (const op of ["get", "set"] as const) {
    const ratios = runs.many.map((r, i) => r[op].opsPerSec / runs.one[i]![op].opsPerSec)
    const floorRatios = floor.many.map((r, i) => r[op] / floor.one[i]![op])
    const of = (mode: "one" | "many") => ({
      opsPerSec: median(runs[mode].map((r) => r[op].opsPerSec)),
      p50: median(runs[mode].map((r) => r[op].p50))
    })
    const one = of("one")
    const many = of("many")
    const name = op === "set" ? "Set" : "Get"
    const floorOne = median(floor.one.map((r) => r[op]))
    const floorMany = median(floor.many.map((r) => r[op]))
    rows.push([name, "Crusty Ring", "1", fmt(one.opsPerSec), fmt(one.p50, 2), "1.00x"])
    rows.push([name, "Crusty Ring", String(MANY_NODES), fmt(many.opsPerSec), fmt(many.p50, 2), ratio(median(ratios))])
    rows.push([name, "bare grpc-js", "1", fmt(floorOne), "", "1.00x"])
    rows.push([name, "bare grpc-js", String(MANY_NODES), fmt(floorMany), "", ratio(median(floorRatios))])
    json[op] = {
      oneOpsPerSec: round(one.opsPerSec, 0),
      manyOpsPerSec: round(many.opsPerSec, 0),
      oneP50Ms: round(one.p50, 2),
      manyP50Ms: round(many.p50, 2),
      ratio: round(median(ratios), 3),
      ratioPerRep: ratios.map((x) => round(x, 3)),
      bareOneOpsPerSec: round(floorOne, 0),
      bareManyOpsPerSec: round(floorMany, 0),
      bareRatio: round(median(floorRatios), 3),
      ratioVsBareRatio: round(median(ratios) / median(floorRatios), 3),
      meetsTarget: median(ratios) >= MANY_TARGET
    }
  }
  console.log(table(["op", "servers", "count", "ops/s", "p50 ms", "ops/s vs one"], rows))
  console.log(
    `${Many.IN_FLIGHT} in flight over ${Many.KEYS} keys of ${VALUE_BYTES} B, TestCluster defaults (3 copies, write quorum 2, read quorum 1, one position per node); ` +
      `medians of ${REPS} repetitions, modes alternating. Target: >= ${MANY_TARGET}x of one node.`
  )
  console.log(
    `Bare grpc-js: ${MANY_NODES} Map servers and a raw client in this process, each request to the key's server; a Set there is stored and copied to the` +
      " next two servers, answered after the first copy (the calls of 3 copies, write quorum 2). Its ratio is what gRPC alone gives up in this layout."
  )
  return { nodes: MANY_NODES, inFlight: Many.IN_FLIGHT, keys: Many.KEYS, reps: REPS, targetRatio: MANY_TARGET, ...json }
}

const started = now()
console.log(`Crusty Ring benchmarks: ${machine.cpu}, ${machine.cpus} CPUs, ${machine.totalMemoryGB} GB, Node ${machine.node}, ${machine.date}`)
console.log(`Load average at start: ${machine.loadAvgAtStart.join(" ")}${machine.loadAvgAtStart[0]! > 0.5 ? " (other work is running: expect noise)" : ""}`)
if (QUICK) console.log("BENCH_QUICK=1: short windows, one repetition.")

const sections: Record<string, unknown> = {}
const timings: Record<string, number> = {}
const loadAvg: Record<string, number> = {}
const timed = async (name: string, f: () => unknown) => {
  if (!ONLY.has(name)) return
  loadAvg[name] = round(os.loadavg()[0]!, 2)
  const t0 = now()
  sections[name] = await f()
  timings[name] = round((now() - t0) / 1000, 1)
  console.log(`(section ${name}: ${fmt(timings[name]!, 1)} s)`)
}
await timed("a", sectionA)
await timed("b", sectionB)
await timed("c", sectionC)
await timed("d", sectionD)
await timed("e", sectionE)
await timed("f", sectionF)
await timed("g", sectionG)
await timed("h", sectionH)
await timed("i", sectionI)
await timed("j", sectionJ)
await timed("k", sectionK)
await timed("l", sectionL)

const totalSeconds = round((now() - started) / 1000, 1)
console.log(`\nTotal: ${fmt(totalSeconds, 1)} s`)
const results = {
  machine: { ...machine, loadAvgAtEnd: os.loadavg().map((x) => round(x, 2)) },
  quick: QUICK,
  totalSeconds,
  sectionSeconds: timings,
  /** 1-minute load average when each section started: above ~0.5, other work shared the CPUs. */
  sectionLoadAvg: loadAvg,
  ...sections
}
const complete = [..."abcdefghijkl"].every((s) => ONLY.has(s)) && !QUICK
if (complete) writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`)
else console.log(`(partial or quick run: ${RESULTS_FILE} not written)`)
console.log(JSON.stringify(results))

// Everything above has been shut down, so the process exits by itself. If a handle were left
// open, say so on stderr (stdout must end with the JSON line) and exit anyway.
setTimeout(() => {
  console.error("bench: a handle is still open 10 s after the end; exiting")
  process.exit(0)
}, 10_000).unref()

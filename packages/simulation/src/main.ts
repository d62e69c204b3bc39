/**
 * `npm run sim -- --nodes N --seeds K [--seed S] [--faults crash,partition,drop,delay,churn]
 * [--vnodes V] [--minutes M] [--jobs J]`: runs the simulator over seeds 1..K (or the one seed S),
 * prints one line per failing seed with its seed and shrunk event trace, and a JSON summary
 * last. Exits 1 when a seed failed, so a failing seed replays with `--seed S`. Seeds run in J
 * child processes at once (default: one per core); `--plan` and `--outcomes` are what a child
 * is given.
 */
import { readFileSync } from "node:fs"
import * as os from "node:os"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import * as Band from "./Band.ts"
import * as Faults from "./Faults.ts"
import * as Runner from "./Runner.ts"

const flags = {
  nodes: Flag.Int("nodes").pipe(Flag.withDescription("Nodes (processes) in the ring (default 16)"), Flag.withDefault(16)),
  seeds: Flag.Int("seeds").pipe(Flag.withDescription("Seeds to run: 1..K (default 10)"), Flag.withDefault(10)),
  seed: Flag.Int("seed").pipe(Flag.withDescription("Run this one seed (replays a failure)"), Flag.optional),
  faults: Flag.String("faults").pipe(
    Flag.withDescription(`Fault kinds, comma-separated: ${Faults.KINDS.join(",")} (default all; "none" for none)`),
    Flag.withDefault(Faults.KINDS.join(","))
  ),
  vnodes: Flag.Int("vnodes").pipe(Flag.withDescription("Virtual nodes per process (default 1)"), Flag.withDefault(1)),
  minutes: Flag.String("minutes").pipe(Flag.withDescription("Simulated minutes of load and faults per seed, e.g. 0.5 (default 1)"), Flag.withDefault("1")),
  logLevel: Flag.Literals("node-log-level", ["none", "error", "warning", "info", "debug"]).pipe(
    Flag.withDescription("What the simulated nodes log, to stderr (default none)"),
    Flag.withDefault("none" as const)
  ),
  band: Flag.Boolean("band").pipe(
    Flag.withDescription(`Run the fast band that CI runs: ${Band.SIZE} seeds of 8 to 32 nodes, every fault, ${Band.MINUTES} minutes each`),
    Flag.withDefault(false)
  ),
  traceKey: Flag.String("trace-key").pipe(
    Flag.withDescription("Print every operation on this key (e.g. key-48), with its owners and copies, to stderr"),
    Flag.optional
  ),
  jobs: Flag.Int("jobs").pipe(
    Flag.withDescription("Seeds run at once, each in its own process (default: one per core)"),
    Flag.withDefault(os.availableParallelism())
  ),
  shrink: Flag.Int("shrink").pipe(Flag.withDescription("Reruns spent shrinking a failing seed's schedule (default 8)"), Flag.withDefault(8)),
  plan: Flag.String("plan").pipe(Flag.withDescription("Run these seeds, as seed:nodes,... (what a job is given)"), Flag.optional),
  outcomes: Flag.Boolean("outcomes").pipe(Flag.withDescription("Print one JSON line per seed, not a summary (what a job prints)"), Flag.withDefault(false)),
  moreDown: Flag.Boolean("more-down").pipe(
    Flag.withDescription("Allow more than replicas - 1 nodes down at once (then losses are expected)"),
    Flag.withDefault(false)
  )
}

const usage = (message: string) => Effect.fail(new Error(message))

/** The JSON summary's fields, rounded for reading. */
const summarized = (summary: Runner.Summary) => ({
  seedsRun: summary.seedsRun,
  seedsFailed: summary.seedsFailed,
  lostWrites: summary.lostWrites,
  resurrectedDeletes: summary.resurrectedDeletes,
  meanHops: Number(summary.meanHops.toFixed(2)),
  maxHops: summary.maxHops,
  settleSeconds: { mean: Number(summary.settleSeconds.mean.toFixed(1)), max: summary.settleSeconds.max },
  bytesPerNode: summary.bytesPerNode,
  wallSeconds: Number((summary.wallMs / 1000).toFixed(1))
})

const levels = { none: "None", error: "Error", warning: "Warn", info: "Info", debug: "Debug" } as const

const sim = Command.make("sim", flags, (f) =>
  Effect.gen(function*() {
    const kinds = f.faults === "none" ? [] : f.faults.split(",").map((k) => k.trim())
    const bad = kinds.filter((k) => !(Faults.KINDS as ReadonlyArray<string>).includes(k))
    if (bad.length > 0) return yield* usage(`--faults: unknown kind ${bad.join(", ")}; kinds are ${Faults.KINDS.join(", ")}`)
    if (f.nodes < 1) return yield* usage(`--nodes must be at least 1, got ${f.nodes}`)
    if (f.seeds < 1) return yield* usage(`--seeds must be at least 1, got ${f.seeds}`)
    if (f.jobs < 1) return yield* usage(`--jobs must be at least 1, got ${f.jobs}`)
    const minutes = Number(f.minutes)
    if (!(minutes > 0)) return yield* usage(`--minutes must be a positive number, got ${JSON.stringify(f.minutes)}`)
    const shared = {
      kinds: kinds as ReadonlyArray<Faults.Kind>,
      vnodes: f.vnodes,
      minutes,
      moreDown: f.moreDown,
      logLevel: levels[f.logLevel],
      ...(Option.isSome(f.traceKey) ? { traceKey: f.traceKey.value } : {})
    }
    if (Option.isSome(f.plan)) {
      // A job: run the seeds given, and print each result as one JSON line.
      const plan = f.plan.value.split(",").map((entry) => entry.split(":").map(Number))
      if (plan.some(([s, n]) => !Number.isInteger(s) || !Number.isInteger(n) || n! < 1)) {
        return yield* usage(`--plan: expected seed:nodes,..., got ${JSON.stringify(f.plan.value)}`)
      }
      for (const [s, n] of plan) {
        const result = yield* Runner.seed({ ...shared, seed: s!, nodes: n! }, f.shrink)
        if (f.outcomes) yield* Console.log(JSON.stringify(result))
        if (result.failed) process.exitCode = 1
      }
      return
    }
    if (f.band) {
      const summary = yield* Runner.runJobs(Band.seeds(), Band.options, Band.nodesOf, f.jobs, (failed) =>
        Console.log(
          `FAILED seed ${failed.seed} (${failed.nodes} nodes): ${failed.failures.slice(0, 3).join("; ")}\n  trace: ${failed.trace.join("\n         ")}\n  replay: npm run sim -- --nodes ${failed.nodes} --seed ${failed.seed} --minutes ${Band.MINUTES}`
        ), f.shrink)
      yield* Console.log(JSON.stringify({ band: true, ...summarized(summary), jobs: f.jobs }))
      if (summary.seedsFailed > 0) process.exitCode = 1
      return
    }
    const seeds = Option.isSome(f.seed) ? [f.seed.value] : Array.from({ length: f.seeds }, (_, i) => i + 1)
    const onFailed = (failed: Runner.Failed) =>
      Console.log(
        `FAILED seed ${failed.seed} (${failed.nodes} nodes): ${failed.failures.slice(0, 3).join("; ")}\n  trace: ${failed.trace.join("\n         ")}\n  replay: npm run sim -- --nodes ${failed.nodes} --seed ${failed.seed} --faults ${f.faults} --minutes ${f.minutes}${f.vnodes > 1 ? ` --vnodes ${f.vnodes}` : ""}${f.moreDown ? " --more-down" : ""}`
      )
    const summary = f.jobs > 1 && seeds.length > 1
      ? yield* Runner.runJobs(seeds, shared, () => f.nodes, f.jobs, onFailed, f.shrink)
      : yield* Runner.runAll(seeds, shared, () => f.nodes, onFailed, f.shrink)
    yield* Console.log(JSON.stringify({ ...summarized(summary), nodes: f.nodes, vnodes: f.vnodes, jobs: Math.min(f.jobs, seeds.length) }))
    if (summary.seedsFailed > 0) process.exitCode = 1
  })).pipe(Command.withDescription("Run the deterministic simulator of Crusty Ring"))

// A reader that has gone (`npm run sim | head -1`) ends the run quietly, as SIGPIPE ends a C tool.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e
  process.exit(process.exitCode ?? 0)
})

Command.run(sim, { version: (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version }).pipe(
  Effect.catch((e: unknown) =>
    Effect.sync(() => {
      console.error(`error: ${e instanceof Error ? e.message : String(e)}`)
      process.exitCode = 1
    })
  ),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)

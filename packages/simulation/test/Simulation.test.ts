/**
 * The simulator's fast band, run in `npm test`: a handful of seeds with every kind of fault on
 * small rings, and the seeds of bugs it found, kept as regression tests. Any failing seed fails
 * the test and names itself, with the command that replays it.
 */
import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { ChildProcess } from "effect/process"
import { Band, Faults, Runner } from "../src/index.ts"

const MAIN = new URL("../src/main.ts", import.meta.url).pathname

/**
 * Runs that once failed, with what they found; each must pass now. The shrunk schedule is kept
 * as it was printed, since a change to the schedule generator changes what a seed draws.
 */
const REGRESSIONS: ReadonlyArray<{
  readonly seed: number
  readonly nodes: number
  readonly minutes: number
  readonly events: ReadonlyArray<Faults.Event>
  readonly found: string
}> = [
  {
    seed: 2,
    nodes: 8,
    minutes: 0.5,
    events: [
      { kind: "delay", at: 2_400, until: 10_700, maxMs: 76 },
      { kind: "delay", at: 7_700, until: 17_500, maxMs: 30 },
      { kind: "join", at: 13_200, node: 8 },
      { kind: "drop", at: 17_500, until: 24_200, chance: 0.03 }
    ],
    found: "a FetchRange whose request was lost stalled a repair round for the whole transfer deadline, leaving a replica a version behind"
  }
]

/** The first seeds of the fast band (`npm run sim:band` runs all of it in CI): about 20 seconds. */
const BAND = Band.seeds(16)

const report = (summary: Runner.Summary) =>
  summary.failed.map((f) =>
    `seed ${f.seed} (${f.nodes} nodes): ${f.failures.slice(0, 3).join("; ")}\n  trace: ${f.trace.join(" | ")}\n  replay: npm run sim -- --nodes ${f.nodes} --seed ${f.seed} --minutes ${Band.MINUTES}`
  )

describe("simulation", () => {
  it.live(`fast band: the first ${BAND.length} of its ${Band.SIZE} seeds, 8 to 32 nodes with every fault`, () =>
    Effect.gen(function*() {
      const summary = yield* Runner.runAll(BAND, Band.options, Band.nodesOf, () => Effect.void, 0)
      console.log(`[simulation] ${JSON.stringify({ ...summary, failed: summary.failed.map((f) => f.seed) })}`)
      expect(report(summary)).toEqual([])
      expect(summary.seedsRun).toBe(BAND.length)
    }), 240_000)

  it.live("seeds shared out over two simulator processes give the outcomes one process gives", () =>
    Effect.gen(function*() {
      // Two seeds of the band on 8 nodes.
      const seeds = [1004, 1008]
      const strip = (s: Runner.Summary) => ({ ...s, wallMs: 0, bytesPerNode: 0 })
      const alone = yield* Runner.runAll(seeds, Band.options, Band.nodesOf, () => Effect.void, 0)
      const shared = yield* Runner.runJobs(seeds, Band.options, Band.nodesOf, 2, () => Effect.void, 0).pipe(Effect.provide(NodeServices.layer))
      expect(strip(shared)).toEqual(strip(alone))
    }), 240_000)

  for (const r of REGRESSIONS) {
    it.live(`seed ${r.seed} (${r.nodes} nodes) once found: ${r.found}`, () =>
      Effect.gen(function*() {
        const summary = yield* Runner.runAll([r.seed], { kinds: Faults.KINDS, minutes: r.minutes, events: r.events }, () => r.nodes, () => Effect.void, 0)
        expect(report(summary)).toEqual([])
      }), 240_000)
  }

  it.live("a seed replays exactly: the same run, operation for operation", () =>
    Effect.gen(function*() {
      const options = { seed: 5, nodes: 8, kinds: Faults.KINDS, minutes: 0.15 }
      const strip = (o: { readonly wallMs: number; readonly bytesPerNode: number }) => ({ ...o, wallMs: 0, bytesPerNode: 0 })
      const first = strip(yield* Runner.once(options))
      const second = strip(yield* Runner.once(options))
      expect(second).toEqual(first)
    }), 240_000)

  it.live("--trace-key prints each attempt on that key, and no other, with who owns it and what each copy holds", () =>
    Effect.gen(function*() {
      const run = Effect.scoped(Effect.gen(function*() {
        const child = yield* ChildProcess.make(
          process.execPath,
          [MAIN, "--seed", "3", "--nodes", "8", "--minutes", "0.2", "--jobs", "1", "--trace-key", "key-5"]
        )
        const text = (stream: Stream.Stream<Uint8Array, unknown>) => stream.pipe(Stream.decodeText(), Stream.mkString)
        const [stdout, stderr] = yield* Effect.all([text(child.stdout), text(child.stderr)], { concurrency: 2 })
        return { stdout, stderr, code: yield* child.exitCode }
      }))
      const { code, stderr, stdout } = yield* run.pipe(Effect.provide(NodeServices.layer))
      expect(code, stderr).toBe(0)
      expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toMatchObject({ seedsRun: 1, seedsFailed: 0 })
      const lines = stderr.split("\n").filter((l) => l.length > 0)
      const attempts = lines.filter((l) => l.startsWith("["))
      expect(attempts.length, stderr).toBeGreaterThan(0)
      // One attempt line and one state line each; every attempt is on the traced key.
      expect(lines.length).toBe(attempts.length * 2)
      for (const a of attempts) expect(a).toMatch(/^\[\d+ ms\] (Get|Set|Delete) key-5 .* via n\d+:7000: /)
      const states = lines.filter((l) => l.startsWith("  "))
      expect(states.every((l) => /n\d+:7000 owns it/.test(l)), states.join("\n")).toBe(true)
      // This seed writes the key: the copies then show with their values and versions.
      expect(attempts.some((a) => / Set key-5 "\d+" via .*: ok/.test(a)), attempts.join("\n")).toBe(true)
      expect(states.some((l) => /holds "\d+" at \d+\/[0-9a-f]{6}/.test(l)), states.join("\n")).toBe(true)
    }), 120_000)

  it("a seed draws the same schedule every time, and another seed a different one", () => {
    const options = { nodes: 16, kinds: Faults.KINDS, span: 60_000, maxDown: 2 }
    expect(Faults.draw(7, options)).toEqual(Faults.draw(7, options))
    expect(Faults.draw(7, options)).not.toEqual(Faults.draw(8, options))
  })

  it("a schedule never has more than replicas - 1 nodes crashed or cut off at once", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const events = Faults.draw(seed, { nodes: 12, kinds: Faults.KINDS, span: 60_000, maxDown: 2 })
      for (let t = 0; t < 80_000; t += 250) {
        const down = new Set<number>()
        for (const e of events) {
          if (e.kind === "crash" && e.at <= t && t < e.until) down.add(e.node)
          if (e.kind === "partition" && e.at <= t && t < e.until) e.side.forEach((n) => down.add(n))
          if (e.kind === "leave" && e.at <= t) down.add(e.node)
        }
        expect(down.size, `seed ${seed} at ${t} ms`).toBeLessThanOrEqual(2)
      }
    }
  })
})

/**
 * Down is not gone, with real processes on loopback: a killed member is marked down and keeps
 * counting in quorums, so the last node standing acknowledges no write; members that answer
 * again are taken back; `--dead-after` and `dht-client remove` end a membership.
 *
 * Nothing sleeps for a fixed time: every wait polls with a deadline. Every process is SIGKILLed
 * when its test's scope closes.
 */
import { RingStatus } from "@crustyring/client"
import { Grpc, Proto, type Wire } from "@crustyring/protocol"
import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Result } from "effect"
import { JOINED, STARTED_RING } from "./cluster.ts"
import { freePorts } from "./durable.ts"
import { ProcessError, runBin, spawnBin } from "./processes.ts"
import { eventually, printLogsOnFailure, type RingNode, ringProblem, walk } from "./replicated.ts"

const ARGS = ["--replicas", "3", "--write-quorum", "2", "--ping-interval", "250ms", "--failure-timeout", "1s", "--repair-interval", "1s"]

/** One query sent to `address` itself: the node answers or forwards, and the client does not retry elsewhere. */
const queryAt = (address: string, query: Wire.Query) =>
  Effect.scoped(Effect.gen(function*() {
    const c = yield* Grpc.client(Proto.proto.dht.DhtNode, address)
    return yield* Effect.result(Grpc.call<Wire.QueryResult__Output>(address, "3 seconds", (o, cb) => c.QueryDht(query, o, cb)))
  }))

const set = (address: string, key: string, value: string) =>
  queryAt(address, { ty: "Set", key: Buffer.from(key), value: Buffer.from(value) })

/** Polls `check` until it reports no problem, for at most `timeout`. */
const until = (what: string, check: () => Effect.Effect<string | undefined, ProcessError>, timeout: Duration.Input) =>
  eventually(
    what,
    Effect.flatMap(Effect.suspend(check), (problem) => problem === undefined ? Effect.void : Effect.fail(new ProcessError({ message: problem }))),
    timeout
  )

/** The down members the ring walk from `address` reports, by address. */
const downVia = (address: string) => Effect.map(walk(address), (ring) => RingStatus.down(ring).map((d) => d.address))

/** Starts `dht` on a fixed loopback port and waits until it serves. */
const startAt = (port: number, args: ReadonlyArray<string>, label: string) =>
  Effect.gen(function*() {
    const proc = yield* spawnBin("dht", ["--host", "127.0.0.1", "--port", String(port), ...args], { label })
    const [, address] = yield* proc.waitForStderr(args.includes("--join") ? JOINED : STARTED_RING, "15 seconds")
    return { proc, address: address! } satisfies RingNode
  })

/** Starts nodes on fixed ports, the first alone and the others joining it. */
const startOnPorts = (ports: ReadonlyArray<number>, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const first = `127.0.0.1:${ports[0]}`
    const nodes: Array<RingNode> = []
    for (const [i, port] of ports.entries()) {
      nodes.push(yield* startAt(port, i === 0 ? args : ["--join", first, ...args], `node ${i + 1}`))
    }
    return nodes
  })

describe("down members", () => {
  it.live("a killed member is down, still counted: the last node standing acknowledges no write, and members that answer again are taken back", () =>
    Effect.gen(function*() {
      const ports = yield* freePorts(3)
      const nodes = yield* startOnPorts(ports, ARGS)
      yield* printLogsOnFailure(nodes)
      const [a, b, c] = nodes.map((n) => n.address) as [string, string, string]
      yield* until("one ring of three", () => Effect.map(walk(a), (ring) => ringProblem(ring, [a, b, c])), "20 seconds")
      for (let i = 0; i < 30; i++) {
        const r = yield* set(a, `k${i}`, `v${i}`)
        expect(Result.isSuccess(r), `set k${i}`).toBe(true)
      }
      // A write is acknowledged at two copies, and survives two crashes only once it has its
      // third: with three nodes and three copies, every node stores every key. Right after the
      // ring forms, an owner's view may not list all its replicas yet, and repair adds the copy
      // a little later; killing two nodes before that loses keys (it did, one run in four).
      yield* until("every key on all three nodes", () =>
        Effect.map(walk(a), (ring) => ring.length === 3 && ring.every((n) => n.keys >= 30) ? undefined : `stored: ${ring.map((n) => n.keys)}`), "20 seconds")

      yield* nodes[2]!.proc.kill("SIGKILL")
      yield* until("c shown down", () => Effect.map(downVia(a), (down) => down.includes(c) ? undefined : `down: ${down}`), "15 seconds")
      // Two of three members answer: writes go on.
      const withTwo = yield* set(a, "two", "ok")
      expect(Result.isSuccess(withTwo) && withTwo.success.error === undefined).toBe(true)

      yield* nodes[1]!.proc.kill("SIGKILL")
      yield* until("b and c shown down", () =>
        Effect.map(downVia(a), (down) => down.includes(b) && down.includes(c) ? undefined : `down: ${down}`), "15 seconds")
      const status = yield* Effect.map(walk(a), (ring) => ring[0]!)
      expect(status.members).toBe(3)
      // Alone, but still one of three members: no write is acknowledged...
      const alone = yield* set(a, "alone", "no")
      expect(Result.isFailure(alone) && alone.failure._tag).toBe("Unavailable")
      if (Result.isFailure(alone)) expect(alone.failure.message).toMatch(/quorum not reached/)
      // ...and reads of what it holds go on (read quorum 1).
      const read = yield* queryAt(a, { ty: "Get", key: Buffer.from("two") })
      expect(Result.isSuccess(read) && Buffer.from(read.success.value ?? []).toString()).toBe("ok")

      // Both come back on their addresses and are taken back: one ring, writes again.
      const back = [
        yield* startAt(ports[1]!, ["--join", a, ...ARGS], "node 2 again"),
        yield* startAt(ports[2]!, ["--join", a, ...ARGS], "node 3 again")
      ]
      yield* printLogsOnFailure(back)
      yield* until("one ring of three again, none down", () =>
        Effect.flatMap(walk(a), (ring) =>
          Effect.succeed(ringProblem(ring, [a, b, c]) ?? (RingStatus.down(ring).length > 0 ? `still down: ${RingStatus.down(ring).map((d) => d.address)}` : undefined))), "20 seconds")
      const again = yield* set(b, "again", "yes")
      expect(Result.isSuccess(again) && again.success.error === undefined).toBe(true)
      for (const via of [a, b, c]) {
        for (let i = 0; i < 30; i += 7) {
          const r = yield* queryAt(via, { ty: "Get", key: Buffer.from(`k${i}`) })
          const answer = Result.isSuccess(r) ? (r.success.error ?? `value ${Buffer.from(r.success.value ?? []).toString()}`) : `${r.failure._tag}: ${r.failure.message}`
          expect(Result.isSuccess(r) && Buffer.from(r.success.value ?? []).toString(), `k${i} via ${via}: ${answer}`).toBe(`v${i}`)
        }
      }
    }).pipe(Effect.scoped), {
    timeout: 90_000
  })

  it.live("--dead-after ends the membership of a member silent that long; dht-client remove ends it at once, and refuses a member that answers", () =>
    Effect.gen(function*() {
      const ports = yield* freePorts(4)
      // Long enough that `dht-client remove`, started after d is shown down, reaches it before
      // --dead-after would end its membership anyway (a client starts in 2-5 s on a loaded host).
      const nodes = yield* startOnPorts(ports, [...ARGS, "--dead-after", "10s"])
      yield* printLogsOnFailure(nodes)
      const [a, b, c, d] = nodes.map((n) => n.address) as [string, string, string, string]
      yield* until("one ring of four", () => Effect.map(walk(a), (ring) => ringProblem(ring, [a, b, c, d])), "20 seconds")

      // A member that answers cannot be removed.
      const refused = yield* runBin("dht-client", ["--node", a, "remove", d], { timeout: "15 seconds" })
      expect(refused.code, refused.stderr).toBe(1)
      expect(refused.stderr).toMatch(/still answers/)
      expect(refused.stderr.trim().split("\n")).toHaveLength(1)

      // Killed: down, then removed by the operator, everywhere.
      yield* nodes[3]!.proc.kill("SIGKILL")
      yield* until("d shown down", () => Effect.map(downVia(a), (down) => down.includes(d) ? undefined : `down: ${down}`), "15 seconds")
      const removed = yield* runBin("dht-client", ["--node", a, "remove", d], { timeout: "15 seconds" })
      expect(removed.code, removed.stderr).toBe(0)
      expect(removed.stdout).toMatch(new RegExp(`removed ${d.replaceAll(".", "\\.")}`))
      const afterRemove = yield* walk(a)
      expect(RingStatus.down(afterRemove)).toEqual([])
      expect(afterRemove.map((n) => n.members)).toEqual([3, 3, 3])

      // Killed and left alone: gone after --dead-after.
      yield* nodes[2]!.proc.kill("SIGKILL")
      yield* until("c shown down", () => Effect.map(downVia(a), (down) => down.includes(c) ? undefined : `down: ${down}`), "15 seconds")
      yield* until("c no longer a member", () =>
        Effect.map(walk(a), (ring) =>
          RingStatus.down(ring).length === 0 && ring.every((n) => n.members === 2) ? undefined : `members ${ring.map((n) => n.members)}`), "20 seconds")
      expect(nodes[0]!.proc.stderr + nodes[1]!.proc.stderr).toMatch(/no longer a member/)
      // Two members, both live: writes need and get both.
      const r = yield* set(a, "after", "dead-after")
      expect(Result.isSuccess(r) && r.success.error === undefined).toBe(true)
    }).pipe(Effect.scoped), 90_000)
})

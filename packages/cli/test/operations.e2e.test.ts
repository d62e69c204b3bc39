/**
 * What an operator sees, on real processes: `/metrics` in the Prometheus text format (parsed
 * with a Prometheus parser) with a request counter that grows by exactly the queries made,
 * `/status`, `/healthz`; `/readyz` and gRPC health NOT_SERVING while a node waits to rejoin,
 * SERVING once it is in, and NOT_SERVING from the start of its leave (a Watch stream); server
 * reflection read with a reflection client; a JSON log line parsed; the admin port over HTTPS
 * under TLS, with no client certificate.
 */
import { describe, expect, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import * as protoLoader from "@grpc/proto-loader"
import { Effect, Schedule } from "effect"
import * as fs from "node:fs"
import * as https from "node:https"
import { createRequire } from "node:module"
import * as path from "node:path"
import parsePrometheusTextFormat from "parse-prometheus-text-format"
import { JOINED, STARTED_RING } from "./cluster.ts"
import { freePorts, tempDir } from "./durable.ts"
import { type Proc, runBin, spawnBin } from "./processes.ts"
import { clusterCerts } from "./tls.ts"

const ADMIN = /admin server on (https?):\/\/[^ ]+:(\d+)/

/** Starts `dht` with an admin port; resolves with its gRPC address and admin URL. */
const startNode = (args: ReadonlyArray<string>, ready: RegExp, label: string) =>
  Effect.gen(function*() {
    const grpcPort = args.includes("--port") ? [] : ["--port", "0"]
    const proc = yield* spawnBin("dht", ["--host", "127.0.0.1", "--http-port", "0", ...grpcPort, ...args], { label })
    const [, scheme, port] = yield* proc.waitForStderr(ADMIN, "20 seconds")
    const [, address] = yield* proc.waitForStderr(ready, "30 seconds")
    return { proc, address: address!, admin: `${scheme}://127.0.0.1:${port}` }
  })

/** GET `url`: status code and body. */
const get = (url: string, ca?: Buffer) =>
  Effect.callback<{ readonly status: number; readonly body: string }, Error>((resume) => {
    if (url.startsWith("https:")) {
      const req = https.get(url, { ca }, (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (c: string) => (body += c))
        res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
      })
      req.on("error", (e) => resume(Effect.fail(e)))
      return
    }
    fetch(url).then(
      async (r) => resume(Effect.succeed({ status: r.status, body: await r.text() })),
      (e: Error) => resume(Effect.fail(e))
    )
  })

interface Family {
  readonly name: string
  readonly type: string
  readonly metrics: ReadonlyArray<{ readonly value?: string; readonly labels?: Record<string, string> }>
}

/** Scrapes `/metrics` and parses it. */
const scrape = (admin: string) =>
  Effect.map(get(`${admin}/metrics`), (r) => {
    expect(r.status).toBe(200)
    return parsePrometheusTextFormat(r.body) as ReadonlyArray<Family>
  })

const valueOf = (families: ReadonlyArray<Family>, name: string, labels: Record<string, string> = {}) => {
  const family = families.find((f) => f.name === name)
  expect(family, `metric ${name}`).toBeDefined()
  const series = family!.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  expect(series, `${name}${JSON.stringify(labels)}`).toBeDefined()
  return Number(series!.value)
}

/** `dht-client --node address health`: its exit code and output. */
const health = (address: string) => runBin("dht-client", ["--node", address, "--timeout", "3000", "health"], { timeout: "20 seconds" })

describe("operations", () => {
  it.live("/metrics parses as Prometheus text and counts exactly the queries made; /status and /healthz answer", () =>
    Effect.gen(function*() {
      const node = yield* startNode([], STARTED_RING, "dht metrics")
      const before = yield* scrape(node.admin)
      for (
        const name of [
          "crusty_requests_total",
          "crusty_forwards_total",
          "crusty_keys_moved_total",
          "crusty_failure_detections_total",
          "crusty_keys_owned",
          "crusty_keys_stored",
          "crusty_tombstones",
          "crusty_keys_under_replicated",
          "crusty_ring_members",
          "crusty_members_down",
          "crusty_transfer_keys_per_second",
          "crusty_serving"
        ]
      ) expect(before.map((f) => f.name), name).toContain(name)
      const sets0 = valueOf(before, "crusty_requests_total", { op: "set", outcome: "ok" })
      const gets0 = valueOf(before, "crusty_requests_total", { op: "get", outcome: "ok" })
      const missing0 = valueOf(before, "crusty_requests_total", { op: "get", outcome: "not_found" })

      const lines = [...Array.from({ length: 7 }, (_, i) => `set m${i} v${i}`), "get m1", "get m2", "get nowhere"]
      const piped = yield* runBin("dht-client", ["--node", node.address, "--timeout", "8000"], { stdin: lines.join("\n") + "\n", timeout: "60 seconds" })
      // The missing key is a failed line: piped input exits 1.
      expect(piped.code, piped.stderr).toBe(1)
      expect(piped.stdout).toContain("Error: Key not present in database.")

      const after = yield* scrape(node.admin)
      // Histograms appear with their first observation.
      for (const name of ["crusty_request_duration_seconds", "crusty_request_hops"]) {
        expect(after.find((f) => f.name === name)?.type, name).toBe("HISTOGRAM")
      }
      expect(valueOf(after, "crusty_requests_total", { op: "set", outcome: "ok" }) - sets0).toBe(7)
      expect(valueOf(after, "crusty_requests_total", { op: "get", outcome: "ok" }) - gets0).toBe(2)
      expect(valueOf(after, "crusty_requests_total", { op: "get", outcome: "not_found" }) - missing0).toBe(1)
      expect(valueOf(after, "crusty_keys_stored")).toBe(7)
      expect(valueOf(after, "crusty_ring_members")).toBe(1)
      expect(valueOf(after, "crusty_serving")).toBe(1)

      const status = yield* get(`${node.admin}/status`)
      expect(status.status).toBe(200)
      const json = JSON.parse(status.body) as { address: string; serving: boolean; keysStored: number; vnodes: Array<{ phase: string; id: string }> }
      expect(json.address).toBe(node.address)
      expect(json.serving).toBe(true)
      expect(json.keysStored).toBe(7)
      expect(json.vnodes[0]!.phase).toBe("ready")
      expect(json.vnodes[0]!.id).toMatch(/^[0-9a-f]{16}$/)
      expect((yield* get(`${node.admin}/healthz`)).status).toBe(200)
      expect((yield* get(`${node.admin}/readyz`)).status).toBe(200)
    }), 120_000)

  it.live("/readyz and gRPC health: not serving while a node waits to rejoin, serving once in, not serving from the start of a leave", () =>
    Effect.gen(function*() {
      const [pa, pb] = yield* freePorts(2)
      const [da, db] = [yield* tempDir("crusty-ops-a-"), yield* tempDir("crusty-ops-b-")]
      const durable = (port: number, dir: string) => ["--port", String(port), "--data-dir", dir]
      const a = yield* startNode(durable(pa!, da), STARTED_RING, "dht a")
      const b = yield* startNode([...durable(pb!, db), "--join", a.address], JOINED, "dht b")
      expect((yield* health(b.address)).code).toBe(0)
      // Both remember each other; after a crash of both, b alone waits for a to come back.
      const remembers = (dir: string, other: string) =>
        Effect.suspend(() => {
          const file = path.join(dir, "members.json")
          return fs.existsSync(file) && fs.readFileSync(file, "utf8").includes(other) ? Effect.void : Effect.fail(new Error(`${dir} does not remember ${other}`))
        }).pipe(Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo({ times: 100 }))))
      yield* remembers(da, b.address)
      yield* remembers(db, a.address)
      yield* a.proc.kill("SIGKILL")
      yield* b.proc.kill("SIGKILL")
      yield* a.proc.exitWithin("10 seconds")
      yield* b.proc.exitWithin("10 seconds")
      const b2 = yield* spawnBin("dht", ["--host", "127.0.0.1", "--http-port", "0", ...durable(pb!, db)], { label: "dht b again" })
      const [, , port] = yield* b2.waitForStderr(ADMIN, "20 seconds")
      const admin = `http://127.0.0.1:${port}`
      yield* b2.waitForStderr(/cannot join yet/, "20 seconds")
      const waiting = yield* get(`${admin}/readyz`)
      expect(waiting.status).toBe(503)
      expect(waiting.body).toMatch(/not ready/)
      expect((yield* get(`${admin}/healthz`)).status).toBe(200)
      const notServing = yield* health(b.address)
      expect(notServing.code, notServing.stderr).toBe(1)
      expect(notServing.stdout.trim()).toBe("NOT_SERVING")

      yield* spawnBin("dht", ["--host", "127.0.0.1", ...durable(pa!, da)], { label: "dht a again" })
      yield* Effect.gen(function*() {
        const r = yield* get(`${admin}/readyz`)
        if (r.status !== 200) return yield* Effect.fail(new Error(`readyz ${r.status}`))
      }).pipe(Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo({ times: 150 }))))
      expect((yield* health(b.address)).code).toBe(0)

      // A Watch stream sees NOT_SERVING as soon as the leave starts.
      const statuses = yield* watchUntilEnd(b.address, b2)
      expect(statuses[0]).toBe("SERVING")
      expect(statuses).toContain("NOT_SERVING")
      expect((yield* b2.exitWithin("30 seconds")).code).toBe(0)
    }), 150_000)

  it.live("after a process with 32 positions leaves gracefully, the one that stays logs no warnings about it", () =>
    Effect.gen(function*() {
      const stays = yield* startNode(["--vnodes", "32"], STARTED_RING, "dht stays")
      yield* stays.proc.waitForStderr(/all 32 virtual nodes of/, "60 seconds")
      const leaves = yield* startNode(["--vnodes", "32", "--join", stays.address], JOINED, "dht leaves")
      yield* leaves.proc.waitForStderr(/all 32 virtual nodes of/, "60 seconds")
      const lines = Array.from({ length: 200 }, (_, i) => `set w${i} v${i}`)
      const wrote = yield* runBin("dht-client", ["--node", stays.address, "--timeout", "8000"], { stdin: lines.join("\n") + "\n", timeout: "60 seconds" })
      expect(wrote.code, wrote.stderr).toBe(0)
      const mark = stays.proc.stderr.length
      yield* leaves.proc.kill("SIGTERM")
      expect((yield* leaves.proc.exitWithin("60 seconds")).code).toBe(0)
      // Until the ring has settled back to the one process that stays, with no repair running:
      // the failure detector, stabilization and repair have run into the gone positions by then.
      yield* Effect.gen(function*() {
        const r = yield* get(`${stays.admin}/status`)
        const status = JSON.parse(r.body) as { vnodes: Array<{ members: number; repair: unknown; successors: Array<{ address: string }> }> }
        const settled = status.vnodes.every((v) => v.members === 1 && v.repair === null && v.successors.every((m) => !m.address.startsWith(leaves.address)))
        if (!settled) return yield* Effect.fail(new Error("not settled"))
      }).pipe(Effect.retry(Schedule.spaced("250 millis").pipe(Schedule.upTo({ times: 120 }))))
      const warnings = stays.proc.stderr.slice(mark).split("\n").filter((l) => / WARN /.test(l))
      expect(warnings, warnings.join("\n")).toEqual([])
      // Every key is still there.
      const read = yield* runBin("dht-client", ["--node", stays.address, "--timeout", "8000"], {
        stdin: lines.map((_, i) => `get w${i}`).join("\n") + "\n",
        timeout: "60 seconds"
      })
      for (let i = 0; i < 200; i++) expect(read.stdout).toContain(`v${i}`)
    }), 180_000)

  it.live("server reflection (v1 and v1alpha) lists the node's services; a JSON log line parses; under TLS the admin port is HTTPS with no client certificate", () =>
    Effect.gen(function*() {
      const node = yield* startNode(["--log-format", "json"], /"started a new ring as [0-9a-f]+ at (\d+\.\d+\.\d+\.\d+:\d+)"/, "dht json")
      for (const version of ["v1", "v1alpha"] as const) {
        const services = yield* listServices(node.address, version)
        for (const s of ["dht.DhtNode", "peer.Peer", "cluster.Cluster", "registry.Registry"]) expect(services, version).toContain(s)
      }
      const line = node.proc.stderr.split("\n").find((l) => l.includes("started a new ring"))!
      const parsed = JSON.parse(line) as Record<string, unknown>
      expect(parsed.level).toBe("INFO")
      expect(String(parsed.message)).toMatch(/^started a new ring as /)
      expect(parsed.node).toBe(node.address)
      expect(new Date(String(parsed.timestamp)).toISOString()).toBe(parsed.timestamp)

      const dir = yield* clusterCerts
      const secure = yield* startNode(["--certs-dir", dir], STARTED_RING, "dht tls admin")
      expect(secure.admin).toMatch(/^https:/)
      const ready = yield* get(`${secure.admin}/readyz`, fs.readFileSync(path.join(dir, "ca.crt")))
      expect(ready.status).toBe(200)
      // Health is open to TLS clients without a certificate, as probes are.
      const h = yield* runBin("dht-client", ["--node", secure.address, "--certs-dir", dir, "--timeout", "3000", "health"], { timeout: "20 seconds" })
      expect(h.code, h.stderr).toBe(0)
    }), 120_000)
})

/** The statuses a Health/Watch stream of `address` sends until it ends, while `proc` is stopped. */
const watchUntilEnd = (address: string, proc: Proc) =>
  Effect.callback<ReadonlyArray<string>>((resume) => {
    const healthProto = createRequire(import.meta.url).resolve("grpc-health-check/proto/health/v1/health.proto")
    const def = protoLoader.loadSync(healthProto, { keepCase: true, enums: String })
    const Health = (grpc.loadPackageDefinition(def) as any).grpc.health.v1.Health
    const client = new Health(address, grpc.credentials.createInsecure())
    const seen: Array<string> = []
    const stream = client.Watch({ service: "" })
    let stopped = false
    stream.on("data", (m: { status: string }) => {
      seen.push(m.status)
      if (!stopped && m.status === "SERVING") {
        stopped = true
        Effect.runFork(proc.kill("SIGTERM"))
      }
    })
    const done = () => {
      client.close()
      resume(Effect.succeed(seen))
    }
    stream.on("error", done)
    stream.on("end", done)
  })

/** The services that server reflection of `version` lists at `address`. */
const listServices = (address: string, version: "v1" | "v1alpha") =>
  Effect.callback<ReadonlyArray<string>, Error>((resume) => {
    const dir = path.join(path.dirname(createRequire(import.meta.url).resolve("@grpc/reflection")), "..", "proto")
    const def = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, { keepCase: true, includeDirs: [dir] })
    const Reflection = (grpc.loadPackageDefinition(def) as any).grpc.reflection[version].ServerReflection
    const client = new Reflection(address, grpc.credentials.createInsecure())
    const call = client.ServerReflectionInfo()
    call.on("data", (r: { list_services_response?: { service: Array<{ name: string }> } }) => {
      call.end()
      client.close()
      resume(Effect.succeed((r.list_services_response?.service ?? []).map((s) => s.name)))
    })
    call.on("error", (e: Error) => resume(Effect.fail(e)))
    call.write({ list_services: "" })
  })

/**
 * A test network of Linux network namespaces, for process tests with real partitions.
 *
 * - One bridge in the root namespace, with the address `<prefix>.1/24` in the RFC 2544
 *   benchmarking range (198.18.0.0/24 unless a parallel run holds it, then 198.18.1.0/24 and so
 *   on), so no real network is touched. The test process (the client) stays in the root
 *   namespace and reaches the nodes through it.
 * - Each host in its own namespace (`ip netns add`), with `lo` up and an `eth0` at
 *   `<prefix>.(10 + i)/24`: one end of a veth pair whose other end is attached to the bridge.
 * - Faults act on the root-side end of a host's veth: `cut` sets it down and `heal` up again;
 *   `split` moves some hosts to a second bridge (no address: the client cannot reach them, and
 *   they reach only each other), `unsplit` moves them back; `throttle` rate-limits what flows to
 *   and from a host (a `tc` token bucket on both ends of its veth).
 * - `dht` runs inside a namespace through `ip netns exec NS node dht.ts ...`. `ip netns exec`
 *   execs the command, so the pid of the spawned process is the node's own: a signal sent to
 *   the handle (SIGTERM for a graceful leave, SIGKILL by `spawnCommand`'s finalizer) reaches the
 *   node itself.
 *
 * Every namespace, veth and bridge is removed by a Scope finalizer, failed test or not; the
 * processes inside a namespace are killed before it is removed (they were started after it, so
 * their finalizers run first, and any left are SIGKILLed by pid). Names carry the test
 * process's pid, so parallel runs never clash; leftovers of a run that died without its
 * finalizers (its pid gone) are removed by the next run, and a process exit removes what the
 * current run still holds.
 *
 * Needs root and iproute2 (`ip`, `tc`); `availability` says whether this machine has them.
 */
import { execFileSync } from "node:child_process"
import { Position } from "@crustyring/ring"
import { Effect, type Scope } from "effect"
import { JOINED, STARTED_RING } from "./cluster.ts"
import { binPath, type Proc, ProcessError, runBin, spawnCommand } from "./processes.ts"
import type { RingNode } from "./replicated.ts"

// ---------------------------------------------------------------------------------------------
// Availability

const probe = (command: string, args: ReadonlyArray<string>): string | undefined => {
  try {
    execFileSync(command, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 })
    return undefined
  } catch (e) {
    const err = e as { readonly stderr?: Buffer; readonly message?: string; readonly code?: string }
    if (err.code === "ENOENT") return `${command} is not installed`
    return (err.stderr?.toString("utf8").trim() || err.message || String(e)).split("\n")[0]
  }
}

const check = (): { readonly available: boolean; readonly reason: string } => {
  if (process.platform !== "linux") return { available: false, reason: `network namespaces need Linux, this is ${process.platform}` }
  if (process.getuid?.() !== 0) return { available: false, reason: `network namespaces need root, running as uid ${process.getuid?.()}` }
  const noIp = probe("ip", ["-V"])
  if (noIp !== undefined) return { available: false, reason: `ip (iproute2) is missing: ${noIp}` }
  const noTc = probe("tc", ["-V"])
  if (noTc !== undefined) return { available: false, reason: `tc (iproute2) is missing: ${noTc}` }
  const ns = `crusty-${process.pid}-probe`
  const cannot = probe("ip", ["netns", "add", ns])
  if (cannot !== undefined) return { available: false, reason: `cannot create a network namespace: ${cannot}` }
  probe("ip", ["netns", "del", ns])
  return { available: true, reason: "root, ip and tc present, namespaces can be created" }
}

/** Whether this machine can run the namespace tests, and why not. Checked once, on import. */
export const availability = check()

// ---------------------------------------------------------------------------------------------
// Running ip and tc

/** Runs a command to completion (10 s at most); fails with its stderr when it exits non-zero. */
export const run = (command: string, args: ReadonlyArray<string>): Effect.Effect<string, ProcessError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const label = `${command} ${args.join(" ")}`
      const p = yield* spawnCommand(command, args, { label })
      yield* p.endInput
      const status = yield* p.exitWithin("10 seconds")
      if (status.code !== 0) {
        return yield* new ProcessError({ message: `${label} exited ${status.code ?? status.signal}: ${p.stderr.trim()}` })
      }
      return p.stdout
    })
  )

const ip = (...args: ReadonlyArray<string>) => run("ip", args)
const tc = (...args: ReadonlyArray<string>) => run("tc", args)

/** For finalizers: runs a command synchronously, ignoring failure (the thing may be gone already). */
const quietly = (command: string, args: ReadonlyArray<string>) => {
  try {
    execFileSync(command, args, { stdio: "ignore", timeout: 10_000 })
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------
// Names, and the safety nets for a run that dies without its finalizers

/** This run's pid in base 36, 5 characters (pids are at most 2^22): link names have 15 at most. */
const PID36 = process.pid.toString(36).padStart(5, "0")
const LINK_PREFIX = "cry"
const NS_PREFIX = "crusty-"
let networks = 0

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { readonly code?: string }).code === "EPERM"
  }
}

/** Removes namespaces and links left by runs whose process is gone. */
const removeStale = () => {
  const namespaces = (() => {
    try {
      return execFileSync("ip", ["netns", "list"], { encoding: "utf8", timeout: 10_000 })
    } catch {
      return ""
    }
  })()
  for (const line of namespaces.split("\n")) {
    const name = line.split(" ")[0] ?? ""
    const m = name.match(/^crusty-(\d+)-/)
    if (m && !isAlive(Number(m[1]))) {
      killPidsIn(name)
      quietly("ip", ["netns", "del", name])
    }
  }
  const links = (() => {
    try {
      return execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8", timeout: 10_000 })
    } catch {
      return ""
    }
  })()
  for (const line of links.split("\n")) {
    const m = line.match(/^\d+: (cry([0-9a-z]{5})[0-9a-z]+)[@:]/)
    if (m && !isAlive(parseInt(m[2]!, 36))) quietly("ip", ["link", "del", m[1]!])
  }
}

/** SIGKILLs every process left in a namespace. */
const killPidsIn = (ns: string) => {
  let pids = ""
  try {
    pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 10_000 })
  } catch {
    return
  }
  for (const pid of pids.split(/\s+/).filter((p) => p !== "")) {
    try {
      process.kill(Number(pid), "SIGKILL")
    } catch {
      // gone
    }
  }
}

/** What this run holds now; removed on process exit if the finalizers did not get to it. */
const held = { namespaces: new Set<string>(), links: new Set<string>() }
let exitHookInstalled = false
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", () => {
    for (const ns of held.namespaces) {
      killPidsIn(ns)
      quietly("ip", ["netns", "del", ns])
    }
    for (const link of held.links) quietly("ip", ["link", "del", link])
  })
}

// ---------------------------------------------------------------------------------------------
// The network

/** A namespace attached to the bridge. */
export interface Host {
  readonly index: number
  /** The namespace's name. */
  readonly ns: string
  /** The root-side end of the host's veth pair: the one the faults act on. */
  readonly veth: string
  /** The host's address, `<prefix>.(10 + index)`. */
  readonly ip: string
}

export interface Network {
  /** The first three octets of the /24, e.g. `198.18.0`. */
  readonly prefix: string
  /** The bridge the client is on, with the address `<prefix>.1`. */
  readonly bridge: string
  /** The bridge of the far side of a split; no address. */
  readonly farBridge: string
  /** Creates the namespace of host `index` (1 to 200), in the current scope. */
  readonly host: (index: number) => Effect.Effect<Host, ProcessError, Scope.Scope>
  /** Cuts the host off: its link goes down; nothing reaches it, and it reaches nothing. */
  readonly cut: (host: Host) => Effect.Effect<void, ProcessError>
  /** Undoes `cut`. */
  readonly heal: (host: Host) => Effect.Effect<void, ProcessError>
  /** Moves the hosts to the far bridge: they reach only each other, and the client cannot reach them. */
  readonly split: (hosts: ReadonlyArray<Host>) => Effect.Effect<void, ProcessError>
  /** Moves the hosts back to the client's bridge. */
  readonly unsplit: (hosts: ReadonlyArray<Host>) => Effect.Effect<void, ProcessError>
  /** Rate-limits the traffic to and from the host, e.g. `"256kbit"`. */
  readonly throttle: (host: Host, rate: string) => Effect.Effect<void, ProcessError>
  /** Undoes `throttle`. */
  readonly unthrottle: (host: Host) => Effect.Effect<void, ProcessError>
}

/** The first /24 of 198.18.0.0/15 that no interface of the root namespace is on. */
const freePrefix = Effect.map(ip("-o", "-4", "addr", "show"), (out) => {
  for (let third = 0; third < 256; third++) {
    const prefix = `198.18.${third}`
    if (!out.includes(` ${prefix}.`)) return prefix
  }
  return "198.19.0"
})

/** Creates a bridge, up, in the current scope; removed when the scope closes. */
const bridge = (name: string, address: string | undefined) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      held.links.add(name)
      yield* ip("link", "add", name, "type", "bridge")
      // Forward at once: the default 15 s of the learning states would drop the first packets
      // of a host moved between bridges.
      yield* ip("link", "set", name, "type", "bridge", "forward_delay", "0", "stp_state", "0")
      if (address !== undefined) yield* ip("addr", "add", address, "dev", name)
      yield* ip("link", "set", name, "up")
      return name
    }),
    (name) =>
      Effect.sync(() => {
        quietly("ip", ["link", "del", name])
        held.links.delete(name)
      })
  )

/**
 * A new test network in the current scope: a bridge for the client and one for the far side of
 * splits. Everything it creates, hosts included, is removed when the scope closes.
 */
export const make: Effect.Effect<Network, ProcessError, Scope.Scope> = Effect.gen(function*() {
  if (!availability.available) return yield* new ProcessError({ message: `network namespaces unavailable: ${availability.reason}` })
  installExitHook()
  removeStale()
  const net = (networks++).toString(36).padStart(2, "0").slice(-2)
  const tag = `${LINK_PREFIX}${PID36}${net}`
  const prefix = yield* freePrefix
  const near = yield* bridge(`${tag}b1`, `${prefix}.1/24`)
  const far = yield* bridge(`${tag}b2`, undefined)

  const host = (index: number) =>
    Effect.acquireRelease(
      Effect.gen(function*() {
        const ns = `${NS_PREFIX}${process.pid}-${net}-${index}`
        const veth = `${tag}v${index.toString(36).padStart(2, "0")}`
        const peer = `${tag}p${index.toString(36).padStart(2, "0")}`
        const address = `${prefix}.${10 + index}`
        held.namespaces.add(ns)
        held.links.add(veth)
        yield* ip("netns", "add", ns)
        yield* ip("-n", ns, "link", "set", "lo", "up")
        yield* ip("link", "add", veth, "type", "veth", "peer", "name", peer)
        yield* ip("link", "set", peer, "netns", ns)
        yield* ip("-n", ns, "link", "set", peer, "name", "eth0")
        yield* ip("-n", ns, "addr", "add", `${address}/24`, "dev", "eth0")
        yield* ip("-n", ns, "link", "set", "eth0", "up")
        yield* ip("link", "set", veth, "master", near)
        yield* ip("link", "set", veth, "up")
        return { index, ns, veth, ip: address } satisfies Host
      }),
      (h) =>
        Effect.sync(() => {
          // The host's processes were started after it, so their own finalizers have run; kill
          // whatever is left (a process started some other way) before the namespace goes.
          killPidsIn(h.ns)
          quietly("ip", ["link", "del", h.veth])
          quietly("ip", ["netns", "del", h.ns])
          held.links.delete(h.veth)
          held.namespaces.delete(h.ns)
        })
    )

  return {
    prefix,
    bridge: near,
    farBridge: far,
    host,
    cut: (h) => ip("link", "set", h.veth, "down"),
    heal: (h) => ip("link", "set", h.veth, "up"),
    split: (hosts) => Effect.forEach(hosts, (h) => ip("link", "set", h.veth, "master", far), { discard: true }),
    unsplit: (hosts) => Effect.forEach(hosts, (h) => ip("link", "set", h.veth, "master", near), { discard: true }),
    // Both ways: the root-side end's egress is what flows to the host, its eth0's what flows from it.
    throttle: (h, rate) =>
      Effect.all([
        tc("qdisc", "replace", "dev", h.veth, "root", "tbf", "rate", rate, "burst", "16kb", "latency", "10s"),
        tc("-n", h.ns, "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", rate, "burst", "16kb", "latency", "10s")
      ], { discard: true }),
    unthrottle: (h) =>
      Effect.all([tc("qdisc", "del", "dev", h.veth, "root"), tc("-n", h.ns, "qdisc", "del", "dev", "eth0", "root")], { discard: true })
  } satisfies Network
})

// ---------------------------------------------------------------------------------------------
// dht nodes in namespaces

/** The port every node listens on: each namespace has its own. */
export const PORT = 7000

/** What the `dht` at hand supports, read from its `--help`. */
export interface DhtFeatures {
  /** `--join a:1,b:2` takes a seed list. */
  readonly seedList: boolean
  /** `--dead-after` exists. */
  readonly deadAfter: boolean
}

let features: DhtFeatures | undefined

/** Reads `dht --help` once. */
export const dhtFeatures: Effect.Effect<DhtFeatures, ProcessError> = Effect.suspend(() => {
  if (features !== undefined) return Effect.succeed(features)
  return Effect.map(runBin("dht", ["--help"], { timeout: "20 seconds" }), (r) => {
    const join = r.stdout.split("\n").find((l) => /^\s*--join\b/.test(l)) ?? ""
    features = {
      // Today: "Join through the live node at host:port, no registry needed". A list is named
      // as one ("seed list", "comma-separated", "host:port,host:port", "any of").
      seedList: /list|seeds?\b|any of|several|comma|port,\s*\S*:/i.test(join.replace(/^\s*--join\s+\S+/, "")),
      deadAfter: /^\s*--dead-after\b/m.test(r.stdout)
    }
    return features
  })
})

/** `--join` for these seeds: all of them when `--join` takes a list, else the first. */
export const joinArgs = (f: DhtFeatures, seeds: ReadonlyArray<string>): ReadonlyArray<string> =>
  seeds.length === 0 ? [] : ["--join", f.seedList ? seeds.join(",") : seeds[0]!]

/** A `dht` running in a host's namespace. */
export interface NetNode extends RingNode {
  readonly host: Host
}

/** The address a node on `host` advertises (its ring ID is the hash of it). */
export const addressOf = (host: Host, port = PORT) => `${host.ip}:${port}`

/**
 * Starts `dht` in the host's namespace, bound to the host's address, in the current scope (it
 * is SIGKILLed when the scope closes); does not wait for it.
 */
export const spawnDht = (host: Host, args: ReadonlyArray<string>, label: string, port = PORT): Effect.Effect<Proc, never, Scope.Scope> =>
  spawnCommand(
    "ip",
    ["netns", "exec", host.ns, process.execPath, binPath("dht"), "--host", host.ip, "--port", String(port), ...args],
    { label }
  )

/** Starts `dht` in the host's namespace and waits for its start log `expect` (STARTED_RING or JOINED). */
export const startDht = (host: Host, args: ReadonlyArray<string>, expect: RegExp, label: string, port = PORT) =>
  Effect.gen(function*() {
    const proc = yield* spawnDht(host, args, label, port)
    const [, address] = yield* proc.waitForStderr(expect, "30 seconds")
    if (address !== addressOf(host, port)) {
      return yield* new ProcessError({ message: `${label} logged the address ${address}, expected ${addressOf(host, port)}` })
    }
    return { address: address!, proc, host } satisfies NetNode
  })

/**
 * `count` nodes on hosts 1..count of `network`: the first starts the ring, then the others join
 * through it (through the first three nodes, as a seed list, when `--join` takes one), all at
 * once: joins that meet at one owner are serialised by the ring, and starting the processes
 * together halves the start-up time on two cores.
 */
export const startRing = (network: Network, count: number, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const f = yield* dhtFeatures
    const hosts = yield* Effect.forEach(Array.from({ length: count }, (_, i) => i + 1), network.host)
    const first = yield* startDht(hosts[0]!, args, STARTED_RING, "dht node 1")
    // The seeds are known before the nodes run: their addresses follow from the hosts.
    const seeds = hosts.slice(0, 3).map((h) => addressOf(h))
    const others = yield* Effect.forEach(
      hosts.slice(1),
      (host, i) => startDht(host, [...joinArgs(f, f.seedList ? seeds : [first.address]), ...args], JOINED, `dht node ${i + 2}`),
      { concurrency: "unbounded" }
    )
    return [first, ...others]
  })

/**
 * A port for a node on `host` whose ring ID falls just after the start of the widest gap
 * between the IDs `taken`, so that, joining, it takes over nearly all of that gap: the largest
 * hand-off there is.
 */
export const portTakingWidestGap = (host: Host, taken: ReadonlyArray<string>): number => {
  const ids = taken.map((a) => Position.nodeId(a)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const gaps = ids.map((id, i) => ({ start: id, size: (ids[(i + 1) % ids.length]! - id + Position.RING_SIZE) % Position.RING_SIZE || Position.RING_SIZE }))
  const widest = gaps.reduce((a, b) => (b.size > a.size ? b : a))
  let best = { port: PORT + 1, offset: widest.size }
  for (let port = PORT + 1; port < PORT + 2000; port++) {
    const offset = (Position.nodeId(addressOf(host, port)) - widest.start + Position.RING_SIZE) % Position.RING_SIZE
    if (offset > 0n && offset < best.offset) best = { port, offset }
  }
  return best.port
}

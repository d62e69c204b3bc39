/**
 * TLS with certificates made by `dht-certs`, on real processes: a TLS ring serves set, get and
 * delete through `dht-client --certs-dir`, across a join and a graceful leave; outsiders
 * (plaintext, TLS without a certificate, a certificate from another CA, a client certificate on
 * node-to-node calls) are refused on every peer RPC and on the registry's write RPCs, and the
 * data is unchanged after; even a node of the cluster cannot plant a far-future version; bad
 * certificates stop a process with one line and exit 1.
 */
import { describe, expect, it } from "@effect/vitest"
import { Grpc, Proto, Tls, type Wire } from "@crustyring/protocol"
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Certs from "../src/Certs.ts"
import { JOINED, REGISTRY_LISTENING, STARTED_RING } from "./cluster.ts"
import { type Proc, runBin, spawnBin } from "./processes.ts"
import { certs, client, clusterCerts, refused, startTlsNode, tempDir } from "./tls.ts"

/** A security made of PEM files, as an outsider would have them. */
const securityOf = (pem: { ca: string; cert?: string; key?: string }) =>
  Tls.make({
    ca: fs.readFileSync(pem.ca),
    ...(pem.cert ? { cert: fs.readFileSync(pem.cert) } : {}),
    ...(pem.key ? { key: fs.readFileSync(pem.key) } : {})
  }).pipe(Effect.orDie)

/** The status code one unary peer.Peer call ends with, or "OK". */
const peerCall = (address: string, security: Tls.Security, method: string, request: unknown) =>
  Effect.scoped(Effect.gen(function*() {
    const c = yield* Grpc.client(Proto.proto.peer.Peer, address, security)
    return yield* Effect.callback<string>((resume) => {
      const fn = (c as unknown as Record<string, (...args: Array<unknown>) => { cancel: () => void; on?: unknown }>)[method]!
      const deadline = { deadline: Date.now() + 5000 }
      if (method === "FetchRange") {
        const stream = fn.call(c, request, deadline) as unknown as grpc.ClientReadableStream<unknown>
        stream.on("data", () => {})
        stream.on("error", (e: grpc.ServiceError) => resume(Effect.succeed(grpc.status[e.code] ?? String(e.code))))
        stream.on("end", () => resume(Effect.succeed("OK")))
        return
      }
      fn.call(c, request, deadline, (e: grpc.ServiceError | null) => resume(Effect.succeed(e ? (grpc.status[e.code] ?? String(e.code)) : "OK")))
    })
  }))

/** Every peer.Peer method, each with a request that would change the node if let through. */
const tombstone = (key: string): Wire.Entry => ({ key: Buffer.from(key), value: Buffer.alloc(0), tombstone: true, version: { hlc: "999999999999999999", writer: "1" } })
const PEER_CALLS: ReadonlyArray<readonly [string, unknown]> = [
  ["Push", { entries: [tombstone("secret")] }],
  ["Write", { entry: tombstone("secret") }],
  ["Forward", { query: { ty: "Delete", key: Buffer.from("secret") }, hops: 0 }],
  ["FindOwner", { position: "1", hops: 0 }],
  ["Join", { joiner: { id: "12345", addr: "127.0.0.1:9" } }],
  ["Notify", { candidate: { id: "12345", addr: "127.0.0.1:9" } }],
  ["GetNeighbors", {}],
  ["Ping", {}],
  ["FetchRange", { start: "0", end: "0" }],
  ["ReleaseRange", { start: "0", end: "0" }],
  ["Fetch", { key: Buffer.from("secret") }],
  ["Status", {}],
  ["TakeOver", {}],
  ["PredecessorLeft", {}],
  ["Digest", {}],
  ["Remove", { addr: "127.0.0.1:9" }],
  ["GetNeighborsBatch", { vnodes: [0] }],
  ["StatusAll", {}]
]

describe("TLS", () => {
  it.live("a TLS ring serves set, get and delete through dht-client --certs-dir, across a join and a graceful leave", () =>
    Effect.gen(function*() {
      const dir = yield* clusterCerts
      const first = yield* startTlsNode(dir, [], STARTED_RING, "dht tls 1")
      expect(first.proc.stderr).not.toMatch(/plaintext/)
      const second = yield* startTlsNode(dir, ["--join", first.address], JOINED, "dht tls 2")
      const set = yield* client(dir, second.address, ["set", "greeting", "hello over tls"])
      expect(set.code, set.stderr).toBe(0)
      const third = yield* startTlsNode(dir, ["--join", first.address], JOINED, "dht tls 3")
      const got = yield* client(dir, third.address, ["get", "greeting"])
      expect(got.code, got.stderr).toBe(0)
      expect(got.stdout.trim()).toBe("hello over tls")

      // A graceful leave hands its keys on; the rest still serve every key. (The prompt, piped,
      // runs many commands in one process.)
      const keys = Array.from({ length: 20 }, (_, i) => i)
      const piped = (node: string, lines: ReadonlyArray<string>) =>
        runBin("dht-client", ["--node", node, "--certs-dir", dir, "--user", "alice", "--timeout", "8000"], {
          stdin: lines.join("\n") + "\n",
          timeout: "60 seconds"
        })
      const wrote = yield* piped(first.address, keys.map((i) => `set k${i} v${i}`))
      expect(wrote.code, wrote.stderr).toBe(0)
      yield* second.proc.kill("SIGTERM")
      expect((yield* second.proc.exitWithin("30 seconds")).code, second.proc.stderr).toBe(0)
      const read = yield* piped(third.address, keys.map((i) => `get k${i}`))
      expect(read.code, read.stderr).toBe(0)
      for (const i of keys) expect(read.stdout, read.stderr).toContain(`v${i}`)
      expect((yield* client(dir, first.address, ["delete", "greeting"])).code).toBe(0)
      expect((yield* client(dir, third.address, ["get", "greeting"])).code).toBe(1)
    }), 120_000)

  it.live("outsiders are refused on every peer RPC and on the registry's write RPCs, and nothing changes", () =>
    Effect.gen(function*() {
      const dir = yield* clusterCerts
      const other = yield* tempDir
      yield* certs(["create-ca", other])
      yield* certs(["create-node", other, "127.0.0.1"])
      yield* certs(["create-client", other, "mallory"])

      const registryProc: Proc = yield* spawnBin("dht-registry", ["--host", "127.0.0.1", "--port", "0", "--certs-dir", dir], { label: "dht-registry tls" })
      const [, registry] = yield* registryProc.waitForStderr(REGISTRY_LISTENING, "20 seconds")
      const node = yield* startTlsNode(dir, ["--registry", registry!], STARTED_RING, "dht tls")
      expect((yield* client(dir, node.address, ["set", "secret", "kept"])).code).toBe(0)

      const f = (d: string, name: string) => path.join(d, name)
      const alice = yield* securityOf({ ca: f(dir, "ca.crt"), cert: f(dir, "client.alice.crt"), key: f(dir, "client.alice.key") })
      const anonymous = yield* securityOf({ ca: f(dir, "ca.crt") })
      // Another CA's node certificate, trusting this cluster's CA so that it can talk at all.
      const foreign = { ...(yield* securityOf({ ca: f(other, "ca.crt"), cert: f(other, "node.crt"), key: f(other, "node.key") })) }
      const foreignTrusting = yield* Tls.make({ ca: fs.readFileSync(f(dir, "ca.crt")) }).pipe(Effect.orDie)
      const foreignNode: Tls.Security = foreignTrusting._tag === "Tls" && foreign._tag === "Tls"
        ? { ...foreignTrusting, pem: { ...foreignTrusting.pem, cert: foreign.pem.cert!, key: foreign.pem.key! } }
        : foreignTrusting

      // Every method of the service, so that one added later is checked too.
      expect(PEER_CALLS.map(([method]) => method).sort()).toEqual(Object.keys(Proto.proto.peer.Peer.service).sort())
      for (const [method, request] of PEER_CALLS) {
        expect(yield* peerCall(node.address, alice, method, request), `${method} with a client certificate`).toBe("PERMISSION_DENIED")
        expect(yield* peerCall(node.address, anonymous, method, request), `${method} without a certificate`).toBe("UNAUTHENTICATED")
        expect(yield* peerCall(node.address, foreignNode, method, request), `${method} with another CA's node certificate`).toBe("UNAUTHENTICATED")
        // Plaintext does not even connect.
        expect(yield* peerCall(node.address, Tls.plaintext, method, request), `${method} in plaintext`).toBe("UNAVAILABLE")
      }

      // Even a node of the cluster cannot plant a version far ahead of the receiver's clock.
      const member = yield* securityOf({ ca: f(dir, "ca.crt"), cert: f(dir, "node.crt"), key: f(dir, "node.key") })
      expect(yield* peerCall(node.address, member, "Push", { entries: [tombstone("secret")] }), "a far-future Push from a node").toBe("INVALID_ARGUMENT")
      expect(yield* peerCall(node.address, member, "Write", { entry: tombstone("secret") }), "a far-future Write from a node").toBe("INVALID_ARGUMENT")
      expect(yield* peerCall(node.address, member, "Ping", {}), "a node's Ping").toBe("OK")

      // The registry's book takes node certificates only; reads are open to clients.
      const registryCall = (security: Tls.Security, method: "RegisterNode" | "ConfirmNode" | "UnregisterNode" | "GetConnectedNodes") =>
        Effect.scoped(Effect.gen(function*() {
          const c = yield* Grpc.client(Proto.proto.registry.Registry, registry!, security)
          return yield* Effect.callback<string>((resume) => {
            const fn = (c as unknown as Record<string, (...args: Array<unknown>) => void>)[method]!
            fn.call(c, { addr: "127.0.0.1:9" }, { deadline: Date.now() + 5000 }, (e: grpc.ServiceError | null) =>
              resume(Effect.succeed(e ? (grpc.status[e.code] ?? String(e.code)) : "OK")))
          })
        }))
      for (const method of ["RegisterNode", "ConfirmNode", "UnregisterNode"] as const) {
        expect(yield* registryCall(alice, method), `registry ${method} with a client certificate`).toBe("PERMISSION_DENIED")
        expect(yield* registryCall(anonymous, method), `registry ${method} without a certificate`).toBe("UNAUTHENTICATED")
      }
      expect(yield* registryCall(alice, "GetConnectedNodes")).toBe("OK")

      // Nothing changed: the key is there, and the registry lists the one node.
      const got = yield* client(dir, node.address, ["get", "secret"])
      expect(got.stdout.trim(), got.stderr).toBe("kept")
      const ring = yield* client(dir, node.address, ["ring"])
      expect(ring.stdout, ring.stderr).toMatch(/^1 node, 1 keys/m)
      // A client without a certificate is told what it lacks, in one line, exit 1.
      const noCert = yield* client(dir, node.address, ["get", "secret"], null)
      expect(noCert.code).toBe(1)
      expect(noCert.stderr.trim()).toMatch(/^error: access denied: .*client certificate/)
    }), 120_000)

  it.live("bad certificates stop a process with one line and exit 1: missing file, a key that is not the certificate's, expired", () =>
    Effect.gen(function*() {
      const dir = yield* clusterCerts
      const start = (d: string) => runBin("dht", ["--host", "127.0.0.1", "--port", "0", "--certs-dir", d], { timeout: "20 seconds" })
      refused(yield* start(path.join(dir, "nowhere")), /ca\.crt not found/)

      const wrongKey = yield* tempDir
      for (const name of ["ca.crt", "node.crt"]) fs.copyFileSync(path.join(dir, name), path.join(wrongKey, name))
      fs.copyFileSync(path.join(dir, "client.alice.key"), path.join(wrongKey, "node.key"))
      refused(yield* start(wrongKey), /node\.key does not belong to .*node\.crt/)

      const expired = yield* tempDir
      const ca = { cert: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"), key: fs.readFileSync(path.join(dir, "ca.key"), "utf8") }
      const old = yield* Effect.promise(() => Certs.createNode(ca, ["127.0.0.1"], new Date(Date.now() - 2 * 365 * 86_400_000)))
      fs.copyFileSync(path.join(dir, "ca.crt"), path.join(expired, "ca.crt"))
      fs.writeFileSync(path.join(expired, "node.crt"), old.cert)
      fs.writeFileSync(path.join(expired, "node.key"), old.key, { mode: 0o600 })
      refused(yield* start(expired), /node\.crt expired on /)
    }), 120_000)

  it.live("dht-certs writes keys with mode 0600, refuses to overwrite without --overwrite, and rejects bad hosts and names", () =>
    Effect.gen(function*() {
      const dir = yield* clusterCerts
      for (const name of ["ca.key", "node.key", "client.alice.key"]) expect(fs.statSync(path.join(dir, name)).mode & 0o777, name).toBe(0o600)
      const before = fs.readFileSync(path.join(dir, "ca.crt"))
      const again = yield* runBin("dht-certs", ["create-ca", dir], { timeout: "30 seconds" })
      expect(again.code).toBe(1)
      expect(again.stderr).toMatch(/ca\.crt exists; pass --overwrite/)
      expect(fs.readFileSync(path.join(dir, "ca.crt"))).toEqual(before)
      const host = yield* runBin("dht-certs", ["create-node", dir, "not a host"], { timeout: "30 seconds" })
      expect(host.code).toBe(1)
      expect(host.stderr).toMatch(/neither an IP address nor a DNS name/)
      const name = yield* runBin("dht-certs", ["create-client", dir, "../evil"], { timeout: "30 seconds" })
      expect(name.code).toBe(1)
      expect(name.stderr).toMatch(/is not a client name/)
      const noCa = yield* tempDir
      const missing = yield* runBin("dht-certs", ["create-node", noCa, "127.0.0.1"], { timeout: "30 seconds" })
      expect(missing.code).toBe(1)
      expect(missing.stderr).toMatch(/make the CA first with dht-certs create-ca/)
      const overwrite = yield* runBin("dht-certs", ["create-ca", dir, "--overwrite"], { timeout: "30 seconds" })
      expect(overwrite.code, overwrite.stderr).toBe(0)
      expect(fs.readFileSync(path.join(dir, "ca.crt"))).not.toEqual(before)
    }), 120_000)
})

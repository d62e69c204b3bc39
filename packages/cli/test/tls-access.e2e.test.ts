/**
 * Who gets into a TLS cluster, on real processes with certificates made by `dht-certs`: a node
 * with the wrong credentials (plaintext, another cluster's CA, TLS against a plaintext ring) is
 * refused at its join with the cause named and exit 1, and the ring is unchanged; clients get in
 * with a certificate (`--user`, `DHT_USER`, the library's `tls` option) or, under
 * `--client-auth none`, with none; `dht-certs --ca-key` signs with a CA key kept elsewhere.
 */
import { describe, expect, it } from "@effect/vitest"
import { ClientError, DhtClient, PromiseClient } from "@crustyring/client"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { JOINED, REGISTRY_LISTENING, STARTED_RING } from "./cluster.ts"
import { runBin, spawnBin } from "./processes.ts"
import { certs, client, clusterCerts, refused, startTlsNode, tempDir } from "./tls.ts"

describe("TLS access", () => {
  it.live("a node with the wrong credentials is refused at its join, names the cause, exits 1, and the ring is unchanged", () =>
    Effect.gen(function*() {
      const dir = yield* clusterCerts
      const other = yield* tempDir
      yield* certs(["create-ca", other])
      yield* certs(["create-node", other, "127.0.0.1"])
      const ring = yield* startTlsNode(dir, [], STARTED_RING, "dht tls ring")
      expect((yield* client(dir, ring.address, ["set", "kept", "yes"])).code).toBe(0)
      const dht = (args: ReadonlyArray<string>) => runBin("dht", ["--host", "127.0.0.1", "--port", "0", ...args], { timeout: "40 seconds" })

      refused(yield* dht(["--join", ring.address]), new RegExp(`cannot join through ${ring.address}: .*serves TLS and this process runs plaintext`))
      refused(yield* dht(["--certs-dir", other, "--join", ring.address]), /not signed by this process's CA .*another cluster/)

      // Through a registry: a plaintext node cannot register with a TLS registry.
      const registry = yield* spawnBin("dht-registry", ["--host", "127.0.0.1", "--port", "0", "--certs-dir", dir], { label: "dht-registry tls" })
      const [, registryAddress] = yield* registry.waitForStderr(REGISTRY_LISTENING, "20 seconds")
      refused(yield* dht(["--registry", registryAddress!]), /cannot register with registry .*serves TLS and this process runs plaintext/)

      // A TLS node cannot join a plaintext ring either.
      const plain = yield* spawnBin("dht", ["--host", "127.0.0.1", "--port", "0"], { label: "dht plaintext" })
      const [, plainAddress] = yield* plain.waitForStderr(STARTED_RING, "20 seconds")
      refused(yield* dht(["--certs-dir", dir, "--join", plainAddress!]), /serves plaintext and this process runs TLS/)

      // The TLS ring still has its one node and its key.
      const status = yield* client(dir, ring.address, ["ring"])
      expect(status.stdout, status.stderr).toMatch(/^1 node, 1 keys/m)
      expect((yield* client(dir, ring.address, ["get", "kept"])).stdout.trim()).toBe("yes")
    }), 120_000)

  it.live("clients get in with --user, DHT_USER or the library's tls option, or with no certificate under --client-auth none", () =>
    Effect.gen(function*() {
      const dir = yield* clusterCerts
      // A client certificate signed with a CA key kept outside the certificates directory.
      const vault = yield* tempDir
      fs.renameSync(path.join(dir, "ca.key"), path.join(vault, "ca.key"))
      const noKey = yield* runBin("dht-certs", ["create-client", dir, "bob"], { timeout: "30 seconds" })
      refused(noKey, /ca\.key/)
      yield* certs(["create-client", dir, "bob", "--ca-key", path.join(vault, "ca.key")])

      const strict = yield* startTlsNode(dir, [], STARTED_RING, "dht tls strict")
      const open = yield* startTlsNode(dir, ["--join", strict.address, "--client-auth", "none"], JOINED, "dht tls open")

      // DHT_USER names the certificate as --user does.
      const byEnv = yield* runBin("dht-client", ["--node", strict.address, "--certs-dir", dir, "--timeout", "8000", "set", "who", "bob"], {
        env: { DHT_USER: "bob" },
        timeout: "30 seconds"
      })
      expect(byEnv.code, byEnv.stderr).toBe(0)

      // With no certificate: refused by the strict node, served by the open one.
      refused(yield* client(dir, strict.address, ["get", "who"], null), /access denied: .*client certificate/)
      const anonymous = yield* client(dir, open.address, ["get", "who"], null)
      expect(anonymous.code, anonymous.stderr).toBe(0)
      expect(anonymous.stdout.trim()).toBe("bob")

      // The library: DhtClient with paths, PromiseClient with file contents.
      const f = (name: string) => path.join(dir, name)
      const got = yield* Effect.scoped(Effect.gen(function*() {
        const c = yield* DhtClient.make({ nodes: [strict.address] }, {
          tls: { ca: f("ca.crt"), cert: f("client.alice.crt"), key: f("client.alice.key") },
          deadline: "8 seconds"
        })
        yield* c.set("lib", "effect")
        return new TextDecoder().decode(yield* c.get("who"))
      }))
      expect(got).toBe("bob")
      const promised = yield* Effect.promise(async () => {
        const read = (name: string) => fs.readFileSync(f(name), "utf8")
        const c = await PromiseClient.connect({ nodes: [strict.address] }, {
          tls: { ca: read("ca.crt"), cert: read("client.bob.crt"), key: read("client.bob.key") },
          deadline: "8 seconds"
        })
        try {
          return new TextDecoder().decode(await c.get("lib"))
        } finally {
          await c.close()
        }
      })
      expect(promised).toBe("effect")
      // Without a certificate the library gets AccessDenied from the strict node.
      const denied = yield* Effect.scoped(Effect.gen(function*() {
        const c = yield* DhtClient.make({ nodes: [strict.address] }, { tls: { ca: f("ca.crt") }, deadline: "8 seconds" })
        return yield* Effect.flip(c.get("who"))
      }))
      expect(denied).toBeInstanceOf(ClientError.AccessDenied)
      // A tls path that does not exist is a clear InvalidRequest.
      const missing = yield* Effect.flip(Effect.scoped(DhtClient.make({ nodes: [strict.address] }, { tls: { ca: f("nowhere.crt") } })))
      expect(missing).toBeInstanceOf(ClientError.InvalidRequest)
      expect(missing.message).toMatch(/tls\.ca: cannot read .*nowhere\.crt/)
    }), 120_000)
})

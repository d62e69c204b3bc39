/**
 * The health checks the container examples declare are the ones that work: the docker-compose
 * `healthcheck` commands, read from the file, are run against a real TLS registry and node (with
 * only the address and the certificates directory put in place of the container's); the
 * Kubernetes probes, read from the manifest, are requested as the kubelet does (HTTPS, no
 * client certificate, no check of the server's) on a real node's admin port.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as https from "node:https"
import { fileURLToPath } from "node:url"
import { parse, parseAllDocuments } from "yaml"
import { REGISTRY_LISTENING, STARTED_RING } from "./cluster.ts"
import { runBin, spawnBin } from "./processes.ts"
import { clusterCerts } from "./tls.ts"

const example = (file: string) => fs.readFileSync(fileURLToPath(new URL(`../../../examples/${file}`, import.meta.url)), "utf8")

/** A compose health check as `dht-client` arguments for `address` and `certsDir`. */
const composeCheck = (test: ReadonlyArray<string>, address: string, certsDir: string) => {
  expect(test.slice(0, 2)).toEqual(["CMD", "dht-client"])
  const args = [...test.slice(2)]
  const node = args.indexOf("--node")
  const certs = args.indexOf("--certs-dir")
  expect(node, test.join(" ")).toBeGreaterThanOrEqual(0)
  expect(certs, test.join(" ")).toBeGreaterThanOrEqual(0)
  expect(args[node + 1]).toMatch(/^127\.0\.0\.1:\d+$/)
  args[node + 1] = address
  args[certs + 1] = certsDir
  return args
}

/** GET over HTTPS as the kubelet does it: no client certificate, the server's not checked. */
const kubeletGet = (port: number, path: string) =>
  Effect.callback<number, Error>((resume) => {
    const req = https.get({ host: "127.0.0.1", port, path, rejectUnauthorized: false }, (res) => {
      res.resume()
      res.on("end", () => resume(Effect.succeed(res.statusCode ?? 0)))
    })
    req.on("error", (e) => resume(Effect.fail(e)))
  })

describe("container examples", () => {
  it.live("the docker-compose health checks report a real TLS registry and node as serving", () =>
    Effect.gen(function*() {
      const compose = parse(example("docker-compose/docker-compose.yml"), { merge: true }) as {
        services: Record<string, { healthcheck?: { test: ReadonlyArray<string> }; depends_on?: Record<string, { condition: string }> }>
      }
      const dir = yield* clusterCerts
      const registry = yield* spawnBin("dht-registry", ["--host", "127.0.0.1", "--port", "0", "--certs-dir", dir], { label: "registry" })
      const [, registryAddress] = yield* registry.waitForStderr(REGISTRY_LISTENING, "20 seconds")
      const node = yield* spawnBin("dht", ["--host", "127.0.0.1", "--port", "0", "--certs-dir", dir, "--registry", registryAddress!], {
        label: "node1"
      })
      const [, nodeAddress] = yield* node.waitForStderr(STARTED_RING, "20 seconds")
      for (const [service, address] of [["registry", registryAddress!], ["node1", nodeAddress!]] as const) {
        const check = compose.services[service]?.healthcheck?.test
        expect(check, `${service} has a healthcheck`).toBeDefined()
        const r = yield* runBin("dht-client", composeCheck(check!, address, dir), { timeout: "20 seconds" })
        expect(r.code, `${service}: ${r.stderr}`).toBe(0)
        expect(r.stdout.trim()).toBe("SERVING")
      }
      // Every node service has a health check and waits for a healthy registry.
      for (const [name, svc] of Object.entries(compose.services).filter(([n]) => /^node\d+$/.test(n))) {
        expect(svc.healthcheck?.test, name).toBeDefined()
        expect(svc.depends_on?.registry?.condition, name).toBe("service_healthy")
      }
    }), 120_000)

  it.live("the Kubernetes readiness and liveness probes answer 200 on a real TLS node, as the kubelet asks them", () =>
    Effect.gen(function*() {
      type Container = {
        args: Array<string>
        ports: Array<{ name: string; containerPort: number }>
        readinessProbe: { httpGet: { path: string; port: string; scheme: string } }
        livenessProbe: { httpGet: { path: string; port: string; scheme: string } }
      }
      const docs = parseAllDocuments(example("kubernetes/crusty-ring.yaml")).map((d) => d.toJS() as { kind: string; spec: any })
      const set = docs.find((d) => d.kind === "StatefulSet")!
      const container = set.spec.template.spec.containers[0] as Container
      const service = docs.find((d) => d.kind === "Service" && d.spec.clusterIP === "None")
      expect(service?.spec.publishNotReadyAddresses, "the headless Service publishes pods while they join").toBe(true)
      const httpPort = container.args[container.args.indexOf("--http-port") + 1]
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        expect(probe.httpGet.scheme).toBe("HTTPS")
        const port = container.ports.find((p) => p.name === probe.httpGet.port)
        expect(String(port?.containerPort), `probe port ${probe.httpGet.port} is the --http-port`).toBe(httpPort)
      }

      const dir = yield* clusterCerts
      const node = yield* spawnBin("dht", ["--host", "127.0.0.1", "--port", "0", "--http-port", "0", "--certs-dir", dir], { label: "pod" })
      const [, port] = yield* node.waitForStderr(/admin server on https:\/\/[^ ]+:(\d+)/, "20 seconds")
      yield* node.waitForStderr(STARTED_RING, "20 seconds")
      expect(yield* kubeletGet(Number(port), container.readinessProbe.httpGet.path)).toBe(200)
      expect(yield* kubeletGet(Number(port), container.livenessProbe.httpGet.path)).toBe(200)
    }), 120_000)
})

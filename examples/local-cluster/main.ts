/**
 * A local Crusty Ring cluster as real processes: a registry and three nodes, the layout of the
 * original's docker-compose file, secured with TLS: the certificates are made first, in a
 * temporary directory, with the same code as `dht-certs`. Each process also serves its admin
 * port (`--http-port`: the dashboard, /metrics, /healthz, /readyz, /status), 100 above its gRPC port. Prints
 * how to query it and stops everything (and removes the certificates) on Ctrl-C.
 *
 *   npm start                      # registry on 50000, nodes on 50001-50003; admin ports 50100-50103
 *   CLUSTER_NODES=5 npm start      # more nodes
 *   CLUSTER_BASE_PORT=60000 npm start
 *   CLUSTER_PLAINTEXT=1 npm start  # no TLS
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Certs from "../../packages/cli/src/Certs.ts"
import { start, stopAll, stopOnSignal } from "../shared/processes.ts"

const base = Number(process.env.CLUSTER_BASE_PORT ?? 50000)
const count = Number(process.env.CLUSTER_NODES ?? 3)
const plaintext = process.env.CLUSTER_PLAINTEXT === "1"
/** The admin port of the process whose gRPC port is `port`. */
const admin = (port: number) => port + 100

/** Makes a CA, a node certificate for 127.0.0.1 and a client `demo` in a new temp directory. */
const makeCerts = async (): Promise<string> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crusty-certs-"))
  const ca = await Certs.createCa()
  const node = await Certs.createNode(ca, ["127.0.0.1", "localhost"])
  const client = await Certs.createClient(ca, "demo")
  const write = (name: string, data: string, secret: boolean) => fs.writeFileSync(path.join(dir, name), data, { mode: secret ? 0o600 : 0o644 })
  write("ca.crt", ca.cert, false)
  write("ca.key", ca.key, true)
  write("node.crt", node.cert, false)
  write("node.key", node.key, true)
  write("client.demo.crt", client.cert, false)
  write("client.demo.key", client.key, true)
  return dir
}

const certs = plaintext ? undefined : await makeCerts()
const tls = certs ? ["--certs-dir", certs] : []
const removeCerts = () => certs && fs.rmSync(certs, { recursive: true, force: true })
process.on("exit", removeCerts)
stopOnSignal()

try {
  const registryArgs = ["--host", "127.0.0.1", "--port", String(base), "--http-port", String(admin(base)), ...tls]
  await start("registry", "dht-registry", registryArgs, /registry listening/)
  for (let i = 1; i <= count; i++) {
    const port = String(base + i)
    const args = [port, "--host", "127.0.0.1", "--registry", `127.0.0.1:${base}`, "--http-port", String(admin(base + i)), ...tls]
    await start(`node ${port}`, "dht", args, /started a new ring|joined as/)
  }
} catch (e) {
  console.error(`local cluster failed to start: ${(e as Error).message}`)
  await stopAll()
  process.exit(1)
}

const nodes = Array.from({ length: count }, (_, i) => `127.0.0.1:${base + i + 1}`)
const client = `npx dht-client${certs ? ` --certs-dir ${certs} --user demo` : ""}`
const scheme = certs ? "https" : "http"
const curl = `curl${certs ? ` --cacert ${certs}/ca.crt` : ""}`
const url = (port: number, route: string) => `${scheme}://127.0.0.1:${admin(port)}${route}`
const processes = [{ label: "registry", port: base }, ...Array.from({ length: count }, (_, i) => ({ label: `node ${base + i + 1}`, port: base + i + 1 }))]
const adminLines = processes.map(({ label, port }) => `  ${label.padEnd(12)}${["/metrics", "/readyz", "/status"].map((route) => url(port, route)).join("  ")}`)
console.log(`
Crusty Ring is running${certs ? `, with TLS (certificates in ${certs})` : ", in plaintext"}.
  registry  127.0.0.1:${base}
  nodes     ${nodes.join(", ")}

Query it from another terminal${certs ? ` (or export DHT_CERTS_DIR=${certs} DHT_USER=demo, and drop the flags)` : ""}:
  ${client} --registry 127.0.0.1:${base} set greeting "hello world"
  ${client} --registry 127.0.0.1:${base} get greeting
  ${client} --node ${nodes[0]} delete greeting
  ${client} --registry 127.0.0.1:${base} ring
  ${client} --node ${nodes[0]} health               # SERVING once joined
  ${client} --registry 127.0.0.1:${base}            # interactive prompt

Admin ports (${certs ? `HTTPS with the cluster's certificate, so curl needs --cacert ${certs}/ca.crt; no client certificate` : "plain HTTP"}):
${adminLines.join("\n")}
  ${curl} ${url(base + 1, "/status")}

The ring dashboard, in a browser: ${url(base + 1, "/")}${certs ? ` (the browser does not know the cluster's CA: accept its warning, or import ${certs}/ca.crt)` : ""}

Press Ctrl-C to stop the cluster.`)

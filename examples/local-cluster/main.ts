/**
 * A local Crusty Ring cluster as real processes: a registry and three nodes, the layout of the
 * original's docker-compose file. Prints how to query it and stops everything on Ctrl-C.
 *
 *   npm start                      # registry on 50000, nodes on 50001-50003
 *   CLUSTER_NODES=5 npm start      # more nodes
 *   CLUSTER_BASE_PORT=60000 npm start
 */
import { start, stopAll, stopOnSignal } from "../shared/processes.ts"

const base = Number(process.env.CLUSTER_BASE_PORT ?? 50000)
const count = Number(process.env.CLUSTER_NODES ?? 3)
stopOnSignal()

try {
  await start("registry", "dht-registry", ["--host", "127.0.0.1", "--port", String(base)], /registry listening/)
  for (let i = 1; i <= count; i++) {
    const port = String(base + i)
    await start(`node ${port}`, "dht", [port, "--host", "127.0.0.1", "--registry", `127.0.0.1:${base}`], /started a new ring|joined as/)
  }
} catch (e) {
  console.error(`local cluster failed to start: ${(e as Error).message}`)
  await stopAll()
  process.exit(1)
}

const nodes = Array.from({ length: count }, (_, i) => `127.0.0.1:${base + i + 1}`)
console.log(`
Crusty Ring is running.
  registry  127.0.0.1:${base}
  nodes     ${nodes.join(", ")}

Query it from another terminal:
  npx dht-client --registry 127.0.0.1:${base} set greeting "hello world"
  npx dht-client --registry 127.0.0.1:${base} get greeting
  npx dht-client --node ${nodes[0]} delete greeting
  npx dht-client --registry 127.0.0.1:${base} ring
  npx dht-client --registry 127.0.0.1:${base}            # interactive prompt

Press Ctrl-C to stop the cluster.`)

/**
 * A ring with no registry: a first node on its own, four more joining it with `--join`. Writes
 * and reads some keys, prints the ring, then stops the nodes one at a time.
 *
 *   node examples/registryless-cluster/main.ts      # ports 51001-51005, or CLUSTER_BASE_PORT
 */
import { PromiseClient } from "@crustyring/client"
import { start, stopAll, stopOnSignal } from "../shared/processes.ts"

const base = Number(process.env.CLUSTER_BASE_PORT ?? 51000)
const first = `127.0.0.1:${base + 1}`
stopOnSignal()

try {
  await start("node 1", "dht", [String(base + 1), "--host", "127.0.0.1"], /started a new ring/)
  for (let i = 2; i <= 5; i++) {
    await start(`node ${i}`, "dht", [String(base + i), "--host", "127.0.0.1", "--join", first], /joined as/)
  }
  const client = await PromiseClient.connect({ nodes: [first, `127.0.0.1:${base + 3}`] })
  for (let i = 0; i < 100; i++) await client.set(`key-${i}`, `value-${i}`)
  const sample = new TextDecoder().decode(await client.get("key-42"))
  console.log(`wrote 100 keys; key-42 = ${sample}`)
  for (const n of await client.ring()) {
    console.log(`${n.idHex}  ${n.address}  [${n.range.start}, ${n.range.end})  ${n.keys} keys`)
  }
  await client.close()
} catch (e) {
  console.error(`registry-less cluster failed: ${(e as Error).message}`)
  await stopAll()
  process.exit(1)
}
await stopAll()
console.log("stopped")

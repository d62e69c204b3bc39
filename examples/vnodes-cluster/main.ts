/**
 * Virtual nodes: four processes with `--vnodes 128`, joined without a registry. Writes 4,000
 * keys and prints how many each process owns over its 128 positions, next to what one position
 * per process would give for the same addresses; then stops the processes one at a time.
 *
 *   node examples/vnodes-cluster/main.ts      # ports 52001-52004, or CLUSTER_BASE_PORT
 */
import { PromiseClient } from "@crustyring/client"
import { Address } from "@crustyring/protocol"
import { Position, Ring } from "@crustyring/ring"
import { start, stopAll, stopOnSignal } from "../shared/processes.ts"

const base = Number(process.env.CLUSTER_BASE_PORT ?? 52000)
const VNODES = 128
const KEYS = 4000
const addresses = [1, 2, 3, 4].map((i) => `127.0.0.1:${base + i}`)
const args = ["--host", "127.0.0.1", "--vnodes", String(VNODES)]
stopOnSignal()

try {
  const joined = new RegExp(`all ${VNODES} virtual nodes of \\S+ joined`)
  await start("node 1", "dht", [String(base + 1), ...args], joined)
  for (let i = 2; i <= 4; i++) {
    await start(`node ${i}`, "dht", [String(base + i), ...args, "--join", addresses[0]!], joined)
  }
  const client = await PromiseClient.connect({ nodes: addresses })
  for (let i = 0; i < KEYS; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => client.set(`key-${i + j}`, `value-${i + j}`)))
  }
  // The walk lists every position; a process owns the keys of all of its positions.
  const ring = await client.ring()
  const owned = new Map(addresses.map((a) => [a, 0]))
  for (const n of ring) owned.set(Address.target(n.address), (owned.get(Address.target(n.address)) ?? 0) + n.ownedKeys)
  // The same keys with one position per process, by the ring math.
  const single = Ring.make(addresses.map((address) => ({ id: Position.nodeId(address), address })))
  const one = new Map(addresses.map((a) => [a, 0]))
  for (let i = 0; i < KEYS; i++) {
    const a = Ring.owner(single, Position.position(`key-${i}`))!.address
    one.set(a, one.get(a)! + 1)
  }
  console.log(`${ring.length} positions; keys owned per process (${KEYS} keys):`)
  console.log("process            --vnodes 128   one position")
  for (const a of addresses) console.log(`${a.padEnd(18)} ${String(owned.get(a)).padStart(12)}   ${String(one.get(a)).padStart(12)}`)
  await client.close()
} catch (e) {
  console.error(`virtual-node cluster failed: ${(e as Error).message}`)
  await stopAll()
  process.exit(1)
}
await stopAll()
console.log("stopped")

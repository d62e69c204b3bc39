/**
 * The client library from a plain Node.js program: connect through a registry, then Set, Get
 * and Delete one key and print what each returned.
 *
 *   node examples/client-library/main.ts                       # registry 127.0.0.1:50000
 *   node examples/client-library/main.ts --registry host:port  # or DHT_REGISTRY=host:port
 */
import { PromiseClient } from "@crustyring/client"
import { parseArgs } from "node:util"

const { values } = parseArgs({ options: { registry: { type: "string" } } })
const registry = values.registry ?? process.env.DHT_REGISTRY ?? "127.0.0.1:50000"
const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? "(none)" : new TextDecoder().decode(bytes))

const client = await PromiseClient.connect({ registry }, { timeout: "2 seconds" })
try {
  console.log(`set greeting -> previous: ${text(await client.set("greeting", "hello"))}`)
  console.log(`set greeting -> previous: ${text(await client.set("greeting", "hello again"))}`)
  console.log(`get greeting -> ${text(await client.get("greeting"))}`)
  console.log(`delete greeting -> removed: ${text(await client.delete("greeting"))}`)
  await client.get("greeting").catch((e: { _tag?: string; message?: string }) => {
    console.log(`get greeting -> ${e._tag}: ${e.message}`)
  })
} catch (e) {
  const error = e as { _tag?: string; message?: string }
  console.error(`request failed: ${error._tag ?? "Error"}: ${error.message ?? String(e)}`)
  process.exitCode = error._tag === "Unavailable" || error._tag === "Timeout" ? 2 : 1
} finally {
  await client.close()
}

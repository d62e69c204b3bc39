/**
 * A local Crusty Ring cluster as real processes: a registry and three nodes, the layout of the
 * original's docker-compose file. Prints how to query it and stops everything on Ctrl-C.
 *
 *   npm start                      # registry on 50000, nodes on 50001-50003
 *   CLUSTER_NODES=5 npm start      # more nodes
 *   CLUSTER_BASE_PORT=60000 npm start
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const base = Number(process.env.CLUSTER_BASE_PORT ?? 50000)
const count = Number(process.env.CLUSTER_NODES ?? 3)
const bin = (name: string) => fileURLToPath(new URL(`../../packages/cli/src/bin/${name}.ts`, import.meta.url))
const children: Array<ChildProcess> = []

/** Starts a binary and resolves once a line of its log matches `ready`. */
const start = (label: string, name: string, args: Array<string>, ready: RegExp) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [bin(name), ...args], { stdio: ["ignore", "inherit", "pipe"] })
    children.push(child)
    let log = ""
    child.stderr!.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) process.stderr.write(`[${label}] ${line}\n`)
      log += chunk.toString()
      if (ready.test(log)) resolve()
    })
    child.on("exit", (code) => reject(new Error(`${label} exited with code ${code} before it was ready`)))
  })

const stop = (code: number) => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM")
  let pending = children.filter((c) => c.exitCode === null).length
  if (pending === 0) process.exit(code)
  for (const child of children) child.once("exit", () => --pending === 0 && process.exit(code))
  setTimeout(() => process.exit(code), 5000).unref()
}

process.on("SIGINT", () => stop(0))
process.on("SIGTERM", () => stop(0))

try {
  await start("registry", "dht-registry", ["--host", "127.0.0.1", "--port", String(base)], /registry listening/)
  for (let i = 1; i <= count; i++) {
    const port = String(base + i)
    await start(`node ${port}`, "dht", [port, "--host", "127.0.0.1", "--registry", `127.0.0.1:${base}`], /started a new ring|joined as/)
  }
} catch (e) {
  console.error(`local cluster failed to start: ${(e as Error).message}`)
  stop(1)
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
  npx dht-client --registry 127.0.0.1:${base}            # interactive prompt

Press Ctrl-C to stop the cluster.`)

/**
 * Starting Crusty Ring binaries as child processes for the examples: each in its own process
 * group, so Ctrl-C reaches only the example, which then stops the nodes one at a time and lets
 * each leave the ring gracefully.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const bin = (name: string) => fileURLToPath(new URL(`../../packages/cli/src/bin/${name}.ts`, import.meta.url))
const children: Array<ChildProcess> = []

/** Starts a binary, prefixing its log lines with `label`; resolves once a log line matches `ready`. */
export const start = (label: string, name: string, args: Array<string>, ready: RegExp) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [bin(name), ...args], { stdio: ["ignore", "inherit", "pipe"], detached: true })
    children.push(child)
    let log = ""
    child.stderr!.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) process.stderr.write(`[${label}] ${line}\n`)
      log += chunk.toString()
      if (ready.test(log)) resolve()
    })
    child.on("exit", (code) => reject(new Error(`${label} exited with code ${code} before it was ready`)))
  })

/** Stops every child with SIGTERM, newest first, waiting for each to exit (at most 35 s each). */
export const stopAll = async (): Promise<void> => {
  for (const child of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), 35_000)
    await exited
    clearTimeout(timer)
  }
}

/** Stops the children and exits on Ctrl-C or SIGTERM. */
export const stopOnSignal = (): void => {
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    console.error("stopping the cluster, one node at a time...")
    void stopAll().then(() => process.exit(0))
  }
  process.on("SIGINT", stop)
  process.on("SIGTERM", stop)
}

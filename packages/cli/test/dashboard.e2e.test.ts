/**
 * The ring dashboard in a real browser: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) opens the page that a node of a real process ring serves on its admin
 * port, and the test checks what a person would look at:
 *
 * - every process's address and key count, as `dht-client ring` reports them;
 * - a process killed with kill -9 shown gone within 10 s;
 * - a key typed in the key box highlighting the owner that `dht-client ring` implies;
 * - Set and Get from the page, with the CLI's words;
 * - the serving node leaving: the page says so and switches to another node;
 * - TLS (HTTPS), with keys and values refused as the cluster requires client certificates;
 * - 512 virtual positions on 4 processes, grouped by process.
 *
 * With CRUSTY_SCREENSHOTS=DIR it saves the pictures the README shows into DIR (docs/).
 * Without Chromium it fails on Linux x64, where `.ci/run` installs it, and is skipped, saying
 * why, elsewhere.
 */
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, type Scope } from "effect"
import { type Browser, chromium, type Page } from "playwright-core"
import { JOINED, STARTED_RING } from "./cluster.ts"
import { type Proc, runBin, spawnBin } from "./processes.ts"
import { clusterCerts } from "./tls.ts"

const CHROMIUM = [process.env["CHROMIUM_PATH"], "/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => p !== undefined && existsSync(p))
const MUST_HAVE_CHROMIUM = process.platform === "linux" && process.arch === "x64"
if (CHROMIUM === undefined && !MUST_HAVE_CHROMIUM) {
  console.log(`dashboard.e2e: skipped: no Chromium here (${process.platform}/${process.arch}); set CHROMIUM_PATH to run it`)
}
const SCREENSHOTS = process.env["CRUSTY_SCREENSHOTS"]

/** The page's DOM as the functions that run in the browser use it (this file has no DOM library). */
interface El {
  readonly textContent: string | null
  getAttribute(name: string): string | null
  querySelector(selector: string): El | null
}
declare const document: { querySelector(selector: string): El | null; querySelectorAll(selector: string): ArrayLike<El> & Iterable<El> }

const ADMIN = /admin server on (https?):\/\/[^ ]+:(\d+)/

interface RingProcess {
  readonly proc: Proc
  readonly address: string
  readonly admin: string
}

/** Starts `dht` with an admin port; resolves with its gRPC address and admin URL. */
const startNode = (args: ReadonlyArray<string>, ready: RegExp, label: string): Effect.Effect<RingProcess, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const proc = yield* spawnBin("dht", ["--host", "127.0.0.1", "--port", "0", "--http-port", "0", ...args], { label })
    const [, scheme, port] = yield* proc.waitForStderr(ADMIN, "20 seconds")
    const [, address] = yield* proc.waitForStderr(ready, "60 seconds")
    return { proc, address: address!, admin: `${scheme}://127.0.0.1:${port}` }
  })

/** A ring of `count` processes with `args` each, the first starting it and the rest joining through it. */
const startRing = (count: number, args: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const first = yield* startNode(args, STARTED_RING, "dht 1")
    const rest = yield* Effect.forEach(
      Array.from({ length: count - 1 }, (_, i) => i + 2),
      (i) => startNode([...args, "--join", first.address], JOINED, `dht ${i}`)
    )
    return [first, ...rest]
  })

/** A Chromium page, closed with the scope. */
const openPage = (options: { readonly ignoreHTTPSErrors?: boolean } = {}): Effect.Effect<Page, never, Scope.Scope> =>
  Effect.gen(function*() {
    if (CHROMIUM === undefined) {
      return yield* Effect.die(new Error("no Chromium: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH"))
    }
    const browser = yield* Effect.acquireRelease(
      Effect.promise((): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] })),
      (b) => Effect.promise(() => b.close())
    )
    const context = yield* Effect.promise(() => browser.newContext({ viewport: { width: 1400, height: 900 }, ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false }))
    const page = yield* Effect.promise(() => context.newPage())
    page.on("pageerror", (e) => console.log(`dashboard page error: ${e.message}`))
    return page
  })

/** `dht-client ring --json` through `node`. */
const ringOf = (node: string, extra: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const r = yield* runBin("dht-client", ["--node", node, ...extra, "--json", "ring"], { timeout: "30 seconds" })
    expect(r.code, r.stderr).toBe(0)
    return JSON.parse(r.stdout) as ReadonlyArray<{ readonly address: string; readonly keys: number; readonly range: { readonly start: string; readonly end: string } }>
  })

/** Keys stored per process, as `dht-client ring` reports them. */
const keysByProcess = (ring: ReadonlyArray<{ readonly address: string; readonly keys: number }>) => {
  const out: Record<string, number> = {}
  for (const n of ring) out[n.address.replace(/#\d+$/, "")] = n.keys
  return out
}

/** The owner of `key` by the ranges of a `dht-client ring`: the range `[start, end)` that holds its position. */
const ownerOf = (ring: ReadonlyArray<{ readonly address: string; readonly range: { readonly start: string; readonly end: string } }>, key: string) => {
  const position = createHash("sha256").update(key).digest().subarray(0, 8).toString("hex")
  return ring.find(({ range: { start, end } }) => (start < end ? position >= start && position < end : position >= start || position < end))!.address
}

/** Waits until `condition` (run in the page) holds, polling, for at most `timeout`. */
const until = <A>(page: Page, condition: (arg: A) => boolean, arg: A, timeout: Duration.Input = "15 seconds") =>
  Effect.promise(() => page.waitForFunction(condition as (arg: unknown) => boolean, arg, { timeout: Duration.toMillis(Duration.fromInputUnsafe(timeout)), polling: 100 }))

/** The processes table of the page: process, state cell, key count cell. */
const table = (page: Page) =>
  Effect.promise(() =>
    page.$$eval("#processes tbody tr", (rows) =>
      rows.map((r) => ({
        process: r.getAttribute("data-process"),
        state: r.getAttribute("data-state"),
        phase: r.querySelector(".state")?.textContent,
        keys: r.querySelector(".keys")?.textContent,
        positions: r.querySelector(".positions")?.textContent
      })))
  )

describe.skipIf(CHROMIUM === undefined && !MUST_HAVE_CHROMIUM)("the ring dashboard, in Chromium", () => {
  it.live("shows every process and its keys, a kill -9 within 10 s, the key box's owner, and follows the ring when its node leaves", () =>
    Effect.gen(function*() {
      const ring = yield* startRing(4)
      const [first, , , last] = ring
      for (let i = 0; i < 3; i++) {
        const r = yield* runBin("dht-client", ["--node", first!.address, "set", `key-${i}`, `value ${i}`], { timeout: "20 seconds" })
        expect(r.code, r.stderr).toBe(0)
      }
      const page = yield* openPage()
      yield* Effect.promise(() => page.goto(`${first!.admin}/`))

      // Every process with the key count that dht-client reports (copies settle, so poll both).
      const expected = keysByProcess(yield* ringOf(first!.address))
      expect(Object.keys(expected).sort()).toEqual(ring.map((n) => n.address).sort())
      yield* until(page, (want: Record<string, string>) => {
        const rows = [...document.querySelectorAll("#processes tbody tr")]
        return rows.length === Object.keys(want).length &&
          rows.every((r) => r.getAttribute("data-state") === "up" && r.querySelector(".keys")?.textContent === want[r.getAttribute("data-process")!])
      }, Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, v.toLocaleString("en-US")])))
      const shown = yield* table(page)
      for (const node of ring) expect(shown.find((r) => r.process === node.address)?.keys).toBe(expected[node.address]!.toLocaleString("en-US"))
      expect(yield* Effect.promise(() => page.locator("#ring path.member").count())).toBe(4)

      // The key box: the owner by dht-client's ranges is the one highlighted.
      const key = "the-key-box"
      yield* Effect.promise(() => page.fill("#key", key))
      yield* Effect.promise(() => page.click("#locate"))
      yield* until(page, () => document.querySelector("#key-result")?.getAttribute("data-owner") !== null, undefined)
      const owner = ownerOf(yield* ringOf(first!.address), key)
      expect(yield* Effect.promise(() => page.getAttribute("#key-result", "data-owner"))).toBe(owner)
      expect(yield* Effect.promise(() => page.getAttribute("#ring path.member.owner", "data-address"))).toBe(owner)

      // Set and Get from the page, answered as dht-client's prompt answers.
      yield* Effect.promise(() => page.fill("#value", "from the page"))
      yield* Effect.promise(() => page.click("#set"))
      yield* until(page, () => /Stored\.|Previous value/.test(document.querySelector("#key-result")?.textContent ?? ""), undefined)
      yield* Effect.promise(() => page.click("#get"))
      yield* until(page, () => (document.querySelector("#key-result")?.textContent ?? "").startsWith("Value is: from the page"), undefined)
      const read = yield* runBin("dht-client", ["--node", last!.address, "get", key], { timeout: "20 seconds" })
      expect(read.stdout.trim()).toBe("from the page")
      yield* Effect.promise(() => page.fill("#key", "never-written"))
      yield* Effect.promise(() => page.click("#get"))
      yield* until(page, () => (document.querySelector("#key-result")?.textContent ?? "").startsWith("Key not present in database."), undefined)
      if (SCREENSHOTS) yield* Effect.promise(() => page.screenshot({ path: path.join(SCREENSHOTS, "dashboard.png") }))

      // kill -9 of a process the page is not served by: shown gone within 10 s.
      const killedAt = Date.now()
      yield* last!.proc.kill("SIGKILL")
      yield* until(page, (gone: string) =>
        document.querySelector(`#processes tbody tr[data-process="${gone}"]`)?.getAttribute("data-state") !== "up" &&
        document.querySelector(`#ring path.member[data-process="${gone}"]`)?.getAttribute("data-state") !== "up", last!.address, "10 seconds")
      console.log(`[dashboard] the killed process was shown gone after ${Date.now() - killedAt} ms`)

      // The serving node leaves: the page says so and switches to another node.
      yield* first!.proc.kill("SIGTERM")
      yield* until(page, (left: string) => {
        const c = document.querySelector("#connection")!
        return c.getAttribute("data-state") !== "connected" && (c.textContent ?? "").includes(left)
      }, first!.address, "10 seconds")
      yield* until(page, (left: string) => {
        const c = document.querySelector("#connection")!
        return c.getAttribute("data-state") === "connected" && !(c.textContent ?? "").includes(left)
      }, first!.address, "20 seconds")
      // It draws the ring from there: the leaver is gone and the ring goes on.
      yield* until(page, (left: string) => document.querySelector(`#processes tbody tr[data-process="${left}"]`) === null, first!.address, "20 seconds")
      const events = yield* Effect.promise(() => page.textContent("#events"))
      expect(events).toMatch(/taking over|joined|accepted/)
    }), 180_000)

  it.live("works over TLS, and refuses keys and values on the page when the cluster requires client certificates", () =>
    Effect.gen(function*() {
      const dir = yield* clusterCerts
      const ring = yield* startRing(3, ["--certs-dir", dir])
      expect(ring[0]!.admin).toMatch(/^https:/)
      const page = yield* openPage({ ignoreHTTPSErrors: true })
      yield* Effect.promise(() => page.goto(`${ring[0]!.admin}/`))
      yield* until(page, (n: number) => document.querySelectorAll("#processes tbody tr[data-state='up']").length === n, 3)
      expect(yield* Effect.promise(() => page.isDisabled("#set"))).toBe(true)
      expect(yield* Effect.promise(() => page.textContent("#key-result"))).toMatch(/client certificates/)
      // Locating a key needs no credentials: it reads only the ring.
      yield* Effect.promise(() => page.fill("#key", "k"))
      yield* Effect.promise(() => page.click("#locate"))
      const owner = ownerOf(yield* ringOf(ring[0]!.address, ["--certs-dir", dir, "--user", "alice"]), "k")
      yield* until(page, (o: string) => document.querySelector("#key-result")?.getAttribute("data-owner") === o, owner)
    }), 120_000)

  it.live("keeps 512 virtual positions on 4 processes readable: one colour and one row per process", () =>
    Effect.gen(function*() {
      const ring = yield* startRing(4, ["--vnodes", "128"])
      for (let i = 0; i < 3; i++) {
        yield* runBin("dht-client", ["--node", ring[0]!.address, "set", `v-${i}`, "x"], { timeout: "20 seconds" })
      }
      const page = yield* openPage()
      yield* Effect.promise(() => page.goto(`${ring[1]!.admin}/`))
      yield* until(page, () => document.querySelectorAll("#ring path.member").length === 512 &&
        [...document.querySelectorAll("#processes tbody tr")].every((r) => r.querySelector(".positions")?.textContent === "128" && r.getAttribute("data-state") === "up"), undefined, "60 seconds")
      const rows = yield* table(page)
      expect(rows.map((r) => r.process).sort()).toEqual(ring.map((n) => n.address).sort())
      const colours = yield* Effect.promise(() => page.$$eval("#ring path.member", (paths) => new Set(paths.map((p) => p.getAttribute("fill"))).size))
      expect(colours).toBe(4)
      if (SCREENSHOTS) {
        yield* Effect.promise(() => page.fill("#key", "v-1"))
        yield* Effect.promise(() => page.click("#locate"))
        yield* until(page, () => document.querySelector("#key-result")?.getAttribute("data-owner") !== null, undefined)
        yield* Effect.promise(() => page.hover("#ring path.member >> nth=100"))
        yield* Effect.promise(() => page.screenshot({ path: path.join(SCREENSHOTS, "dashboard-vnodes-128.png") }))
      }
    }), 180_000)
})

/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by file or
 * package, and inclusive time of our own functions (packages/), as shares of the busy samples,
 * highest first. Idle samples and start-up (stacks through the module loader) are left out.
 *
 *   node examples/bench/cpuprofile.ts /tmp/prof/CPU.*.cpuprofile [top=30]
 */
import { readFileSync } from "node:fs"

interface ProfileNode {
  readonly id: number
  readonly hitCount?: number
  readonly children?: ReadonlyArray<number>
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}

const file = process.argv[2]
if (file === undefined) throw new Error("usage: cpuprofile.ts <file.cpuprofile> [top]")
const top = Number(process.argv[3] ?? 30)
const profile = JSON.parse(readFileSync(file, "utf8")) as { readonly nodes: ReadonlyArray<ProfileNode> }

const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/node_modules\//, "").replace(/^file:\/\/.*?\/packages\//, "packages/")
const label = (n: ProfileNode) => {
  const url = shortUrl(n.callFrame.url) || "(native)"
  return `${n.callFrame.functionName || "(anonymous)"}  ${url}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ""}`
}
const group = (n: ProfileNode) => {
  const url = shortUrl(n.callFrame.url) || `(${n.callFrame.functionName || "native"})`
  if (url.startsWith("packages/") || url.startsWith("(")) return url
  return url.split("/").slice(0, url.startsWith("@") ? 2 : 1).join("/")
}

const parent = new Map<number, ProfileNode>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n)
const stack = (n: ProfileNode): Array<ProfileNode> => {
  const out: Array<ProfileNode> = []
  for (let a: ProfileNode | undefined = n; a; a = parent.get(a.id)) out.push(a)
  return out
}
const isStartup = (n: ProfileNode) => stack(n).some((a) => a.callFrame.url.startsWith("node:internal/modules/"))
const total = profile.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0)
const idle = profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").reduce((a, n) => a + (n.hitCount ?? 0), 0)
const startup = profile.nodes.filter((n) => n.callFrame.functionName !== "(idle)" && isStartup(n)).reduce((a, n) => a + (n.hitCount ?? 0), 0)
const busy = total - idle - startup

const self = new Map<string, number>()
const byGroup = new Map<string, number>()
const inclusive = new Map<string, number>()
for (const n of profile.nodes) {
  const hits = n.hitCount ?? 0
  if (hits === 0 || n.callFrame.functionName === "(idle)" || isStartup(n)) continue
  self.set(label(n), (self.get(label(n)) ?? 0) + hits)
  byGroup.set(group(n), (byGroup.get(group(n)) ?? 0) + hits)
  // Each sample counts once for every distinct function of ours on its stack.
  const seen = new Set<string>()
  for (const a of stack(n)) if (shortUrl(a.callFrame.url).startsWith("packages/")) seen.add(label(a))
  for (const l of seen) inclusive.set(l, (inclusive.get(l) ?? 0) + hits)
}
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`)
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`)
  }
}
const pct = (x: number) => `${((100 * x) / total).toFixed(1)}%`
console.log(`${total} samples: ${pct(idle)} idle, ${pct(startup)} start-up; shares below are of the ${busy} other samples`)
print("Self time by function", self)
print("Self time by file or package", byGroup)
print("Inclusive time of functions in packages/", inclusive)

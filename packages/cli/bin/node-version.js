/**
 * The Node.js check every binary runs first, in plain JavaScript so that any Node can run it:
 * the binaries themselves are TypeScript that only Node 22.19 or later runs as is. An older
 * Node gets one line saying what is needed, what was found and how to get it, and exit 1.
 */
import { readFileSync } from "node:fs"

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
/** The lowest version `engines.node` allows, as [major, minor, patch]. */
const wanted = (/(\d+)\.(\d+)(?:\.(\d+))?/.exec(pkg.engines?.node ?? "") ?? ["", "22", "19", "0"]).slice(1).map((n) => Number(n ?? 0))
const found = process.versions.node.split(".").map(Number)

/** Whether `a` is at least `b`. */
const atLeast = (a, b) => {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0)
  return true
}

/** Exits 1 with one line unless this Node is new enough for `name`. */
export const check = (name) => {
  if (atLeast(found, wanted)) return
  process.stderr.write(
    `error: ${name} needs Node.js ${wanted.slice(0, 2).join(".")} or later, found ${process.version}; ` +
      `install a newer Node.js (https://nodejs.org/, or \`nvm install 24\`)\n`
  )
  process.exit(1)
}

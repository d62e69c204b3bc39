/**
 * `npm run release:check`: builds every package, packs each into a tarball, and checks what
 * the tarballs hold (see `Packages.problems`): no tests, no TypeScript sources, only
 * declarations; a licence, README and every file that `exports` and `bin` name; versions and
 * sibling ranges at the release version. Prints one row per tarball, then each problem on
 * its own line, and exits 1 if there is any.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Packages from "./Packages.ts"

const destination = mkdtempSync(join(tmpdir(), "crusty-release-"))
try {
  const { version, workspaces } = Packages.root()
  Packages.build()
  const packed = Packages.pack(destination)
  const found: Array<string> = []
  const rows: Array<ReadonlyArray<string>> = [["package", "version", "files", "tarball"]]
  for (const dir of workspaces) {
    const m = Packages.manifest(dir)
    const tarball = packed.find((p) => p.name === m.name)
    if (tarball === undefined) {
      found.push(`${m.name}: npm pack made no tarball`)
      continue
    }
    rows.push([m.name, m.version, String(tarball.files.length), `${(tarball.size / 1024).toFixed(1)} KiB`])
    found.push(...Packages.problems(tarball, m, version))
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  "))
  if (found.length > 0) {
    for (const line of found) console.error(`error: ${line}`)
    process.exitCode = 1
  } else {
    console.log(`${packed.length} packages at ${version} are ready to publish`)
  }
} finally {
  rmSync(destination, { recursive: true, force: true })
}

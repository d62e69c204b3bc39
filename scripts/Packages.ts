/**
 * The published packages: building them, packing them into tarballs, and checking what a
 * tarball holds. `npm run release:check` and the install test (`npm run test:install`) share it.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root directory. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url))

/** The package.json fields these checks read. */
export interface Manifest {
  readonly name: string
  readonly version: string
  readonly private?: boolean
  readonly license?: string
  readonly engines?: { readonly node?: string }
  readonly exports?: Record<string, Record<string, string>>
  readonly bin?: Record<string, string>
  readonly files?: ReadonlyArray<string>
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
}

/** One tarball as `npm pack --json` describes it. */
export interface Packed {
  readonly name: string
  readonly version: string
  readonly filename: string
  readonly size: number
  readonly files: ReadonlyArray<{ readonly path: string; readonly size: number }>
}

const readJson = <A>(file: string): A => JSON.parse(readFileSync(file, "utf8")) as A

/** The root package.json. */
export const root = (): Manifest & { readonly workspaces: ReadonlyArray<string> } => readJson(join(ROOT, "package.json"))

/** The manifest of the workspace `dir` (e.g. "packages/client"). */
export const manifest = (dir: string): Manifest => readJson(join(ROOT, dir, "package.json"))

/** Runs a command in the repository, its output to this process's stderr; throws if it fails. */
const run = (command: string, args: ReadonlyArray<string>): string =>
  execFileSync(command, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 })

/** Builds every package (`npm run build`). */
export const build = (): void => {
  run("npm", ["run", "--silent", "build"])
}

/** Packs every workspace into `destination`; returns what each tarball holds. */
export const pack = (destination: string): ReadonlyArray<Packed> =>
  JSON.parse(run("npm", ["pack", "--workspaces", "--json", "--pack-destination", destination])) as ReadonlyArray<Packed>

/** The files a package must ship: its export targets (except the source condition) and its binaries. */
const required = (m: Manifest): ReadonlyArray<string> => {
  const targets = Object.values(m.exports ?? {}).flatMap((conditions) =>
    Object.entries(conditions).filter(([condition]) => condition !== "@crustyring/source").map(([, target]) => target)
  )
  const bins = Object.entries(m.bin ?? {}).flatMap(([name, shim]) => [shim, `./dist/bin/${name}.js`])
  return [...targets, ...bins].map((file) => file.replace(/^\.\//, ""))
}

/** What is wrong with one tarball, as one line each; empty when it is fit to publish. */
export const problems = (packed: Packed, m: Manifest, version: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  const files = new Set(packed.files.map((f) => f.path))
  const say = (s: string) => out.push(`${m.name}: ${s}`)
  if (m.private) say(`is marked "private"`)
  if (m.version !== version) say(`version ${m.version}, but the release is ${version}`)
  if (!m.license) say("has no licence field")
  if (!m.engines?.node) say("has no engines.node")
  for (const file of ["LICENSE", "README.md", "package.json"]) if (!files.has(file)) say(`ships no ${file}`)
  for (const file of required(m)) if (!files.has(file)) say(`ships no ${file}, which exports or bin name`)
  for (const file of files) {
    if (/(^|\/)(test|tests|__tests__)\//.test(file) || /\.test\.[cm]?[jt]s$/.test(file)) say(`ships a test: ${file}`)
    else if (/^src\//.test(file)) say(`ships a source file: ${file}`)
    else if (/\.[cm]?ts$/.test(file) && !/\.d\.[cm]?ts$/.test(file)) say(`ships TypeScript that is not a declaration: ${file}`)
    else if (/(^|\/)(tsconfig[^/]*\.json|vitest\.config\.[jt]s)$/.test(file)) say(`ships a build or test config: ${file}`)
  }
  for (const [dependency, range] of Object.entries({ ...m.dependencies, ...m.peerDependencies })) {
    if (dependency.startsWith("@crustyring/") && range !== version) say(`depends on ${dependency} ${range}, not the release ${version}`)
    if (range === "*" || range === "latest") say(`depends on ${dependency} at "${range}"`)
  }
  return out
}

/**
 * `dht-certs`: makes a cluster's certificates, as `cockroach cert` does.
 *
 *   dht-certs create-ca DIR                 DIR/ca.crt, DIR/ca.key
 *   dht-certs create-node DIR HOST...       DIR/node.crt, DIR/node.key (every HOST a SAN)
 *   dht-certs create-client DIR NAME        DIR/client.NAME.crt, DIR/client.NAME.key
 *
 * The node and client commands sign with DIR/ca.crt and DIR/ca.key (or `--ca-key PATH`, to
 * keep the CA key off the machines). Keys are written with mode 0600; no file is overwritten
 * without `--overwrite`.
 */
import { Effect, FileSystem, Option, Path } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Certs from "./Certs.ts"
import { UserError } from "./Main.ts"

const dir = Argument.String("dir").pipe(Argument.withDescription("The certificates directory (what --certs-dir names)"))
const overwrite = Flag.Boolean("overwrite").pipe(Flag.withDescription("Replace files that exist"), Flag.withDefault(false))
const caKey = Flag.String("ca-key").pipe(Flag.withDescription("The CA's key, if not DIR/ca.key"), Flag.optional)

/** Writes `files` into `directory`, keys with mode 0600; fails before writing anything if one exists. */
const writeAll = (directory: string, files: ReadonlyArray<{ readonly name: string; readonly data: string; readonly secret: boolean }>, replace: boolean) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(directory, { recursive: true, mode: 0o700 }).pipe(
      Effect.mapError((e) => new UserError({ message: `cannot create ${directory}: ${e.message}` }))
    )
    if (!replace) {
      for (const f of files) {
        const target = path.join(directory, f.name)
        if (yield* fs.exists(target).pipe(Effect.orElseSucceed(() => false))) {
          return yield* new UserError({ message: `${target} exists; pass --overwrite to replace it` })
        }
      }
    }
    for (const f of files) {
      const target = path.join(directory, f.name)
      const mode = f.secret ? 0o600 : 0o644
      yield* fs.writeFileString(target, f.data, { mode }).pipe(
        // writeFile's mode applies only to a new file: set it on a replaced one too.
        Effect.andThen(fs.chmod(target, mode)),
        Effect.mapError((e) => new UserError({ message: `cannot write ${target}: ${e.message}` }))
      )
      yield* Effect.logInfo(`wrote ${target}`)
    }
  })

/** Reads the CA of `directory` (its key from `keyPath` if given). */
const readCa = (directory: string, keyPath: Option.Option<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const read = (file: string) =>
      fs.readFileString(file).pipe(
        Effect.mapError((e) =>
          new UserError({
            message: e.reason._tag === "NotFound"
              ? `${file} not found: make the CA first with dht-certs create-ca ${directory}`
              : `cannot read ${file}: ${e.message}`
          })
        )
      )
    return { cert: yield* read(path.join(directory, "ca.crt")), key: yield* read(Option.getOrElse(keyPath, () => path.join(directory, "ca.key"))) }
  })

/** Runs a certificate maker, turning a bad CA into a one-line error. */
const make = <A>(f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new UserError({ message: e instanceof Certs.CaError ? e.message : `cannot make the certificate: ${String(e)}` })
  })

const createCa = Command.make("create-ca", { dir, overwrite }, (f) =>
  Effect.gen(function*() {
    const ca = yield* make(() => Certs.createCa())
    yield* writeAll(f.dir, [{ name: "ca.crt", data: ca.cert, secret: false }, { name: "ca.key", data: ca.key, secret: true }], f.overwrite)
  })).pipe(Command.withDescription("Make a cluster CA: DIR/ca.crt and DIR/ca.key"))

const createNode = Command.make("create-node", {
  dir,
  hosts: Argument.String("host").pipe(
    Argument.withDescription("A DNS name or IP address the node is reached at (each becomes a subject alternative name)"),
    Argument.atLeast(1)
  ),
  overwrite,
  caKey
}, (f) =>
  Effect.gen(function*() {
    const problem = f.hosts.map(Certs.hostProblem).find((p) => p !== undefined)
    if (problem) return yield* new UserError({ message: `create-node: ${problem}` })
    const ca = yield* readCa(f.dir, f.caKey)
    const node = yield* make(() => Certs.createNode(ca, f.hosts))
    yield* writeAll(f.dir, [{ name: "node.crt", data: node.cert, secret: false }, { name: "node.key", data: node.key, secret: true }], f.overwrite)
  })).pipe(Command.withDescription("Make a node certificate signed by the CA in DIR: DIR/node.crt and DIR/node.key"))

const createClient = Command.make("create-client", {
  dir,
  name: Argument.String("name").pipe(Argument.withDescription("The client's name: files client.NAME.crt and client.NAME.key")),
  overwrite,
  caKey
}, (f) =>
  Effect.gen(function*() {
    const problem = Certs.nameProblem(f.name)
    if (problem) return yield* new UserError({ message: `create-client: ${problem}` })
    const ca = yield* readCa(f.dir, f.caKey)
    const client = yield* make(() => Certs.createClient(ca, f.name))
    yield* writeAll(
      f.dir,
      [{ name: `client.${f.name}.crt`, data: client.cert, secret: false }, { name: `client.${f.name}.key`, data: client.key, secret: true }],
      f.overwrite
    )
  })).pipe(Command.withDescription("Make a client certificate signed by the CA in DIR: DIR/client.NAME.crt and DIR/client.NAME.key"))

/** The `dht-certs` command. */
export const command = Command.make("dht-certs").pipe(
  Command.withDescription("Make the certificates of a Crusty Ring cluster (what --certs-dir reads)"),
  Command.withSubcommands([createCa, createNode, createClient])
)

/**
 * The members a node last saw, kept in its data directory (`members.json`), so that after a
 * restart it rejoins through any of them instead of starting a ring of its own. Without a data
 * directory a node remembers nothing: it rejoins through its contacts (`--join`) alone.
 */
import { Address } from "@crustyring/protocol"
import * as fs from "node:fs"
import * as path from "node:path"
import { Context, Effect, Layer } from "effect"

/** The remembered members. */
export interface Service {
  /** The addresses saved last; none on a first start or without a data directory. */
  readonly load: Effect.Effect<ReadonlyArray<Address.Address>>
  /** Replaces the saved addresses. A failure to write is logged, never fatal. */
  readonly save: (members: ReadonlyArray<Address.Address>) => Effect.Effect<void>
}

/** The remembered members of this node. */
export class Remembered extends Context.Service<Remembered, Service>()("@crustyring/node/Remembered") {}

/** The file name inside the data directory. */
export const FILE = "members.json"

/**
 * Members kept in `dir/members.json`, written to a temporary file and renamed, so a crash
 * mid-write leaves the previous list. A missing or unreadable file is an empty memory.
 */
export const layerFile = (dir: string): Layer.Layer<Remembered> =>
  Layer.succeed(Remembered, {
    load: Effect.try({
      try: () => JSON.parse(fs.readFileSync(path.join(dir, FILE), "utf8")) as { members?: unknown },
      catch: (e) => e
    }).pipe(
      Effect.map((parsed) =>
        (Array.isArray(parsed.members) ? parsed.members : []).flatMap((m: unknown) => {
          const r = typeof m === "string" ? Address.normalize(m) : undefined
          return r && "address" in r ? [r.address] : []
        })
      ),
      Effect.orElseSucceed((): ReadonlyArray<Address.Address> => [])
    ),
    save: (members) =>
      Effect.try({
        try: () => {
          const file = path.join(dir, FILE)
          const tmp = `${file}.tmp`
          fs.writeFileSync(tmp, JSON.stringify({ members: [...members].sort() }, null, 2) + "\n")
          fs.renameSync(tmp, file)
        },
        catch: (e) => e
      }).pipe(Effect.catch((e) => Effect.logWarning(`could not save the members in ${dir}: ${String(e)}`)))
  })

/** Members kept in memory, for tests: a "restart" with the same layer value remembers them. */
export const makeMemory = (initial: ReadonlyArray<Address.Address> = []): Service => {
  let saved = [...initial]
  return {
    load: Effect.sync(() => saved),
    save: (members) => Effect.sync(() => void (saved = [...members]))
  }
}

/** A memory layer, for tests. */
export const layerMemory = (initial: ReadonlyArray<Address.Address> = []): Layer.Layer<Remembered> =>
  Layer.succeed(Remembered, makeMemory(initial))

/**
 * The durable store behind `--data-dir`: an embedded LMDB database (lmdb-js), chosen over
 * LevelDB by measurement (see the README). Entries are keyed by the 8-byte big-endian ring
 * position followed by the key bytes, so LMDB's key order is ring order and a range hand-off
 * or repair is one range scan, read in pages so nothing loads the whole store.
 *
 * The directory holds `crusty-ring.json` (format version and the node address the data belongs
 * to), `LOCK` (the pid of the node using it) and `store/` (the LMDB files).
 */
import type { Address } from "@crustyring/protocol"
import { Position } from "@crustyring/ring"
import { open, type RootDatabase } from "lmdb"
import * as fs from "node:fs"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { Effect, Layer, Option, Schema, Scope, Stream } from "effect"
import { type Entry, newer, Storage, StorageError, type Store } from "./Storage.ts"
import * as Metrics from "./Metrics.ts"
import * as Version from "./Version.ts"

/** The on-disk format this code reads and writes. */
export const FORMAT_VERSION = 1

/** When a write counts as stored. */
export type Durability = "sync" | "async"

/** Settings of the durable store. */
export interface Options {
  readonly dir: string
  /** The node's advertised address; a data directory belongs to one address. */
  readonly address: Address.Address
  /**
   * `sync`: a write is acknowledged once it is fsynced. `async`: once it is committed; the
   * fsync follows, so a process crash loses nothing but an OS crash or power loss can lose the
   * last commits (the store itself stays consistent). @default "sync"
   */
  readonly durability?: Durability
  /** Take over a data directory that belongs to another address. @default false */
  readonly forceId?: boolean
}

/** The data directory cannot be used; the message says why and what to do. */
export class DataDirError extends Schema.TaggedError<DataDirError>()("DataDirError", {
  message: Schema.String
}) {}

interface Meta {
  readonly format: number
  readonly address: string
  readonly id: string
}

const META = "crusty-ring.json"
const LOCK = "LOCK"
const PAGE = 512
const HEADER = 17

const reason = (e: unknown): string => {
  const err = e as { code?: string; message?: string }
  const code = typeof err?.code === "string" ? err.code : undefined
  const message = err?.message ?? String(e)
  return code && !message.includes(code) ? `${code}: ${message}` : message
}

/** The stored key: position, then key bytes. */
const storedKey = (key: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(8 + key.length)
  out.writeBigUInt64BE(Position.position(key), 0)
  out.set(key, 8)
  return out
}

const bound = (p: Position.Position): Buffer => {
  const out = Buffer.allocUnsafe(8)
  out.writeBigUInt64BE(p, 0)
  return out
}

/** The stored value: a flag byte (1 = tombstone), the version, then the value bytes. */
const encode = (e: Entry): Buffer => {
  const value = e.value ?? new Uint8Array(0)
  const out = Buffer.allocUnsafe(HEADER + value.length)
  out[0] = e.value === undefined ? 1 : 0
  out.writeBigUInt64BE(e.version.hlc, 1)
  out.writeBigUInt64BE(e.version.writer, 9)
  out.set(value, HEADER)
  return out
}

const decode = (stored: Buffer, raw: Buffer): Entry => ({
  key: Uint8Array.prototype.slice.call(stored, 8),
  value: raw[0] === 1 ? undefined : Uint8Array.prototype.slice.call(raw, HEADER),
  version: { hlc: raw.readBigUInt64BE(1), writer: raw.readBigUInt64BE(9) }
})

const isTombstone = (raw: Buffer) => raw[0] === 1

/** The smallest key greater than `key`. */
const after = (key: Buffer) => Buffer.concat([key, Buffer.from([0])])

/** The stored-key intervals of `[start, end)` in ring order from `start`; equal ends are the whole ring. */
const intervals = (start: Position.Position, end: Position.Position): ReadonlyArray<{ from: Buffer; to?: Buffer }> =>
  start < end ? [{ from: bound(start), to: bound(end) }] : [{ from: bound(start) }, { from: Buffer.alloc(0), to: bound(end) }]

/**
 * Creates `dir` and its missing parents one level at a time. (Node's recursive mkdir spins
 * forever on some pseudo file systems such as /proc.)
 */
const makeDirs = (dir: string) => {
  const missing: Array<string> = []
  let at = dir
  while (!fs.existsSync(at)) {
    missing.push(at)
    const parent = path.dirname(at)
    if (parent === at) break
    at = parent
  }
  for (const d of missing.reverse()) fs.mkdirSync(d)
}

/** Directories this process has open: its own pid in their LOCK is not stale. */
const openHere = new Set<string>()

/** Claims the directory for this process, or says who has it. */
const lock = (dir: string): Effect.Effect<void, DataDirError, Scope.Scope> => {
  const file = path.join(dir, LOCK)
  const claim = Effect.try({
    try: () => {
      if (openHere.has(dir)) {
        throw new DataDirError({ message: `data directory ${dir} is in use by another running node (pid ${process.pid}, this process)` })
      }
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" })
          openHere.add(dir)
          return
        } catch (e) {
          if ((e as { code?: string }).code !== "EEXIST") throw e
          const pid = Number.parseInt(fs.readFileSync(file, "utf8"), 10)
          const alive = Number.isInteger(pid) && pid !== process.pid && (() => {
            try {
              process.kill(pid, 0)
              return true
            } catch (err) {
              return (err as { code?: string }).code === "EPERM"
            }
          })()
          if (alive) throw new DataDirError({ message: `data directory ${dir} is in use by another running node (pid ${pid})` })
          // Left by a node that crashed: take it over.
          fs.rmSync(file, { force: true })
        }
      }
      throw new DataDirError({ message: `could not lock data directory ${dir}` })
    },
    catch: (e) => e instanceof DataDirError ? e : new DataDirError({ message: `cannot lock data directory ${dir}: ${reason(e)}` })
  })
  return Effect.acquireRelease(claim, () =>
    Effect.sync(() => {
      openHere.delete(dir)
      fs.rmSync(file, { force: true })
    }))
}

/** Checks or writes the directory's metadata. */
const checkMeta = (dir: string, options: Options): Effect.Effect<void, DataDirError> =>
  Effect.try({
    try: () => {
      const file = path.join(dir, META)
      const id = Position.nodeId(options.address).toString()
      const write = () => {
        const tmp = `${file}.tmp`
        fs.writeFileSync(tmp, JSON.stringify({ format: FORMAT_VERSION, address: options.address, id } satisfies Meta, null, 2) + "\n")
        fs.renameSync(tmp, file)
      }
      if (!fs.existsSync(file)) {
        if (fs.existsSync(path.join(dir, "store"))) {
          throw new DataDirError({ message: `data directory ${dir} has a store but no ${META}: it was not written by this version` })
        }
        return write()
      }
      let meta: Meta
      try {
        meta = JSON.parse(fs.readFileSync(file, "utf8")) as Meta
      } catch (e) {
        throw new DataDirError({ message: `data directory ${dir}: ${META} is unreadable: ${reason(e)}` })
      }
      if (meta.format !== FORMAT_VERSION) {
        throw new DataDirError({
          message: `data directory ${dir} has format version ${JSON.stringify(meta.format)}; this node reads version ${FORMAT_VERSION}`
        })
      }
      if (meta.address !== options.address) {
        if (!options.forceId) {
          throw new DataDirError({
            message: `data directory ${dir} belongs to node ${meta.address}, not ${options.address}; ` +
              `start with --advertise ${meta.address}, or pass --force-id to take its data over as ${options.address}`
          })
        }
        write()
      }
    },
    catch: (e) => e instanceof DataDirError ? e : new DataDirError({ message: `cannot use data directory ${dir}: ${reason(e)}` })
  })

/** Opens the durable store in `options.dir`, creating it if needed; it closes with the scope. */
export const make = (options: Options): Effect.Effect<Store, DataDirError, Scope.Scope> =>
  Effect.gen(function*() {
    const metrics = yield* Metrics.current
    const dir = path.resolve(options.dir)
    yield* Effect.try({
      try: () => {
        makeDirs(dir)
        fs.accessSync(dir, fs.constants.W_OK | fs.constants.R_OK)
        // Root passes access checks on read-only modes: try a real write.
        const probe = path.join(dir, `.probe-${process.pid}`)
        fs.writeFileSync(probe, "")
        fs.rmSync(probe)
      },
      catch: (e) => new DataDirError({ message: `data directory ${dir} cannot be written: ${reason(e)}` })
    })
    yield* lock(dir)
    yield* checkMeta(dir, options)
    const db: RootDatabase<Buffer, Buffer> = yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          open<Buffer, Buffer>({
            path: path.join(dir, "store"),
            keyEncoding: "binary",
            encoding: "binary",
            compression: false,
            overlappingSync: (options.durability ?? "sync") === "async"
          }),
        catch: (e) => new DataDirError({ message: `cannot open the store in ${dir}: ${reason(e)}` })
      }),
      (db) => Effect.promise(() => db.close().catch(() => undefined))
    )
    // lmdb-js leaves some internal promises of a failed commit (a full disk) unhandled; they
    // must not stop the node, which keeps serving reads.
    const onRejection = (e: unknown) => {
      const err = e as { commitError?: unknown; stack?: unknown } | undefined
      if (err?.commitError !== undefined || String(err?.stack ?? "").includes("/lmdb/")) return
      throw e
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => process.on("unhandledRejection", onRejection)),
      () => Effect.sync(() => process.off("unhandledRejection", onRejection))
    )

    const failed = (what: string) => (e: unknown) => new StorageError({ message: `${what}: ${reason(e)}` })
    const read = <A>(what: string, f: () => A) => Effect.try({ try: f, catch: failed(what) })
    /** A write transaction; a failed commit reports lmdb's underlying error (e.g. a full disk). */
    const commit = <A>(what: string, f: () => Promise<A>) =>
      Effect.tryPromise({
        try: async () => {
          const started = performance.now()
          try {
            const result = await f()
            metrics.commit((performance.now() - started) / 1000)
            return result
          } catch (e) {
            const inner = (e as { commitError?: unknown }).commitError
            if (inner !== null && typeof inner === "object" && typeof (inner as Promise<unknown>).then === "function") {
              throw (await (inner as Promise<unknown>).then(() => e, (raw) => raw)) ?? e
            }
            throw e
          }
        },
        catch: failed(what)
      })

    /** Every stored (key, raw value) in `[start, end)`, in ring order, a page at a time. */
    function* pairs(start: Position.Position, end: Position.Position): Generator<{ key: Buffer; value: Buffer }> {
      for (const { from, to } of intervals(start, end)) {
        let next: Buffer = from
        for (;;) {
          const page = Array.from(db.getRange({ start: next, ...(to ? { end: to } : {}), limit: PAGE }))
          for (const pair of page) yield pair
          if (page.length < PAGE) break
          next = after(page[page.length - 1]!.key)
        }
      }
    }

    const lookupNow = (key: Uint8Array): Option.Option<Entry> => {
      const stored = storedKey(key)
      const raw = db.get(stored)
      return raw === undefined ? Option.none<Entry>() : Option.some(decode(stored, raw))
    }
    const lookup = (key: Uint8Array) => read("read", () => lookupNow(key))

    const removeKeys = (keys: ReadonlyArray<Buffer>) =>
      commit("delete", () =>
        db.transaction(() => {
          for (const k of keys) db.removeSync(k)
        }))

    return {
      get: (key) => Effect.map(lookup(key), Option.flatMap((e) => Option.fromUndefinedOr(e.value))),
      lookup,
      // LMDB reads are synchronous; a read that throws is left to `lookup` to report.
      lookupSync: (key) => {
        try {
          return lookupNow(key)
        } catch {
          return undefined
        }
      },
      merge: (offered) =>
        commit("write", () => {
          const stored = storedKey(offered.key)
          return db.transaction(() => {
            const raw = db.get(stored)
            const previous = raw === undefined ? Option.none<Entry>() : Option.some(decode(stored, raw))
            if (!newer(offered, previous)) return { previous, applied: false }
            db.putSync(stored, encode(offered))
            return { previous, applied: true }
          })
        }),
      scan: (start, end) =>
        Stream.suspend(() => Stream.fromIterable(pairs(start, end))).pipe(
          Stream.map(({ key, value }) => decode(key, value)),
          Stream.catchCause((cause) => Stream.fail(new StorageError({ message: `scan: ${String(cause)}` })))
        ),
      removeRange: (start, end) =>
        Effect.gen(function*() {
          let removed = 0
          for (;;) {
            // A page at a time, so a large range does not build one huge transaction.
            const keys = yield* read("scan", () => {
              const out: Array<Buffer> = []
              for (const { key } of pairs(start, end)) {
                out.push(key)
                if (out.length >= PAGE * 8) break
              }
              return out
            })
            if (keys.length === 0) return removed
            yield* removeKeys(keys)
            removed += keys.length
          }
        }),
      discard: (entries) =>
        commit("delete", () =>
          db.transaction(() => {
            let n = 0
            for (const e of entries) {
              const stored = storedKey(e.key)
              const raw = db.get(stored)
              if (raw === undefined || Version.compare(decode(stored, raw).version, e.version) !== 0) continue
              db.removeSync(stored)
              n++
            }
            return n
          })),
      count: (start, end) =>
        read("count", () => {
          let n = 0
          for (const { value } of pairs(start, end)) if (!isTombstone(value)) n++
          return n
        }),
      tombstones: read("count", () => {
        let n = 0
        for (const { value } of pairs(Position.make(0n), Position.make(0n))) if (isTombstone(value)) n++
        return n
      }),
      durable: true,
      purge: (before) =>
        Effect.gen(function*() {
          const old = yield* read("scan", () => {
            const out: Array<Buffer> = []
            for (const { key, value } of pairs(Position.make(0n), Position.make(0n))) {
              if (isTombstone(value) && value.readBigUInt64BE(1) < before) out.push(key)
            }
            return out
          })
          if (old.length === 0) return 0
          // Checked again inside the transaction: a write that arrived since the scan stays.
          return yield* commit("delete", () =>
            db.transaction(() => {
              let n = 0
              for (const k of old) {
                const raw = db.get(k)
                if (raw === undefined || !isTombstone(raw) || raw.readBigUInt64BE(1) >= before) continue
                db.removeSync(k)
                n++
              }
              return n
            }))
        })
    } satisfies Store
  })

/** The durable store as the node's `Storage`. */
export const layer = (options: Options): Layer.Layer<Storage, DataDirError> => Layer.effect(Storage, make(options))


/**
 * The durable (LMDB) store beyond the `Store` contract (Storage.test.ts runs that for both
 * stores): data outlives the process that wrote it, scans page through large ranges, and the
 * data directory guards itself (owner address, format version, lock, unusable paths).
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Address } from "@crustyring/protocol"
import { Interval, Position } from "@crustyring/ring"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, Option, type Scope, Stream } from "effect"
import * as fc from "fast-check"
import { DurableStorage, Storage } from "../src/index.ts"

const A = Address.unsafeMake("127.0.0.1:7001")
const B = Address.unsafeMake("127.0.0.1:7002")
const META = "crusty-ring.json"
const LOCK = "LOCK"

const bytes = (s: string): Uint8Array => Buffer.from(s, "utf8")
const text = (b: Uint8Array): string => Buffer.from(b).toString("utf8")
const valueText = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : text(b))
const p = (n: bigint) => Position.make(n)

/** A fresh temporary directory, removed with everything in it when the scope closes. */
const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "crusty-durable-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const open = (dir: string, address: Address.Address = A, options: Partial<DurableStorage.Options> = {}) =>
  DurableStorage.make({ ...options, dir, address })

/** Opening fails: the error, after the attempt's scope has closed. */
const openFails = (dir: string, address: Address.Address = A, options: Partial<DurableStorage.Options> = {}) =>
  Effect.gen(function*() {
    const error = yield* Effect.scoped(open(dir, address, options)).pipe(
      Effect.flatMap(() => Effect.die(new Error(`opening ${dir} as ${address} succeeded; expected a DataDirError`))),
      Effect.flip
    )
    assert.instanceOf(error, DurableStorage.DataDirError)
    assert.strictEqual(error._tag, "DataDirError")
    return error
  })

const write = (store: Storage.Store, key: string, value: string | undefined, hlc: bigint, writer = 1n) =>
  store.merge({ key: bytes(key), value: value === undefined ? undefined : bytes(value), version: { hlc, writer } })

/** Every entry, as [key, value, hlc, writer], in ring order from `start`. */
const dump = (store: Storage.Store, start = 0n, end = start) =>
  Effect.map(
    Stream.runCollect(store.scan(p(start), p(end))),
    (entries) => entries.map((e) => [text(e.key), valueText(e.value), e.version.hlc, e.version.writer] as const)
  )

const readMeta = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, META), "utf8")) as Record<string, unknown>
const lockPid = (dir: string) => fs.readFileSync(path.join(dir, LOCK), "utf8").trim()

/** A running `sleep 30`, killed (and waited for) when the scope closes. */
const sleepingChild: Effect.Effect<ChildProcess, never, Scope.Scope> = Effect.acquireRelease(
  Effect.callback<ChildProcess>((resume) => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" })
    child.once("spawn", () => resume(Effect.succeed(child)))
    child.once("error", (e) => resume(Effect.die(e)))
  }),
  (child) =>
    Effect.callback<void>((resume) => {
      if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
      child.once("exit", () => resume(Effect.void))
      child.kill("SIGKILL")
    })
)

/** Runs a child process to its end; succeeds with its pid, exit code or signal, and output. */
const runChild = (command: string, args: ReadonlyArray<string>, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) =>
  Effect.callback<{ pid: number; code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resume) => {
      const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d) => (stdout += String(d)))
      child.stderr.on("data", (d) => (stderr += String(d)))
      child.once("error", (e) => resume(Effect.die(e)))
      child.once("close", (code, signal) => resume(Effect.succeed({ pid: child.pid!, code, signal, stdout, stderr })))
      return Effect.sync(() => child.kill("SIGKILL"))
    }
  )

describe("DurableStorage: persistence", () => {
  it.effect("entries, tombstones and versions survive close and reopen", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const before = yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* open(dir)
        yield* write(store, "alive", "1", 10n, 3n)
        yield* write(store, "alive", "2", 12n, 4n)
        yield* write(store, "deleted", "x", 5n)
        yield* write(store, "deleted", undefined, 6n, 9n)
        yield* write(store, "never-written", undefined, 7n)
        yield* write(store, "empty", "", 8n)
        yield* store.merge({ key: Uint8Array.from([0, 255, 0x80]), value: Uint8Array.from([1, 0, 2]), version: { hlc: 1n << 63n, writer: (1n << 64n) - 1n } })
        return yield* dump(store)
      }))
      assert.strictEqual(before.length, 5)
      assert.isFalse(fs.existsSync(path.join(dir, LOCK)), "closed")

      const store = yield* open(dir)
      expect(yield* dump(store)).toEqual(before)
      assert.strictEqual(text(Option.getOrThrow(yield* store.get(bytes("alive")))), "2")
      assert.deepStrictEqual(Option.getOrThrow(yield* store.lookup(bytes("alive"))).version, { hlc: 12n, writer: 4n })
      const tomb = Option.getOrThrow(yield* store.lookup(bytes("deleted")))
      assert.isUndefined(tomb.value)
      assert.deepStrictEqual(tomb.version, { hlc: 6n, writer: 9n })
      assert.isTrue(Option.isNone(yield* store.get(bytes("deleted"))))
      assert.strictEqual(Option.getOrThrow(yield* store.get(bytes("empty"))).length, 0, "an empty value is not a tombstone")
      const binary = Option.getOrThrow(yield* store.lookup(Uint8Array.from([0, 255, 0x80])))
      assert.deepStrictEqual([...binary.value!], [1, 0, 2])
      assert.deepStrictEqual(binary.version, { hlc: 1n << 63n, writer: (1n << 64n) - 1n })
      assert.strictEqual(yield* store.tombstones, 2)
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 3)
      // The reopened store still compares versions with what it held: the tombstone blocks older writes.
      assert.isFalse((yield* write(store, "deleted", "stale", 6n, 8n)).applied)
      assert.isFalse((yield* write(store, "alive", "stale", 12n, 3n)).applied)
      assert.isTrue((yield* write(store, "alive", "3", 12n, 5n)).applied)
    }))

  it.effect("purge and removeRange are durable too", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
      const [start, end] = [Position.position("k3"), Position.position("k11")]
      const kept = yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* open(dir)
        for (const [i, k] of keys.entries()) yield* write(store, k, i % 3 === 0 ? undefined : k, BigInt(i))
        const removed = yield* store.removeRange(start, end)
        assert.isAbove(removed, 0)
        assert.isAbove(yield* store.purge(10n), 0)
        return yield* dump(store)
      }))
      const store = yield* open(dir)
      expect(yield* dump(store)).toEqual(kept)
      for (const [k, v, hlc] of kept) {
        assert.isFalse(Interval.inHalfOpen(Position.position(k), start, end), `${k} was removed`)
        assert.isTrue(v !== undefined || hlc >= 10n, `${k}: old tombstones were purged`)
      }
    }))

  it.effect("with async durability, committed writes are there after a clean close", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* open(dir, A, { durability: "async" })
        for (let i = 0; i < 50; i++) yield* write(store, `k${i}`, `v${i}`, 1n)
        yield* write(store, "k0", undefined, 2n)
      }))
      const store = yield* open(dir)
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 49)
      assert.strictEqual(yield* store.tombstones, 1)
    }))

  it.effect("a write acknowledged with sync durability survives the writing process being killed", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // A separate node process writes, says so, then dies without closing anything.
      const code = `
        import { Effect } from "effect"
        const DurableStorage = await import(process.env.CRUSTY_SRC)
        await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
          const store = yield* DurableStorage.make({ dir: process.env.CRUSTY_DIR, address: ${JSON.stringify(A)} })
          for (let i = 0; i < 100; i++) {
            yield* store.merge({ key: Buffer.from("k" + i), value: Buffer.from("v" + i), version: { hlc: 5n, writer: 1n } })
          }
          yield* store.merge({ key: Buffer.from("k0"), value: undefined, version: { hlc: 6n, writer: 1n } })
          process.stdout.write("written\\n")
          process.kill(process.pid, "SIGKILL")
        })))
      `
      const child = yield* runChild(process.execPath, ["--input-type=module", "-e", code], {
        cwd: path.resolve(import.meta.dirname, ".."),
        env: { ...process.env, CRUSTY_SRC: path.resolve(import.meta.dirname, "../src/DurableStorage.ts"), CRUSTY_DIR: dir }
      })
      assert.strictEqual(child.stdout, "written\n", child.stderr)
      assert.strictEqual(child.signal, "SIGKILL")
      // The dead writer's LOCK is still there and is taken over.
      assert.strictEqual(lockPid(dir), String(child.pid))
      const store = yield* open(dir)
      assert.strictEqual(lockPid(dir), String(process.pid))
      assert.strictEqual(yield* store.count(p(0n), p(0n)), 99)
      assert.strictEqual(yield* store.tombstones, 1)
      assert.strictEqual(text(Option.getOrThrow(yield* store.get(bytes("k99")))), "v99")
    }))

  it.effect("a closed store fails every operation with StorageError", () =>
    Effect.gen(function*() {
      const store = yield* Effect.scoped(open(yield* tempDir))
      const ops: ReadonlyArray<Effect.Effect<unknown, Storage.StorageError>> = [
        store.get(bytes("k")),
        store.lookup(bytes("k")),
        write(store, "k", "v", 1n),
        Stream.runCollect(store.scan(p(0n), p(0n))),
        store.count(p(0n), p(0n)),
        store.removeRange(p(0n), p(0n)),
        store.tombstones,
        store.purge(10n)
      ]
      for (const op of ops) {
        const error = yield* Effect.flip(op)
        assert.instanceOf(error, Storage.StorageError)
      }
    }))

  it.effect("the largest key and value a node accepts (1 KiB, 1 MiB) round-trip", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const key = Buffer.alloc(1024, 0xab)
      const value = Buffer.alloc(1024 * 1024, 0xcd)
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* open(dir)
        assert.isTrue((yield* store.merge({ key, value, version: { hlc: 1n, writer: 1n } })).applied)
      }))
      const store = yield* open(dir)
      const got = Option.getOrThrow(yield* store.get(key))
      assert.isTrue(Buffer.from(got).equals(value))
      const [entry] = yield* Stream.runCollect(store.scan(p(0n), p(0n)))
      assert.isTrue(Buffer.from(entry!.key).equals(key))
    }))
})

describe("DurableStorage: scans over many pages", () => {
  // The store reads 512 entries a page; 1,500 keys make three pages of the whole ring.
  const N = 1500
  const keys = Array.from({ length: N }, (_, i) => `key-${i}`)
    .map((key) => ({ key, at: Position.position(key) }))
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
  const valueOf = (i: number) => (i % 7 === 0 ? undefined : `value-${keys[i]!.key}`)
  /** Written from the spec: the entries in [start, end), in clockwise order from start. */
  const expected = (start: bigint, end: bigint) =>
    keys
      .map((k, i) => ({ ...k, value: valueOf(i) }))
      .filter((k) => Interval.inHalfOpen(k.at, p(start), p(end)))
      .sort((a, b) => {
        const da = Interval.distance(p(start), a.at)
        const db = Interval.distance(p(start), b.at)
        return da < db ? -1 : da > db ? 1 : 0
      })
      .map((k) => [k.key, k.value, 1n, 2n] as const)

  const fill = Effect.gen(function*() {
    assert.strictEqual(new Set(keys.map((k) => k.at)).size, N, "no two keys collide")
    const store = yield* Effect.flatMap(tempDir, (dir) => open(dir))
    // Written out of ring order, several at a time.
    const order = keys.map((_, i) => (i * 7919) % N)
    yield* Effect.forEach(order, (i) => write(store, keys[i]!.key, valueOf(i), 1n, 2n), { concurrency: 16, discard: true })
    return store
  })
  const at = (i: number) => keys[((i % N) + N) % N]!.at

  it.effect("whole-ring, wrapping and page-sized ranges return exactly the entries, in ring order", () =>
    Effect.gen(function*() {
      const store = yield* fill
      const live = keys.filter((_, i) => valueOf(i) !== undefined).length
      const ranges: ReadonlyArray<readonly [bigint, bigint, number]> = [
        [0n, 0n, N], // the whole ring from 0: three pages
        [at(700), at(700), N], // the whole ring from the middle: wraps
        [at(1000), at(900), N - 100], // wrapping, several pages on both sides of 0
        [at(100), at(612), 512], // exactly one page
        [at(100), at(1124), 1024], // exactly two pages
        [at(100), at(613), 513], // one page and one entry
        [at(988), at(0), 512], // wrapping: one full page before 0, nothing after
        [at(988), 0n, 512], // the same, ending at 0
        [at(988), at(1), 513], // one full page before 0, one entry after
        [at(N - 1) + 1n, at(512), 512], // nothing before 0, a full page after
        [0n, at(0), 0], // nothing
        [Position.MAX, at(0), 0] // only MAX, which holds nothing
      ]
      for (const [start, end, size] of ranges) {
        const got = yield* dump(store, start, end)
        assert.strictEqual(got.length, size, `[${start}, ${end}) size`)
        expect(got, `[${start}, ${end})`).toEqual(expected(start, end))
        assert.strictEqual(yield* store.count(p(start), p(end)), got.filter(([, v]) => v !== undefined).length)
      }
      assert.strictEqual(yield* store.count(p(0n), p(0n)), live)
      assert.strictEqual(yield* store.tombstones, N - live)
    }))

  it.effect("any range agrees with the spec", () =>
    Effect.gen(function*() {
      const store = yield* fill
      // Bounds at, just before and just after stored positions, and anywhere.
      const bound = fc.oneof(
        fc.tuple(fc.nat(N - 1), fc.integer({ min: -1, max: 1 })).map(([i, d]) => Position.wrap(at(i) + BigInt(d))),
        fc.bigInt({ min: 0n, max: Position.MAX }),
        fc.constantFrom(0n, Position.MAX)
      )
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(bound, bound, (start, end) =>
            Effect.runPromise(Effect.gen(function*() {
              expect(yield* dump(store, start, end)).toEqual(expected(start, end))
            }))),
          { numRuns: 100 }
        )
      )
    }))

  it.effect("removeRange removes a wrapping range of several pages, and only that", () =>
    Effect.gen(function*() {
      const store = yield* fill
      const start = at(1200)
      const end = at(300)
      assert.strictEqual(yield* store.removeRange(start, end), 600)
      expect(yield* dump(store)).toEqual(expected(end, start))
      assert.strictEqual(yield* store.removeRange(start, end), 0)
      assert.strictEqual(yield* store.purge(2n), expected(end, start).filter(([, v]) => v === undefined).length)
      assert.strictEqual(yield* store.tombstones, 0)
      assert.strictEqual(yield* store.removeRange(at(5), at(5)), 900 - expected(end, start).filter(([, v]) => v === undefined).length)
      expect(yield* dump(store)).toEqual([])
    }))
})

describe("DurableStorage: the data directory", () => {
  it.effect("a new directory (and its missing parents) is created with crusty-ring.json naming the address", () =>
    Effect.gen(function*() {
      const dir = path.join(yield* tempDir, "a", "b", "data")
      yield* Effect.scoped(open(dir))
      const meta = readMeta(dir)
      assert.strictEqual(meta.format, DurableStorage.FORMAT_VERSION)
      assert.strictEqual(meta.format, 1)
      assert.strictEqual(meta.address, A)
      assert.strictEqual(meta.id, Position.nodeId(A).toString())
      assert.isTrue(fs.statSync(path.join(dir, "store")).isDirectory())
      expect(fs.readdirSync(dir).sort()).toEqual([META, "store"])
    }))

  it.effect("a directory of another address is refused, naming both and --force-id", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        yield* write(yield* open(dir, A), "k", "v", 1n)
      }))
      const error = yield* openFails(dir, B)
      expect(error.message).toContain(A)
      expect(error.message).toContain(B)
      expect(error.message).toContain("--force-id")
      assert.strictEqual(readMeta(dir).address, A, "the metadata is untouched")
      assert.isFalse(fs.existsSync(path.join(dir, LOCK)), "the failed open released its lock")

      // With forceId it is taken over, data included, and now belongs to B.
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* open(dir, B, { forceId: true })
        assert.strictEqual(text(Option.getOrThrow(yield* store.get(bytes("k")))), "v")
      }))
      const meta = readMeta(dir)
      assert.strictEqual(meta.address, B)
      assert.strictEqual(meta.id, Position.nodeId(B).toString())
      assert.strictEqual(meta.format, 1)
      yield* Effect.scoped(open(dir, B))
      const back = yield* openFails(dir, A)
      expect(back.message).toContain(A)
      expect(back.message).toContain(B)
    }))

  it.effect("forceId on a directory that already belongs to the address changes nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.scoped(open(dir, A))
      const before = fs.readFileSync(path.join(dir, META), "utf8")
      yield* Effect.scoped(open(dir, A, { forceId: true }))
      assert.strictEqual(fs.readFileSync(path.join(dir, META), "utf8"), before)
    }))

  it.effect("a format version other than 1 is refused, naming the version", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.scoped(open(dir, A))
      const meta = { format: 2, address: A, id: Position.nodeId(A).toString() }
      fs.writeFileSync(path.join(dir, META), JSON.stringify(meta))
      const error = yield* openFails(dir, A)
      expect(error.message).toContain("format version 2")
      // forceId does not override the format.
      const forced = yield* openFails(dir, B, { forceId: true })
      expect(forced.message).toContain("format version 2")
      assert.deepStrictEqual(readMeta(dir), meta, "left as it was")
      assert.isFalse(fs.existsSync(path.join(dir, LOCK)))

      fs.writeFileSync(path.join(dir, META), JSON.stringify({ ...meta, format: 0 }))
      expect((yield* openFails(dir, A)).message).toContain("format version 0")
      fs.writeFileSync(path.join(dir, META), JSON.stringify({ address: A }))
      expect((yield* openFails(dir, A)).message).toContain("format version")
    }))

  it.effect("an unreadable crusty-ring.json is refused", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, META), "{ not json")
      const error = yield* openFails(dir, A)
      expect(error.message).toContain(META)
      assert.strictEqual(fs.readFileSync(path.join(dir, META), "utf8"), "{ not json")
    }))

  it.effect("a store without crusty-ring.json is refused, and no metadata is written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.mkdirSync(path.join(dir, "store"))
      const error = yield* openFails(dir, A)
      expect(error.message).toContain(META)
      expect(error.message).toContain(dir)
      assert.isFalse(fs.existsSync(path.join(dir, META)))
      assert.isFalse(fs.existsSync(path.join(dir, LOCK)))
    }))

  it.effect("a store/ that is not an LMDB directory is refused", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.scoped(open(dir))
      fs.rmSync(path.join(dir, "store"), { recursive: true })
      fs.writeFileSync(path.join(dir, "store"), "not a database")
      const error = yield* openFails(dir)
      expect(error.message).toContain(dir)
      assert.isFalse(fs.existsSync(path.join(dir, LOCK)))
    }))

  it.effect("a directory whose parent is a regular file is refused", () =>
    Effect.gen(function*() {
      const file = path.join(yield* tempDir, "not-a-dir")
      fs.writeFileSync(file, "x")
      const dir = path.join(file, "data")
      const error = yield* openFails(dir, A)
      expect(error.message).toContain(dir)
      // The path itself being a regular file is refused too.
      const itself = yield* openFails(file, A)
      expect(itself.message).toContain(file)
      assert.strictEqual(fs.readFileSync(file, "utf8"), "x")
    }))
})

describe("DurableStorage: the lock", () => {
  it.effect("the LOCK holds this process's pid while open and is removed when the scope closes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* open(dir)
        assert.strictEqual(lockPid(dir), String(process.pid))
        yield* write(store, "k", "v", 1n)
      }))
      assert.isFalse(fs.existsSync(path.join(dir, LOCK)))
      // It closes on failure too.
      const failed = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        yield* open(dir)
        assert.isTrue(fs.existsSync(path.join(dir, LOCK)))
        return yield* Effect.fail("boom")
      })))
      assert.isTrue(failed._tag === "Failure")
      assert.isFalse(fs.existsSync(path.join(dir, LOCK)))
      // And the data is still there for the next opener.
      const store = yield* open(dir)
      assert.strictEqual(text(Option.getOrThrow(yield* store.get(bytes("k")))), "v")
    }))

  it.effect("a LOCK held by another live process refuses the open, naming \"in use\" and the pid", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.scoped(open(dir))
      const child = yield* sleepingChild
      const pid = child.pid!
      fs.writeFileSync(path.join(dir, LOCK), `${pid}\n`)
      const error = yield* openFails(dir)
      expect(error.message).toContain("in use")
      expect(error.message).toContain(String(pid))
      assert.strictEqual(lockPid(dir), String(pid), "the other process keeps its lock")
    }))

  it.effect("a directory already open in this process is refused as in use, and keeps its lock", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const first = yield* open(dir)
      const error = yield* openFails(dir)
      expect(error.message).toContain("in use")
      expect(error.message).toContain(String(process.pid))
      // The first opener still holds the directory.
      assert.strictEqual(lockPid(dir), String(process.pid))
      yield* write(first, "k", "v", 1n)
    }))

  it.effect("a LOCK left by a process that has exited is taken over", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        yield* write(yield* open(dir), "k", "v", 1n)
      }))
      const dead = yield* runChild("true", [])
      assert.strictEqual(dead.code, 0)
      fs.writeFileSync(path.join(dir, LOCK), `${dead.pid}\n`)
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* open(dir)
        assert.strictEqual(lockPid(dir), String(process.pid))
        assert.strictEqual(text(Option.getOrThrow(yield* store.get(bytes("k")))), "v")
      }))
      assert.isFalse(fs.existsSync(path.join(dir, LOCK)))
    }))

  it.effect("a LOCK without a pid in it is taken over", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      fs.writeFileSync(path.join(dir, LOCK), "")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* open(dir)
        assert.strictEqual(lockPid(dir), String(process.pid))
      }))
      assert.isFalse(fs.existsSync(path.join(dir, LOCK)))
    }))
})

/**
 * Durable storage candidates for issue #5 (--data-dir): lmdb-js (`lmdb`) vs LevelDB
 * (`classic-level`), on Crusty Ring's workload. A standalone script of about a minute:
 *
 *   node examples/bench/storage.ts                 # prints tables, then one JSON line
 *   STORAGE_DIR=/some/disk node examples/bench/storage.ts   # temp dirs there (default: os.tmpdir())
 *   STORAGE_ENOSPC=1 node examples/bench/storage.ts         # as root: also a real ENOSPC (tmpfs mount)
 *
 * Workload: keys are an 8-byte big-endian ring position plus 8 key bytes (16 bytes), values a
 * 20-byte version header (HLC, writer ID, flags) plus 100 random bytes. Every case gets its own
 * temp dir on the local disk (the script warns if that is a tmpfs) and runs in its own child
 * process, so RSS and native threads of one case do not leak into the next.
 *
 *   1. Set: 64 writes in flight, closed loop, each awaits its own acknowledgement; ops/s,
 *      p50/p99, CPU per op (all threads of the process). Policies:
 *      durable (acknowledged = fsynced):
 *        lmdb  sync commit   overlappingSync: false; put() resolves after mdb_txn_commit, which
 *                            fdatasyncs (MDB_NOSYNC not set). Writes of one event turn share a txn.
 *        lmdb  ovl+flushed   default overlappingSync, separateFlushed: true; ack = await
 *                            put(...).flushed (the commit's fsync, which runs after the commit,
 *                            outside the write lock).
 *        level sync          put(k, v, { sync: true }); LevelDB merges queued writers into one
 *                            log append + fsync. Also with UV_THREADPOOL_SIZE=64 (more writers
 *                            queued at once), and as a group commit in the app: puts queue while
 *                            one batch(ops, { sync: true }) is in flight, acked when theirs is.
 *      group commit (acknowledged = in the OS page cache; fsynced within ~10 ms or so):
 *        lmdb  overlapping   lmdb-js's DEFAULT on Linux: put() resolves when the txn is committed
 *                            and visible; the fsync follows in the background (db.flushed).
 *                            An OS crash loses the unflushed txns, without corruption (README).
 *        lmdb  noSync+10ms   noSync: true (no fsync at commit) and db.sync() every 10 ms.
 *                            An OS crash can lose recent txns or corrupt the file (LMDB docs).
 *        level nosync+10ms   put(k, v, { sync: false }) and a sync: true marker write every 10 ms
 *                            (classic-level has no fsync call; a sync write syncs the log).
 *   2. Get: 100,000 stored keys, random point reads, 64 in flight (lmdb get is synchronous;
 *      level get() is async on the libuv pool; level getSync() also shown).
 *   3. Scan: the whole ring in key order, and each 1/8 of the ring (median of the 8).
 *      lmdb getRange({ start, end }); level iterator({ gte, lt }).nextv(1000).
 *   4. Footprint: size of the directory after 100,000 keys (after close; LevelDB also after a
 *      full compactRange), RSS growth of the process (RssAnon and file-backed RssFile apart:
 *      LMDB's mapped pages count in RssFile and are page cache, not heap).
 *   5. Behaviour: a second process opening the same directory while the first holds it;
 *      lmdb with a 64 KiB mapSize; a full disk, emulated with RLIMIT_FSIZE (`ulimit -f`,
 *      writes past the limit fail with EFBIG as they would with ENOSPC); the acknowledged
 *      keys are then counted after a reopen without the limit. Opt-in, as root: a real ENOSPC
 *      on a 4 MiB tmpfs, space freed, 100 more writes, reopen, count.
 *
 * Results: 2026-11-24, AMD EPYC, 2 vCPUs, Node v24.21.0, lmdb 3.5.6 (its N-API build: there is no
 * prebuilt for Node 24's ABI 137), classic-level 3.0.0, ext4 on a virtual disk whose fdatasync
 * takes ~0.15 ms (the host absorbs flushes: on a real disk the durable rows fall much further).
 * Other work shared the machine (load average ~1-2); medians of 4 runs of the whole script
 * (each run: medians of 2 repetitions per Set case), 63 s per run.
 *
 *   1. Set, 64 in flight          ops/s  p50 ms  p99 ms  CPU us/op   (per run ops/s)
 *      durable
 *        lmdb  sync commit       53,100    1.21    1.66       11.9   (51.0k 56.0k 49.8k 55.3k)
 *        lmdb  ovl + .flushed    52,500    1.21    1.70       12.2
 *        level sync: true        15,700    4.00    7.23       46.0   (15.1k 16.7k 15.1k 16.3k)
 *        level sync, UV pool 64  46,800    1.31    3.29       33.8
 *        level batch(sync) app  102,200    0.55    3.41        7.6   (104.7k 101.9k 93.8k 102.5k)
 *      group commit
 *        lmdb  overlapping       54,300    1.17    1.58       11.9   (lmdb-js default: ack before fsync)
 *        lmdb  noSync + 10 ms   126,000    0.42    1.46        9.3
 *        level nosync + 10 ms   140,500    0.30    3.02       10.8
 *      level sync: true is slow because classic-level runs each put on the 4-thread libuv pool,
 *      so LevelDB's writer queue merges at most ~4 writers per fsync (strace: ~2 puts per
 *      fdatasync); lmdb commits everything queued in an event turn as one txn (strace: one
 *      fdatasync per ~60 puts, but ~1.2 4 KiB page writes per put: random keys dirty a leaf each).
 *   2-3. 100,000 keys            lmdb        level
 *      load (no fsync), keys/s   234,000     223,000
 *      get ops/s (64 in flight)  472,000     208,000 async get(), 395,000 getSync()
 *      get p50 / p99 us          134 / 175   260 / 888 async, 155 / 353 getSync
 *      get CPU us/op             2.40        7.16 async, 2.61 getSync
 *      full scan keys/s          1,570,000   827,000
 *      1/8 ring scan keys/s (ms) 1,610,000 (7.8)   757,000 (16.6)
 *   4. disk after 100k keys      22.3 MB (1.72x the 13.0 MB payload: 4 KiB B-tree pages ~60% full)
 *                                14.2 MB (1.09x; snappy cannot shrink random values)
 *      RSS after reading all     +38 MB: 22 MB RssFile (the map), 15 MB anon
 *                                +39 MB: 14 MB RssFile (mmapped tables), 25 MB anon (8 MB block cache)
 *   5. second process            lmdb: opens, reads and writes alongside (LMDB is multi-process):
 *                                nothing stops two nodes sharing a --data-dir.
 *                                level: LEVEL_DATABASE_NOT_OPEN, cause LEVEL_LOCKED "IO error: lock
 *                                <dir>/LOCK: Resource temporarily unavailable".
 *      mapSize 64 KiB            lmdb-js grows the map by itself (to 16.5 MB for 20,000 puts): no
 *                                MDB_MAP_FULL; the limit is the disk.
 *      file-size limit / ENOSPC  both reject the write (lmdb "Commit failed", the cause in
 *                                err.commitError: EFBIG/ENOSPC; level LEVEL_IO_ERROR), reads go on,
 *                                and every acknowledged write is there after a reopen. lmdb-js
 *                                also leaves 2-4 internal promises rejected and unhandled: under
 *                                Node's default the process dies unless an unhandledRejection
 *                                handler is installed. Space freed without a reopen: lmdb goes on
 *                                and loses nothing; LevelDB acknowledges 100 sync writes and loses
 *                                all of them at the next open ("dropping 12393 bytes; Corruption:
 *                                checksum mismatch": the log has a torn record), so a LevelDB store
 *                                must be reopened after any write error (STORAGE_ENOSPC=1).
 */
import { ClassicLevel } from "classic-level"
import { open, type RootDatabase } from "lmdb"
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, statfsSync } from "node:fs"
import * as os from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"
import { fmt, header, median, round, table } from "./stats.ts"

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

const CONCURRENCY = 64
const KEYS = 100_000
const VALUE_BYTES = 100
const HEADER_BYTES = 20
const SET_WARMUP_MS = 500
const SET_WINDOW_MS = 2500
const SET_REPS = 2
const GET_WARMUP_MS = 300
const GET_WINDOW_MS = 2000
const SYNC_EVERY_MS = 10
const SCAN_REPS = 3
const FULL_LIMIT_BYTES = 1024 * 1024
const BASE_DIR = process.env.STORAGE_DIR ?? os.tmpdir()
const SCRIPT = fileURLToPath(import.meta.url)

const now = () => performance.now()
const cpuMicros = (u: NodeJS.CpuUsage) => u.user + u.system

// ---------------------------------------------------------------------------------------------
// Keys and values
// ---------------------------------------------------------------------------------------------

/** xorshift64*: reproducible keys without the cost of crypto per key. */
const rng = (seed: bigint) => {
  let s = seed || 1n
  return (): bigint => {
    s ^= s >> 12n
    s ^= (s << 25n) & 0xffff_ffff_ffff_ffffn
    s ^= s >> 27n
    return (s * 0x2545f4914f6cdd1dn) & 0xffff_ffff_ffff_ffffn
  }
}

/** A storage key: 8-byte big-endian position, then 8 key bytes. */
const makeKey = (next: () => bigint): Buffer => {
  const k = Buffer.allocUnsafe(16)
  k.writeBigUInt64BE(next(), 0)
  k.writeBigUInt64BE(next(), 8)
  return k
}

const noise = randomBytes(1 << 20)
let hlcCounter = 0n
/** A value: HLC (8), writer ID (8), flags and length (4), then 100 incompressible bytes. */
const makeValue = (next: () => bigint): Buffer => {
  const v = Buffer.allocUnsafe(HEADER_BYTES + VALUE_BYTES)
  v.writeBigUInt64BE((BigInt(Date.now()) << 16n) | (hlcCounter++ & 0xffffn), 0)
  v.writeBigUInt64BE(0x1234_5678_9abc_def0n, 8)
  v.writeUInt32BE(VALUE_BYTES, 16)
  const at = Number(next() % BigInt(noise.length - VALUE_BYTES))
  noise.copy(v, HEADER_BYTES, at, at + VALUE_BYTES)
  return v
}

/** The 8-byte bound of ring position p (BigInt), as a key prefix. */
const bound = (p: bigint): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(p)
  return b
}

// ---------------------------------------------------------------------------------------------
// The two stores behind one small interface
// ---------------------------------------------------------------------------------------------

type StoreName = "lmdb" | "level"

interface Store {
  readonly put: (k: Buffer, v: Buffer) => Promise<unknown>
  readonly get: (k: Buffer) => Promise<Uint8Array | undefined> | Uint8Array | undefined
  readonly getSync?: (k: Buffer) => Uint8Array | undefined
  /** Entries with start <= key < end (end undefined: to the end); returns [count, bytes]. */
  readonly scan: (start: Buffer | undefined, end: Buffer | undefined) => Promise<[number, number]>
  /** Forces what was acknowledged so far to disk. */
  readonly sync: () => Promise<void>
  readonly close: () => Promise<void>
  /** Store-specific statistics, for the report. */
  readonly stats?: () => unknown
}

type Policy = "sync" | "syncBatch" | "ovlFlushed" | "overlapping" | "noSync" | "nosyncTimer"

const lmdbOpen = (dir: string, policy: Policy, extra: Record<string, unknown> = {}): { store: Store; db: RootDatabase<Buffer, Buffer> } => {
  const flags =
    policy === "sync" ? { overlappingSync: false }
    : policy === "ovlFlushed" ? { overlappingSync: true, separateFlushed: true }
    : policy === "noSync" ? { noSync: true }
    : { overlappingSync: true }
  const db = open<Buffer, Buffer>({ path: dir, keyEncoding: "binary", encoding: "binary", compression: false, ...flags, ...extra })
  const put =
    policy === "ovlFlushed"
      ? (k: Buffer, v: Buffer) => (db.put(k, v) as Promise<boolean> & { flushed: Promise<void> }).flushed
      : (k: Buffer, v: Buffer) => db.put(k, v)
  const store: Store = {
    put,
    get: (k) => db.get(k),
    scan: async (start, end) => {
      let n = 0
      let bytes = 0
      const range = db.getRange({ ...(start ? { start } : {}), ...(end ? { end } : {}) })
      for (const { key, value } of range) {
        n++
        bytes += key.length + value.length
      }
      return [n, bytes]
    },
    sync: () =>
      policy === "noSync"
        ? new Promise<void>((resolve, reject) => (db as unknown as { sync: (cb: (e?: Error) => void) => void }).sync((e) => (e ? reject(e) : resolve())))
        : Promise.resolve(db.flushed).then(() => undefined),
    close: () => db.close(),
    stats: () => {
      const st = db.getStats() as Record<string, number>
      return { pageSize: st.pageSize, mapSize: st.mapSize, lastPageNumber: st.lastPageNumber, branchPages: st.treeBranchPageCount, leafPages: st.treeLeafPageCount, overflowPages: st.overflowPages, entries: st.entryCount }
    }
  }
  return { store, db }
}

const SYNC_MARKER = Buffer.from("\xff\xff\xff\xff\xff\xff\xff\xffsync", "latin1")

const levelOpen = async (dir: string, policy: Policy): Promise<{ store: Store; db: ClassicLevel<Uint8Array, Uint8Array> }> => {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" })
  await db.open()
  const sync = policy === "sync" || policy === "syncBatch"
  // syncBatch: group commit in the app. Writes queue while one batch({ sync: true }) is in
  // flight; the next batch takes all of them, and each is acknowledged when its batch is synced.
  let queue: Array<{ k: Buffer; v: Buffer; resolve: () => void; reject: (e: unknown) => void }> = []
  let writing = false
  const drain = async () => {
    writing = true
    while (queue.length > 0) {
      const batch = queue
      queue = []
      try {
        await db.batch(batch.map(({ k, v }) => ({ type: "put" as const, key: k, value: v })), { sync: true })
        for (const w of batch) w.resolve()
      } catch (e) {
        for (const w of batch) w.reject(e)
      }
    }
    writing = false
  }
  const store: Store = {
    put:
      policy === "syncBatch"
        ? (k, v) =>
            new Promise<void>((resolve, reject) => {
              queue.push({ k, v, resolve, reject })
              if (!writing) void drain()
            })
        : (k, v) => db.put(k, v, { sync }),
    get: (k) => db.get(k),
    getSync: (k) => db.getSync(k),
    scan: async (start, end) => {
      let n = 0
      let bytes = 0
      const it = db.iterator({ ...(start ? { gte: start } : {}), ...(end ? { lt: end } : {}), highWaterMarkBytes: 1000 * 200 })
      try {
        for (;;) {
          const batch = await it.nextv(1000)
          if (batch.length === 0) break
          for (const [key, value] of batch) {
            n++
            bytes += key.length + value.length
          }
        }
      } finally {
        await it.close()
      }
      return [n, bytes]
    },
    sync: () => db.put(SYNC_MARKER, new Uint8Array(1), { sync: true }),
    close: () => db.close()
  }
  return { store, db }
}

const openStore = async (name: StoreName, dir: string, policy: Policy): Promise<Store> =>
  name === "lmdb" ? lmdbOpen(dir, policy).store : (await levelOpen(dir, policy)).store

// ---------------------------------------------------------------------------------------------
// Measurement helpers
// ---------------------------------------------------------------------------------------------

interface Phase {
  readonly ops: number
  readonly opsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly cpuUsPerOp: number
  readonly errors: number
}

/**
 * Latencies in a log-bucketed histogram (2% buckets from 0.1 us to 10 s): percentiles within
 * ~1%, with no per-op memory, so the harness does not inflate the RSS figures.
 */
class Histogram {
  static readonly MIN_MS = 1e-4
  static readonly STEP = Math.log(1.02)
  readonly counts = new Float64Array(Math.ceil(Math.log(1e8) / Histogram.STEP) + 2)
  count = 0
  add(ms: number) {
    const i = ms <= Histogram.MIN_MS ? 0 : Math.min(this.counts.length - 1, Math.floor(Math.log(ms / Histogram.MIN_MS) / Histogram.STEP))
    this.counts[i]!++
    this.count++
  }
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN
    const rank = Math.max(1, Math.ceil((p / 100) * this.count))
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return Histogram.MIN_MS * Math.exp((i + 0.5) * Histogram.STEP)
    }
    return Number.NaN
  }
}

/**
 * `CONCURRENCY` workers, each awaiting its own op before starting the next. Only ops started in
 * [warmup, warmup + window) count. Workers check the clock themselves: a synchronous op (lmdb
 * get) never yields to timers, so a timer could not end the window.
 */
const closedLoop = async (op: () => unknown, warmupMs: number, windowMs: number): Promise<Phase> => {
  const t0 = now()
  const begin = t0 + warmupMs
  const end = begin + windowMs
  const lat = new Histogram()
  let errors = 0
  let cpuBegin: NodeJS.CpuUsage | undefined
  let cpuEnd: NodeJS.CpuUsage | undefined
  let tEnd = end
  const worker = async () => {
    for (;;) {
      const t = now()
      if (t >= end) {
        if (cpuEnd === undefined) {
          cpuEnd = process.cpuUsage()
          tEnd = t
        }
        return
      }
      if (t >= begin && cpuBegin === undefined) cpuBegin = process.cpuUsage()
      try {
        await op()
      } catch {
        errors++
      }
      if (t >= begin) lat.add(now() - t)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const cpu = cpuBegin && cpuEnd ? cpuMicros(cpuEnd) - cpuMicros(cpuBegin) : Number.NaN
  const seconds = (tEnd - begin) / 1000
  return {
    ops: lat.count,
    opsPerSec: lat.count / seconds,
    p50Ms: lat.percentile(50),
    p99Ms: lat.percentile(99),
    cpuUsPerOp: cpu / Math.max(1, lat.count),
    errors
  }
}

/** Every 10 ms, `sync` unless the previous one is still running. Returns a stop function. */
const periodic = (sync: () => Promise<void>) => {
  let running = false
  let count = 0
  const timer = setInterval(() => {
    if (running) return
    running = true
    sync().then(
      () => {
        count++
        running = false
      },
      () => {
        running = false
      }
    )
  }, SYNC_EVERY_MS)
  return async () => {
    clearInterval(timer)
    while (running) await sleep(1)
    return count
  }
}

const tempDir = (label: string) => mkdtempSync(join(BASE_DIR, `crusty-storage-${label}-`))

const dirSize = (dir: string) => {
  let apparent = 0
  let allocated = 0
  const files: Record<string, number> = {}
  for (const f of readdirSync(dir)) {
    const s = statSync(join(dir, f))
    apparent += s.size
    allocated += s.blocks * 512
    files[f] = s.size
  }
  return { apparent, allocated, files }
}

/** VmRSS, RssAnon and RssFile of this process, in bytes. */
const rss = () => {
  const status = readFileSync("/proc/self/status", "utf8")
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? Number.NaN) * 1024
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") }
}

const gc = (globalThis as { gc?: () => void }).gc
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc?.()
    await sleep(30)
  }
}

// ---------------------------------------------------------------------------------------------
// Child modes
// ---------------------------------------------------------------------------------------------

/** One Set case in a fresh directory. */
const childSet = async (name: StoreName, policy: Policy) => {
  const dir = tempDir(`set-${name}-${policy}`)
  try {
    const store = await openStore(name, dir, policy)
    const next = rng(BigInt(Date.now()) | 1n)
    const stop = policy === "noSync" || policy === "nosyncTimer" ? periodic(store.sync) : undefined
    const result = await closedLoop(() => store.put(makeKey(next), makeValue(next)), SET_WARMUP_MS, SET_WINDOW_MS)
    const syncs = stop ? await stop() : 0
    await store.sync()
    await store.close()
    return { ...result, periodicSyncs: syncs }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const DATA_SEED = 0x9e3779b97f4a7c15n

/** 100,000 keys into `dir` (left for the memory child): load, point reads, scans, size on disk. */
const childData = async (name: StoreName, dir: string) => {
  {
    // A bulk load: no fsync per commit (lmdb noSync, level sync: false), one sync at the end.
    const policy: Policy = name === "lmdb" ? "noSync" : "nosyncTimer"
    const store = await openStore(name, dir, policy)
    const next = rng(DATA_SEED)
    const keys = Array.from({ length: KEYS }, () => makeKey(next))
    const tLoad = now()
    let i = 0
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (i < KEYS) {
          const k = keys[i++]!
          await store.put(k, makeValue(next))
        }
      })
    )
    if (name === "lmdb") await store.sync() // (level's sync is a marker write: leave it out of the scans)
    const loadSec = (now() - tLoad) / 1000

    const pick = rng(0x1234567n)
    const randomKey = () => keys[Number(pick() % BigInt(KEYS))]!
    let misses = 0
    const get = await closedLoop(
      () => {
        const r = store.get(randomKey())
        if (r instanceof Promise) return r.then((v) => (v === undefined ? misses++ : 0))
        if (r === undefined) misses++
        return r
      },
      GET_WARMUP_MS,
      GET_WINDOW_MS
    )
    const getSyncOp = store.getSync
    const getSync = getSyncOp
      ? await closedLoop(() => (getSyncOp(randomKey()) === undefined ? misses++ : 0), GET_WARMUP_MS, GET_WINDOW_MS)
      : undefined

    const full: Array<number> = []
    let fullCount = 0
    let fullBytes = 0
    for (let r = 0; r < SCAN_REPS; r++) {
      const t = now()
      const [n, b] = await store.scan(undefined, undefined)
      full.push((now() - t) / 1000)
      fullCount = n
      fullBytes = b
    }
    const eighths: Array<{ keys: number; ms: number }> = []
    for (let e = 0n; e < 8n; e++) {
      const t = now()
      const [n] = await store.scan(bound(e << 61n), e === 7n ? bound(0xffff_ffff_ffff_ffffn) : bound((e + 1n) << 61n))
      eighths.push({ keys: n, ms: now() - t })
    }
    const stats = store.stats?.()
    await store.close()
    const size = dirSize(dir)
    let compacted: ReturnType<typeof dirSize> | undefined
    if (name === "level") {
      const { db } = await levelOpen(dir, "nosyncTimer")
      await db.compactRange(new Uint8Array(0), Buffer.alloc(17, 0xff))
      await db.close()
      compacted = dirSize(dir)
    }
    return {
      loadKeysPerSec: KEYS / loadSec,
      get,
      getSync,
      misses,
      fullScan: { keys: fullCount, bytes: fullBytes, seconds: median(full), keysPerSec: fullCount / median(full) },
      eighthScan: {
        keys: eighths.map((x) => x.keys),
        medianMs: median(eighths.map((x) => x.ms)),
        keysPerSec: median(eighths.map((x) => x.keys / (x.ms / 1000)))
      },
      disk: { apparentMB: mb(size.apparent), allocatedMB: mb(size.allocated), files: size.files },
      stats,
      diskCompacted: compacted ? { apparentMB: mb(compacted.apparent), allocatedMB: mb(compacted.allocated) } : undefined,
      payloadMB: mb(KEYS * (16 + HEADER_BYTES + VALUE_BYTES))
    }
  }
}

const mb = (x: number) => round(x / (1024 * 1024), 1)

/** RSS (VmRSS, RssAnon, RssFile) and V8's heapUsed + arrayBuffers, after GC. */
const memory = async () => {
  await settle()
  const m = process.memoryUsage()
  return { ...rss(), heap: m.heapUsed + m.arrayBuffers }
}

/**
 * A fresh process opens the 100,000-key directory the data child left, then reads every key
 * by a full scan and by one get each: the memory a node holding them would use, free of the
 * load's garbage. Deltas from before the open, in MB.
 */
const childMem = async (name: StoreName, dir: string) => {
  const next = rng(DATA_SEED)
  const keys = Array.from({ length: KEYS }, () => makeKey(next))
  const m0 = await memory()
  const store = await openStore(name, dir, name === "lmdb" ? "overlapping" : "nosyncTimer")
  const m1 = await memory()
  await store.scan(undefined, undefined)
  const m2 = await memory()
  let found = 0
  for (const k of keys) {
    const v = store.getSync ? store.getSync(k) : await store.get(k)
    if (v !== undefined) found++
  }
  const m3 = await memory()
  await store.close()
  const m4 = await memory()
  const delta = (m: typeof m0) => ({ rss: mb(m.rss - m0.rss), anon: mb(m.anon - m0.anon), file: mb(m.file - m0.file), heap: mb(m.heap - m0.heap) })
  return { baselineRssMB: mb(m0.rss), found, opened: delta(m1), scanned: delta(m2), gotAll: delta(m3), closed: delta(m4) }
}

/** The second process of the lock test: open a directory another process holds. */
const childLock = async (name: StoreName, dir: string) => {
  const probe = Buffer.from("probe-from-parent")
  try {
    if (name === "lmdb") {
      const { db } = lmdbOpen(dir, "sync")
      const seen = db.get(probe)
      await db.put(Buffer.from("probe-from-child"), Buffer.from("child"))
      await db.close()
      return { opened: true, readParentsKey: seen !== undefined, wrote: true }
    }
    const { db } = await levelOpen(dir, "sync")
    const seen = await db.get(probe)
    await db.close()
    return { opened: true, readParentsKey: seen !== undefined, wrote: false }
  } catch (e) {
    const err = e as Error & { code?: string; cause?: Error & { code?: string } }
    return { opened: false, code: err.code, message: err.message, cause: err.cause ? `${err.cause.code ?? ""} ${err.cause.message}`.trim() : undefined }
  }
}

/** lmdb with a 64 KiB map: does a write past it fail with MDB_MAP_FULL, or does the map grow? */
const childMapSize = async () => {
  const dir = tempDir("mapsize")
  try {
    const { db } = lmdbOpen(dir, "overlapping", { mapSize: 64 * 1024 })
    const before = (db.getStats() as { mapSize: number }).mapSize
    const next = rng(7n)
    let written = 0
    let error: string | undefined
    try {
      for (let b = 0; b < 20; b++) {
        const batch: Array<Promise<unknown>> = []
        for (let j = 0; j < 1000; j++) batch.push(db.put(makeKey(next), makeValue(next)))
        await Promise.all(batch)
        written += 1000
      }
    } catch (e) {
      error = String(e)
    }
    const after = (db.getStats() as { mapSize: number }).mapSize
    const count = db.getCount()
    await db.close()
    return { requestedMapSize: 64 * 1024, mapSizeAtOpen: before, mapSizeAfter: after, written, count, error, fileMB: round(dirSize(dir).apparent / 2 ** 20, 2) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Writes under RLIMIT_FSIZE (set by the parent with `ulimit -f`) until writes fail. Reports
 * the first error, how many writes were acknowledged, and whether reads and further writes
 * still work. Writes are durable (sync) so an acknowledged write is meant to survive.
 */
const childFull = async (name: StoreName, dir: string) => {
  // lmdb-js leaves a rejected promise (the failed commit's `commitError`) unhandled; by default
  // that kills the process. Count them instead.
  const unhandled: Array<string> = []
  process.on("unhandledRejection", (reason) => {
    unhandled.push(String(reason).slice(0, 200))
  })
  const store = await openStore(name, dir, "sync")
  const next = rng(11n)
  const acked: Array<string> = []
  let firstError: string | undefined
  let failures = 0
  const t0 = now()
  let stop = false
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (!stop && now() - t0 < 20_000) {
        const k = makeKey(next)
        try {
          await store.put(k, makeValue(next))
          acked.push(k.toString("hex"))
        } catch (e) {
          const err = e as Error & { code?: string; cause?: Error & { code?: string } }
          firstError ??= `${err.code ?? ""} ${err.message}${err.cause ? ` (cause: ${err.cause.code ?? ""} ${err.cause.message})` : ""}`.trim()
          if (++failures >= 20) stop = true
        }
      }
    })
  )
  let readAfter: string
  try {
    const v = await store.get(Buffer.from(acked[0] ?? "00", "hex"))
    readAfter = v === undefined ? "missing" : "ok"
  } catch (e) {
    readAfter = `error: ${String(e)}`
  }
  let closeError: string | undefined
  try {
    await store.close()
  } catch (e) {
    closeError = String(e)
  }
  const limit = /^Max file size\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1]
  return { fileSizeLimit: limit, acked: acked.length, failures, firstError, unhandledRejections: unhandled.length, firstUnhandled: unhandled[0], readAfter, closeError, ackedKeys: acked }
}

/**
 * A real ENOSPC (opt-in, needs root: STORAGE_ENOSPC=1): the parent mounts a 4 MiB tmpfs with a
 * 2 MiB filler file; this child writes durably until a write fails, deletes the filler, writes
 * 100 more (each acknowledged as synced), closes, reopens and counts what is there.
 */
const childEnospc = async (name: StoreName, dir: string, filler: string) => {
  const unhandled: Array<string> = []
  process.on("unhandledRejection", (reason) => {
    unhandled.push(String(reason).slice(0, 200))
  })
  let store = await openStore(name, dir, "sync")
  const next = rng(13n)
  let acked = 0
  let firstError: string | undefined
  while (firstError === undefined && acked < 1_000_000) {
    try {
      await store.put(makeKey(next), makeValue(next))
      acked++
    } catch (e) {
      const err = e as Error & { code?: string; cause?: Error }
      firstError = `${err.code ?? ""} ${err.message}${err.cause ? ` (cause: ${err.cause.message})` : ""}`.trim()
    }
  }
  await sleep(100)
  rmSync(filler)
  let ackedAfterFreeing = 0
  let errorAfterFreeing: string | undefined
  for (let i = 0; i < 100; i++) {
    try {
      await store.put(makeKey(next), makeValue(next))
      ackedAfterFreeing++
    } catch (e) {
      errorAfterFreeing ??= String(e)
    }
  }
  await store.close()
  store = await openStore(name, dir, "sync")
  const [found] = await store.scan(undefined, undefined)
  await store.close()
  let recoveryLog: string | undefined
  if (name === "level") recoveryLog = /dropping.*|Corruption.*/.exec(readFileSync(join(dir, "LOG"), "utf8"))?.[0]
  return { ackedBeforeFull: acked, firstError, ackedAfterFreeing, errorAfterFreeing, foundAfterReopen: found, lost: acked + ackedAfterFreeing - found, unhandledRejections: unhandled.length, recoveryLog }
}

// ---------------------------------------------------------------------------------------------
// Parent: run children, print tables
// ---------------------------------------------------------------------------------------------

const runChild = (args: ReadonlyArray<string>, limitBytes?: number, timeoutMs = 60_000, env: Record<string, string> = {}): Promise<{ json: unknown; code: number | null; signal: string | null; stderr: string }> =>
  new Promise((resolve) => {
    const argv = ["--expose-gc", SCRIPT, ...args]
    const child =
      limitBytes === undefined
        ? spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } })
        : // sh's ulimit -f counts 512-byte blocks (dash) or 1024 (bash): `ulimit -f` without a number tells which.
          spawn("sh", ["-c", `b=$(( ${limitBytes} / 512 )); ulimit -f $b 2>/dev/null; exec "$@"`, "sh", process.execPath, ...argv], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (err += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      const last = out.trim().split("\n").at(-1) ?? ""
      let json: unknown
      try {
        json = JSON.parse(last)
      } catch {
        json = undefined
      }
      resolve({ json, code, signal, stderr: err.trim().slice(-2000) })
    })
  })

const mode = process.argv[2]
if (mode !== undefined) {
  const a = process.argv.slice(3)
  const result =
    mode === "set" ? await childSet(a[0] as StoreName, a[1] as Policy)
    : mode === "data" ? await childData(a[0] as StoreName, a[1]!)
    : mode === "mem" ? await childMem(a[0] as StoreName, a[1]!)
    : mode === "lock" ? await childLock(a[0] as StoreName, a[1]!)
    : mode === "mapsize" ? await childMapSize()
    : mode === "full" ? await childFull(a[0] as StoreName, a[1]!)
    : mode === "enospc" ? await childEnospc(a[0] as StoreName, a[1]!, a[2]!)
    : { error: `unknown mode ${mode}` }
  // A large line to a pipe may still be queued: exit once it is written.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0))
  await new Promise(() => {})
}

const machine = {
  cpu: os.cpus()[0]?.model ?? "unknown",
  cpus: os.cpus().length,
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
  date: new Date().toISOString(),
  loadAvgAtStart: os.loadavg().map((x) => round(x, 2))
}
const started = now()
const versionOf = (pkg: string) => {
  try {
    return (JSON.parse(readFileSync(fileURLToPath(new URL(`../../node_modules/${pkg}/package.json`, import.meta.url)), "utf8")) as { version: string }).version
  } catch {
    return "?"
  }
}
const TMPFS = 0x01021994
const fsType = statfsSync(BASE_DIR).type
console.log(`Crusty Ring storage bench: ${machine.cpu}, ${machine.cpus} CPUs, Node ${machine.node}, ${machine.date}`)
console.log(`lmdb ${versionOf("lmdb")}, classic-level ${versionOf("classic-level")}; temp dirs in ${BASE_DIR} (fs type 0x${fsType.toString(16)})`)
if (fsType === TMPFS) console.log("WARNING: that is a tmpfs: fsync costs nothing there. Set STORAGE_DIR to a directory on a disk.")
console.log(`Load average at start: ${machine.loadAvgAtStart.join(" ")}${machine.loadAvgAtStart[0]! > 0.5 ? " (other work is running: expect noise)" : ""}`)

const failed = (what: string, r: Awaited<ReturnType<typeof runChild>>) => {
  console.log(`${what}: child failed (code ${r.code}, signal ${r.signal}): ${r.stderr.split("\n").slice(-3).join(" | ")}`)
  return undefined
}

// 1. Set
header("1. Set: 64 in flight, each awaits its own acknowledgement")
const setCases: ReadonlyArray<{ store: StoreName; policy: Policy; durability: string; label: string; ack: string; uvThreads?: number }> = [
  { store: "lmdb", policy: "sync", durability: "durable", label: "sync commit (overlappingSync: false)", ack: "commit incl. fdatasync" },
  { store: "level", policy: "sync", durability: "durable", label: "sync: true", ack: "log append + fsync" },
  { store: "level", policy: "sync", durability: "durable", label: "sync: true, UV_THREADPOOL_SIZE=64", ack: "log append + fsync", uvThreads: 64 },
  { store: "level", policy: "syncBatch", durability: "durable", label: "app group commit: batch({ sync: true })", ack: "batch append + fsync" },
  { store: "lmdb", policy: "ovlFlushed", durability: "durable", label: "overlappingSync, await .flushed", ack: "flush after commit" },
  { store: "lmdb", policy: "overlapping", durability: "group", label: "overlappingSync (lmdb-js default)", ack: "commit; fsync follows" },
  { store: "level", policy: "nosyncTimer", durability: "group", label: "sync: false + sync write / 10 ms", ack: "log append (OS cache)" },
  { store: "lmdb", policy: "noSync", durability: "group", label: "noSync + db.sync() / 10 ms", ack: "commit (OS cache)" }
]
const caseKey = (c: (typeof setCases)[number]) => `${c.store}.${c.policy}${c.uvThreads ? `.uv${c.uvThreads}` : ""}`
type SetRun = Phase & { periodicSyncs: number }
const setRuns: Record<string, Array<SetRun>> = {}
// Repetitions in alternating order, so a drift in the machine's load hits all cases alike.
for (let rep = 0; rep < SET_REPS; rep++) {
  for (const c of rep % 2 === 0 ? setCases : [...setCases].reverse()) {
    const r = await runChild(["set", c.store, c.policy], undefined, 60_000, c.uvThreads ? { UV_THREADPOOL_SIZE: String(c.uvThreads) } : {})
    const run = (r.json as SetRun | undefined) ?? failed(`set ${caseKey(c)}`, r)
    if (run) (setRuns[caseKey(c)] ??= []).push(run)
  }
}
const setResults: Record<string, (SetRun & { opsPerSecReps: Array<number> }) | undefined> = Object.fromEntries(
  Object.entries(setRuns).map(([k, rs]) => [k, {
    ops: median(rs.map((r) => r.ops)),
    opsPerSec: median(rs.map((r) => r.opsPerSec)),
    p50Ms: median(rs.map((r) => r.p50Ms)),
    p99Ms: median(rs.map((r) => r.p99Ms)),
    cpuUsPerOp: median(rs.map((r) => r.cpuUsPerOp)),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    periodicSyncs: median(rs.map((r) => r.periodicSyncs)),
    opsPerSecReps: rs.map((r) => round(r.opsPerSec, 0))
  }])
)
console.log(table(
  ["store", "durability", "policy", "ack when", "ops/s", "p50 ms", "p99 ms", "CPU us/op", "errors"],
  setCases.map((c) => {
    const r = setResults[caseKey(c)]
    return [c.store, c.durability, c.label, c.ack, fmt(r?.opsPerSec ?? Number.NaN), fmt(r?.p50Ms ?? Number.NaN, 2), fmt(r?.p99Ms ?? Number.NaN, 2), fmt(r?.cpuUsPerOp ?? Number.NaN, 1), String(r?.errors ?? "n/a")]
  })
))
console.log(`Fresh directory per case; new random keys; ${HEADER_BYTES}+${VALUE_BYTES} B values; ${SET_WARMUP_MS / 1000} s warm-up + ${SET_WINDOW_MS / 1000} s window;`)
console.log(`medians of ${SET_REPS} repetitions in alternating order (ops/s per repetition in the JSON line).`)
console.log("CPU us/op is the whole process (JS thread, lmdb's write thread, LevelDB's libuv pool threads).")

// 2-4. Data
header(`2-4. ${fmt(KEYS)} keys: get, scan, size on disk, RSS`)
type DataResult = Awaited<ReturnType<typeof childData>>
type MemResult = Awaited<ReturnType<typeof childMem>>
const data: Partial<Record<StoreName, DataResult>> = {}
const mem: Partial<Record<StoreName, MemResult>> = {}
for (const name of ["lmdb", "level"] as const) {
  const dir = tempDir(`data-${name}`)
  try {
    const r = await runChild(["data", name, dir])
    const d = (r.json as DataResult | undefined) ?? failed(`data ${name}`, r)
    if (d) data[name] = d
    const rm = await runChild(["mem", name, dir])
    const m = (rm.json as MemResult | undefined) ?? failed(`mem ${name}`, rm)
    if (m) mem[name] = m
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
const dataRow = (name: StoreName, f: (d: DataResult) => string) => (data[name] ? f(data[name]) : "n/a")
console.log(table(
  ["store", "load keys/s", "get ops/s", "get p50 us", "get p99 us", "get CPU us/op", "full scan keys/s", "1/8 scan keys/s", "1/8 scan ms"],
  (["lmdb", "level"] as const).flatMap((name) => {
    const d = data[name]
    if (!d) return [[name, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"]]
    const rows = [[
      name === "lmdb" ? "lmdb get (sync)" : "level get (async)",
      fmt(d.loadKeysPerSec),
      fmt(d.get.opsPerSec),
      fmt(d.get.p50Ms * 1000, 1),
      fmt(d.get.p99Ms * 1000, 1),
      fmt(d.get.cpuUsPerOp, 2),
      fmt(d.fullScan.keysPerSec),
      fmt(d.eighthScan.keysPerSec),
      fmt(d.eighthScan.medianMs, 1)
    ]]
    if (d.getSync) rows.push(["level getSync", "", fmt(d.getSync.opsPerSec), fmt(d.getSync.p50Ms * 1000, 1), fmt(d.getSync.p99Ms * 1000, 1), fmt(d.getSync.cpuUsPerOp, 2), "", "", ""])
    return rows
  })
))
console.log(`Load: ${fmt(KEYS)} keys, 64 in flight, no fsync per write (lmdb noSync, level sync: false). Gets: random stored keys,`)
console.log(`64 in flight (an await each, even when the call is synchronous), ${GET_WINDOW_MS / 1000} s; misses: ${dataRow("lmdb", (d) => String(d.misses))} lmdb, ${dataRow("level", (d) => String(d.misses))} level.`)
console.log(`Scans: full ring median of ${SCAN_REPS}; 1/8 of the ring: median of the 8 eighths (~${fmt(KEYS / 8)} keys each).`)
console.log()
console.log(table(
  ["store", "disk MB after close", "after compactRange", "x payload", "RSS +MB open", "+MB scanned", "+MB all got", "of which RssAnon", "RssFile", "JS heap", "+MB closed"],
  (["lmdb", "level"] as const).map((name) => {
    const d = data[name]
    const m = mem[name]
    if (!d || !m) return [name, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"]
    const settled = d.diskCompacted?.allocatedMB ?? d.disk.allocatedMB
    return [
      name,
      fmt(d.disk.allocatedMB, 1),
      d.diskCompacted ? fmt(d.diskCompacted.allocatedMB, 1) : "-",
      `${fmt(settled / d.payloadMB, 2)}x`,
      fmt(m.opened.rss, 1),
      fmt(m.scanned.rss, 1),
      fmt(m.gotAll.rss, 1),
      fmt(m.gotAll.anon, 1),
      fmt(m.gotAll.file, 1),
      fmt(m.gotAll.heap, 1),
      fmt(m.closed.rss, 1)
    ]
  })
))
console.log(`Payload: ${fmt(KEYS)} x (16 + ${HEADER_BYTES + VALUE_BYTES}) B = ${dataRow("lmdb", (d) => fmt(d.payloadMB, 1))} MB; sizes are allocated blocks. Files: lmdb ${dataRow("lmdb", (d) => JSON.stringify(d.disk.files))}`)
console.log(`(${dataRow("lmdb", (d) => JSON.stringify(d.stats))}); level ${dataRow("level", (d) => String(Object.keys(d.disk.files).length))} files (LevelDB's default 2 MB tables, snappy on: random values do not compress).`)
console.log("Memory: a fresh process opens the directory, scans it, then gets every key once (level via getSync); RSS deltas from")
console.log("before the open, each after GC. RssFile is mapped file pages (LMDB's read map, LevelDB's mmapped tables): page cache the")
console.log("kernel can drop, not heap. RssAnon is the process's own memory (JS heap, LevelDB's block cache and memtable, malloc).")

// 5. Behaviour
header("5. Behaviour: second process, small map, full disk")
const lockResults: Partial<Record<StoreName, unknown>> = {}
for (const name of ["lmdb", "level"] as const) {
  const dir = tempDir(`lock-${name}`)
  try {
    let parentSeesChild: boolean | undefined
    if (name === "lmdb") {
      const { db } = lmdbOpen(dir, "sync")
      await db.put(Buffer.from("probe-from-parent"), Buffer.from("parent"))
      const r = await runChild(["lock", name, dir])
      db.resetReadTxn()
      parentSeesChild = db.get(Buffer.from("probe-from-child")) !== undefined
      await db.close()
      lockResults[name] = { ...(r.json as object), parentSeesChildsWrite: parentSeesChild }
    } else {
      const { db } = await levelOpen(dir, "sync")
      await db.put(Buffer.from("probe-from-parent"), Buffer.from("parent"), { sync: true })
      const r = await runChild(["lock", name, dir])
      await db.close()
      lockResults[name] = r.json
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
for (const [name, r] of Object.entries(lockResults)) console.log(`second process opens ${name}'s dir while held: ${JSON.stringify(r)}`)

const mapSize = (await runChild(["mapsize"])).json
console.log(`lmdb with mapSize 64 KiB, 20,000 puts: ${JSON.stringify(mapSize)}`)

const fullResults: Partial<Record<StoreName, unknown>> = {}
for (const name of ["lmdb", "level"] as const) {
  const dir = tempDir(`full-${name}`)
  try {
    const r = await runChild(["full", name, dir], FULL_LIMIT_BYTES, 40_000)
    const j = r.json as (Awaited<ReturnType<typeof childFull>> | undefined)
    // Reopen without the limit: are all acknowledged writes there?
    let recovered: number | string
    let reopenError: string | undefined
    try {
      const store = await openStore(name, dir, "sync")
      let found = 0
      for (const k of j?.ackedKeys ?? []) if ((await store.get(Buffer.from(k, "hex"))) !== undefined) found++
      recovered = found
      await store.close()
    } catch (e) {
      recovered = "n/a"
      reopenError = String(e)
    }
    const { ackedKeys: _, ...rest } = j ?? { ackedKeys: [] }
    fullResults[name] = { ...rest, childExit: r.code, childSignal: r.signal, childStderrFirstLine: r.stderr.split("\n")[0]?.slice(0, 160) || undefined, recoveredAfterReopen: recovered, reopenError, files: dirSize(dir).files }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
for (const [name, r] of Object.entries(fullResults)) console.log(`${name} under a ${FULL_LIMIT_BYTES / 2 ** 20} MiB file-size limit: ${JSON.stringify(r)}`)

const enospcResults: Partial<Record<StoreName, unknown>> = {}
if (process.env.STORAGE_ENOSPC === "1") {
  const sh = (cmd: string) =>
    new Promise<void>((resolve, reject) =>
      spawn("sh", ["-c", cmd], { stdio: "inherit" }).on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd}: exit ${code}`))))
    )
  for (const name of ["lmdb", "level"] as const) {
    const mnt = tempDir(`enospc-${name}`)
    try {
      await sh(`mount -t tmpfs -o size=4m tmpfs '${mnt}' && dd if=/dev/zero of='${mnt}/filler' bs=1M count=2 2>/dev/null`)
      try {
        const r = await runChild(["enospc", name, join(mnt, "db"), join(mnt, "filler")], undefined, 60_000)
        enospcResults[name] = r.json ?? { childExit: r.code, stderr: r.stderr.slice(-300) }
      } finally {
        await sh(`umount '${mnt}'`)
      }
    } catch (e) {
      enospcResults[name] = { error: String(e) }
    } finally {
      rmSync(mnt, { recursive: true, force: true })
    }
  }
  for (const [name, r] of Object.entries(enospcResults)) console.log(`${name}, real ENOSPC on a 4 MiB tmpfs, then space freed: ${JSON.stringify(r)}`)
} else {
  console.log("(STORAGE_ENOSPC=1, as root, adds a real ENOSPC on a small tmpfs, with space freed afterwards.)")
}

const totalSeconds = round((now() - started) / 1000, 1)
console.log(`\nTotal: ${fmt(totalSeconds, 1)} s`)
const results = {
  machine: { ...machine, loadAvgAtEnd: os.loadavg().map((x) => round(x, 2)), fsType: `0x${fsType.toString(16)}`, lmdb: versionOf("lmdb"), classicLevel: versionOf("classic-level") },
  totalSeconds,
  set: Object.fromEntries(setCases.map((c) => [caseKey(c), setResults[caseKey(c)] ? { durability: c.durability, policy: c.label, ...roundAll(setResults[caseKey(c)]!) } : null])),
  memory: mem,
  data: Object.fromEntries(Object.entries(data).map(([k, d]) => [k, d ? { ...d, get: roundAll(d.get), getSync: d.getSync ? roundAll(d.getSync) : undefined, loadKeysPerSec: round(d.loadKeysPerSec, 0), fullScan: roundAll(d.fullScan), eighthScan: { ...d.eighthScan, medianMs: round(d.eighthScan.medianMs, 2), keysPerSec: round(d.eighthScan.keysPerSec, 0) } } : null])),
  lock: lockResults,
  mapSize,
  full: fullResults,
  enospc: enospcResults
}
function roundAll<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "number" ? round(v, 4) : v])) as T
}
console.log(JSON.stringify(results))

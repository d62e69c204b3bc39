/**
 * Range digests for anti-entropy. A range is cut into equal buckets by position; each bucket's
 * digest is the XOR of a hash of every entry in it (key, version, tombstone or not). Two
 * replicas compare digests and move only the buckets that differ, without sending their keys.
 */
import { Interval, Position } from "@crustyring/ring"
import { createHash } from "node:crypto"
import { Effect, Stream } from "effect"
import type { Entry } from "./Storage.ts"

/** Digests of the buckets of a range, and how many entries each holds. */
export interface Digest {
  readonly hashes: ReadonlyArray<bigint>
  readonly counts: ReadonlyArray<number>
}

const width = Interval.size

/** The bucket of a position in `[start, end)` cut into `buckets`. */
export const bucketOf = (position: Position.Position, start: Position.Position, end: Position.Position, buckets: number): number =>
  Number((Interval.distance(start, position) * BigInt(buckets)) / width(start, end))

/** The sub-range `[from, to)` of bucket `i`. */
export const bucketRange = (
  i: number,
  start: Position.Position,
  end: Position.Position,
  buckets: number
): readonly [Position.Position, Position.Position] => {
  const w = width(start, end)
  const b = BigInt(buckets)
  // Bucket i holds the offsets d with floor(d * b / w) = i, i.e. d in [ceil(i w / b), ceil((i+1) w / b)).
  const lower = (n: bigint) => (n * w + b - 1n) / b
  const from = Position.wrap(start + lower(BigInt(i)))
  const to = i + 1 === buckets ? end : Position.wrap(start + lower(BigInt(i + 1)))
  return [from, to]
}

/** A 64-bit hash of an entry: its key, version and whether it is a tombstone. */
export const entryHash = (entry: Entry): bigint => {
  const meta = Buffer.alloc(17)
  meta.writeBigUInt64BE(entry.version.hlc, 0)
  meta.writeBigUInt64BE(entry.version.writer, 8)
  meta[16] = entry.value === undefined ? 1 : 0
  const hash = createHash("sha1").update(entry.key).update(meta).digest()
  return hash.readBigUInt64BE(0)
}

/**
 * How many buckets to cut a range of `entries` into: about 16 entries each, 1 to 4096, and
 * never more than the range has positions, so no bucket is empty of positions.
 */
export const bucketsFor = (entries: number, start: Position.Position, end: Position.Position): number => {
  const n = Math.min(4096, Math.max(1, Math.ceil(entries / 16)))
  const w = width(start, end)
  return w < BigInt(n) ? Number(w) : n
}

/** Digests a stream of the entries of `[start, end)`. */
export const digest = <E, R>(
  entries: Stream.Stream<Entry, E, R>,
  start: Position.Position,
  end: Position.Position,
  buckets: number
): Effect.Effect<Digest, E, R> =>
  Effect.suspend(() => {
    const hashes = new Array<bigint>(buckets).fill(0n)
    const counts = new Array<number>(buckets).fill(0)
    return entries.pipe(
      Stream.runForEach((entry) =>
        Effect.sync(() => {
          const i = bucketOf(Position.position(entry.key), start, end, buckets)
          hashes[i] = hashes[i]! ^ entryHash(entry)
          counts[i]!++
        })
      ),
      Effect.as({ hashes, counts })
    )
  })

/** The buckets whose digests differ. */
export const differing = (a: Digest, b: Digest): ReadonlyArray<number> => {
  const out: Array<number> = []
  const n = Math.max(a.hashes.length, b.hashes.length)
  for (let i = 0; i < n; i++) if (a.hashes[i] !== b.hashes[i]) out.push(i)
  return out
}

/**
 * Copies of each key on its owner and the next `replicas - 1` nodes. The owner coordinates: a
 * write is stored here and sent to every replica at once, and acknowledged as soon as
 * `writeQuorum` copies hold it; the other sends finish in the background. A read asks
 * `readQuorum` copies and the newest version wins; copies found stale are repaired.
 */
import { Errors } from "@crustyring/protocol"
import { Context, Deferred, Effect, Layer, Option, Queue, Random } from "effect"
import * as Membership from "./Membership.ts"
import { NodeConfig } from "./NodeConfig.ts"
import { Peers } from "./Peers.ts"
import { type Entry, type Merged, newer, Storage, StorageError } from "./Storage.ts"
import * as Version from "./Version.ts"

/** Storage failures reach clients as UNAVAILABLE: the request may succeed elsewhere or later. */
export const storageError = (e: StorageError): Errors.Unavailable =>
  new Errors.Unavailable({ message: `storage failed: ${e.message}` })

/** The newest of some entries, if any. */
export const newest = (entries: ReadonlyArray<Option.Option<Entry>>): Option.Option<Entry> => {
  let best: Option.Option<Entry> = Option.none()
  for (const e of entries) if (Option.isSome(e) && newer(e.value, best)) best = e
  return best
}

/** One answer of a replica. */
interface Answer<A> {
  readonly member: Membership.Member
  readonly value: A
}

/** The replication service. */
export interface Service {
  /**
   * Stores `entry` here and on the replicas of `view`, and succeeds once `writeQuorum` copies
   * hold it (all of them when the ring has fewer nodes). Returns the newest entry held before.
   */
  readonly write: (view: Membership.View, entry: Entry) => Effect.Effect<Option.Option<Entry>, Errors.RpcError>
  /**
   * Reads `key` here and from `sources`; succeeds once `needed` sources have answered, or, with
   * `all`, once every source has answered or failed and at least `needed` answered. The newest
   * version wins and is written back to this node's copy and, with `repair`, to stale sources.
   */
  readonly read: (
    key: Uint8Array,
    sources: ReadonlyArray<Membership.Member>,
    options: { readonly needed: number; readonly all: boolean; readonly repair: boolean }
  ) => Effect.Effect<Option.Option<Entry>, Errors.RpcError>
  /** Stores an entry that arrived from another node, unless a newer one is held. */
  readonly accept: (entry: Entry) => Effect.Effect<Merged, Errors.RpcError>
  /**
   * For the request fast path, the same operations done synchronously, or `undefined` when
   * they cannot be (the caller then runs the Effect): `read` with no sources, that is this
   * node's copy; `write` of a new value (`undefined` deletes) where the view has no replicas
   * to send it to (a ring of one process); and `accept`.
   */
  readonly readLocalSync: (key: Uint8Array) => Option.Option<Entry> | undefined
  readonly writeSync: (view: Membership.View, key: Uint8Array, value: Uint8Array | undefined) => Option.Option<Entry> | undefined
  readonly acceptSync: (entry: Entry) => Merged | undefined
  /** A new version for a write coordinated here. */
  readonly version: () => Version.Version
  /** Signals that a replica missed a write; the repair loop then runs a round soon. */
  readonly missed: Queue.Queue<void>
}

/** Replication of writes and reads. */
export class Replication extends Context.Service<Replication, Service>()("@crustyring/node/Replication") {}

/** Replication over the node's storage, peers and membership. */
export const make = Effect.gen(function*() {
  const config = yield* NodeConfig
  const storage = yield* Storage
  const peers = yield* Peers
  const hlc = yield* Version.Hlc
  const membership = yield* Membership.Membership
  // Replica calls that outlive the request that started them run here.
  const scope = yield* Effect.scope
  const missed = yield* Queue.sliding<void>(1)
  const self = membership.self

  const store = <A>(effect: Effect.Effect<A, StorageError>) => Effect.mapError(effect, storageError)

  const accept = (entry: Entry) =>
    Effect.suspend(() => {
      hlc.observe(entry.version.hlc)
      return store(storage.merge(entry))
    })

  /**
   * Runs every call in the background and completes once `needed` have succeeded (or, with
   * `all`, once all have finished), failing as soon as `needed` cannot be reached. The message
   * counts the local copy, which the caller has already written, as `counted`.
   */
  const quorum = <A>(
    calls: ReadonlyArray<{ readonly member: Membership.Member; readonly call: Effect.Effect<A, Errors.RpcError> }>,
    needed: number,
    options: { readonly all: boolean; readonly counted: number; readonly what: string; readonly onFailure?: (m: Membership.Member) => Effect.Effect<void> }
  ): Effect.Effect<ReadonlyArray<Answer<A>>, Errors.Unavailable> =>
    Effect.gen(function*() {
      if (calls.length === 0) {
        if (needed > 0) return yield* quorumError(0, needed, options, [])
        return []
      }
      const done = yield* Deferred.make<ReadonlyArray<Answer<A>>, Errors.Unavailable>()
      const answers: Array<Answer<A>> = []
      const errors: Array<string> = []
      let finished = 0
      const settle = Effect.suspend(() => {
        const failed = finished - answers.length
        if (!options.all && answers.length >= needed) return Deferred.succeed(done, answers.slice())
        if (calls.length - failed < needed) return Deferred.fail(done, makeQuorumError(answers.length, needed, options, errors))
        if (options.all && finished === calls.length) return Deferred.succeed(done, answers.slice())
        return Effect.void
      })
      for (const { call, member } of calls) {
        yield* call.pipe(
          Effect.matchEffect({
            onSuccess: (value) =>
              Effect.suspend(() => {
                answers.push({ member, value })
                finished++
                return settle
              }),
            onFailure: (e) =>
              Effect.suspend(() => {
                errors.push(`${member.address}: ${e.message}`)
                finished++
                return Effect.andThen(options.onFailure ? options.onFailure(member) : Effect.void, settle)
              })
          }),
          Effect.forkIn(scope, { startImmediately: true })
        )
      }
      // Nothing to wait for (a write quorum of 1): the calls go on in the background.
      if (needed === 0 && !options.all) return []
      return yield* Deferred.await(done)
    })

  const makeQuorumError = (
    acked: number,
    needed: number,
    options: { readonly counted: number; readonly what: string },
    errors: ReadonlyArray<string>
  ) =>
    new Errors.Unavailable({
      message: `quorum not reached: ${acked + options.counted} of ${needed + options.counted} replicas ${options.what}` +
        (errors.length > 0 ? ` (${errors.join("; ")})` : "")
    })
  const quorumError = (
    acked: number,
    needed: number,
    options: { readonly counted: number; readonly what: string },
    errors: ReadonlyArray<string>
  ) => Effect.fail(makeQuorumError(acked, needed, options, errors))

  /**
   * Why fewer replicas than a quorum are at hand: members down, or, with none down, a successor
   * list still filling in (a ring just formed or joined), which the next stabilization rounds fix.
   */
  const shortOf = (found: number) =>
    membership.down.size > 0
      ? `${membership.down.size} members down`
      : `none down, but only ${found} successors known yet: the ring is still settling, retry shortly`

  const signalMissed = () => Effect.asVoid(Queue.offer(missed, undefined))

  /**
   * The write to try again after a round whose copies answered `previous`, or `undefined` when
   * done. A copy already held a greater version (one stamped elsewhere in the same millisecond,
   * or by a clock ahead of ours), so this write would lose to a write acknowledged before it:
   * it is stamped again above that version, so that a write acknowledged later wins.
   */
  const again = (previous: Option.Option<Entry>, attempt: Entry, round: number): Entry | undefined => {
    if (Option.isNone(previous) || !newer(previous.value, Option.some(attempt)) || round >= 3) return undefined
    hlc.observe(previous.value.version.hlc)
    return { ...attempt, version: { hlc: hlc.next(), writer: attempt.version.writer } }
  }

  const { lookupSync, mergeSync } = storage
  const writeSync: Service["writeSync"] = (view, key, value) => {
    if (mergeSync === undefined || Membership.replicaSet(view, config.replicas).length > 0) return undefined
    // Members down still count: the Effect path fails such a write for want of a quorum.
    if (Math.min(config.writeQuorum, Membership.memberCount(view, membership.down)) > 1) return undefined
    let attempt: Entry | undefined = { key, value, version: service.version() }
    for (let round = 0;; round++) {
      const previous = mergeSync(attempt).previous
      attempt = again(previous, attempt, round)
      if (attempt === undefined) return previous
    }
  }

  const write: Service["write"] = (view, entry) =>
    Effect.gen(function*() {
      const replicas = Membership.replicaSet(view, config.replicas)
      // Members, not live nodes: a node cut off from the rest counts the ones it cannot reach,
      // so it acknowledges nothing alone. Only a ring small by design needs fewer copies.
      const needed = Math.min(config.writeQuorum, Membership.memberCount(view, membership.down)) - 1
      if (replicas.length < needed) {
        return yield* new Errors.Unavailable({
          message: `quorum not reached: ${replicas.length + 1} of ${needed + 1} replicas reachable (${shortOf(replicas.length)}); nothing was written`
        })
      }
      let attempt = entry
      for (let round = 0;; round++) {
        const local = yield* store(storage.merge(attempt))
        const answers = yield* quorum(
          replicas.map((member) => ({ member, call: peers.write(member.address, attempt) })),
          needed,
          { all: false, counted: 1, what: "acknowledged", onFailure: signalMissed }
        )
        const previous = newest([local.previous, ...answers.map((a) => a.value)])
        const next = again(previous, attempt, round)
        if (next === undefined) return previous
        attempt = next
      }
    })

  const read: Service["read"] = (key, sources, options) =>
    Effect.gen(function*() {
      if (sources.length < options.needed) {
        return yield* new Errors.Unavailable({
          message: `quorum not reached: ${sources.length + 1} of ${options.needed + 1} replicas reachable for a read (${shortOf(sources.length)})`
        })
      }
      const local = yield* store(storage.lookup(key))
      if (sources.length === 0) return local
      const answers = yield* quorum(
        sources.map((member) => ({ member, call: peers.fetch(member.address, key) })),
        options.needed,
        { all: options.all, counted: 1, what: "answered" }
      )
      const best = newest([local, ...answers.map((a) => a.value)])
      if (Option.isSome(best)) {
        const entry = best.value
        if (newer(entry, local)) yield* accept(entry)
        const stale = options.repair ? answers.filter((a) => newer(entry, a.value)) : []
        if (stale.length > 0) {
          yield* Effect.forEach(stale, (a) => Effect.ignore(peers.write(a.member.address, entry)), { concurrency: "unbounded" }).pipe(
            Effect.forkIn(scope, { startImmediately: true })
          )
        }
      }
      return best
    })

  const service: Service = {
    write,
    read,
    accept,
    readLocalSync: (key) => lookupSync?.(key),
    writeSync,
    acceptSync: (entry) => {
      if (mergeSync === undefined) return undefined
      hlc.observe(entry.version.hlc)
      return mergeSync(entry)
    },
    missed,
    version: () => ({ hlc: hlc.next(), writer: self.id })
  }
  return service
})

/** Replication over the node's services. */
export const layer = Layer.effect(Replication, make)

/** Whether a single-copy read should check the other copies afterwards. */
export const shouldCheck = (chance: number): Effect.Effect<boolean> =>
  chance <= 0 ? Effect.succeed(false) : Effect.map(Random.next, (r) => r < chance)


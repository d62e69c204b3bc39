/**
 * The node's event stream: it joined or left, members joined, left, went down or came back,
 * ranges were handed off, taken over or repaired. One stream per process, shared by its
 * virtual nodes; the dashboard's events pane shows it. `emit` logs each event as well, so the
 * stream and the log say the same thing.
 */
import { Clock, Context, Effect, PubSub, type Scope } from "effect"

/** What happened. */
export type Kind =
  | "started" // this node started a new ring
  | "joined" // this node joined the ring
  | "left" // this node left the ring gracefully
  | "member-joined" // another node joined, as this node's successor
  | "member-left" // another node left the ring, or was removed
  | "down" // a member stopped answering (a failure detection)
  | "up" // a member that was down answers again
  | "handoff-started" // this node began to take over a range
  | "handoff-finished" // it has the range's keys
  | "repair-finished" // a range was re-replicated or taken over after a crash

/** One event. */
export interface Event {
  /** When, in milliseconds since the epoch, by the node's clock. */
  readonly at: number
  readonly kind: Kind
  /** The node (virtual node) that saw it. */
  readonly node: string
  /** The other node, when there is one. */
  readonly peer?: string
  /** The range concerned, "start-end" in hex. */
  readonly range?: string
  /** Keys moved. */
  readonly keys?: number
  /** The same line the log has. */
  readonly message: string
}

/** The stream of one process. */
export interface Service {
  readonly publish: (event: Event) => void
  /** The latest events, oldest first (at most `capacity`). */
  readonly recent: () => ReadonlyArray<Event>
  /** The events from now on, for as long as the scope lasts. */
  readonly subscribe: Effect.Effect<PubSub.Subscription<Event>, never, Scope.Scope>
}

/** The event stream of the process, when it keeps one. */
export class Events extends Context.Service<Events, Service>()("@crustyring/node/Events") {}

/** A stream that keeps the latest `capacity` events; a slow subscriber loses the oldest. */
export const make = (capacity = 200): Effect.Effect<Service> =>
  Effect.map(PubSub.sliding<Event>(capacity), (pubsub) => {
    const latest: Array<Event> = []
    return {
      publish: (event) => {
        latest.push(event)
        if (latest.length > capacity) latest.shift()
        PubSub.publishUnsafe(pubsub, event)
      },
      recent: () => [...latest],
      subscribe: PubSub.subscribe(pubsub)
    }
  })

/** What an event carries besides its time. */
export type Fields = Omit<Event, "at">

/**
 * Logs `fields.message` (at Info, or Warning) with the event's fields as annotations, and
 * publishes the event when the process keeps an event stream.
 */
export const emit = (fields: Fields, level: "Info" | "Warning" = "Info"): Effect.Effect<void> =>
  Effect.gen(function*() {
    const annotations: Record<string, unknown> = {}
    if (fields.peer !== undefined) annotations["peer"] = fields.peer
    if (fields.range !== undefined) annotations["range"] = fields.range
    if (fields.keys !== undefined) annotations["keys"] = fields.keys
    const log = level === "Info" ? Effect.logInfo(fields.message) : Effect.logWarning(fields.message)
    yield* log.pipe(Effect.annotateLogs(annotations))
    const events = yield* Effect.serviceOption(Events)
    if (events._tag === "Some") events.value.publish({ at: yield* Clock.currentTimeMillis, ...fields })
  })

/** Publishes an event without logging it, for a line that is logged otherwise. */
export const publish = (fields: Fields): Effect.Effect<void> =>
  Effect.gen(function*() {
    const events = yield* Effect.serviceOption(Events)
    if (events._tag === "Some") events.value.publish({ at: yield* Clock.currentTimeMillis, ...fields })
  })

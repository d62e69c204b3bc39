/**
 * An in-memory network of gRPC servers in one process, for unit tests and the simulator. A call
 * is encoded and decoded with the method's own protobuf serializers and handed to the target's
 * registered grpc-js handlers, exactly as a socket would deliver it, with no socket. Time is
 * Effect's `Clock` (delays and deadlines), so `TestClock` drives it, and every fault comes from
 * one `decide` function the caller sets (a seeded schedule in the simulator):
 *
 * - a message may be delayed or dropped, each direction on its own;
 * - a server may be missing (never started, or crashed): calls to it are refused at once, and
 *   calls in flight to or from a crashed process fail.
 */
import * as grpc from "@grpc/grpc-js"
import { Clock, Duration, Effect, type Fiber, Scheduler, type Scope, Stream } from "effect"
import * as Address from "./Address.ts"
import * as Errors from "./Errors.ts"
import * as Grpc from "./Grpc.ts"
import { TimeHeap } from "./TimeHeap.ts"

/**
 * What happens to one message from `from` to `to`: dropped (as in a partition: the caller
 * waits out its deadline), refused (as to or from a crashed process: the call fails at once),
 * or delivered after `delayMs`.
 */
export interface Decision {
  readonly drop: boolean
  readonly delayMs: number
  readonly refuse?: boolean
}

/** Delivers everything at once. */
export const deliver: Decision = { drop: false, delayMs: 0 }

type Handler = (call: unknown, callback?: grpc.sendUnaryData<unknown>) => void

interface Method {
  readonly definition: grpc.MethodDefinition<unknown, unknown>
  readonly handler: Handler
}

/** The network. */
export interface Network {
  /** Decides the fate of each message; replace it to inject faults. */
  decide: (from: string, to: string) => Decision
  /** Serves `target` ("host:port") until the scope closes. Fails if it is taken. */
  readonly listen: (target: string) => Effect.Effect<Grpc.Server, Errors.Unavailable, Scope.Scope>
  /**
   * A client of `Service` at `address` (a virtual-node address names its virtual node), for
   * calls made by the process `from`.
   */
  readonly client: <C>(service: grpc.ServiceDefinition, from: string, address: string) => C
  /** Fails every call in flight to or from `target` at once, as a crash does. */
  readonly sever: (target: string) => void
  /** Whether a server listens at `target`. */
  readonly listening: (target: string) => boolean
}

const status = (code: grpc.status, details: string): grpc.ServiceError =>
  Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() })

/** A new, empty network. Calls run in the context it is made in (its Clock). */
export const make: Effect.Effect<Network> = Effect.gen(function*() {
  const context = yield* Effect.context<never>()
  const clock = yield* Clock.Clock
  /** Whether a call's deadline (absolute, on the Clock) has passed: then it is not run, as over gRPC. */
  const late = (options: unknown) => {
    const d = (options as grpc.CallOptions | undefined)?.deadline
    return typeof d === "number" && clock.currentTimeMillisUnsafe() > d
  }
  const lateStatus = () => status(grpc.status.DEADLINE_EXCEEDED, "request arrived after its caller's deadline; not run")
  const run = <A>(effect: Effect.Effect<A>) => Effect.runForkWith(context)(effect)
  // Deliveries without delay go through the scheduler's queue (TestClock's, under test, which
  // waits for them before it moves time on), with no fiber of their own.
  const dispatcher = (yield* Scheduler.Scheduler).makeDispatcher()
  const soon = (f: () => void) => dispatcher.scheduleTask(f, 0)
  const servers = new Map<string, Map<string, Method>>()
  // Calls in flight, by the two processes they connect, so a crash can fail them.
  const inFlight = new Map<string, Set<(error: grpc.ServiceError) => void>>()
  const track = (targets: ReadonlyArray<string>, fail: (error: grpc.ServiceError) => void) => {
    for (const t of targets) {
      let set = inFlight.get(t)
      if (!set) inFlight.set(t, set = new Set())
      set.add(fail)
    }
    return () => {
      for (const t of targets) inFlight.get(t)?.delete(fail)
    }
  }
  // Deadlines of calls in flight, earliest first, served by one timer fiber on the Clock (a
  // sleep per call made the clock's queue the largest cost of a big simulation).
  const deadlines = new TimeHeap<{ readonly at: number; seq: number; readonly expire: () => void }>()
  let timer: { readonly at: number; readonly fiber: Fiber.Fiber<void> } | undefined
  const arm = () => {
    const first = deadlines.peek()
    if (first === undefined || (timer && timer.at <= first.at)) return
    timer?.fiber.interruptUnsafe()
    const at = first.at
    timer = {
      at,
      fiber: run(Effect.andThen(Effect.sleep(Math.max(0, at - clock.currentTimeMillisUnsafe())), Effect.sync(() => {
        timer = undefined
        const now = clock.currentTimeMillisUnsafe()
        for (let e = deadlines.peek(); e !== undefined && e.at <= now; e = deadlines.peek()) {
          deadlines.pop()
          e.expire()
        }
        arm()
      })))
    }
  }
  const expireAt = (at: number, expire: () => void) => {
    deadlines.push({ at, seq: 0, expire })
    arm()
  }
  // Every delivery is asynchronous, as over a socket: never before the sender's call returns.
  const after = (d: Decision, f: () => void) => {
    if (d.drop) return
    if (d.delayMs <= 0) soon(f)
    else run(Effect.andThen(Effect.sleep(d.delayMs), Effect.sync(f)))
  }

  const network: Network = {
    decide: () => deliver,
    listening: (target) => servers.has(target),
    listen: (target) =>
      Effect.gen(function*() {
        if (servers.has(target)) return yield* new Errors.Unavailable({ message: `cannot listen on ${target}: address in use` })
        const methods = new Map<string, Method>()
        yield* Effect.acquireRelease(
          Effect.sync(() => servers.set(target, methods)),
          () => Effect.sync(() => servers.get(target) === methods && servers.delete(target))
        )
        const port = Number(target.slice(target.lastIndexOf(":") + 1))
        return {
          port,
          add: (svc) =>
            Effect.sync(() => {
              for (const [name, definition] of Object.entries(svc.definition)) {
                const handler = svc.implementation[name] as Handler | undefined
                if (handler) methods.set(definition.path, { definition: definition as grpc.MethodDefinition<unknown, unknown>, handler })
              }
            })
        } satisfies Grpc.Server
      }),
    sever: (target) => {
      const set = inFlight.get(target)
      if (!set) return
      inFlight.delete(target)
      for (const fail of [...set]) fail(status(grpc.status.UNAVAILABLE, `${target}: connection reset`))
    },
    client: <C>(service: grpc.ServiceDefinition, from: string, address: string): C => {
      const target = Address.target(address)
      const vnode = Address.vnode(address)
      const metadataFor = () => {
        const m = new grpc.Metadata()
        if (vnode > 0) m.set(Address.VNODE_HEADER, String(vnode))
        return m
      }
      const refused = () => status(grpc.status.UNAVAILABLE, `No connection established. last error: connect ECONNREFUSED ${target}`)
      const out: Record<string, unknown> = {}
      for (const [name, definition] of Object.entries(service)) {
        const path = definition.path
        out[name] = definition.responseStream
          ? (request: unknown) => {
            // A server stream: events on a readable-like emitter, cancelled by `cancel()`.
            const listeners: Record<string, Array<(x: unknown) => void>> = { data: [], error: [], end: [] }
            let closed = false
            let serverCancel: (() => void) | undefined
            const emit = (event: "data" | "error" | "end", x?: unknown) => {
              if (closed) return
              if (event !== "data") {
                closed = true
                untrack()
              }
              for (const l of listeners[event]!) l(x)
            }
            const untrack = track([from, target], (e) => {
              serverCancel?.()
              emit("error", e)
            })
            const stream = {
              on: (event: string, l: (x: unknown) => void) => (listeners[event]?.push(l), stream),
              cancel: () => {
                if (closed) return
                closed = true
                untrack()
                serverCancel?.()
              }
            }
            const decision = network.decide(from, target)
            after(decision.refuse ? { drop: false, delayMs: 0 } : decision, () => {
              const method = decision.refuse ? undefined : servers.get(target)?.get(path)
              if (!method) return emit("error", refused())
              const cancelled: Array<() => void> = []
              serverCancel = () => cancelled.forEach((f) => f())
              const call = {
                request: method.definition.requestDeserialize(definition.requestSerialize(request)),
                metadata: metadataFor(),
                write: (item: unknown) => {
                  const bytes = method.definition.responseSerialize(item)
                  const d = network.decide(target, from)
                  if (d.drop || d.refuse) {
                    emit("error", status(grpc.status.UNAVAILABLE, `${target}: connection lost`))
                    serverCancel?.()
                  } else emit("data", definition.responseDeserialize(bytes))
                  return true
                },
                end: () => emit("end"),
                destroy: (error: Partial<grpc.ServiceError>) =>
                  emit("error", Object.assign(new Error(error.details ?? "stream failed"), error)),
                emit: (event: string, error: Partial<grpc.ServiceError>) => {
                  if (event === "error") emit("error", Object.assign(new Error(error.details ?? "stream failed"), error))
                  return true
                },
                on: (event: string, f: () => void) => {
                  if (event === "cancelled") cancelled.push(f)
                },
                off: () => {},
                once: () => {}
              }
              method.handler(call)
            })
            return stream
          }
          : (request: unknown, ...rest: Array<unknown>) => {
            const callback = rest.find((x) => typeof x === "function") as grpc.requestCallback<unknown>
            let done = false
            let serverCancel: (() => void) | undefined
            const finish = (error: grpc.ServiceError | null, response?: unknown) => {
              if (done) return
              done = true
              untrack()
              callback(error, response)
            }
            const untrack = track([from, target], (e) => {
              serverCancel?.()
              finish(e)
            })
            const options = rest.find((x) => typeof x === "object" && x !== null && !(x instanceof grpc.Metadata))
            const deadline = (options as grpc.CallOptions | undefined)?.deadline
            if (typeof deadline === "number") {
              expireAt(deadline, () => {
                if (done) return
                serverCancel?.()
                finish(status(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded"))
              })
            }
            const decision = network.decide(from, target)
            if (decision.refuse) soon(() => finish(refused()))
            else after(decision, () => {
              if (done) return
              const method = servers.get(target)?.get(path)
              if (!method) return finish(refused())
              if (late(options)) return finish(lateStatus())
              const cancelled: Array<() => void> = []
              serverCancel = () => cancelled.forEach((f) => f())
              const call = {
                request: method.definition.requestDeserialize(definition.requestSerialize(request)),
                metadata: metadataFor(),
                on: (event: string, f: () => void) => {
                  if (event === "cancelled") cancelled.push(f)
                },
                off: () => {}
              }
              method.handler(call, (error, response) => {
                const reply = network.decide(target, from)
                if (reply.refuse) return finish(status(grpc.status.UNAVAILABLE, `${target}: connection reset`))
                after(reply, () => {
                  if (error) {
                    const e = error as Partial<grpc.ServiceError>
                    finish(Object.assign(new Error(e.details ?? "failed"), { code: e.code ?? grpc.status.UNKNOWN, details: e.details ?? "", metadata: e.metadata ?? new grpc.Metadata() }) as grpc.ServiceError)
                  } else finish(null, definition.responseDeserialize(method.definition.responseSerialize(response)))
                })
              })
            })
            return {
              cancel: () => {
                if (done) return
                done = true
                untrack()
                serverCancel?.()
              }
            }
          }
      }
      return out as C
    }
  }
  return network
})

/**
 * Runs one unary call over the memory network with a deadline on Effect's `Clock`, as
 * `Grpc.call` does over sockets; the network fails the call when its deadline passes.
 * Interrupting it cancels the call.
 */
export const call = <Res>(
  target: string,
  timeout: Duration.Input,
  invoke: (options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, response?: Res) => void) => grpc.ClientUnaryCall
): Effect.Effect<Res, Errors.RpcError> =>
  Effect.flatMap(Clock.clockWith(Effect.succeed), (clock) => Effect.callback<Res, Errors.RpcError>((resume) => {
    const c = invoke({ deadline: clock.currentTimeMillisUnsafe() + Duration.toMillis(Duration.fromInputUnsafe(timeout)) }, (error, response) => {
      if (error) resume(Effect.fail(Errors.fromStatus(error.code, error.details, target, (error.metadata?.get(Errors.ORIGIN_KEY).length ?? 0) > 0)))
      else if (response === undefined) resume(Effect.fail(new Errors.Internal({ message: `${target}: empty response` })))
      else resume(Effect.succeed(response))
    })
    return Effect.sync(() => c.cancel())
  }))

/** Runs one server-streaming call over the memory network, within `timeout` on Effect's `Clock`. */
export const callStream = <Res>(
  target: string,
  timeout: Duration.Input,
  invoke: (options: grpc.CallOptions) => grpc.ClientReadableStream<Res>
): Stream.Stream<Res, Errors.RpcError> =>
  Grpc.streamOf(target, () => invoke({})).pipe(
    Stream.interruptWhen(
      Effect.andThen(Effect.sleep(timeout), Effect.fail(new Errors.DeadlineExceeded({ message: `${target}: Deadline exceeded` })))
    )
  )

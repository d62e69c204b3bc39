/**
 * A thin Effect adapter over grpc-js: a scoped server whose handlers are Effects, and client
 * calls with a deadline that fail with the tagged errors of `Errors.ts`.
 */
import * as grpc from "@grpc/grpc-js"
import { Cause, Context, Duration, Effect, Exit, Option, Queue, Scope, Stream } from "effect"
import * as Address from "./Address.ts"
import * as Errors from "./Errors.ts"
import * as Tls from "./Tls.ts"

/** Channel and server options shared by every node, registry and client. */
export const channelOptions: grpc.ChannelOptions = {
  // Values may be up to 1 MiB by default, and the limit is configurable; leave room above it so
  // an oversized value gets our own INVALID_ARGUMENT that names the limit.
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.max_send_message_length": 64 * 1024 * 1024,
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
  // Fail fast on a dead address instead of waiting out the whole deadline in backoff.
  "grpc.initial_reconnect_backoff_ms": 200,
  "grpc.max_reconnect_backoff_ms": 2_000
}

/**
 * Limits per connection of a server, so that one caller cannot exhaust it: a request larger
 * than `maxMessageBytes` is refused with RESOURCE_EXHAUSTED before it is decoded, and one
 * connection may have at most `maxConcurrentStreams` calls open at once (HTTP/2's
 * SETTINGS_MAX_CONCURRENT_STREAMS: a client's further calls wait for a free stream).
 */
export interface Limits {
  readonly maxMessageBytes: number
  readonly maxConcurrentStreams: number
}

/** Room for any one request of the default 1 MiB values, and a peer's batch of a few MiB. */
export const defaultLimits: Limits = { maxMessageBytes: 8 * 1024 * 1024, maxConcurrentStreams: 256 }

/** The grpc-js options of a server with `limits`. */
export const serverOptions = (limits: Limits): grpc.ServerOptions => ({
  ...channelOptions,
  "grpc.max_receive_message_length": limits.maxMessageBytes,
  "grpc.max_concurrent_streams": limits.maxConcurrentStreams
})

/** Silences grpc-js's own stderr logging; our errors already say what failed. For the CLIs. */
export const silenceLibraryLogs = (): void => grpc.setLogVerbosity(grpc.logVerbosity.NONE)

/** One service to serve: its definition and its grpc-js handlers. */
export interface ServiceImplementation {
  readonly definition: grpc.ServiceDefinition
  readonly implementation: grpc.UntypedServiceImplementation
  /** Under TLS, who may call each method: nodes only, or clients too. @default clients */
  readonly audience?: (method: string) => Tls.Audience
}

/**
 * The TLS socket a server call came on, so that its caller's certificate is read once per
 * connection (`Tls.callerOf`). grpc-js does not expose it: this follows its internals (a call's
 * base call, its HTTP/2 stream and session), and gives `undefined` if they change, which only
 * makes every call read the certificate again. A test checks that it is found.
 */
export const connectionOf = (call: grpc.ServerUnaryCall<unknown, unknown>): object | undefined => {
  const socket = (call as unknown as { call?: { stream?: { session?: { socket?: unknown } } } }).call?.stream?.session?.socket
  return typeof socket === "object" && socket !== null ? socket : undefined
}

/**
 * The handlers of a service under `security`: with TLS, each call is let through only if its
 * caller's certificate admits it (see `Tls.admit`); others get UNAUTHENTICATED or
 * PERMISSION_DENIED and reach no handler.
 */
export const guarded = (security: Tls.Security, svc: ServiceImplementation): grpc.UntypedServiceImplementation => {
  if (security._tag === "Plaintext") return svc.implementation
  const out: grpc.UntypedServiceImplementation = {}
  for (const [name, handler] of Object.entries(svc.implementation)) {
    const audience = svc.audience?.(name) ?? "clients"
    out[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback?: grpc.sendUnaryData<unknown>) => {
      const denied = Tls.admit(security, audience, Tls.callerOf(call, connectionOf(call)))
      if (denied === undefined) return (handler as (...args: Array<unknown>) => void)(call, callback)
      const error = serviceError(denied)
      if (typeof callback === "function") return callback(error)
      failStream(call as unknown as grpc.ServerWritableStream<unknown, unknown>, error)
    }) as grpc.UntypedHandleCall
  }
  return out
}

/** A bound gRPC server. Services may be added after binding; calls to a missing one get UNIMPLEMENTED. */
export interface Server {
  readonly port: number
  readonly add: (service: ServiceImplementation) => Effect.Effect<void>
}

/**
 * Binds a gRPC server on `host:port` (port 0 picks a free one). The server shuts down
 * gracefully when the scope closes, and is forced down after `drain`.
 */
export const listen = (options: {
  readonly host: string
  readonly port: number
  readonly drain?: Duration.Input
  readonly limits?: Limits
}): Effect.Effect<Server, Errors.Unavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const server = yield* Effect.acquireRelease(
      Effect.sync(() => new grpc.Server(serverOptions(options.limits ?? defaultLimits))),
      (s) =>
        Effect.callback<void>((resume) => s.tryShutdown(() => resume(Effect.void))).pipe(
          Effect.timeoutOrElse({
            duration: options.drain ?? "3 seconds",
            orElse: () => Effect.sync(() => s.forceShutdown())
          })
        )
    )
    const target = options.host.includes(":") && !options.host.startsWith("[")
      ? `[${options.host}]:${options.port}`
      : `${options.host}:${options.port}`
    const security = yield* Tls.Security
    const port = yield* Effect.callback<number, Errors.Unavailable>((resume) =>
      server.bindAsync(target, Tls.serverCredentials(security), (err, port) =>
        resume(
          err
            ? Effect.fail(new Errors.Unavailable({ message: `cannot listen on ${target}: ${err.message}` }))
            : Effect.succeed(port)
        ))
    )
    return {
      port,
      add: (svc) => Effect.sync(() => server.addService(svc.definition, guarded(security, svc)))
    }
  })

/**
 * Ends a server stream with an error status. grpc-js sends the status of an `error` event as
 * the stream ends; `destroy` would end the stream without sending one, so the caller would
 * wait out its deadline.
 */
export const failStream = (call: grpc.ServerWritableStream<unknown, unknown>, error: Partial<grpc.StatusObject>): void => {
  const e = Object.assign(new Error(error.details ?? "stream failed"), error)
  if (typeof call.emit === "function") call.emit("error", e)
  else call.destroy(e)
}

const originMetadata = () => {
  const m = new grpc.Metadata()
  m.set(Errors.ORIGIN_KEY, "1")
  return m
}

const serviceError = (error: Errors.RpcError): Partial<grpc.StatusObject> => ({
  code: Errors.toStatus(error),
  details: error.message,
  metadata: originMetadata()
})

const answered = (error: grpc.ServiceError) => (error.metadata?.get(Errors.ORIGIN_KEY).length ?? 0) > 0

const defectError = (cause: Cause.Cause<unknown>): Partial<grpc.StatusObject> => ({
  code: grpc.status.INTERNAL,
  details: `internal error: ${Cause.pretty(cause).split("\n")[0]}`,
  metadata: originMetadata()
})

/**
 * Wraps an Effect as a grpc-js unary handler. Typed failures become their status code; a defect
 * becomes INTERNAL and is logged. A client that cancels or times out interrupts the Effect.
 */
export const unary = <R, Req, Res>(
  context: Context.Context<R>,
  handler: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Effect.Effect<Res, Errors.RpcError, R>
): grpc.handleUnaryCall<Req, Res> =>
(call, callback) => {
  const late = lateBy(call.metadata)
  if (late > 0) return callback(lateError(late))
  run(context, handler, call, callback)
}

/**
 * A unary handler with a synchronous fast path: `fast` answers the request at once, or returns
 * `undefined` to have `handler` run as `unary` runs it. For hot requests whose common case needs
 * no I/O (a read of a key the node owns): a fiber per request was most of their cost. `fast`
 * must not throw, and leaves every error (a bad request included) to `handler`.
 */
export const unaryFast = <R, Req, Res>(
  context: Context.Context<R>,
  fast: (request: Req) => Res | undefined,
  handler: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Effect.Effect<Res, Errors.RpcError, R>
): grpc.handleUnaryCall<Req, Res> =>
(call, callback) => {
  const late = lateBy(call.metadata)
  if (late > 0) return callback(lateError(late))
  const answer = fast(call.request)
  if (answer !== undefined) return callback(null, answer)
  run(context, handler, call, callback)
}

const run = <R, Req, Res>(
  context: Context.Context<R>,
  handler: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Effect.Effect<Res, Errors.RpcError, R>,
  call: grpc.ServerUnaryCall<Req, Res>,
  callback: grpc.sendUnaryData<Res>
): void => {
  const fiber = Effect.runForkWith(context)(handler(call.request, call))
  const onCancel = () => fiber.interruptUnsafe()
  call.on("cancelled", onCancel)
  fiber.addObserver((exit) => {
    call.off("cancelled", onCancel)
    if (Exit.isSuccess(exit)) return callback(null, exit.value)
    const failure = Cause.findErrorOption(exit.cause)
    if (Option.isSome(failure)) return callback(serviceError(failure.value))
    if (Cause.hasInterruptsOnly(exit.cause)) {
      return callback({ code: grpc.status.CANCELLED, details: "request cancelled" })
    }
    Effect.runForkWith(context)(Effect.logError("handler failed", exit.cause))
    callback(defectError(exit.cause))
  })
}

/** Wraps a Stream as a grpc-js server-streaming handler, with back-pressure on the socket. */
export const serverStream = <R, Req, Res>(
  context: Context.Context<R>,
  handler: (request: Req) => Stream.Stream<Res, Errors.RpcError, R>
): grpc.handleServerStreamingCall<Req, Res> =>
(call) => {
  const late = lateBy(call.metadata)
  if (late > 0) {
    const error = lateError(late)
    return failStream(call, error)
  }
  const write = (item: Res) =>
    Effect.callback<void>((resume) => {
      if (call.write(item)) resume(Effect.void)
      else call.once("drain", () => resume(Effect.void))
    })
  const fiber = Effect.runForkWith(context)(Stream.runForEach(handler(call.request), write))
  const onCancel = () => fiber.interruptUnsafe()
  call.on("cancelled", onCancel)
  fiber.addObserver((exit) => {
    call.off("cancelled", onCancel)
    if (Exit.isSuccess(exit)) return call.end()
    const failure = Cause.findErrorOption(exit.cause)
    if (Option.isSome(failure)) return failStream(call, serviceError(failure.value))
    if (Cause.hasInterruptsOnly(exit.cause)) return
    Effect.runForkWith(context)(Effect.logError("stream handler failed", exit.cause))
    failStream(call, defectError(exit.cause))
  })
}

/**
 * The metadata header that carries a call's deadline as an absolute time (ms since the epoch).
 * gRPC's own `grpc-timeout` is relative, counted from when the server reads the request, so a
 * request held up in the network (a partition: TCP retransmits it when the link comes back)
 * would run long after its caller gave up on it and retried elsewhere, and a write run that late
 * would win over the newer ones acknowledged meanwhile. Servers refuse a call that arrives after
 * this deadline. It assumes the cluster's clocks agree, as last-writer-wins versions do.
 */
export const DEADLINE_HEADER = "crusty-deadline"

/** Puts the call's absolute deadline in its metadata. */
const deadlineInterceptor: grpc.Interceptor = (options, nextCall) =>
  new grpc.InterceptingCall(nextCall(options), {
    start: (metadata, listener, next) => {
      const d = options.deadline
      const ms = d instanceof Date ? d.getTime() : typeof d === "number" ? d : Number.NaN
      if (Number.isFinite(ms)) metadata.set(DEADLINE_HEADER, String(Math.floor(ms)))
      next(metadata, listener)
    }
  })

/** How long after its caller's deadline a call arrived (ms), or 0 when in time or without one. */
export const lateBy = (metadata: grpc.Metadata, now: number = Date.now()): number => {
  const value = metadata.get(DEADLINE_HEADER)[0]
  const deadline = typeof value === "string" ? Number(value) : Number.NaN
  return Number.isFinite(deadline) && now > deadline ? now - deadline : 0
}

const lateError = (late: number): Partial<grpc.StatusObject> => ({
  code: grpc.status.DEADLINE_EXCEEDED,
  details: `request arrived ${late} ms after its caller's deadline; not run`,
  metadata: originMetadata()
})

/** Names virtual node `index` in the metadata of every call. */
const vnodeInterceptor = (index: number): grpc.Interceptor => (options, nextCall) =>
  new grpc.InterceptingCall(nextCall(options), {
    start: (metadata, listener, next) => {
      metadata.set(Address.VNODE_HEADER, String(index))
      next(metadata, listener)
    }
  })

/**
 * A grpc-js client for `target`, closed when the scope closes. A virtual-node address
 * ("host:port#i") connects to "host:port" and names the virtual node on every call.
 */
export const client = <C extends grpc.Client>(
  Ctor: new(address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => C,
  target: string,
  security?: Tls.Security
): Effect.Effect<C, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const credentials = Tls.channelCredentials(security ?? (yield* Tls.Security))
      const index = Address.vnode(target)
      const interceptors = index === 0 ? [deadlineInterceptor] : [deadlineInterceptor, vnodeInterceptor(index)]
      return new Ctor(Address.target(target), credentials, { ...channelOptions, interceptors })
    }),
    (c) => Effect.sync(() => c.close())
  )

/**
 * A connection of its own to `target` ("host:port"), shared by no other channel, closed when the
 * scope closes. Closing it drops its TCP connection, so a new one starts afresh: after a silent
 * network drop, an old connection waits out TCP's retransmission backoff (seconds), while a new
 * one connects at once. For node-to-node calls, which reset it when a peer goes silent.
 */
export const channel = (target: string): Effect.Effect<grpc.Channel, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.map(Effect.service(Tls.Security), (security) =>
      new grpc.Channel(Address.target(target), Tls.channelCredentials(security), {
        ...channelOptions,
        "grpc.use_local_subchannel_pool": 1
      })),
    (c) => Effect.sync(() => c.close())
  )

/**
 * A client for `address` (a virtual-node address names its virtual node on every call) over an
 * existing channel; closing the channel closes it.
 */
export const clientOn = <C extends grpc.Client>(
  Ctor: new(address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => C,
  channel: grpc.Channel,
  address: string
): C => {
  const index = Address.vnode(address)
  const interceptors = index === 0 ? [deadlineInterceptor] : [deadlineInterceptor, vnodeInterceptor(index)]
  return new Ctor(Address.target(address), grpc.credentials.createInsecure(), { ...channelOptions, channelOverride: channel, interceptors })
}

/**
 * One service served for several virtual nodes on one port: each call goes to the
 * implementation its `crusty-vnode` header names, or to the first without one (so clients of
 * the original contract reach the process as before). A call for a virtual node this process
 * does not run is answered UNAVAILABLE, as from an absent node.
 */
export const dispatch = (implementations: ReadonlyArray<grpc.UntypedServiceImplementation>): grpc.UntypedServiceImplementation => {
  if (implementations.length === 1) return implementations[0]!
  const out: grpc.UntypedServiceImplementation = {}
  for (const name of Object.keys(implementations[0]!)) {
    out[name] = ((call: grpc.ServerUnaryCall<unknown, unknown>, callback?: grpc.sendUnaryData<unknown>) => {
      const header = call.metadata.get(Address.VNODE_HEADER)[0]
      const index = header === undefined ? 0 : Number(header)
      const handler = implementations[index]?.[name] as ((...args: Array<unknown>) => void) | undefined
      if (handler) return handler(call, callback)
      const error = { code: grpc.status.UNAVAILABLE, details: `no virtual node ${String(header)} at this address` }
      if (typeof callback === "function") return callback(error)
      failStream(call as unknown as grpc.ServerWritableStream<unknown, unknown>, error)
    }) as grpc.UntypedHandleCall
  }
  return out
}

/**
 * Starts a grpc-js call without the caller stack it captures for every call (`new Error()` in
 * `Client.makeUnaryRequest`). Under Effect's run loop that capture was about 4% of a busy
 * cluster's CPU (examples/bench/many.ts profile), and nothing reads it: a failed call becomes an
 * `RpcError` from its status code, not from a stack.
 */
const withoutCallerStack = <A>(start: () => A): A => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return start()
  } finally {
    Error.stackTraceLimit = limit
  }
}

/**
 * Runs one unary call with a deadline. `invoke` starts the call with the given options; the
 * call is cancelled when the Effect is interrupted.
 */
export const call = <Res>(
  target: string,
  timeout: Duration.Input,
  invoke: (
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: Res) => void
  ) => grpc.ClientUnaryCall
): Effect.Effect<Res, Errors.RpcError> =>
  Effect.callback<Res, Errors.RpcError>((resume) => {
    const deadline = Date.now() + Duration.toMillis(Duration.fromInputUnsafe(timeout))
    const c = withoutCallerStack(() =>
      invoke({ deadline }, (error, response) => {
        if (error) resume(Effect.fail(Errors.fromStatus(error.code, error.details, target, answered(error))))
        else if (response === undefined) resume(Effect.fail(new Errors.Internal({ message: `${target}: empty response` })))
        else resume(Effect.succeed(response))
      })
    )
    return Effect.sync(() => c.cancel())
  })

/** Runs one server-streaming call as a Stream; the whole stream must finish within `timeout`. */
export const callStream = <Res>(
  target: string,
  timeout: Duration.Input,
  invoke: (options: grpc.CallOptions) => grpc.ClientReadableStream<Res>
): Stream.Stream<Res, Errors.RpcError> =>
  streamOf(target, () => withoutCallerStack(() => invoke({ deadline: Date.now() + Duration.toMillis(Duration.fromInputUnsafe(timeout)) })))

/**
 * The items of a server-streaming call as a Stream, started by `start`; a status error becomes
 * its `RpcError`, and the call is cancelled when the Stream ends early. Shared by the gRPC and
 * memory transports, which differ only in how a deadline is kept.
 */
export const streamOf = <Res>(target: string, start: () => grpc.ClientReadableStream<Res>): Stream.Stream<Res, Errors.RpcError> =>
  Stream.callback<Res, Errors.RpcError>((queue) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const c = start()
        c.on("data", (item: Res) => {
          Queue.offerUnsafe(queue, item)
        })
        c.on("error", (error: grpc.ServiceError) => {
          Queue.failCauseUnsafe(queue, Cause.fail(Errors.fromStatus(error.code, error.details, target, answered(error))))
        })
        c.on("end", () => {
          Queue.endUnsafe(queue)
        })
        return c
      }),
      (c) => Effect.sync(() => c.cancel())
    ))

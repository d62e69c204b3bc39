/**
 * The standard services every Crusty Ring server offers: gRPC health checking
 * (`grpc.health.v1.Health`, from `grpc-health-check`) and server reflection (v1 and v1alpha,
 * from `@grpc/reflection`), so `grpcurl list`/`describe` and health probes work with no proto
 * files. Both are open to any caller, TLS clients without a certificate included: health and
 * the schema are no secrets, and probes (Kubernetes, load balancers) present no certificate.
 */
import * as grpc from "@grpc/grpc-js"
import { ReflectionService } from "@grpc/reflection"
import { type Duration, Effect, SubscriptionRef } from "effect"
import { HealthImplementation, service as healthService } from "grpc-health-check"
import type * as Errors from "./Errors.ts"
import * as Grpc from "./Grpc.ts"
import * as Proto from "./Proto.ts"

/** A service's health, as `grpc.health.v1` names it. */
export type Status = "SERVING" | "NOT_SERVING"

/** The health of a server: one status for the server ("") and for each named service. */
export interface Health {
  /** Sets the status of the server and of its services. */
  readonly set: (status: Status) => Effect.Effect<void>
  /** The current status, and its changes. */
  readonly status: SubscriptionRef.SubscriptionRef<Status>
}

/** Adds the services that `register` adds to a grpc-js server, open to any caller. */
const addOpen = (server: Grpc.Server, register: (target: Pick<grpc.Server, "addService">) => void) =>
  Effect.gen(function*() {
    const added: Array<Grpc.ServiceImplementation> = []
    register({ addService: (definition, implementation) => void added.push({ definition, implementation, audience: () => "anyone" }) })
    for (const svc of added) yield* server.add(svc)
  })

let shared: ReflectionService | undefined
/** One reflection service for the process: it indexes every proto once. */
const reflection = () => (shared ??= new ReflectionService(Proto.definition as never))

/**
 * Serves health checking on `server` for the server and `services` (e.g. "dht.DhtNode"),
 * starting at `initial`, and reflection over every Crusty Ring proto.
 */
export const serve = (server: Grpc.Server, services: ReadonlyArray<string>, initial: Status = "NOT_SERVING"): Effect.Effect<Health> =>
  Effect.gen(function*() {
    const names = ["", ...services]
    const health = new HealthImplementation(Object.fromEntries(names.map((n) => [n, initial])))
    yield* addOpen(server, (s) => health.addToServer(s as never))
    yield* addOpen(server, (s) => reflection().addToServer(s))
    const status = yield* SubscriptionRef.make<Status>(initial)
    return {
      status,
      set: (next) =>
        Effect.andThen(
          Effect.sync(() => {
            for (const n of names) health.setStatus(n, next)
          }),
          SubscriptionRef.set(status, next)
        )
    }
  })

const HealthClient = grpc.makeGenericClientConstructor(healthService as unknown as grpc.ServiceDefinition, "Health")

/**
 * Asks the server at `target` for the health of `service` ("" for the whole server), with the
 * `Security` in context: SERVING or NOT_SERVING (UNKNOWN and SERVICE_UNKNOWN count as not serving).
 */
export const check = (target: string, timeout: Duration.Input, service = ""): Effect.Effect<Status, Errors.RpcError> =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Grpc.client(HealthClient, target)
    const reply = yield* Grpc.call<{ readonly status: string | number }>(target, timeout, (o, cb) =>
      (client as unknown as { Check: (req: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { readonly status: string | number }) => void) => grpc.ClientUnaryCall })
        .Check({ service }, o, cb))
    return reply.status === "SERVING" || reply.status === 1 ? "SERVING" : "NOT_SERVING"
  }))

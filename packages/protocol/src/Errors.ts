/**
 * The errors that cross the wire, and their one mapping to and from gRPC status codes. Every
 * server handler fails with one of these; every client call fails with one of these.
 */
import * as grpc from "@grpc/grpc-js"
import { Schema } from "effect"

/** The request is malformed or breaks a limit. gRPC INVALID_ARGUMENT. */
export class InvalidArgument extends Schema.TaggedError<InvalidArgument>()("InvalidArgument", {
  message: Schema.String
}) {}

/** The target cannot serve right now: unreachable, starting, or a route failed. gRPC UNAVAILABLE. */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", {
  message: Schema.String,
  /** True when the target itself could not be reached, as opposed to the target answering UNAVAILABLE. */
  unreachable: Schema.optional(Schema.Boolean)
}) {}

/** Metadata key our servers put on every error they send, to tell their answers from transport failures. */
export const ORIGIN_KEY = "crusty-origin"

/** The call ran out of time. gRPC DEADLINE_EXCEEDED. */
export class DeadlineExceeded extends Schema.TaggedError<DeadlineExceeded>()("DeadlineExceeded", {
  message: Schema.String
}) {}

/** The request does not fit the node's current state, e.g. a join sent to a non-owner. gRPC FAILED_PRECONDITION. */
export class FailedPrecondition extends Schema.TaggedError<FailedPrecondition>()("FailedPrecondition", {
  message: Schema.String
}) {}

/** The thing to create exists already, e.g. a ring ID held by a live node. gRPC ALREADY_EXISTS. */
export class AlreadyExists extends Schema.TaggedError<AlreadyExists>()("AlreadyExists", {
  message: Schema.String
}) {}

/** A bug or an unexpected failure on the serving side. gRPC INTERNAL (and any code not above). */
export class Internal extends Schema.TaggedError<Internal>()("Internal", {
  message: Schema.String,
  /** The gRPC status code received, when it was not INTERNAL itself (e.g. UNIMPLEMENTED, NOT_FOUND). */
  code: Schema.optional(Schema.Number)
}) {}

/** The caller did not prove who it is: no certificate, or one this cluster does not trust. gRPC UNAUTHENTICATED. */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>()("Unauthenticated", {
  message: Schema.String
}) {}

/** The caller is known but may not make this call, e.g. a client certificate on a node-to-node call. gRPC PERMISSION_DENIED. */
export class PermissionDenied extends Schema.TaggedError<PermissionDenied>()("PermissionDenied", {
  message: Schema.String
}) {}

/** Every error a gRPC call in Crusty Ring can end with. */
export type RpcError =
  | InvalidArgument
  | Unavailable
  | DeadlineExceeded
  | FailedPrecondition
  | AlreadyExists
  | Unauthenticated
  | PermissionDenied
  | Internal

/**
 * Whether the peer does not implement the method called (gRPC UNIMPLEMENTED): a node that
 * predates it, to be asked the older way.
 */
export const isUnimplemented = (error: RpcError): boolean => error._tag === "Internal" && error.code === grpc.status.UNIMPLEMENTED

/** The gRPC status code for an error. */
export const toStatus = (error: RpcError): grpc.status => {
  switch (error._tag) {
    case "InvalidArgument":
      return grpc.status.INVALID_ARGUMENT
    case "Unavailable":
      return grpc.status.UNAVAILABLE
    case "DeadlineExceeded":
      return grpc.status.DEADLINE_EXCEEDED
    case "FailedPrecondition":
      return grpc.status.FAILED_PRECONDITION
    case "AlreadyExists":
      return grpc.status.ALREADY_EXISTS
    case "Unauthenticated":
      return grpc.status.UNAUTHENTICATED
    case "PermissionDenied":
      return grpc.status.PERMISSION_DENIED
    case "Internal":
      return grpc.status.INTERNAL
  }
}

/**
 * The error for a gRPC status received from `target`. `answered` is true when the status came
 * from one of our servers (see `ORIGIN_KEY`) rather than from the transport.
 */
export const fromStatus = (code: number, rawDetails: string, target: string, answered = false): RpcError => {
  // grpc-js appends resolver diagnostics that mean nothing to a user.
  const details = rawDetails.replace(/\.? ?Resolution note: ?.*$/s, "").replace(/Last error: Error: /, "last error: ")
  switch (code) {
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.OUT_OF_RANGE:
      return new InvalidArgument({ message: details })
    case grpc.status.RESOURCE_EXHAUSTED:
      return new InvalidArgument({ message: `${details} (${target})` })
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
    case grpc.status.ABORTED:
      return answered
        ? new Unavailable({ message: details })
        : new Unavailable({ message: `${target} unavailable: ${details}`, unreachable: true })
    case grpc.status.DEADLINE_EXCEEDED:
      return new DeadlineExceeded({ message: `${target}: ${details}` })
    case grpc.status.FAILED_PRECONDITION:
      return new FailedPrecondition({ message: details })
    case grpc.status.ALREADY_EXISTS:
      return new AlreadyExists({ message: details })
    case grpc.status.UNAUTHENTICATED:
      return new Unauthenticated({ message: `${target}: ${details}` })
    case grpc.status.PERMISSION_DENIED:
      return new PermissionDenied({ message: `${target}: ${details}` })
    default:
      return new Internal({ message: `${target}: ${details} (gRPC status ${grpc.status[code] ?? code})`, code })
  }
}

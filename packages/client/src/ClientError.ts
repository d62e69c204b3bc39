/**
 * The errors a client user sees. Each names what failed; none carries a stack trace worth
 * showing to an end user.
 */
import { Errors } from "@crustyring/protocol"
import { Schema } from "effect"

/** Get or Delete of a key that is not stored. */
export class KeyNotFound extends Schema.TaggedError<KeyNotFound>()("KeyNotFound", {
  key: Schema.String,
  message: Schema.String
}) {}

/** The cluster refused the request as malformed, e.g. an empty or oversized key. */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String
}) {}

/**
 * No node could serve the request: unreachable nodes or registry, or a ring in trouble, until
 * the client's `attempts` ran out; or a node failed in a way not worth retrying. The message
 * names the request, the node and what it said.
 */
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", {
  message: Schema.String
}) {}

/**
 * The request did not finish within its deadline, retries included, e.g.
 * `set "k": no node answered within 10s (last error: 127.0.0.1:50003: quorum not reached: ...)`.
 */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  message: Schema.String
}) {}

/**
 * The cluster would not let this client in: no certificate, one it does not trust, or one that
 * may not make the call (gRPC UNAUTHENTICATED or PERMISSION_DENIED). Not retried.
 */
export class AccessDenied extends Schema.TaggedError<AccessDenied>()("AccessDenied", {
  message: Schema.String
}) {}

/** Every error a client call can end with. */
export type ClientError = KeyNotFound | InvalidRequest | AccessDenied | Unavailable | Timeout

/** The client error for a wire error, as is (the client itself adds the request to the message). */
export const fromRpc = (e: Errors.RpcError): InvalidRequest | AccessDenied | Unavailable | Timeout => {
  switch (e._tag) {
    case "InvalidArgument":
      return new InvalidRequest({ message: e.message })
    case "Unauthenticated":
    case "PermissionDenied":
      return new AccessDenied({ message: e.message })
    case "DeadlineExceeded":
      return new Timeout({ message: e.message })
    default:
      return new Unavailable({ message: e.message })
  }
}
